package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/prometheus"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// VerdictAnnotation lets a person settle an Inconclusive analysis:
// "continue" accepts the version, "rollback" rolls it back.
const VerdictAnnotation = "release.liftoff.dev/verdict"

// Reasons of verification.
const (
	ReasonVerifying       = "Verifying"
	ReasonVerified        = "Verified"
	ReasonVerifyFailed    = "VerificationFailed"
	ReasonRolledBack      = "RolledBack"
	ReasonInconclusive    = "AnalysisInconclusive"
	ReasonInvalidAnalysis = "InvalidAnalysis"
	ReasonPrometheusSetup = "PrometheusNotConfigured"
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
	prom, err := s.r.prometheusClient(ctx, s.pipe)
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
func (r *ReleaseReconciler) prometheusClient(ctx context.Context, pipe *releasev1.ReleasePipeline) (*prometheus.Client, error) {
	if pipe.Spec.Prometheus == nil {
		return nil, &credentialError{reason: ReasonPrometheusSetup, msg: "the pipeline has stages with verify but no spec.prometheus"}
	}
	return prometheusFor(ctx, r.APIReader, pipe.Namespace, pipe.Spec.Prometheus)
}

// prometheusFor returns a client for p; its Secret (headers) is read from
// namespace on demand.
func prometheusFor(ctx context.Context, reader client.Reader, namespace string, p *releasev1.PrometheusSpec) (*prometheus.Client, error) {
	headers := map[string]string{}
	if p.SecretRef != nil {
		secret := &corev1.Secret{}
		if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: p.SecretRef.Name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &credentialError{reason: releasev1.ReasonSecretNotFound, msg: fmt.Sprintf("Secret %q (spec.prometheus.secretRef) not found in namespace %s", p.SecretRef.Name, namespace)}
			}
			return nil, err
		}
		for k, v := range secret.Data {
			headers[k] = string(v)
		}
	}
	timeout := 30 * time.Second
	if p.Timeout != nil {
		timeout = p.Timeout.Duration
	}
	c, err := prometheus.New(p.Address, headers, timeout)
	if err != nil {
		return nil, &credentialError{reason: ReasonPrometheusSetup, msg: err.Error()}
	}
	return c, nil
}

// startVerifying records a landed version whose stage has a verify spec.
func (s *step) startVerifying(i int) {
	ss := &s.rel.Status.Stages[i]
	ss.Phase = releasev1.StageVerifying
	if spec, err := compileAnalysis(s.pipe.Spec.Stages[i].Verify); err == nil {
		ss.Analysis = toStatus(analysis.Start(spec, s.now))
	} // else verify() reports the pipeline's error on the next step
	ss.Message = fmt.Sprintf("%s landed in %s; verifying", s.rel.Spec.Version, ss.Name)
	setConditions(s.rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonVerifying, message: ss.Message})
}

// verify takes the due measurements of stage i's analysis and acts on its outcome.
func (s *step) verify(ctx context.Context, i int) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.Verify == nil {
		// Someone removed verify from the stage while it ran: nothing is left to wait for.
		return s.verified(ctx, i, "verification removed from the pipeline")
	}
	spec, err := compileAnalysis(stage.Verify)
	if err != nil {
		s.stall(ReasonInvalidAnalysis, fmt.Sprintf("stage %s: %v", stage.Name, err))
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
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
			prom, err := s.r.prometheusClient(ctx, s.pipe)
			if err != nil {
				s.stall(releasev1.ReasonInvalidSpec, err.Error())
				return ctrl.Result{RequeueAfter: retryTerminal}, nil
			}
			vars := analysis.Vars{Version: rel.Spec.Version, Stage: stage.Name, Release: rel.Name}
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
			setConditions(rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonVerifying, message: ss.Message})
			return ctrl.Result{RequeueAfter: max(wait, 10*time.Millisecond)}, nil
		}
	}
	ss.Analysis = toStatus(st)
	switch st.Phase {
	case analysis.Succeeded:
		return s.verified(ctx, i, "verified: "+st.Message)
	case analysis.Inconclusive:
		switch rel.Annotations[VerdictAnnotation] {
		case "continue":
			return s.verified(ctx, i, "inconclusive analysis accepted by a person: "+st.Message)
		case "rollback":
			return s.verificationFailed(ctx, i, "rolled back by a person after an inconclusive analysis: "+st.Message)
		}
		ss.Message = fmt.Sprintf("analysis inconclusive: %s; annotate the Release %s=continue or %s=rollback", st.Message, VerdictAnnotation, VerdictAnnotation)
		setConditions(rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonInconclusive, message: ss.Message, blocked: true})
		return ctrl.Result{}, nil
	}
	return s.verificationFailed(ctx, i, fmt.Sprintf("analysis %s: %s", strings.ToLower(string(st.Phase)), st.Message))
}

