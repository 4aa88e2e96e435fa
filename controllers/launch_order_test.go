package controllers_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// Checkout requires payments (its pipeline's spec.requires); payments,
// checkout and worker ship as one launch from one GitOps repository. In
// each stage payments and worker, which need nothing of each other, land
// in one commit, and checkout after them, once payments runs there: two
// commits a stage, payments' first. Staging and prod wait for approvals,
// so that the members become ready together and meet in the coalescer.
func TestLaunchPromotesItsMembersInDependencyOrderInsideAStage(t *testing.T) {
	g := NewWithT(t)
	e, clk := budgetEnv(t, github.GitHubWriteBudget)
	approved := func(stage string, s *releasev1.Stage) {
		if stage != "dev" {
			s.Promotion = releasev1.PromotionManual
			s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
		}
	}
	e.holdWrites(time.Minute)
	e.launchService("payments", "1.8.0", approved)
	e.launchService("worker", "3.0.0", approved)
	g.Expect(k8sCreate(&releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: []string{"checkout", "payments", "worker"}}})).To(Succeed())
	e.launchServiceWith("checkout", "1.4.2", approved, func(p *releasev1.ReleasePipeline) {
		p.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0"}}
	})
	members := []string{"checkout", "payments", "worker"}
	ann := e.approver("ann")

	for _, stage := range []string{"dev", "staging", "prod"} {
		if stage != "dev" {
			e.holdWrites(time.Minute)
			for _, n := range members {
				g.Expect(e.approveAs(ann, n, stage)).To(Succeed())
			}
		}
		e.waitForCommit(stage, "payments", "worker")
		g.Eventually(e.gate("checkout", stage, gates.NameDependencies), timeout, interval).Should(HavePrefix(
			"Pending/DependencyPending: needs payments >=1.8.0 in "+stage), stage)
		if stage == "dev" {
			g.Eventually(func() string { return e.launchStatus("spring")().Holder }, timeout, interval).Should(
				HavePrefix("checkout 1.4.2 waits in dev: dependencies: needs payments >=1.8.0 in dev"))
		}
		clk.Step(time.Minute)
		for _, n := range members {
			g.Eventually(e.stagePhase(n, stage), timeout, interval).Should(Equal(releasev1.StagePromoted), "%s in %s", n, stage)
		}
		commits := e.liftoffCommits("", stage)
		g.Expect(commits).To(HaveLen(2), "payments and worker in one commit, checkout in the next, in %s", stage)
		first := promotion.TrailerGroups(commits[0].Message)
		g.Expect(first).To(HaveLen(1), stage)
		g.Expect(first[0][promotion.TrailerRelease]).To(Equal(e.ns+"/checkout"), "checkout's commit is the newest in %s", stage)
		g.Expect(e.promotionIn(commits[1], "payments", stage)).NotTo(BeNil(), stage)
		g.Expect(e.promotionIn(commits[1], "worker", stage)).NotTo(BeNil(), stage)
		g.Expect(e.gate("checkout", stage, gates.NameDependencies)()).To(Equal(
			"Passed/DependenciesMet: payments 1.8.0 runs in "+stage+" (needs >=1.8.0)"), stage)
	}
	for _, n := range members {
		g.Eventually(e.phase(n), timeout, interval).Should(Equal(releasev1.PhaseReleased), n)
	}
	l := &releasev1.Launch{}
	g.Eventually(func() releasev1.LaunchPhase {
		_ = k8s.Get(context.Background(), e.key("spring"), l)
		return l.Status.Phase
	}, timeout, interval).Should(Equal(releasev1.LaunchReleased))
	g.Expect(l.Status.Forecast).To(HaveLen(3))
	for i, stage := range []string{"dev", "staging", "prod"} {
		f := l.Status.Forecast[i]
		g.Expect(f.Stage).To(Equal(stage))
		g.Expect(f.Reached).To(BeTrue(), stage)
	}
	g.Expect(l.Status.CriticalPath).To(BeEmpty(), "the launch is over")
}
