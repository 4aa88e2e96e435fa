package controllers_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// An open issue that the stage's blocker search finds holds the promotion,
// named in the gate; closing it lets the Release go on by itself.
func TestBlockerSearchHoldsStage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.sim.CreateIssue(appRepo, "Checkout fails on Safari", []string{"release-blocker"}, 0)
	e.sim.CreateIssue(appRepo, "Typo in footer", []string{"cosmetic"}, 0)
	e.pipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Blockers: &releasev1.BlockersGate{Query: "repo:acme/checkout label:release-blocker"}}
	}))
	e.release("r", "1.4.2")

	g.Eventually(e.gate("r", "prod", "blockers"), timeout, interval).Should(Equal(
		`Pending/BlockersOpen: 1 open issue(s) match "repo:acme/checkout label:release-blocker": #1 Checkout fails on Safari: close them to go on`))
	// The issue is kept in the gate's status with its link, for the
	// dashboard and the report to link each blocker.
	prod := e.get("r").Status.StageStatus("prod")
	g.Expect(prod.Gates).To(ContainElement(HaveField("Issues", ConsistOf(And(HaveField("Number", n), HaveField("Title", "Checkout fails on Safari"),
		HaveField("URL", HaveSuffix(fmt.Sprintf("/acme/checkout/issues/%d", n))))))))
	g.Expect(e.stagePhase("r", "dev")()).To(Equal(releasev1.StagePromoted))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	e.sim.CloseIssue(appRepo, n, time.Now())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "blockers")()).To(Equal(`Passed/NoBlockers: no open issue matches "repo:acme/checkout label:release-blocker"`))
}

// A query GitHub refuses blocks with the reason instead of retrying forever in silence.
func TestBlockerSearchRefusedQueryBlocks(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline(e.stage("dev", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Blockers: &releasev1.BlockersGate{Query: "repo:acme/checkout frobnicate:yes"}}
	}))
	e.release("r", "1.4.2")
	g.Eventually(e.gate("r", "dev", "blockers"), timeout, interval).Should(And(
		HavePrefix(`Failed/BlockersQueryInvalid: GitHub refused the search "repo:acme/checkout frobnicate:yes"`), HaveSuffix("fix gates.blockers.query")))
	g.Expect(e.phase("r")()).To(Equal(releasev1.PhaseBlocked))
	g.Expect(e.liftoffCommits("r", "")).To(BeEmpty())
}

// The open blockers of a Release's Milestone hold it before the milestone's
// target stage, and only there.
func TestMilestoneBlockersHoldTargetStage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	num := e.sim.CreateMilestone(appRepo, "Q4 launch", time.Now().Add(30*24*time.Hour))
	blocker := e.sim.CreateIssue(appRepo, "Payment retries double-charge", []string{"release-blocker"}, num)
	e.sim.CreateIssue(appRepo, "Polish receipts", nil, num)
	e.milestone("q4", func(m *releasev1.Milestone) {
		m.Spec.DueDate = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))
		m.Spec.TargetStage = "prod"
		m.Spec.GitHub = &releasev1.MilestoneGitHub{Repository: appRepo, Milestone: "Q4 launch", APIURL: e.sim.URL() + "/",
			SecretRef: &releasev1.LocalObjectReference{Name: "github"}}
	})
	e.pipeline()
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.Milestone = "q4" })

	g.Eventually(e.gate("r", "prod", "blockers"), timeout, interval).Should(Equal(
		"Pending/BlockersOpen: milestone q4 has 1 open blocker(s): #1 Payment retries double-charge: close them to go on"))
	g.Expect(e.stagePhase("r", "staging")()).To(Equal(releasev1.StagePromoted))
	g.Expect(e.gate("r", "staging", "blockers")()).To(BeEmpty()) // only the target stage is held
	g.Expect(e.getMilestone("q4").Status.BlockerCount).To(Equal(int32(1)))

	e.sim.CloseIssue(appRepo, blocker, time.Now())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "blockers")()).To(Equal("Passed/NoBlockers: milestone q4 has no open blocker"))
}

// A Release naming a Milestone that does not exist is held before its last
// stage with the reason, not promoted past its blockers unseen.
func TestMissingMilestoneBlocksTargetStage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline(e.stage("dev"), e.stage("prod"))
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.Milestone = "q5" })
	g.Eventually(e.gate("r", "prod", "blockers"), timeout, interval).Should(Equal(
		`Failed/MilestoneNotFound: milestone q5: Milestone "q5" not found in namespace ` + e.ns + `: create it or fix spec.milestone`))
	g.Expect(e.stagePhase("r", "dev")()).To(Equal(releasev1.StagePromoted))
}
