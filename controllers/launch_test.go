package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// launchService is a service of the test's GitOps repository promoted
// through dev, staging and prod and a Release of version: checkout uses
// the suite's envs/STAGE files, another service envs/NAME/STAGE (at 1.4.1,
// image ghcr.io/acme/NAME). mod changes its stages.
func (e *testEnv) launchService(name, version string, mod func(stage string, s *releasev1.Stage)) {
	e.t.Helper()
	e.launchServiceWith(name, version, mod, nil)
}

// launchServiceWith is launchService with pipe changing the pipeline too.
func (e *testEnv) launchServiceWith(name, version string, mod func(stage string, s *releasev1.Stage), pipe func(*releasev1.ReleasePipeline)) {
	e.t.Helper()
	g := NewWithT(e.t)
	stages := []string{"dev", "staging", "prod"}
	path := func(st string) string { return "envs/" + name + "/" + st + "/kustomization.yaml" }
	if name == "checkout" {
		path = func(st string) string { return "envs/" + st + "/kustomization.yaml" }
	} else {
		files := map[string]string{}
		for _, st := range stages {
			files[path(st)] = strings.ReplaceAll(kustomization("1.4.1"), "ghcr.io/acme/checkout", "ghcr.io/acme/"+name)
		}
		_, err := e.sim.CommitFiles(gitopsRepo, "main", files, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(e.sim.CreateTag(appRepo, "v"+version, e.appSHA)).To(Succeed())
	}
	var ss []releasev1.Stage
	for _, st := range stages {
		ss = append(ss, e.stage(st, func(s *releasev1.Stage) {
			s.Target.Files[0] = releasev1.TargetFile{Path: path(st), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/" + name}}
			mod(st, s)
		}))
	}
	p := e.newPipeline(ss...)
	p.Name = name
	if pipe != nil {
		pipe(p)
	}
	g.Expect(k8sCreate(p)).To(Succeed())
	e.release(name, version, func(r *releasev1.Release) {
		r.Spec.Pipeline = name
		r.Spec.Artifacts = []releasev1.Artifact{{Name: name, Image: "ghcr.io/acme/" + name}}
	})
}

// launchStatus reads the launch's status for Eventually.
func (e *testEnv) launchStatus(name string) func() releasev1.LaunchStatus {
	return func() releasev1.LaunchStatus {
		l := &releasev1.Launch{}
		if err := k8s.Get(context.Background(), e.key(name), l); err != nil {
			return releasev1.LaunchStatus{}
		}
		return l.Status
	}
}

// waitForCommit waits until every Release named is handed to the
// coalescer for stage, the GitHub write budget holding the commit.
func (e *testEnv) waitForCommit(stage string, names ...string) {
	e.t.Helper()
	for _, n := range names {
		NewWithT(e.t).Eventually(e.condition(n, releasev1.ConditionReady), timeout, interval).Should(
			ContainSubstring("into "+stage+": waiting for the coalesced commit to acme/gitops@main"), n)
	}
}

// Three services of one GitOps repository ship as one launch through dev,
// staging and prod. Web deploys slowly in dev: checkout and worker, done
// there and approved into staging, wait for it, and the launch names web
// as its holder. Once web is deployed the three go into staging together,
// in one commit per stage.
func TestLaunchMovesItsMembersStageByStageTogether(t *testing.T) {
	g := NewWithT(t)
	e, clk := budgetEnv(t, github.GitHubWriteBudget)
	ctx := context.Background()
	e.application("web-dev")
	// Every promotion waits for the write budget: those ready together
	// meet in the coalescer.
	e.holdWrites(time.Minute)
	approved := func(stage string, s *releasev1.Stage) {
		if stage != "dev" {
			s.Promotion = releasev1.PromotionManual
			s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
		}
	}
	g.Expect(k8sCreate(&releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: []string{"checkout", "web", "worker"}}})).To(Succeed())
	e.launchService("checkout", "1.4.2", approved)
	e.launchService("web", "2.0.0", func(stage string, s *releasev1.Stage) {
		approved(stage, s)
		if stage == "dev" {
			e.argoCD("web-dev", time.Hour)(s)
		}
	})
	e.launchService("worker", "3.0.0", approved)
	members := []string{"checkout", "web", "worker"}
	ann := e.approver("ann")
	approve := func(name, stage string) { g.Expect(e.approveAs(ann, name, stage)).To(Succeed()) }

	e.waitForCommit("dev", members...)
	clk.Step(time.Minute)
	devCommit := e.deploying("web", "dev")
	for _, n := range []string{"checkout", "worker"} {
		g.Eventually(e.stagePhase(n, "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted), n)
		approve(n, "staging")
	}
	g.Eventually(e.gate("checkout", "staging", gates.NameGroup), timeout, interval).Should(Equal(
		"Pending/GroupPending: waits for web 2.0.0 to finish dev (deploying) (launch spring)"))
	g.Eventually(e.gate("worker", "staging", gates.NameGroup), timeout, interval).Should(HavePrefix("Pending/GroupPending: waits for web 2.0.0"))
	g.Expect(e.gate("checkout", "staging", gates.NameApprovals)()).To(HavePrefix("Passed/"))
	g.Eventually(func() string { return e.launchStatus("spring")().Holder }, timeout, interval).Should(Equal("web 2.0.0 is deploying to dev"))
	st := e.launchStatus("spring")()
	g.Expect(st.Phase).To(Equal(releasev1.LaunchProgressing))
	g.Expect(st.CurrentStage).To(Equal("dev"))
	g.Expect(st.Stages).To(Equal([]string{"dev", "staging", "prod"}))
	g.Expect(st.Members).To(HaveLen(3))
	g.Expect(st.Members[1].Name).To(Equal("web"))
	g.Expect(st.Members[1].Holder).To(BeTrue())
	g.Expect(st.Members[0].Stages[0]).To(Equal(releasev1.LaunchMemberStage{Name: "dev", Phase: releasev1.StagePromoted}))
	g.Expect(e.liftoffCommits("", "staging")).To(BeEmpty(), "no member enters staging before web is done in dev")

	commits := e.liftoffCommits("", "dev")
	g.Expect(commits).To(HaveLen(1), "one commit for the three promotions into dev")
	g.Expect(promotion.TrailerGroups(commits[0].Message)).To(HaveLen(3))

	// Web is deployed: the three go into staging together, in one commit.
	e.holdWrites(time.Minute)
	approve("web", "staging")
	e.setApp("web-dev", agenttest.ArgoStatus{Revision: devCommit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced"})
	e.waitForCommit("staging", members...)
	clk.Step(time.Minute)
	for _, n := range members {
		g.Eventually(e.stagePhase(n, "staging"), timeout, interval).Should(Equal(releasev1.StagePromoted), n)
	}
	g.Expect(e.gate("checkout", "staging", gates.NameGroup)()).To(Equal("Passed/GroupReady: every member of launch spring is promoted in dev"))
	g.Expect(e.liftoffCommits("", "staging")).To(HaveLen(1), "one commit for the three promotions into staging")

	e.holdWrites(time.Minute)
	for _, n := range members {
		approve(n, "prod")
	}
	e.waitForCommit("prod", members...)
	clk.Step(time.Minute)
	for _, n := range members {
		g.Eventually(e.phase(n), timeout, interval).Should(Equal(releasev1.PhaseReleased), n)
	}
	g.Expect(e.liftoffCommits("", "prod")).To(HaveLen(1), "one commit for the three promotions into prod")
	g.Eventually(func() releasev1.LaunchPhase { return e.launchStatus("spring")().Phase }, timeout, interval).Should(Equal(releasev1.LaunchReleased))
	l := &releasev1.Launch{}
	g.Expect(k8s.Get(ctx, e.key("spring"), l)).To(Succeed())
	g.Expect(l.Status.CurrentStage).To(Equal("prod"))
	g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
}

// Members of a launch sharing a GitOps repository land in one commit per
// stage also when GitHub is idle and nothing else gathers them: the first
// one ready waits in the coalescer for the others the group gate let in
// with it, instead of going alone.
func TestALaunchsMembersShareOneCommitPerStage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	members := []string{"checkout", "web", "worker"}
	g.Expect(k8sCreate(&releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "trio", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: members}})).To(Succeed())
	for i, n := range members {
		e.launchService(n, []string{"1.4.2", "2.0.0", "3.0.0"}[i], func(string, *releasev1.Stage) {})
	}
	for _, n := range members {
		g.Eventually(e.phase(n), timeout, interval).Should(Equal(releasev1.PhaseReleased), n)
	}
	for _, st := range []string{"dev", "staging", "prod"} {
		commits := e.liftoffCommits("", st)
		g.Expect(commits).To(HaveLen(1), "one commit for the three promotions into %s", st)
		g.Expect(promotion.TrailerGroups(commits[0].Message)).To(HaveLen(3), st)
	}
}

// A launch its members could never move with is refused at admission, with
// what to fix: a member already in another launch that is still on
// (named, or picked by labels), and members whose services each wait for
// the other to run first.
func TestLaunchesThatCouldNeverMoveAreRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	refused := func(err error, msg string) {
		t.Helper()
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring(msg))
	}
	launch := func(name string, spec releasev1.LaunchSpec) *releasev1.Launch {
		return &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Spec: spec}
	}
	g.Expect(k8s.Create(ctx, launch("spring", releasev1.LaunchSpec{Members: []string{"checkout", "web"}}))).To(Succeed())
	refused(k8s.Create(ctx, launch("summer", releasev1.LaunchSpec{Members: []string{"worker", "web"}})),
		"launch summer: spec.members: web is already a member of launch spring, which is still on: a Release moves with one launch at a time; remove it from one of them")
	refused(k8s.Create(ctx, launch("both", releasev1.LaunchSpec{Members: []string{"worker"}, Selector: &metav1.LabelSelector{}})),
		"name the launch's Releases in spec.members or pick them with spec.selector, not both")

	// A Release the labels of which a second launch picks.
	p := e.pipeline()
	shop := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}
	g.Expect(k8s.Create(ctx, launch("autumn", releasev1.LaunchSpec{Selector: shop}))).To(Succeed())
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: e.ns, Labels: map[string]string{"team": "shop"}},
		Spec: releasev1.ReleaseSpec{Pipeline: p.Name, Version: "1.4.2"}}
	refused(k8s.Create(ctx, rel.DeepCopy()),
		"Release checkout would be a member of launches autumn and spring, which are all still on: a Release moves with one launch at a time")
	rel.Labels = nil
	g.Expect(k8s.Create(ctx, rel)).To(Succeed())
	e.paymentsPipeline(nil)

	// Checkout 2.0.0 needs payments, payments 2.0.0 needs checkout: each
	// admitted alone, never together.
	two := func(pipeline, requires string) {
		g.Expect(k8s.Create(ctx, &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: pipeline + "-2.0.0", Namespace: e.ns},
			Spec: releasev1.ReleaseSpec{Pipeline: pipeline, Version: "2.0.0", Requires: []releasev1.Requirement{{Pipeline: requires, Version: ">=2.0.0"}}}})).To(Succeed())
	}
	two(p.Name, "payments")
	two("payments", p.Name)
	refused(k8s.Create(ctx, launch("winter", releasev1.LaunchSpec{Members: []string{p.Name + "-2.0.0", "payments-2.0.0"}})),
		"launch winter: a dependency cycle between its members' services, "+p.Name+" -> payments -> "+p.Name+": no member could ever go first")
}

