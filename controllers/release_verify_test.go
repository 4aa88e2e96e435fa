package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
)

// errorRatioVerify verifies a stage by the error ratio of the new version:
// count measurements under 5%, 300ms apart.
func errorRatioVerify(count int32) *releasev1.Verify {
	return &releasev1.Verify{Analysis: releasev1.AnalysisSpec{
		InitialDelay: &metav1.Duration{Duration: 200 * time.Millisecond},
		Interval:     &metav1.Duration{Duration: 300 * time.Millisecond}, Count: count, ConsecutiveErrorLimit: 2,
		Metrics: []releasev1.AnalysisMetric{{
			Name: "error-ratio", Query: `max(demo_error_ratio{version="{{ .Version }}"})`,
			SuccessCondition: "result < 0.05", NoData: "Fail",
		}},
	}}
}

// verifiedPipeline: dev, then prod verified by the error ratio of the new version.
func (e *testEnv) verifiedPipeline(promURL string, mod func(*releasev1.Stage)) {
	prod := e.stage("prod", func(s *releasev1.Stage) {
		s.Verify = errorRatioVerify(3)
		if mod != nil {
			mod(s)
		}
	})
	p := e.newPipeline(e.stage("dev"), prod)
	p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: promURL}
	NewWithT(e.t).Expect(k8sCreate(p)).To(Succeed())
}

func rollbackCommits(e *testEnv) int {
	n := 0
	for _, c := range e.liftoffCommits("", "prod") {
		if strings.Contains(c.Message, "Liftoff-Action: rollback") {
			n++
		}
	}
	return n
}

func TestVerifiedReleaseReachesProd(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.01)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, nil)
	e.release("r", "1.4.2")

	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageVerifying))
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	a := e.get("r").Status.StageStatus("prod").Analysis
	g.Expect(a.Phase).To(Equal("Succeeded"))
	g.Expect(a.Metrics[0].Successes).To(BeNumerically("==", 3))
	g.Expect(a.Metrics[0].Measurements[0].Value).To(Equal("0.01"))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))
	g.Expect(rollbackCommits(e)).To(BeZero())
}

func TestBadReleaseIsRolledBackInGit(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.30)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) {
		s.Postmortem = &releasev1.PostmortemSpec{Labels: []string{"postmortem", "prod"}}
	})
	// The first attempt to open the postmortem fails: nothing is lost (the
	// issue is owed, and opened by a later reconcile), and the retry neither
	// rolls back twice nor opens two issues.
	e.sim.Inject(githubsim.Fault{Method: "POST", Path: "/issues$", Status: 502, Times: 1})
	e.release("r", "1.4.2")

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	rel := e.get("r")
	ss := rel.Status.StageStatus("prod")
	g.Expect(ss.Phase).To(Equal(releasev1.StageRolledBack))
	g.Expect(ss.Analysis.Phase).To(Equal("Failed"))
	g.Expect(ss.Message).To(ContainSubstring("successCondition result < 0.05 is false"))
	g.Expect(ss.Rollback.Version).To(Equal("1.4.1"))
	// The file holds exactly what it held before the promotion.
	g.Expect(e.file("prod")).To(Equal(kustomization("1.4.1")))
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(2), "one promotion and one rollback commit")
	g.Consistently(func() int { return rollbackCommits(e) }, 2*time.Second, 100*time.Millisecond).Should(Equal(1), "exactly one rollback commit")
	g.Expect(ss.Rollback.Commit).To(Equal(e.liftoffCommits("r", "prod")[0].SHA))
	// dev keeps the version: only the failing stage is rolled back.
	g.Expect(e.file("dev")).To(ContainSubstring(`newTag: "1.4.2"`))
	deps := e.sim.Deployments(appRepo)
	last := deps[len(deps)-1]
	g.Expect(last.Environment).To(Equal("prod"))
	g.Expect(last.Statuses[len(last.Statuses)-1].State).To(Equal("failure"))
	g.Expect(eventReasons(e, "r")).To(ContainElement("RolledBack"))
	g.Expect(promotionCount(e.ns, "prod", "rolled_back")).To(BeNumerically("==", 1))

	g.Eventually(func() []releasev1.PendingRecord { return e.get("r").Status.PendingRecords }, timeout, interval).Should(BeEmpty(), "the postmortem owed is opened")
	g.Expect(e.condition("r", releasev1.ConditionRecordsPending)()).To(BeEmpty())
	ss = e.get("r").Status.StageStatus("prod")
	issues := e.sim.Issues(appRepo)
	g.Expect(issues).To(HaveLen(1), "one postmortem issue")
	g.Expect(issues[0].Labels).To(ConsistOf("postmortem", "prod"))
	g.Expect(issues[0].Title).To(ContainSubstring("checkout 1.4.2 failed verification in prod"))
	for _, want := range []string{"## Timeline (UTC)", "Promotion into prod started", "error-ratio: Failed 0.3", "Rolled back to 1.4.1", "## What went well", "## What can be improved"} {
		g.Expect(issues[0].Body).To(ContainSubstring(want))
	}
	g.Expect(ss.Postmortem.Number).To(Equal(issues[0].Number))
}

