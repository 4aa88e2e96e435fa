package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gh "github.com/google/go-github/v60/github"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
)

func checksGate(names ...string) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		if s.Gates == nil {
			s.Gates = &releasev1.Gates{}
		}
		s.Gates.Checks = &releasev1.ChecksGate{Required: names}
	}
}

func TestPromotesThroughThreeStages(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withPreviousRelease())
	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "completed", "success")
	e.sim.SetStatus(appRepo, e.appSHA, "ci/build", "success")
	e.pipeline(e.stage("dev", checksGate("qa", "ci/build")), e.stage("staging", checksGate("qa")), e.stage("prod", checksGate()))
	e.release("checkout-1-4-2", "1.4.2", func(r *releasev1.Release) {
		r.Spec.Artifacts[0].Digest = "sha256:4f2c0e0b8a6d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f901"
	})

	g.Eventually(e.phase("checkout-1-4-2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	rel := e.get("checkout-1-4-2")
	g.Expect(rel.Status.Commit).To(Equal(e.appSHA), "the commit is resolved from the tag v1.4.2")
	g.Expect(rel.Status.CurrentStage).To(Equal("prod"))
	for _, st := range []string{"dev", "staging", "prod"} {
		// Only the images entry changes; comments and layout stay as they were.
		want := strings.Replace(kustomization("1.4.2"), `# current release
`, `# current release
    digest: sha256:4f2c0e0b8a6d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f901
`, 1)
		g.Expect(e.file(st)).To(Equal(want), "file of %s", st)
		commits := e.liftoffCommits("checkout-1-4-2", st)
		g.Expect(commits).To(HaveLen(1), "one commit for %s", st)
		g.Expect(commits[0].Files).To(Equal([]string{"envs/" + st + "/kustomization.yaml"}))
		g.Expect(commits[0].Message).To(ContainSubstring("Liftoff-Version: 1.4.2"))
		g.Expect(commits[0].Message).To(ContainSubstring("Liftoff-Previous-Version: 1.4.1"))
		ss := rel.Status.StageStatus(st)
		g.Expect(ss.Phase).To(Equal(releasev1.StagePromoted))
		g.Expect(ss.Promotion.Commit).To(Equal(commits[0].SHA))
		g.Expect(ss.Promotion.PreviousVersion).To(Equal("1.4.1"))
		g.Expect(ss.Promotion.DeploymentID).NotTo(BeZero())
		// The release notes: what the promotion brought into the stage.
		g.Expect(ss.ReleaseNotes).NotTo(BeNil(), "release notes of %s", st)
		g.Expect(ss.ReleaseNotes.From).To(Equal("1.4.1"))
		g.Expect(ss.ReleaseNotes.Count).To(BeEquivalentTo(1))
		g.Expect(ss.ReleaseNotes.Summary).To(Equal(fmt.Sprintf("1 pull request since 1.4.1: #%d Retry payments (alice)", e.retryPR)))
		g.Expect(ss.ReleaseNotes.URL).To(Equal("https://github.com/acme/checkout/compare/v1.4.1..." + e.appSHA))
	}
	g.Expect(e.liftoffCommits("", "")).To(HaveLen(3), "exactly one commit per promotion")

	// The pipeline shows what is live where.
	pipe := &releasev1.ReleasePipeline{}
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "checkout"}, pipe)).To(Succeed())
	for _, st := range pipe.Status.Stages {
		g.Expect(st.Version).To(Equal("1.4.2"))
		g.Expect(st.InFlight).To(BeNil())
		g.Expect(st.History).To(HaveLen(1))
	}

	// Each stage has a GitHub deployment of the release commit that succeeded.
	deps := e.sim.Deployments(appRepo)
	g.Expect(deps).To(HaveLen(3))
	envs := []string{}
	for _, d := range deps {
		envs = append(envs, d.Environment)
		g.Expect(d.SHA).To(Equal(e.appSHA))
		g.Expect(d.Statuses[len(d.Statuses)-1].State).To(Equal("success"))
		g.Expect(d.Description).To(Equal(fmt.Sprintf("1.4.2: 1 PR since 1.4.1 (#%d)", e.retryPR)))
	}
	g.Expect(envs).To(ConsistOf("dev", "staging", "prod"))

	st := e.sim.Requests()
	t.Logf("GitHub requests for 3 promotions: %d counted, %d answered 304; by operation: %v", st.Counted, st.NotModified, st.ByOperation)
	// The request budget of a Commit promotion of one file: read the file,
	// write it (the contents API commits and moves the branch at once), and
	// the deployment with its one status. A first attempt searches no history
	// and looks for no earlier deployment. The release notes cost two GETs
	// per version pair (the comparison, a page of pull requests): the three
	// stages share 1.4.1...1.4.2, so once. The pipeline, when created, read
	// each stage's file once (what runs before Liftoff's first promotion).
	for op, n := range map[string]int{
		"GET /repos/{owner}/{repo}/contents/{path...}":         3 + 3,
		"PUT /repos/{owner}/{repo}/contents/{path...}":         3,
		"POST /repos/{owner}/{repo}/deployments":               3,
		"POST /repos/{owner}/{repo}/deployments/{id}/statuses": 3,
		"GET /repos/{owner}/{repo}/compare/{basehead...}":      1,
		"GET /repos/{owner}/{repo}/pulls":                      1,
	} {
		g.Expect(st.ByOperation[op]).To(Equal(n), op)
	}
	g.Expect(st.ByOperation).NotTo(HaveKey("GET /repos/{owner}/{repo}/commits"))
	g.Expect(st.ByOperation).NotTo(HaveKey("GET /repos/{owner}/{repo}/deployments"))

	// The controller's metrics count the promotions.
	g.Expect(promotionCount(e.ns, "prod", "promoted")).To(BeNumerically("==", 1))
	g.Expect(promotionCount(e.ns, "dev", "promoted")).To(BeNumerically("==", 1))

	// Events tell the story.
	g.Eventually(func() []string { return eventReasons(e, "checkout-1-4-2") }, timeout, interval).Should(ContainElements("Promoting", "Promoted", "Released"))
}

