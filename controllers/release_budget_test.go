package controllers_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// The write budget and coalesced commits in the controller, against a
// simulator that enforces GitHub's secondary limits, on an injected clock
// that the budget waits on.

func budgetEnv(t *testing.T, b github.WriteBudget, opts ...envOption) (*testEnv, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second)) // status times have second precision
	opts = append([]envOption{withClock(clk), withBudget(b), withSimulator(githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits))}, opts...)
	return newEnv(t, opts...), clk
}

// services gives each named service its dev file in the GitOps repository
// (at 1.4.1, image ghcr.io/acme/NAME), a pipeline promoting it there, and a
// Release of 1.4.2. The file of a service in bad names another image.
func (e *testEnv) services(names []string, bad map[string]bool) {
	e.t.Helper()
	g := NewWithT(e.t)
	files := map[string]string{}
	for _, svc := range names {
		image := "ghcr.io/acme/" + svc
		if bad[svc] {
			image = "ghcr.io/acme/someone-else"
		}
		files["envs/"+svc+"/dev/kustomization.yaml"] = strings.ReplaceAll(kustomization("1.4.1"), "ghcr.io/acme/checkout", image)
	}
	_, err := e.sim.CommitFiles(gitopsRepo, "main", files, "More services")
	g.Expect(err).NotTo(HaveOccurred())
	for _, svc := range names {
		p := e.newPipeline(e.stage("dev", func(s *releasev1.Stage) {
			s.Target.Files[0].Path = "envs/" + svc + "/dev/kustomization.yaml"
			s.Target.Files[0].KustomizeImage.Name = "ghcr.io/acme/" + svc
		}))
		p.Name = svc
		g.Expect(k8sCreate(p)).To(Succeed())
	}
	for _, svc := range names {
		e.release(svc, "1.4.2", func(r *releasev1.Release) {
			r.Spec.Pipeline = svc
			r.Spec.Artifacts = []releasev1.Artifact{{Name: svc, Image: "ghcr.io/acme/" + svc}}
		})
	}
}

// holdWrites makes every write of the controller's credential wait d, as
// after GitHub refused one for a secondary limit (another client spent the
// token's minute).
func (e *testEnv) holdWrites(d time.Duration) {
	e.t.Helper()
	c, err := e.factory.For(e.sim.URL()+"/", token)
	NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	c.WriteBudget().Block(d)
}

func TestReleaseWaitsForTheWriteBudgetThenLands(t *testing.T) {
	g := NewWithT(t)
	// Three commits an hour, of which commits may use two.
	e, clk := budgetEnv(t, github.WriteBudget{PerHour: 3})
	p := e.newPipeline()
	p.Spec.GitHub.Deployments = releasev1.DeploymentsDisabled
	g.Expect(k8sCreate(p)).To(Succeed())
	e.release("r", "1.4.2")

	slot := clk.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	g.Eventually(e.condition("r", releasev1.ConditionReady), timeout, interval).Should(Equal(
		"False/GitHubWriteBudget: promoting 1.4.2 into prod: waiting for the coalesced commit to acme/gitops@main; waiting for GitHub's write budget, next slot at " + slot))
	g.Expect(e.condition("r", releasev1.ConditionReconciling)()).To(HavePrefix("True/GitHubWriteBudget"), "waiting for the budget is work under way")
	g.Expect(e.liftoffCommits("r", "prod")).To(BeEmpty())
	g.Expect(e.liftoffCommits("r", "")).To(HaveLen(2))

	clk.Step(time.Hour)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(1))
	g.Expect(e.sim.Requests().SecondaryRefusals).To(BeZero(), "the budget kept under GitHub's limits")
}

// Releases of several services ready together into one branch land in one
// commit, each recording it; one whose file cannot take its version fails
// alone and leaves nothing half-written.
func TestPromotionsReadyTogetherLandInOneCommit(t *testing.T) {
	g := NewWithT(t)
	e, clk := budgetEnv(t, github.GitHubWriteBudget)
	e.holdWrites(time.Minute)
	names := []string{"cart", "search", "payments", "mail"}
	e.services(names, map[string]bool{"mail": true})
	for _, svc := range names {
		g.Eventually(e.condition(svc, releasev1.ConditionReady), timeout, interval).Should(ContainSubstring(
			"promoting 1.4.2 into dev: waiting for the coalesced commit to acme/gitops@main; waiting for GitHub's write budget, next slot at"), svc)
	}
	clk.Step(time.Minute)

	for _, svc := range names[:3] {
		g.Eventually(e.phase(svc), timeout, interval).Should(Equal(releasev1.PhaseReleased), svc)
	}
	g.Eventually(e.condition("mail", releasev1.ConditionStalled), timeout, interval).Should(HavePrefix("True/TargetInvalid"))
	commits := e.liftoffCommits("", "dev")
	g.Expect(commits).To(HaveLen(1), "one commit for the three promotions")
	c := commits[0]
	g.Expect(strings.SplitN(c.Message, "\n", 2)[0]).To(Equal("Promote 3 releases to dev"))
	g.Expect(promotion.TrailerGroups(c.Message)).To(HaveLen(3))
	g.Expect(c.Files).To(ConsistOf("envs/cart/dev/kustomization.yaml", "envs/search/dev/kustomization.yaml", "envs/payments/dev/kustomization.yaml"))
	for _, svc := range names[:3] {
		ss := e.get(svc).Status.StageStatus("dev")
		g.Expect(ss.Promotion.Commit).To(Equal(c.SHA), "%s records the commit", svc)
		g.Expect(ss.Promotion.PreviousVersion).To(Equal("1.4.1"))
		g.Expect(ss.Promotion.DeploymentID).NotTo(BeZero())
		g.Expect(c.Message).To(ContainSubstring("- " + svc + " 1.4.2 to dev (release " + e.ns + "/" + svc + "), replacing 1.4.1"))
	}
	file, _ := e.sim.FileAt(gitopsRepo, "main", "envs/mail/dev/kustomization.yaml")
	g.Expect(file).To(ContainSubstring(`newTag: "1.4.1"`))
	g.Expect(e.condition("mail", releasev1.ConditionStalled)()).To(ContainSubstring("ghcr.io/acme/mail"))
	g.Expect(e.sim.Requests().SecondaryRefusals).To(BeZero())
}