func TestHaltKeepsTheVersion(t *testing.T) {
	g := NewWithT(t)
	target, prom := startPrometheus(t, "1.4.2", 0)
	e := newEnv(t)
	// No series for the version at all: noData Fail, never a silent pass.
	target.Set("0.0.0", 0)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) { s.OnFailure = releasev1.FailureHalt })
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.Phase).To(Equal(releasev1.StageFailed))
	g.Expect(ss.Message).To(ContainSubstring("no data (noData: Fail)"))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))
	g.Expect(rollbackCommits(e)).To(BeZero())
}

func TestPrometheusDownIsNeverSuccess(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.01)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) {
		s.Verify.Analysis.Count = 1000 // runs until Prometheus goes away
	})
	e.release("r", "1.4.2")
	g.Eventually(func() int32 {
		if ss := e.get("r").Status.StageStatus("prod"); ss != nil && ss.Analysis != nil {
			return ss.Analysis.Metrics[0].Successes
		}
		return 0
	}, timeout, interval).Should(BeNumerically(">=", 2))
	prom.Stop()
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.Analysis.Phase).To(Equal("Error"))
	g.Expect(ss.Analysis.Metrics[0].ConsecutiveErrors).To(BeNumerically("==", 3))
	g.Expect(ss.Phase).To(Equal(releasev1.StageRolledBack))
	g.Expect(rollbackCommits(e)).To(Equal(1))
}

func TestVerificationResumesAfterRestart(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.01)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) {
		s.Verify.Analysis.Count = 6
		s.Verify.Analysis.Interval = &metav1.Duration{Duration: 400 * time.Millisecond}
	})
	e.release("r", "1.4.2")
	measured := func() int32 {
		if ss := e.get("r").Status.StageStatus("prod"); ss != nil && ss.Analysis != nil {
			return ss.Analysis.Metrics[0].Count
		}
		return 0
	}
	g.Eventually(measured, timeout, interval).Should(BeNumerically(">=", 2))
	e.stopController()
	before := measured()
	e.restart(nil)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	a := e.get("r").Status.StageStatus("prod").Analysis
	g.Expect(a.Metrics[0].Count).To(BeNumerically("==", 6), "counting resumed from status (%d measured before the restart)", before)
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(1))
}

func TestInvalidAnalysisStopsBeforePromoting(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.verifiedPipeline("http://127.0.0.1:1", func(s *releasev1.Stage) {
		s.Verify.Analysis.Metrics[0].SuccessCondition = "result <"
	})
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionStalled), timeout, interval).Should(And(
		HavePrefix("True/InvalidAnalysis"), ContainSubstring("successCondition")))
	g.Expect(e.liftoffCommits("r", "prod")).To(BeEmpty())
}

func TestInconclusiveWaitsForAPerson(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "0.0.0", 0)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) { s.Verify.Analysis.Metrics[0].NoData = "Inconclusive" })
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(And(
		HavePrefix("True/AnalysisInconclusive"), ContainSubstring(releasev1.AnnotationVerdict+"=continue")))
	g.Consistently(e.stagePhase("r", "prod"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageVerifying))

	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rel := e.get("r")
		rel.Annotations = map[string]string{releasev1.AnnotationVerdict: "continue"}
		return k8s.Update(context.Background(), rel)
	})).To(Succeed())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.get("r").Status.StageStatus("prod").Message).To(ContainSubstring("accepted by a person"))
	g.Expect(rollbackCommits(e)).To(BeZero())
}

func TestMetricsGateHoldsUntilItHolds(t *testing.T) {
	g := NewWithT(t)
	target, prom := startPrometheus(t, "1.4.1", 0.2)
	e := newEnv(t)
	p := e.newPipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Metrics: []releasev1.AnalysisMetric{{
			Name: "prod-error-ratio", Query: `max(demo_error_ratio{version!="{{ .Version }}"})`, SuccessCondition: "result < 0.05", NoData: "Fail",
		}}}
	}))
	p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: prom.URL}
	g.Expect(k8sCreate(p)).To(Succeed())
	e.release("r", "1.4.2")
	// dev has no gate; prod runs 1.4.1, which is burning.
	g.Eventually(e.gate("r", "prod", "metrics"), timeout, interval).Should(And(
		HavePrefix("Failed/MetricsFailed"), ContainSubstring("prod-error-ratio = 0.2")))
	g.Expect(e.condition("r", releasev1.ConditionBlocked)()).To(HavePrefix("True/GateFailed"))
	g.Expect(e.liftoffCommits("r", "prod")).To(BeEmpty())

	target.Set("1.4.1", 0.01) // recovered
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "metrics")()).To(HavePrefix("Passed/MetricsPassed"))
}

