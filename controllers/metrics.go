package controllers

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The controller's metrics, served on the manager's metrics endpoint. Series
// per Release are deleted with the Release.
var (
	releasePhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_release_phase",
		Help: "1 for the phase a Release is in.",
	}, []string{"namespace", "name", "pipeline", "phase"})
	releaseStage = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_release_info",
		Help: "1 per Release, labelled with its version and current stage.",
	}, []string{"namespace", "name", "pipeline", "version", "stage"})
	promotionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_promotions_total",
		Help: "Promotions by stage and result (promoted, rolled_back, failed).",
	}, []string{"namespace", "pipeline", "stage", "result"})
	promotionSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "liftoff_promotion_duration_seconds",
		Help:    "From taking the stage to the version landing in Git.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
	}, []string{"pipeline", "stage"})
	verificationSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "liftoff_verification_duration_seconds",
		Help:    "From the landing to the end of the analysis.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 16),
	}, []string{"pipeline", "stage", "result"})
	gateStatus = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_gate_status",
		Help: "Gate of the stage a Release waits for: 1 passed, 0 pending, -1 failed.",
	}, []string{"namespace", "name", "stage", "gate"})
	analysisValue = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_analysis_measurement",
		Help: "Last measured value of an analysis metric.",
	}, []string{"namespace", "name", "stage", "metric"})
)

func init() {
	metrics.Registry.MustRegister(releasePhase, releaseStage, promotionsTotal, promotionSeconds, verificationSeconds, gateStatus, analysisValue)
}

// forgetRelease deletes a deleted Release's series.
func forgetRelease(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	for _, v := range []*prometheus.GaugeVec{releasePhase, releaseStage, gateStatus, analysisValue} {
		v.DeletePartialMatch(labels)
	}
}

// recordMetrics records what changed between two recorded statuses.
func recordMetrics(before, after *releasev1.Release) {
	ns, name, pipe := after.Namespace, after.Name, after.Spec.Pipeline
	if before.Status.Phase != after.Status.Phase || before.Status.CurrentStage != after.Status.CurrentStage {
		releasePhase.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		releaseStage.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		releasePhase.WithLabelValues(ns, name, pipe, string(after.Status.Phase)).Set(1)
		releaseStage.WithLabelValues(ns, name, pipe, after.Spec.Version, after.Status.CurrentStage).Set(1)
	}
	for _, ss := range after.Status.Stages {
		old := before.Status.StageStatus(ss.Name)
		was := releasev1.StagePhase("")
		if old != nil {
			was = old.Phase
		}
		if ss.Name == after.Status.CurrentStage {
			for _, g := range ss.Gates {
				v := 0.0
				switch g.Status {
				case releasev1.GatePassed:
					v = 1
				case releasev1.GateFailed:
					v = -1
				}
				gateStatus.WithLabelValues(ns, name, ss.Name, g.Name).Set(v)
			}
		}
		if a := ss.Analysis; a != nil {
			for _, m := range a.Metrics {
				if n := len(m.Measurements); n > 0 {
					if f, err := strconv.ParseFloat(m.Measurements[n-1].Value, 64); err == nil {
						analysisValue.WithLabelValues(ns, name, ss.Name, m.Name).Set(f)
					}
				}
			}
		}
		if was == ss.Phase {
			continue
		}
		p := ss.Promotion
		switch ss.Phase {
		case releasev1.StageVerifying:
			if p != nil && p.StartedAt != nil && p.CompletedAt != nil {
				promotionSeconds.WithLabelValues(pipe, ss.Name).Observe(p.CompletedAt.Sub(p.StartedAt.Time).Seconds())
			}
		case releasev1.StagePromoted:
			promotionsTotal.WithLabelValues(ns, pipe, ss.Name, "promoted").Inc()
			if was != releasev1.StageVerifying && p != nil && p.StartedAt != nil && p.CompletedAt != nil {
				promotionSeconds.WithLabelValues(pipe, ss.Name).Observe(p.CompletedAt.Sub(p.StartedAt.Time).Seconds())
			}
			observeVerification(pipe, ss, "succeeded", after)
		case releasev1.StageRolledBack:
			promotionsTotal.WithLabelValues(ns, pipe, ss.Name, "rolled_back").Inc()
			observeVerification(pipe, ss, "rolled_back", after)
		case releasev1.StageFailed:
			promotionsTotal.WithLabelValues(ns, pipe, ss.Name, "failed").Inc()
			observeVerification(pipe, ss, "failed", after)
		}
	}
}

func observeVerification(pipe string, ss releasev1.ReleaseStageStatus, result string, rel *releasev1.Release) {
	if ss.Analysis == nil || ss.Promotion == nil || ss.Promotion.CompletedAt == nil {
		return
	}
	end := ss.Analysis.StartedAt.Time
	for _, m := range ss.Analysis.Metrics {
		if n := len(m.Measurements); n > 0 && m.Measurements[n-1].At.After(end) {
			end = m.Measurements[n-1].At.Time
		}
	}
	verificationSeconds.WithLabelValues(pipe, ss.Name, result).Observe(end.Sub(ss.Promotion.CompletedAt.Time).Seconds())
}
