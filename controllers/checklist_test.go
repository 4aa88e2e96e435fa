package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v60/github"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func (e *testEnv) getChecklist() *releasev1.LaunchChecklist {
	lc := &releasev1.LaunchChecklist{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "launch"}, lc); err != nil {
		e.t.Fatalf("get checklist: %v", err)
	}
	return lc
}

func (e *testEnv) itemState(name string) func() string {
	return func() string {
		for _, is := range e.getChecklist().Status.Items {
			if is.Name == name {
				return string(is.State) + ": " + is.Message
			}
		}
		return ""
	}
}

// signOff appends a sign-off as the client's user.
func (e *testEnv) signOff(c client.Client, item string, decision releasev1.SignOffDecision, mod ...func(*releasev1.SignOff)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lc := &releasev1.LaunchChecklist{}
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "launch"}, lc); err != nil {
			return err
		}
		so := releasev1.SignOff{Item: item, Decision: decision, Comment: "reviewed"}
		for _, m := range mod {
			m(&so)
		}
		lc.Spec.SignOffs = append(lc.Spec.SignOffs, so)
		return c.Update(context.Background(), lc)
	})
}

// A launch needs every function: prod waits for the checklist, the gate
// names what is open and who owns it; automatic items follow GitHub and the
// Release itself; sign-offs count only from owners with the signoff verb,
// stamped with who and when, and cannot be edited.
func TestLaunchChecklistGatesProd(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	docs := e.sim.CreateIssue(appRepo, "Write the launch FAQ", nil, 0)
	manual := releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}
	g.Expect(k8s.Create(context.Background(), &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: manual},
			{Name: "legal-review", Function: "Legal", Owners: releasev1.Owners{Users: []string{"lee"}}, Check: manual},
			{Name: "support-faq", Function: "Support", Check: releasev1.ItemCheck{GitHubIssue: &releasev1.GitHubItemRef{Repository: appRepo, Number: docs}}},
			{Name: "qa-green", Function: "QA", Check: releasev1.ItemCheck{GitHubChecks: &releasev1.GitHubChecksRef{Repository: appRepo, Ref: "v1.4.2", Required: []string{"qa"}}}},
			{Name: "staging-live", Function: "SRE", Check: releasev1.ItemCheck{Release: &releasev1.ReleaseCheck{Name: "r", Stage: "staging"}}},
		}},
	})).To(Succeed())
	e.pipeline(e.stage("dev"), e.stage("staging"), e.stage("prod", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{LaunchChecklist: true}
	}))
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.LaunchChecklist = "launch" })

	g.Eventually(e.gate("r", "prod", "launchChecklist"), timeout, interval).Should(HavePrefix(
		"Pending/ChecklistOpen: checklist launch: 1 of 5 done; open: security-review (Security, pending; owners group security), " +
			"legal-review (Legal, pending; owners lee), support-faq (Support, pending: issue #1 open: Write the launch FAQ), " +
			"qa-green (QA, pending: checks on v1.4.2: waiting on "))
	g.Expect(e.itemState("staging-live")()).To(Equal("Done: r 1.4.2 is live in staging"))
	g.Expect(e.itemState("support-faq")()).To(Equal("Pending: issue #1 open: Write the launch FAQ"))
	g.Expect(e.itemState("qa-green")()).To(HavePrefix("Pending: checks on v1.4.2: waiting on"))

	// Who may sign: an outsider, an owner without the verb, a forged name, an
	// Approve of an automatic item are refused with the reason.
	e.grant("mallory", []string{"launchchecklists"}, "get", "update", releasev1.VerbSignOff)
	g.Expect(e.signOff(e.as("mallory"), "security-review", releasev1.DecisionApprove)).To(MatchError(ContainSubstring(
		"mallory is not an owner of item security-review (Security): owners are groups security")))
	e.grant("sam", []string{"launchchecklists"}, "get", "update")
	g.Expect(e.signOff(e.as("sam", "security"), "security-review", releasev1.DecisionApprove)).To(MatchError(ContainSubstring(
		`sam may not signoff launchchecklists/launch in namespace ` + e.ns + `: an admin must grant the verb "signoff"`)))
	e.grant("sue", []string{"launchchecklists"}, "get", "update", releasev1.VerbSignOff)
	sue := e.as("sue", "security")
	g.Expect(e.signOff(sue, "security-review", releasev1.DecisionApprove, func(s *releasev1.SignOff) { s.By = "ciso" })).To(MatchError(ContainSubstring(
		`spec.signOffs[0].by is "ciso" but you are "sue"`)))
	g.Expect(e.signOff(sue, "qa-green", releasev1.DecisionApprove)).To(MatchError(ContainSubstring(
		"item qa-green is checked automatically (githubChecks): sign it off with Waive or Reject")))

	// The owners sign; the record is stamped and append-only.
	g.Expect(e.signOff(sue, "security-review", releasev1.DecisionApprove)).To(Succeed())
	e.grant("lee", []string{"launchchecklists"}, "get", "update", releasev1.VerbSignOff)
	g.Expect(e.signOff(e.as("lee"), "legal-review", releasev1.DecisionWaive, func(s *releasev1.SignOff) { s.Comment = "no new terms" })).To(Succeed())
	lc := e.getChecklist()
	g.Expect(lc.Spec.SignOffs).To(HaveLen(2))
	g.Expect(lc.Spec.SignOffs[0].By).To(Equal("sue"))
	g.Expect(lc.Spec.SignOffs[0].At).NotTo(BeNil())
	g.Expect(updateFresh(lc, func(l *releasev1.LaunchChecklist) { l.Spec.SignOffs[0].Decision = releasev1.DecisionReject })).To(MatchError(ContainSubstring(
		"spec.signOffs[0] was edited or removed")))
	g.Eventually(e.itemState("security-review"), timeout, interval).Should(Equal("Done: approved by sue: reviewed"))
	g.Eventually(e.itemState("legal-review"), timeout, interval).Should(Equal("Waived: waived by lee: no new terms"))
	g.Consistently(e.stagePhase("r", "prod"), "500ms", interval).Should(Equal(releasev1.StageWaiting))

	// The automatic items follow GitHub: the last ones close and prod opens.
	e.sim.SetCheckRun(appRepo, e.appSHA, "qa", "completed", "success")
	e.sim.CloseIssue(appRepo, docs, time.Now())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	st := e.getChecklist().Status
	g.Expect(st.Ready).To(BeTrue())
	g.Expect(st.Done).To(Equal(int32(5)))
	g.Expect(st.Functions).To(ContainElement(releasev1.FunctionProgress{Function: "Security", Done: 1, Total: 1}))
	g.Expect(e.gate("r", "prod", "launchChecklist")()).To(Equal("Passed/ChecklistReady: checklist launch ready: 5 of 5 done or waived"))
}