func TestRolloutGatesTheAnalysis(t *testing.T) {
	g := NewWithT(t)
	target, prom := startPrometheus(t, "1.4.1", 0)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) {
		s.Verify.Rollout = &releasev1.RolloutCheck{Query: `sum(demo_up{version="{{ .Version }}"}) > 0`}
	})
	e.release("r", "1.4.2")
	g.Eventually(func() string {
		if ss := e.get("r").Status.StageStatus("prod"); ss != nil {
			return ss.Message
		}
		return ""
	}, timeout, interval).Should(ContainSubstring("waiting for 1.4.2 to serve in prod"))
	g.Consistently(func() int32 { return e.get("r").Status.StageStatus("prod").Analysis.Metrics[0].Count }, time.Second, 100*time.Millisecond).Should(BeZero())

	target.Set("1.4.2", 0.01) // the GitOps sync rolled the new version out
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.RolloutReadyAt).NotTo(BeNil())
	g.Expect(ss.Analysis.StartedAt.Time).To(BeTemporally(">=", ss.RolloutReadyAt.Time))
}

func TestRolloutTimeoutRollsBack(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.1", 0)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) {
		s.Verify.Rollout = &releasev1.RolloutCheck{Query: `sum(demo_up{version="{{ .Version }}"}) > 0`, Timeout: &metav1.Duration{Duration: time.Second}}
	})
	e.release("r", "1.4.2")
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(e.get("r").Status.StageStatus("prod").Message).To(ContainSubstring("was not seen serving within 1s"))
	g.Expect(e.file("prod")).To(Equal(kustomization("1.4.1")))
	g.Expect(rollbackCommits(e)).To(Equal(1))
}

func TestRestartBetweenRollbackAndStatusWrite(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.30)
	// The third ref update is the rollback (dev, prod, then prod's rollback):
	// once it lands, GitHub hangs until the controller is stopped.
	crashing, rolledBack := crashOnRefUpdate(3, false)
	e := newEnv(t, withTransport(crashing))
	e.verifiedPipeline(prom.URL, nil)
	e.release("r", "1.4.2")
	g.Eventually(rolledBack, timeout).Should(BeClosed())
	e.stopController()
	g.Expect(e.stagePhase("r", "prod")()).To(Equal(releasev1.StageVerifying), "the rollback was never recorded")

	e.restart(nil)
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(rollbackCommits(e)).To(Equal(1), "the restarted controller found its rollback commit")
	g.Expect(e.file("prod")).To(Equal(kustomization("1.4.1")))
}

func TestNoDataPassIsExplicit(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "0.0.0", 0)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) { s.Verify.Analysis.Metrics[0].NoData = "Pass" })
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	m := e.get("r").Status.StageStatus("prod").Analysis.Metrics[0]
	g.Expect(m.Successes).To(BeNumerically("==", 3))
	g.Expect(m.Measurements[0].Message).To(Equal("no data (noData: Pass)"), "the pass is recorded as what it was")
}

// startPrometheus runs a target serving version with an error ratio and a real
// Prometheus scraping it, and waits for the first sample.
func startPrometheus(t *testing.T, version string, ratio float64) (*promtest.Target, *promtest.Server) {
	target := promtest.NewTarget(version)
	t.Cleanup(target.Close)
	target.Set(version, ratio)
	prom := promtest.Start(t, 100*time.Millisecond, target.Addr())
	prom.WaitForSeries(t, "demo_up")
	return target, prom
}

func TestVerifyRemovedWhileVerifying(t *testing.T) {
	g := NewWithT(t)
	_, prom := startPrometheus(t, "1.4.2", 0.01)
	e := newEnv(t)
	e.verifiedPipeline(prom.URL, func(s *releasev1.Stage) { s.Verify.Analysis.Count = 1000 })
	e.release("r", "1.4.2")
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageVerifying))
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := &releasev1.ReleasePipeline{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: e.ns, Name: "checkout"}, p); err != nil {
			return err
		}
		p.Spec.Stages[1].Verify = nil
		return k8s.Update(context.Background(), p)
	})).To(Succeed())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.get("r").Status.StageStatus("prod").Message).To(ContainSubstring("verification removed from the pipeline"))
}
