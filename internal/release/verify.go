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
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// compileAnalysis turns a stage's verify spec into the analysis package's
// terms; its error says what to fix in the pipeline.
func compileAnalysis(v *releasev1.Verify) (*analysis.Spec, error) {
	a := v.Analysis
	spec := &analysis.Spec{Count: int(a.Count), ConsecutiveErrorLimit: int(a.ConsecutiveErrorLimit), Interval: 30 * time.Second}
	if a.InitialDelay != nil {
		spec.InitialDelay = a.InitialDelay.Duration
	}
	if a.Interval != nil {
		spec.Interval = a.Interval.Duration
	}
	if v.Rollout != nil {
		if _, err := analysis.RenderQuery(v.Rollout.Query, analysis.Vars{}); err != nil {
			return nil, fmt.Errorf("rollout: %v", err)
		}
	}
	for _, m := range a.Metrics {
		metric, err := compileMetric(m)
		if err != nil {
			return nil, err
		}
		spec.Metrics = append(spec.Metrics, metric)
	}
	return spec, nil
}

// compileMetric checks a metric's query template and conditions.
func compileMetric(m releasev1.AnalysisMetric) (analysis.Metric, error) {
	if _, err := analysis.RenderQuery(m.Query, analysis.Vars{}); err != nil {
		return analysis.Metric{}, fmt.Errorf("metric %s: %v", m.Name, err)
	}
	ok, err := analysis.CompileCondition(m.SuccessCondition)
	if err != nil {
		return analysis.Metric{}, fmt.Errorf("metric %s: successCondition: %v", m.Name, err)
	}
	bad, err := analysis.CompileCondition(m.FailureCondition)
	if err != nil {
		return analysis.Metric{}, fmt.Errorf("metric %s: failureCondition: %v", m.Name, err)
	}
	return analysis.Metric{Name: m.Name, Query: m.Query, SuccessCondition: ok, FailureCondition: bad,
		FailureLimit: int(m.FailureLimit), NoData: analysis.NoDataPolicy(m.NoData)}, nil
}

// measureGate measures a stage's metrics gate once.
func (s *step) measureGate(ctx context.Context, stage *releasev1.Stage) ([]gates.NamedMeasurement, error) {
	prom, err := s.prometheusClient(ctx)
	if err != nil {
		return nil, err
	}
	vars := analysis.Vars{Version: s.rel.Spec.Version, Stage: stage.Name, Release: s.rel.Name}
	if ps := s.pipe.Status.StageStatus(stage.Name); ps != nil {
		vars.PreviousVersion = ps.Version
	}
	var out []gates.NamedMeasurement
	for _, m := range stage.Gates.Metrics {
		metric, err := compileMetric(m)
		if err != nil {
			return nil, err
		}
		q, qerr := analysis.RenderQuery(m.Query, vars)
		var v analysis.Value
		if qerr == nil {
			v, qerr = prom.Query(ctx, q, s.now)
		}
		meas := analysis.Measure(&metric, v, qerr)
		out = append(out, gates.NamedMeasurement{Name: m.Name, Measurement: meas})
	}
	return out, nil
}

func fromStatus(a *releasev1.AnalysisStatus) *analysis.State {
	st := &analysis.State{StartedAt: a.StartedAt.Time, Phase: analysis.Phase(a.Phase), Message: a.Message}
	for _, m := range a.Metrics {
		ms := analysis.MetricState{Name: m.Name, Phase: analysis.Phase(m.Phase), Count: int(m.Count), Successes: int(m.Successes),
			Failures: int(m.Failures), Inconclusives: int(m.Inconclusives), Errors: int(m.Errors), ConsecutiveErrors: int(m.ConsecutiveErrors)}
		for _, x := range m.Measurements {
			ms.Measurements = append(ms.Measurements, analysis.Measurement{At: x.At.Time, Value: x.Value, Phase: analysis.Phase(x.Phase), Message: x.Message})
		}
		st.Metrics = append(st.Metrics, ms)
	}
	return st
}

func toStatus(st *analysis.State) *releasev1.AnalysisStatus {
	out := &releasev1.AnalysisStatus{Phase: string(st.Phase), Message: st.Message, StartedAt: metav1.NewTime(st.StartedAt)}
	for _, m := range st.Metrics {
		ms := releasev1.MetricStatus{Name: m.Name, Phase: string(m.Phase), Count: int32(m.Count), Successes: int32(m.Successes),
			Failures: int32(m.Failures), Inconclusives: int32(m.Inconclusives), Errors: int32(m.Errors), ConsecutiveErrors: int32(m.ConsecutiveErrors)}
		for _, x := range m.Measurements {
			ms.Measurements = append(ms.Measurements, releasev1.MeasurementStatus{At: metav1.NewTime(x.At), Value: x.Value, Phase: string(x.Phase), Message: x.Message})
		}
		out.Metrics = append(out.Metrics, ms)
	}
	return out
}

// prometheusClient builds the client of the pipeline's Prometheus; header
// values come from its Secret, read without a cache.
func (s *step) prometheusClient(ctx context.Context) (Prometheus, error) {
	if s.pipe.Spec.Prometheus == nil {
		return nil, &credentials.Error{Reason: releasev1.ReasonPrometheusNotConfigured, Message: "the pipeline has stages with verify but no spec.prometheus"}
	}
	return s.credentials.Prometheus(ctx, s.pipe.Namespace, s.pipe.Spec.Prometheus)
}

// startVerifying records a live version (deployed, or landed in a stage
// without deployment) whose stage has a verify spec.
func (s *step) startVerifying(i int) {
	ss := &s.rel.Status.Stages[i]
	ss.Phase = releasev1.StageVerifying
	if spec, err := compileAnalysis(s.pipe.Spec.Stages[i].Verify); err == nil {
		ss.Analysis = toStatus(analysis.Start(spec, s.now))
	} // else verify() reports the pipeline's error on the next step
	ss.Message = fmt.Sprintf("%s landed in %s; verifying", s.rel.Spec.Version, ss.Name)
	if s.pipe.Spec.Stages[i].Deployment != nil {
		ss.Message = fmt.Sprintf("%s deployed in %s; verifying", s.rel.Spec.Version, ss.Name)
	}
	setConditions(s.rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
}

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