// Web fails in dev (Argo CD reports it Degraded and it is rolled back):
// with onFailure Group checkout, done in dev, is written back with it in
// the same commit and never starts staging, and the launch says which
// member failed and what went back with it.
func TestALaunchHaltsWhenAMemberFails(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.application("web-dev")
	g.Expect(k8sCreate(&releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: []string{"checkout", "web"}}})).To(Succeed())
	e.launchService("checkout", "1.4.2", func(string, *releasev1.Stage) {})
	e.launchService("web", "2.0.0", func(stage string, s *releasev1.Stage) {
		if stage == "dev" {
			e.argoCD("web-dev", 0)(s)
		}
	})
	commit := e.deploying("web", "dev")
	g.Eventually(e.gate("checkout", "staging", gates.NameGroup), timeout, interval).Should(Equal(
		"Pending/GroupPending: waits for web 2.0.0 to finish dev (deploying) (launch spring)"))
	e.setApp("web-dev", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Degraded", Operation: "Succeeded", Message: "CrashLoopBackOff"})

	g.Eventually(e.phase("web"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	g.Eventually(e.stagePhase("checkout", "dev"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(e.phase("checkout")()).To(Equal(releasev1.PhaseFailed))
	var back []string
	for _, c := range e.liftoffCommits("", "dev") {
		if strings.Contains(c.Message, "Liftoff-Action: rollback") {
			back = append(back, c.SHA)
		}
	}
	g.Expect(back).To(HaveLen(1), "checkout and web written back in one commit")
	g.Expect(e.get("checkout").Status.StageStatus("dev").Rollback.Commit).To(Equal(back[0]))
	g.Expect(e.get("web").Status.StageStatus("dev").Rollback.Commit).To(Equal(back[0]))
	g.Expect(e.file("dev")).To(Equal(kustomization("1.4.1")))
	g.Expect(e.liftoffCommits("checkout", "staging")).To(BeEmpty())
	g.Eventually(func() releasev1.LaunchPhase { return e.launchStatus("spring")().Phase }, timeout, interval).Should(Equal(releasev1.LaunchFailed))
	g.Eventually(func() string { return e.launchStatus("spring")().Holder }, timeout, interval).Should(Equal(
		"web 2.0.0 failed in dev: the launch rolled back checkout 1.4.2 with it (commit " + back[0][:7] + ") and halts (onFailure: Group)"))
	g.Expect(e.get("checkout").Status.StageStatus("staging").Message).To(Equal("not started: the Release failed in dev"))
}