func eventReasons(e *testEnv, name string) []string {
	var list corev1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name {
			out = append(out, ev.Reason)
		}
	}
	return out
}

func eventMessages(e *testEnv) string {
	var list corev1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range list.Items {
		b.WriteString(ev.Reason + " " + ev.Message + "\n")
	}
	return b.String()
}

func TestQAGatePendingFailedThenGreen(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "in_progress", "")
	e.pipeline(e.stage("dev", checksGate("qa", "e2e")), e.stage("prod"))
	e.release("r", "1.4.2")

	g.Eventually(e.gate("r", "dev", "checks"), timeout, interval).Should(And(
		HavePrefix("Pending/ChecksPending"), ContainSubstring("running: qa (in_progress)"), ContainSubstring("not reported yet: e2e")))
	g.Expect(e.get("r").Status.Phase).To(Equal(releasev1.PhaseProgressing))
	// Polling a pending gate uses conditional requests: GitHub answers 304
	// and charges nothing while nothing changes.
	g.Eventually(func() int { return e.sim.Requests().NotModified }, timeout, interval).Should(BeNumerically(">=", 3))

	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "completed", "failure")
	e.sim.SetCheckRun(appRepo, e.appSHA, "e2e", "completed", "success")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseBlocked))
	g.Expect(e.gate("r", "dev", "checks")()).To(And(HavePrefix("Failed/ChecksFailed"), ContainSubstring("qa (failure)")))
	g.Expect(e.get("r").Status.StageStatus("dev").Gates[1].URL).NotTo(BeEmpty(), "the failing check's link is shown")
	g.Expect(e.condition("r", releasev1.ConditionBlocked)()).To(HavePrefix("True/GateFailed"))
	g.Consistently(func() int { return len(e.liftoffCommits("", "")) }, time.Second, 100*time.Millisecond).Should(BeZero(), "nothing is promoted while QA is red")

	// A re-run of the check turns green: the gate opens.
	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "completed", "success")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.condition("r", releasev1.ConditionBlocked)()).To(HavePrefix("False/"))
	g.Expect(eventReasons(e, "r")).To(ContainElement("Blocked"))
}