// waitForRollout checks whether the new version serves yet. Once it does, the
// analysis starts from that moment; past the timeout, verification fails.
func (s *step) waitForRollout(ctx context.Context, i int, r *releasev1.RolloutCheck, spec *analysis.Spec) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	prom, err := s.r.prometheusClient(ctx, s.pipe)
	if err != nil {
		s.stall(releasev1.ReasonInvalidSpec, err.Error())
		return ctrl.Result{RequeueAfter: retryTerminal}, nil
	}
	vars := analysis.Vars{Version: rel.Spec.Version, Stage: stage.Name, Release: rel.Name, PreviousVersion: ss.Promotion.PreviousVersion}
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
		setConditions(rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonVerifying, message: ss.Message})
		return continueNow, nil
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
	landed := ss.Promotion.CompletedAt.Time
	if s.now.Sub(landed) >= timeout {
		return s.verificationFailed(ctx, i, fmt.Sprintf("%s was not seen serving within %s (rollout query %s: %s)", rel.Spec.Version, timeout, q, last))
	}
	ss.Message = fmt.Sprintf("waiting for %s to serve in %s (%s left; last: %s)", rel.Spec.Version, stage.Name, (timeout - s.now.Sub(landed)).Round(time.Second), last)
	setConditions(rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonVerifying, message: ss.Message})
	return ctrl.Result{RequeueAfter: min(spec.Interval, timeout-s.now.Sub(landed)+time.Millisecond)}, nil
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
func (s *step) verified(ctx context.Context, i int, msg string) (ctrl.Result, error) {
	ss := &s.rel.Status.Stages[i]
	if err := s.r.unlockStages(ctx, s.pipe, s.rel); err != nil {
		return ctrl.Result{}, err
	}
	ss.Phase, ss.Message = releasev1.StagePromoted, fmt.Sprintf("%s live in %s, %s", s.rel.Spec.Version, ss.Name, msg)
	s.succeedDeployment(ctx, ss)
	setConditions(s.rel, outcome{phase: releasev1.PhaseProgressing, reason: ReasonVerified, message: ss.Message})
	return continueNow, nil
}

// verificationFailed halts or rolls back, as the stage says.
func (s *step) verificationFailed(ctx context.Context, i int, why string) (ctrl.Result, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.OnFailure == releasev1.FailureHalt || ss.Promotion == nil || ss.Promotion.NoChange || ss.Promotion.Commit == "" {
		if err := s.r.unlockStages(ctx, s.pipe, rel); err != nil {
			return ctrl.Result{}, err
		}
		if res, stop, err := s.postmortem(ctx, i, why); stop {
			return res, err
		}
		ss.Phase, ss.Message = releasev1.StageFailed, fmt.Sprintf("%s; halted with %s in %s", why, rel.Spec.Version, stage.Name)
		s.failDeployment(ctx, ss, trim(why, 140))
		setConditions(rel, outcome{phase: releasev1.PhaseFailed, reason: ReasonVerifyFailed, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
		return ctrl.Result{}, nil
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: ss.Promotion.PreviousVersion, Target: stage.Target, Since: ss.Analysis.StartedAt.Time,
		Revert: &promotion.Revert{FromCommit: ss.Promotion.Commit, BadVersion: rel.Spec.Version, Reason: why},
	}
	res, err := promotion.Promote(ctx, s.gh, req)
	if err != nil {
		return s.githubError(err)
	}
	if res.PullRequest != nil {
		ss.Rollback = &releasev1.RollbackStatus{Version: req.Version, PullRequest: &releasev1.PullRequestRef{Number: res.PullRequest.Number, URL: res.PullRequest.URL, Branch: req.Branch(), State: res.PullRequest.State}}
	}
	if !res.Landed {
		ss.Message = fmt.Sprintf("%s; waiting for the rollback pull request #%d to be merged: %s", why, res.PullRequest.Number, res.PullRequest.URL)
		setConditions(rel, outcome{phase: releasev1.PhaseVerifying, reason: ReasonVerifyFailed, message: ss.Message, blocked: true})
		return ctrl.Result{RequeueAfter: s.r.PollInterval}, nil
	}
	if err := s.r.recordRollback(ctx, s.pipe, rel, stage.Name, req.Version, res.Commit, s.now); err != nil {
		return ctrl.Result{}, err
	}
	at := metav1.NewTime(s.now)
	if ss.Rollback == nil {
		ss.Rollback = &releasev1.RollbackStatus{}
	}
	ss.Rollback.Commit, ss.Rollback.Version, ss.Rollback.At = res.Commit, req.Version, &at
	if ss.Rollback.PullRequest != nil {
		ss.Rollback.PullRequest.State = "merged"
	}
	if res, stop, err := s.postmortem(ctx, i, why); stop {
		return res, err
	}
	ss.Phase = releasev1.StageRolledBack
	ss.Message = fmt.Sprintf("%s; rolled back to %s: commit %s", why, req.Version, short(res.Commit))
	s.failDeployment(ctx, ss, trim("rolled back: "+why, 140))
	setConditions(rel, outcome{phase: releasev1.PhaseFailed, reason: ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	return ctrl.Result{}, nil
}

func (s *step) succeedDeployment(ctx context.Context, ss *releasev1.ReleaseStageStatus) {
	if ss.Promotion == nil || ss.Promotion.DeploymentID == 0 {
		return
	}
	if err := s.gh.SetDeploymentStatus(ctx, s.pipe.Spec.Source.Repository, ss.Promotion.DeploymentID, github.DeploymentSuccess, trim(ss.Message, 140), ""); err != nil {
		s.deploymentNotRecorded(ctx, ss, err)
	}
}

// postmortem opens the stage's postmortem issue when it asks for one. Until
// the issue exists the stage stays where it is, so a GitHub failure here is
// retried (the rollback before it is idempotent) rather than forgotten.
func (s *step) postmortem(ctx context.Context, i int, why string) (ctrl.Result, bool, error) {
	ss := &s.rel.Status.Stages[i]
	if s.pipe.Spec.Stages[i].Postmortem == nil || ss.Postmortem != nil {
		return ctrl.Result{}, false, nil
	}
	issue, err := s.openPostmortem(ctx, i, why)
	if err != nil {
		res, err := s.githubError(err)
		return res, true, err
	}
	ss.Postmortem = issue
	return ctrl.Result{}, false, nil
}
