package controllers

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// releaseMetrics are the Release controller's metrics, served on the
// manager's metrics endpoint. Series per Release are deleted with the
// Release. The vectors are registered once per registry: managers started
// again in one process (tests, the playground) share them.
type releaseMetrics struct {
	phase, info, gates, analysis *prometheus.GaugeVec
	records                      *prometheus.GaugeVec
	promotions                   *prometheus.CounterVec
	promotionSeconds, verifySecs *prometheus.HistogramVec
	deploySecs                   *prometheus.HistogramVec
}

func newReleaseMetrics(reg prometheus.Registerer) *releaseMetrics {
	return &releaseMetrics{
		phase: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_release_phase",
			Help: "1 for the phase a Release is in.",
		}, []string{"namespace", "name", "pipeline", "phase"})),
		info: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_release_info",
			Help: "1 per Release, labelled with its version and current stage.",
		}, []string{"namespace", "name", "pipeline", "version", "stage"})),
		promotions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liftoff_promotions_total",
			Help: "Promotions by stage and result (promoted, rolled_back, failed).",
		}, []string{"namespace", "pipeline", "stage", "result"})),
		promotionSeconds: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liftoff_promotion_duration_seconds",
			Help:    "From taking the stage to the version landing in Git.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
		}, []string{"pipeline", "stage"})),
		deploySecs: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liftoff_deployment_duration_seconds",
			Help:    "From the promotion commit to the GitOps agent reporting it deployed (result deployed), failed (failed) or not within the timeout (timeout).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}, []string{"pipeline", "stage", "result"})),
		verifySecs: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liftoff_verification_duration_seconds",
			Help:    "From the version deployed (landed, without deployment) to the end of the analysis.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 16),
		}, []string{"pipeline", "stage", "result"})),
		gates: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_gate_status",
			Help: "Gate of the stage a Release waits for: 1 passed, 0 pending, -1 failed.",
		}, []string{"namespace", "name", "stage", "gate"})),
		analysis: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_analysis_measurement",
			Help: "Last measured value of an analysis metric.",
		}, []string{"namespace", "name", "stage", "metric"})),
		records: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "liftoff_release_records_pending",
			Help: "GitHub records (deployments and their statuses, postmortem issues) a Release owes: turned away by the write budget or GitHub, written later.",
		}, []string{"namespace", "name"})),
	}
}

// register registers c with reg, or returns the collector registered before
// under the same name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// forget deletes a deleted Release's series.
func (m *releaseMetrics) forget(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	for _, v := range []*prometheus.GaugeVec{m.phase, m.info, m.gates, m.analysis, m.records} {
		v.DeletePartialMatch(labels)
	}
}

// recorded records what changed between two recorded statuses.
func (m *releaseMetrics) recorded(before, after *releasev1.Release) {
	ns, name, pipe := after.Namespace, after.Name, after.Spec.Pipeline
	if before.Status.Phase != after.Status.Phase || before.Status.CurrentStage != after.Status.CurrentStage {
		m.phase.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		m.info.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		m.phase.WithLabelValues(ns, name, pipe, string(after.Status.Phase)).Set(1)
		m.info.WithLabelValues(ns, name, pipe, after.Spec.Version, after.Status.CurrentStage).Set(1)
	}
	if n := len(after.Status.PendingRecords); n > 0 || len(before.Status.PendingRecords) > 0 {
		m.records.WithLabelValues(ns, name).Set(float64(n))
	}
	for _, ss := range after.Status.Stages {
		old := before.Status.StageStatus(ss.Name)
		was := releasev1.StagePhase("")
		if old != nil {
			was = old.Phase
		}
		if ss.Name == after.Status.CurrentStage || ss.Phase == releasev1.StageWaiting {
			// The gates of the stage being worked on; several wait side by
			// side in a stage graph's fan-out.
			for _, g := range ss.Gates {
				v := 0.0
				switch g.Status {
				case releasev1.GatePassed:
					v = 1
				case releasev1.GateFailed:
					v = -1
				}
				m.gates.WithLabelValues(ns, name, ss.Name, g.Name).Set(v)
			}
		}
		if a := ss.Analysis; a != nil {
			for _, am := range a.Metrics {
				if n := len(am.Measurements); n > 0 {
					if f, err := strconv.ParseFloat(am.Measurements[n-1].Value, 64); err == nil {
						m.analysis.WithLabelValues(ns, name, ss.Name, am.Name).Set(f)
					}
				}
			}
		}
		m.observeDeployment(pipe, old, &ss)
		if was == ss.Phase {
			continue
		}
		p := ss.Promotion
		// The landing is recorded once, by the first status that has it.
		landedNow := was != releasev1.StageDeploying && was != releasev1.StageVerifying && p != nil && p.StartedAt != nil && p.CompletedAt != nil
		switch ss.Phase {
		case releasev1.StageDeploying, releasev1.StageVerifying:
			if landedNow {
				m.promotionSeconds.WithLabelValues(pipe, ss.Name).Observe(p.CompletedAt.Sub(p.StartedAt.Time).Seconds())
			}
		case releasev1.StagePromoted:
			m.promotions.WithLabelValues(ns, pipe, ss.Name, "promoted").Inc()
			if landedNow {
				m.promotionSeconds.WithLabelValues(pipe, ss.Name).Observe(p.CompletedAt.Sub(p.StartedAt.Time).Seconds())
			}
			m.observeVerification(pipe, ss, "succeeded", after)
		case releasev1.StageRolledBack:
			m.promotions.WithLabelValues(ns, pipe, ss.Name, "rolled_back").Inc()
			m.observeVerification(pipe, ss, "rolled_back", after)
		case releasev1.StageFailed:
			m.promotions.WithLabelValues(ns, pipe, ss.Name, "failed").Inc()
			m.observeVerification(pipe, ss, "failed", after)
		}
	}
}

// observeDeployment records how long a stage's GitOps agent took to deploy
// the promotion commit, or to fail to, once.
func (m *releaseMetrics) observeDeployment(pipe string, old, ss *releasev1.ReleaseStageStatus) {
	d := ss.Deployment
	if d == nil || ss.CommittedAt == nil {
		return
	}
	switch {
	case ss.DeployedAt != nil && (old == nil || old.DeployedAt == nil):
		m.deploySecs.WithLabelValues(pipe, ss.Name, "deployed").Observe(ss.DeployedAt.Sub(ss.CommittedAt.Time).Seconds())
	case deployFailed(d) && (old == nil || old.Deployment == nil || old.Deployment.Reason != d.Reason) && d.LastChecked != nil:
		result := "failed"
		if d.Reason == releasev1.ReasonDeployTimeout {
			result = "timeout"
		}
		m.deploySecs.WithLabelValues(pipe, ss.Name, result).Observe(d.LastChecked.Sub(ss.CommittedAt.Time).Seconds())
	}
}

func (m *releaseMetrics) observeVerification(pipe string, ss releasev1.ReleaseStageStatus, result string, rel *releasev1.Release) {
	if ss.Analysis == nil || ss.Promotion == nil || ss.Promotion.CompletedAt == nil {
		return
	}
	start := ss.Promotion.CompletedAt.Time
	if ss.DeployedAt != nil {
		start = ss.DeployedAt.Time
	}
	end := ss.Analysis.StartedAt.Time
	for _, am := range ss.Analysis.Metrics {
		if n := len(am.Measurements); n > 0 && am.Measurements[n-1].At.After(end) {
			end = am.Measurements[n-1].At.Time
		}
	}
	m.verifySecs.WithLabelValues(pipe, ss.Name, result).Observe(end.Sub(start).Seconds())
}