func TestSoakHoldsUntilTimeInPreviousStage(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second)) // status times have second precision
	e := newEnv(t, withClock(clk))
	e.pipeline(e.stage("dev"), e.stage("staging", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Soak: &metav1Duration{Duration: time.Hour}}
	}))
	e.release("r", "1.4.2")

	g.Eventually(e.gate("r", "staging", "soak"), timeout, interval).Should(And(HavePrefix("Pending/Soaking"), ContainSubstring("soaking in dev: 1h0m0s left")))
	g.Consistently(func() int { return len(e.liftoffCommits("r", "staging")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	clk.Step(59 * time.Minute)
	g.Eventually(e.gate("r", "staging", "soak"), timeout, interval).Should(ContainSubstring("1m0s left"))
	clk.Step(time.Minute)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.liftoffCommits("r", "staging")).To(HaveLen(1))
}

func TestManualStageWaitsForApproval(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 2}}
	}))
	e.release("r", "1.4.2")
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(ContainSubstring("0 of 2 approvals"))
	g.Expect(e.stagePhase("r", "dev")()).To(Equal(releasev1.StagePromoted))

	ann, bob := e.approver("ann"), e.approver("bob")
	approve := func(c client.Client) { g.Expect(e.approveAs(c, "r", "prod")).To(Succeed()) }
	approve(ann)
	approve(ann) // the same person counts once
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(ContainSubstring("1 of 2 approvals"))
	g.Consistently(e.stagePhase("r", "prod"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageWaiting))
	approve(bob)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("r", "prod", "approvals")()).To(ContainSubstring("2 of 2 approvals (ann, bob)"))
}

func TestPausedReleaseHolds(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline()
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.Paused = true })
	g.Eventually(e.condition("r", releasev1.ConditionBlocked), timeout, interval).Should(HavePrefix("True/Paused"))
	g.Expect(e.liftoffCommits("", "")).To(BeEmpty())
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rel := e.get("r")
		rel.Spec.Paused = false
		return k8s.Update(context.Background(), rel)
	})).To(Succeed())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
}

func TestPullRequestStrategy(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "completed", "success")
	pr := func(autoMerge bool) func(*releasev1.Stage) {
		return func(s *releasev1.Stage) {
			s.Target.Strategy, s.Target.AutoMerge = releasev1.StrategyPullRequest, autoMerge
		}
	}
	e.pipeline(e.stage("dev", pr(true), checksGate("qa")), e.stage("prod", pr(false)))
	e.release("r", "1.4.2")

	// dev: opened and merged by Liftoff.
	g.Eventually(e.stagePhase("r", "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	g.Expect(e.file("dev")).To(ContainSubstring(`newTag: "1.4.2"`))
	// prod: opened, waits for a person to merge it.
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageAwaitingMerge))
	g.Expect(e.file("prod")).NotTo(ContainSubstring(`newTag: "1.4.2"`))
	pulls := e.sim.PullRequests(gitopsRepo)
	g.Expect(pulls).To(HaveLen(2))
	var prodPR int
	for _, p := range pulls {
		g.Expect(p.Body).To(ContainSubstring("envs/"))
		if strings.Contains(p.Title, "to prod") {
			prodPR = p.Number
			g.Expect(p.Merged).To(BeFalse())
			g.Expect(p.Body).To(ContainSubstring("1.4.1 → 1.4.2"))
		} else {
			g.Expect(p.Merged).To(BeTrue())
			g.Expect(p.Body).To(ContainSubstring("| checks | Passed |"))
		}
	}
	g.Expect(e.get("r").Status.StageStatus("prod").Promotion.PullRequest.Number).To(Equal(prodPR))
	g.Consistently(e.stagePhase("r", "prod"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageAwaitingMerge))

	_, err := e.sim.MergePull(gitopsRepo, prodPR)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(1))
	g.Expect(e.get("r").Status.StageStatus("prod").Promotion.PullRequest.State).To(Equal("merged"))
}

