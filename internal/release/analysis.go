package release

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// A stage's analysis (its verify spec, its metrics gate) in the analysis
// package's terms, for the verify step, the gates and the start of a
// verification.

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

// prometheusClient builds the client of the pipeline's Prometheus; header
// values come from its Secret, read without a cache.
func (s *step) prometheusClient(ctx context.Context) (Prometheus, error) {
	if s.pipe.Spec.Prometheus == nil {
		return nil, &credentials.Error{Reason: releasev1.ReasonPrometheusNotConfigured, Message: "the pipeline has stages with verify but no spec.prometheus"}
	}
	return s.credentials.Prometheus(ctx, s.pipe.Namespace, s.pipe.Spec.Prometheus)
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
