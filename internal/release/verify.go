package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// verify takes the due measurements of stage i's analysis and acts on its outcome.
func (s *step) verify(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.Verify == nil {
		// Someone removed verify from the stage while it ran: nothing is left to wait for.
		return s.verified(ctx, i, "verification removed from the pipeline")
	}
	spec, err := compileAnalysis(stage.Verify)
	if err != nil {
		s.stall(releasev1.ReasonInvalidAnalysis, fmt.Sprintf("stage %s: %v", stage.Name, err))
		return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
	}
	if r := stage.Verify.Rollout; r != nil && ss.RolloutReadyAt == nil {
		return s.waitForRollout(ctx, i, r, spec)
	}
	if ss.Analysis == nil {
		ss.Analysis = toStatus(analysis.Start(spec, s.now))
	}
	st := fromStatus(ss.Analysis)
	if st.Phase == analysis.Running {
		due, wait := analysis.Due(spec, st, s.now)
		if len(due) > 0 {
			prom, err := s.prometheusClient(ctx)
			if err != nil {
				s.stall(releasev1.ReasonInvalidSpec, err.Error())
				return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
			}
			vars := analysis.Vars{Version: rel.Spec.Version, Stage: stage.Name, Release: rel.Name, Targets: waveTargets(stage, ss)}
			if ss.Promotion != nil {
				vars.PreviousVersion = ss.Promotion.PreviousVersion
			}
			for _, m := range due {
				q, qerr := analysis.RenderQuery(spec.Metrics[m].Query, vars)
				var v analysis.Value
				if qerr == nil {
					v, qerr = prom.Query(ctx, q, s.now)
				}
				analysis.Record(spec, st, m, s.now, v, qerr)
			}
			ss.Analysis = toStatus(st)
			_, wait = analysis.Due(spec, st, s.now)
		}
		if st.Phase == analysis.Running {
			ss.Message = fmt.Sprintf("verifying %s in %s: %s", rel.Spec.Version, stage.Name, measuredSummary(st))
			setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
			return reconcile.WaitFor(max(wait, 10*time.Millisecond), reconcile.WaitAnalysis), nil
		}
	}
	ss.Analysis = toStatus(st)
	switch st.Phase {
	case analysis.Succeeded:
		return s.verified(ctx, i, "verified: "+st.Message)
	case analysis.Inconclusive:
		switch rel.Annotations[releasev1.AnnotationVerdict] {
		case "continue":
			return s.verified(ctx, i, "inconclusive analysis accepted by a person: "+st.Message)
		case "rollback":
			return s.verificationFailed(ctx, i, "rolled back by a person after an inconclusive analysis: "+st.Message)
		}
		ss.Message = fmt.Sprintf("analysis inconclusive: %s; annotate the Release %s=continue or %s=rollback", st.Message, releasev1.AnnotationVerdict, releasev1.AnnotationVerdict)
		setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonAnalysisInconclusive, message: ss.Message, blocked: true})
		return reconcile.Stop(), nil
	}
	return s.verificationFailed(ctx, i, fmt.Sprintf("analysis %s: %s", strings.ToLower(string(st.Phase)), st.Message))
}

// waitForRollout checks whether the new version serves yet. Once it does, the
// analysis starts from that moment; past the timeout, verification fails.
func (s *step) waitForRollout(ctx context.Context, i int, r *releasev1.RolloutCheck, spec *analysis.Spec) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	prom, err := s.prometheusClient(ctx)
	if err != nil {
		s.stall(releasev1.ReasonInvalidSpec, err.Error())
		return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
	}
	vars := analysis.Vars{Version: rel.Spec.Version, Stage: stage.Name, Release: rel.Name, PreviousVersion: ss.Promotion.PreviousVersion, Targets: waveTargets(stage, ss)}
	q, err := analysis.RenderQuery(r.Query, vars)
	var v analysis.Value
	if err == nil {
		v, err = prom.Query(ctx, q, s.now)
	}
	if err == nil && serving(v) {
		at := metav1.NewTime(s.now)
		ss.RolloutReadyAt = &at
		ss.Analysis = toStatus(analysis.Start(spec, s.now))
		ss.Message = fmt.Sprintf("%s serves in %s; analysis started", rel.Spec.Version, stage.Name)
		setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
		return reconcile.WriteThenContinue(), nil
	}
	last := "no data"
	if err != nil {
		last = err.Error()
	} else if !v.NoData() {
		last = "value " + v.String()
	}
	timeout := 10 * time.Minute
	if r.Timeout != nil {
		timeout = r.Timeout.Duration
	}
	// The version cannot serve before it is deployed.
	landed := ss.Promotion.CompletedAt.Time
	if ss.DeployedAt != nil {
		landed = ss.DeployedAt.Time
	}
	if s.now.Sub(landed) >= timeout {
		return s.verificationFailed(ctx, i, fmt.Sprintf("%s was not seen serving within %s (rollout query %s: %s)", rel.Spec.Version, timeout, q, last))
	}
	ss.Message = fmt.Sprintf("waiting for %s to serve in %s (%s left; last: %s)", rel.Spec.Version, stage.Name, (timeout - s.now.Sub(landed)).Round(time.Second), last)
	setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
	return reconcile.WaitFor(min(spec.Interval, timeout-s.now.Sub(landed)+time.Millisecond), reconcile.WaitRollout), nil
}

// serving: a non-empty result with a non-zero value.
func serving(v analysis.Value) bool {
	if v.NoData() {
		return false
	}
	for _, x := range v.Vector {
		if x != 0 {
			return true
		}
	}
	return v.Scalar != nil && *v.Scalar != 0
}

func measuredSummary(st *analysis.State) string {
	parts := make([]string, 0, len(st.Metrics))
	for _, m := range st.Metrics {
		last := "-"
		if n := len(m.Measurements); n > 0 {
			last = m.Measurements[n-1].Value
		}
		parts = append(parts, fmt.Sprintf("%s %d ok/%d failed/%d errors (last %s)", m.Name, m.Successes, m.Failures, m.Errors, last))
	}
	return strings.Join(parts, ", ")
}

// verified ends a successful verification: the stage is promoted and freed.
func (s *step) verified(ctx context.Context, i int, msg string) (reconcile.Outcome, error) {
	if s.pipe.Spec.Stages[i].HasTargets() {
		return s.waveDone(ctx, i, msg)
	}
	ss := &s.rel.Status.Stages[i]
	if err := s.ledger.Free(ctx, s.pipe, s.rel, ss.Name); err != nil {
		return reconcile.Stop(), err
	}
	ss.Phase, ss.Message = releasev1.StagePromoted, fmt.Sprintf("%s live in %s, %s", s.rel.Spec.Version, ss.Name, msg)
	s.succeedDeployment(ctx, ss)
	setConditions(s.rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonVerified, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}

// verifyWave verifies stage i's wave under way (verify), unless a failure
// chose targets to write back before: then it goes on with that.
func (s *step) verifyWave(ctx context.Context, i int) (reconcile.Outcome, error) {
	if out, ok, err := s.resumeRollback(ctx, i); ok {
		return out, err
	}
	return s.verify(ctx, i)
}