func TestPullRequestClosedWithoutMergeFails(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.pipeline(e.stage("dev", func(s *releasev1.Stage) { s.Target.Strategy = releasev1.StrategyPullRequest }))
	e.release("r", "1.4.2")
	g.Eventually(e.stagePhase("r", "dev"), timeout, interval).Should(Equal(releasev1.StageAwaitingMerge))
	n := e.get("r").Status.StageStatus("dev").Promotion.PullRequest.Number
	// A person closes it on GitHub.
	_, _, err := e.githubClient().PullRequests.Edit(context.Background(), "acme", "gitops", n, &gh.PullRequest{State: gh.String("closed")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(ContainSubstring("closed without merging"))
}

func TestNewerReleaseSupersedesOlder(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main // 1.5.0\n"}, "Release 1.5.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.sim.CreateTag(appRepo, "v1.5.0", sha)).To(Succeed())
	e.pipeline()
	e.release("old", "1.4.2")
	g.Eventually(e.phase("old"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	e.release("new", "1.5.0")
	g.Eventually(e.phase("new"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Eventually(e.phase("old"), timeout, interval).Should(Equal(releasev1.PhaseSuperseded))
	g.Expect(e.stagePhase("old", "prod")()).To(Equal(releasev1.StageSuperseded))

	// An older Release created after a newer one went out never overwrites it.
	e.release("older", "1.4.2")
	g.Eventually(e.phase("older"), timeout, interval).Should(Equal(releasev1.PhaseSuperseded))
	g.Expect(e.file("dev")).To(ContainSubstring(`newTag: "1.5.0"`))
	g.Expect(e.liftoffCommits("older", "")).To(BeEmpty())
}

// promotionCount reads liftoff_promotions_total from the controller's registry.
func promotionCount(ns, stage, result string) float64 {
	return counterValue("liftoff_promotions_total", map[string]string{"namespace": ns, "stage": stage, "result": result})
}

// The request budget of a promotion whose stage waits for its GitOps agent:
// the promotion's own requests and one more deployment status (in_progress
// while the agent deploys, then success), and the pipeline's one read of what
// the stage ran before; looking at the agent costs none,
// however often it is looked at.
func TestRequestBudgetWhileWaitingForTheAgent(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.application("checkout-dev")
	e.pipeline(e.stage("dev", e.argoCD("checkout-dev", 0)))
	e.release("r", "1.4.2")
	commit := e.deploying("r", "dev")
	before := e.sim.Requests()
	for i, health := range []string{"Progressing", "Progressing", "Healthy"} {
		if health == "Healthy" {
			// Polls of the waiting stage (every 200ms) and the agent's
			// changes cost no GitHub request.
			g.Consistently(func() int { return e.sim.Requests().Total }, time.Second, 100*time.Millisecond).Should(Equal(before.Total))
		}
		e.setApp("checkout-dev", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: health, Operation: "Succeeded", Message: fmt.Sprintf("step %d", i)})
		g.Eventually(e.stageStatus("r", "dev"), timeout, interval).Should(deploymentMessage(health))
	}
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	st := e.sim.Requests()
	for op, n := range map[string]int{
		// The pipeline reads the file once when created (what runs before
		// Liftoff's first promotion), the promotion once before writing.
		"GET /repos/{owner}/{repo}/contents/{path...}":         2,
		"PUT /repos/{owner}/{repo}/contents/{path...}":         1,
		"POST /repos/{owner}/{repo}/deployments":               1,
		"POST /repos/{owner}/{repo}/deployments/{id}/statuses": 2,
	} {
		g.Expect(st.ByOperation[op]).To(Equal(n), op)
	}
	// The release notes compare tags in the application's repository; the
	// GitOps repository is never compared: the agent is on Liftoff's own commit.
	g.Expect(st.ByRepository[gitopsRepo]).NotTo(HaveKey("GET /repos/{owner}/{repo}/compare/{basehead...}"), "the agent is on Liftoff's own commit")
}