// A prometheus item follows a real Prometheus: done while its condition holds,
// pending with the measured value while it does not.
func TestLaunchChecklistPrometheusItem(t *testing.T) {
	g := NewWithT(t)
	target, prom := startPrometheus(t, "1.4.2", 0.2)
	e := newEnv(t)
	g.Expect(k8s.Create(context.Background(), &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{{
			Name: "error-budget", Function: "SRE",
			Check: releasev1.ItemCheck{Prometheus: &releasev1.PrometheusCheck{Address: prom.URL,
				Query: `max(demo_error_ratio)`, Condition: "result < 0.05"}},
		}}},
	})).To(Succeed())
	g.Eventually(e.itemState("error-budget"), timeout, interval).Should(Equal("Pending: result < 0.05 is false (value 0.2)"))
	g.Expect(e.getChecklist().Status.Ready).To(BeFalse())

	target.Set("1.4.2", 0.01)
	g.Eventually(e.itemState("error-budget"), timeout, interval).Should(Equal("Done: result < 0.05 holds (value 0.01)"))
	g.Expect(e.getChecklist().Status.Ready).To(BeTrue())
}

// A githubPullRequest item is pending while the pull request is open, done
// once it is merged; one closed without merge fails the item.
func TestLaunchChecklistPullRequestItems(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	gh := e.githubClient()
	pr := func(branch, title string) int {
		_, _, err := gh.Git.CreateRef(ctx, "acme", "checkout", &ghRef{Ref: ghString("refs/heads/" + branch), Object: &ghObject{SHA: ghString(e.appSHA)}})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = e.sim.CommitFiles(appRepo, branch, map[string]string{branch + ".md": title + "\n"}, title)
		g.Expect(err).NotTo(HaveOccurred())
		p, _, err := gh.PullRequests.Create(ctx, "acme", "checkout", &ghNewPull{Title: ghString(title), Head: ghString(branch), Base: ghString("main")})
		g.Expect(err).NotTo(HaveOccurred())
		return p.GetNumber()
	}
	docs, abandoned := pr("docs", "Launch docs"), pr("old-docs", "Old launch docs")
	e.pipeline(e.stage("dev"))
	e.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.LaunchChecklist = "launch" })
	g.Expect(k8s.Create(ctx, &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "docs", Function: "Support", Check: releasev1.ItemCheck{GitHubPullRequest: &releasev1.GitHubItemRef{Repository: appRepo, Number: docs}}},
			{Name: "old-docs", Function: "Support", Required: ptrTo(false), Check: releasev1.ItemCheck{GitHubPullRequest: &releasev1.GitHubItemRef{Repository: appRepo, Number: abandoned}}},
		}},
	})).To(Succeed())
	g.Eventually(e.itemState("docs"), timeout, interval).Should(Equal(fmt.Sprintf("Pending: pull request #%d open: Launch docs", docs)))

	_, err := e.sim.MergePull(appRepo, docs)
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = gh.PullRequests.Edit(ctx, "acme", "checkout", abandoned, &ghPull{State: ghString("closed")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(e.itemState("docs"), timeout, interval).Should(Equal(fmt.Sprintf("Done: pull request #%d merged: Launch docs", docs)))
	g.Eventually(e.itemState("old-docs"), timeout, interval).Should(Equal(fmt.Sprintf("Failed: pull request #%d closed without merge: Old launch docs", abandoned)))
	g.Expect(e.getChecklist().Status.Ready).To(BeTrue()) // the failed item is optional
}

type (
	ghRef     = gogithub.Reference
	ghObject  = gogithub.GitObject
	ghNewPull = gogithub.NewPullRequest
	ghPull    = gogithub.PullRequest
)

func ghString(s string) *string { return &s }
func ptrTo[T any](v T) *T       { return &v }