// The controller dies after GitHub made the coalesced commit and before
// any Release recorded it: the next one finds the commit by its trailers,
// makes no second one, and every Release records it.
func TestCrashBetweenCoalescedCommitAndStatusWrites(t *testing.T) {
	g := NewWithT(t)
	committed, resume := make(chan struct{}), make(chan struct{})
	lose := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql") && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			close(committed)
			<-resume // the controller is gone by then: nobody hears the answer
			return nil, errors.New("connection reset")
		}
		return resp, err
	})
	e, clk := budgetEnv(t, github.GitHubWriteBudget, withTransport(lose))
	e.holdWrites(time.Minute)
	names := []string{"cart", "search", "payments"}
	e.services(names, nil)
	for _, svc := range names {
		// Handed to the coalescer (not only its intent recorded), so that
		// the three go into one commit.
		g.Eventually(e.condition(svc, releasev1.ConditionReady), timeout, interval).Should(ContainSubstring(
			"waiting for the coalesced commit to acme/gitops@main; waiting for GitHub's write budget, next slot at"), svc)
	}
	clk.Step(time.Minute)
	g.Eventually(committed, timeout, interval).Should(BeClosed())
	e.stopController()
	close(resume)
	for _, svc := range names {
		g.Expect(e.get(svc).Status.StageStatus("dev").Phase).To(Equal(releasev1.StagePromoting), "%s recorded nothing before the crash", svc)
	}

	e.restart(nil)
	for _, svc := range names {
		g.Eventually(e.phase(svc), timeout, interval).Should(Equal(releasev1.PhaseReleased), svc)
	}
	commits := e.liftoffCommits("", "dev")
	g.Expect(commits).To(HaveLen(1), "no second commit")
	g.Expect(promotion.TrailerGroups(commits[0].Message)).To(HaveLen(3))
	for _, svc := range names {
		g.Expect(e.get(svc).Status.StageStatus("dev").Promotion.Commit).To(Equal(commits[0].SHA), svc)
	}
	g.Expect(e.sim.Deployments(appRepo)).To(HaveLen(3), "one GitHub deployment per Release")
}

// Deployment records the budget turns away (GitHub refused a write just
// after the commit, and every write of the credential waits) are owed: the
// Release is released at once and says its records lag; they are written
// once the budget allows, each once.
func TestDeploymentRecordsAreWrittenLate(t *testing.T) {
	g := NewWithT(t)
	var e *testEnv
	var once sync.Once
	refuseAfterCommit := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/contents/") {
			once.Do(func() { e.holdWrites(3 * time.Second) })
		}
		return resp, err
	})
	e = newEnv(t, withBudget(github.GitHubWriteBudget), withTransport(refuseAfterCommit),
		withSimulator(githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits)))
	e.pipeline(e.stage("dev"))
	e.release("r", "1.4.2")

	g.Eventually(e.condition("r", releasev1.ConditionRecordsPending), timeout, interval).Should(
		Equal("True/GitHubWriteBudget: deployment record of dev (success) waiting for GitHub's write budget"))
	g.Expect(e.phase("r")()).To(Equal(releasev1.PhaseReleased), "the record does not hold the Release")
	g.Eventually(func() []releasev1.PendingRecord { return e.get("r").Status.PendingRecords }, timeout, interval).Should(BeEmpty())
	g.Expect(e.condition("r", releasev1.ConditionRecordsPending)()).To(BeEmpty())
	deps := e.sim.Deployments(appRepo)
	g.Expect(deps).To(HaveLen(1))
	g.Expect(deps[0].Statuses).To(HaveLen(1))
	g.Expect(deps[0].Statuses[0].State).To(Equal("success"))
	g.Expect(e.get("r").Status.StageStatus("dev").Promotion.DeploymentID).To(Equal(deps[0].ID))
	g.Expect(eventReasons(e, "r")).To(ContainElement(releasev1.ReasonDeploymentNotRecorded))
}
