package controllers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/actions"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// rollbacker is a user who may roll back the test's pipeline (and resume
// it), once the API server's authorizer knows it.
func (e *testEnv) rollbacker(user string) client.Client {
	e.grant(user, []string{"releasepipelines"}, "get", "list", "watch", "update", "patch", releasev1.VerbRollback)
	c := e.as(user)
	NewWithT(e.t).Eventually(func() error {
		return c.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "checkout"}, &releasev1.ReleasePipeline{})
	}, timeout, interval).Should(Succeed())
	return c
}

func (e *testEnv) rollBackAs(c client.Client, stage, to, reason string) error {
	_, _, err := actions.RollBack(context.Background(), c, types.NamespacedName{Namespace: e.ns, Name: "checkout"}, stage, to, reason)
	return err
}

func (e *testEnv) resumeAs(c client.Client, stage string) error {
	_, err := actions.ResumeStage(context.Background(), c, types.NamespacedName{Namespace: e.ns, Name: "checkout"}, stage, "fixed in 1.4.3")
	return err
}

// onDemandCommits are the rollback commits on the GitOps branch made for a
// rollback on demand.
func onDemandCommits(e *testEnv, stage string) []string {
	var out []string
	for _, c := range e.liftoffCommits("", stage) {
		if t := e.promotionIn(c, "", stage); t[promotion.TrailerRollbackRequest] != "" {
			out = append(out, c.SHA)
		}
	}
	return out
}

// An incident found after 1.4.2 passed into prod, during the year-end
// freeze: a release manager rolls prod back. One revert commit, the GitHub
// deployment marked failed, a postmortem, the Release RolledBack with who
// asked and why, the calendar says it happened in the freeze; the next
// Release waits before prod until someone resumes it.
func TestRollbackOnDemandInProd(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(berlin(t, "2026-12-22T10:00"))
	e := newEnv(t, withClock(clk))
	e.calendar(releasev1.CalendarWindow{Name: "year-end", Kind: releasev1.WindowDeny, Start: "2026-12-22T18:00", End: "2027-01-04T08:00",
		Stages: []string{"prod"}, Reason: "year-end freeze"})
	g.Expect(k8sCreate(withCalendar(e.newPipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Postmortem = &releasev1.PostmortemSpec{Labels: []string{"postmortem"}}
	}))))).To(Succeed())
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	clk.SetTime(berlin(t, "2026-12-23T15:00")) // the freeze is in force
	lee := e.rollbacker("lee")
	g.Expect(e.rollBackAs(lee, "prod", "", "checkout errors since 14:00")).To(Succeed())
	asked := e.getPipeline().Spec.Rollbacks[0]
	g.Expect(asked.By).To(Equal("lee"))
	g.Expect(asked.At).NotTo(BeNil())
	g.Expect(asked.To).To(Equal("1.4.1"), "the version prod ran before, stamped at admission")

	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(e.file("prod")).To(Equal(kustomization("1.4.1")))
	g.Expect(e.file("dev")).To(ContainSubstring(`newTag: "1.4.2"`), "only prod is rolled back")
	g.Consistently(func() []string { return onDemandCommits(e, "prod") }, 2*time.Second, 100*time.Millisecond).Should(HaveLen(1), "exactly one revert commit")
	rel := e.get("r")
	ss := rel.Status.StageStatus("prod")
	g.Expect(ss.Rollback.Commit).To(Equal(onDemandCommits(e, "prod")[0]))
	g.Expect(ss.Rollback.Version).To(Equal("1.4.1"))
	g.Expect(ss.Rollback.RequestedBy).To(Equal("lee"))
	g.Expect(ss.Rollback.Reason).To(Equal("checkout errors since 14:00"))
	g.Expect(*ss.Rollback.Request).To(BeEquivalentTo(0))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(HavePrefix("False/RolledBack: stage prod: lee asked for a rollback: checkout errors since 14:00; rolled back to 1.4.1: commit "))
	g.Expect(rel.Status.Phase).To(Equal(releasev1.PhaseFailed))
	g.Expect(eventReasons(e, "r")).To(ContainElement("RolledBack"))

	// The commit says what and why, with the trailers a retry finds it by.
	var msg string
	for _, c := range e.liftoffCommits("r", "prod") {
		if c.SHA == ss.Rollback.Commit {
			msg = c.Message
		}
	}
	g.Expect(msg).To(HavePrefix("Roll back checkout 1.4.2 in prod to 1.4.1\n"))
	g.Expect(msg).To(ContainSubstring("lee asked for a rollback: checkout errors since 14:00"))
	g.Expect(promotion.Trailers(msg)).To(And(HaveKeyWithValue("Liftoff-Action", "rollback"), HaveKeyWithValue("Liftoff-Rollback-Request", "0"),
		HaveKeyWithValue("Liftoff-Release", e.ns+"/r"), HaveKeyWithValue("Liftoff-Version", "1.4.1")))

	// The pipeline runs 1.4.1 in prod and records the rollback.
	p := e.getPipeline()
	g.Expect(p.Status.Live).To(Equal("dev=1.4.2 prod=1.4.1"))
	g.Expect(p.Status.Rollbacks).To(HaveExactElements(And(HaveField("Index", BeEquivalentTo(0)), HaveField("Phase", releasev1.RollbackDone),
		HaveField("From", "1.4.2"), HaveField("To", "1.4.1"), HaveField("Release", "r"), HaveField("Commit", ss.Rollback.Commit))))

	// GitHub: the prod deployment failed, and one postmortem.
	deps := e.sim.Deployments(appRepo)
	last := deps[len(deps)-1]
	g.Expect(last.Environment).To(Equal("prod"))
	g.Expect(last.Statuses[len(last.Statuses)-1].State).To(Equal("failure"))
	g.Eventually(func() int { return len(e.sim.Issues(appRepo)) }, timeout, interval).Should(Equal(1))
	issue := e.sim.Issues(appRepo)[0]
	g.Expect(issue.Title).To(Equal("Postmortem: checkout 1.4.2 was rolled back on demand in prod"))
	g.Expect(issue.Body).To(And(ContainSubstring("lee asked for a rollback: checkout errors since 14:00"), ContainSubstring("Rolled back to 1.4.1")))

	// The freeze did not hold it, and the calendar says so.
	g.Eventually(func() []releasev1.CalendarEntry { return e.getCalendar().Status.Recent }, timeout, interval).Should(ContainElement(And(
		HaveField("Type", releasev1.EntryRollback), HaveField("Title", "checkout 1.4.2 rolled back in prod to 1.4.1"),
		HaveField("Detail", And(ContainSubstring("on demand by lee: checkout errors since 14:00"),
			ContainSubstring("during freeze year-end"), ContainSubstring("a freeze does not hold a rollback"))))))

	// After the freeze, the next Release goes into dev but waits before prod
	// until a person resumes it.
	clk.SetTime(berlin(t, "2027-01-04T09:00"))
	g.Expect(e.sim.CreateTag(appRepo, "v1.4.3", e.appSHA)).To(Succeed())
	e.release("r2", "1.4.3")
	g.Eventually(e.gate("r2", "prod", "hold"), timeout, interval).Should(And(
		HavePrefix("Failed/StageHeld: prod is held since the rollback of 1.4.2 to 1.4.1, asked by lee at "),
		HaveSuffix(": checkout errors since 14:00; when it is safe to promote into prod again: kubectl liftoff resume pipeline/checkout --stage prod")))
	g.Expect(e.condition("r2", releasev1.ConditionReady)()).To(HavePrefix("False/StageHeld: blocked before prod: hold: prod is held"))
	g.Expect(e.stagePhase("r2", "dev")()).To(Equal(releasev1.StagePromoted))
	g.Consistently(func() int { return len(e.liftoffCommits("r2", "prod")) }, time.Second, 100*time.Millisecond).Should(BeZero())

	g.Expect(e.resumeAs(lee, "prod")).To(Succeed())
	g.Expect(*e.getPipeline().Spec.Resumes[0].Rollback).To(BeEquivalentTo(0), "the hold it ends, stamped")
	g.Eventually(e.phase("r2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.3"`))
	g.Expect(e.stagePhase("r", "prod")()).To(Equal(releasev1.StageRolledBack), "the rolled-back Release stays so")
}

// The controller stops right after GitHub made the revert commit, before it
// heard so: the restarted controller finds its commit by its trailers and
// makes no second one.
func TestRollbackOnDemandFoundAgainAfterRestart(t *testing.T) {
	g := NewWithT(t)
	// The third ref update is the rollback (dev, prod, then prod's
	// rollback): GitHub makes it, its answer never comes.
	crashing, reverted := crashOnRefUpdate(3, true)
	e := newEnv(t, withTransport(crashing))
	e.pipeline(e.stage("dev"), e.stage("prod"))
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	g.Expect(e.rollBackAs(e.rollbacker("lee"), "prod", "1.4.1", "latency")).To(Succeed())
	g.Eventually(reverted, timeout).Should(BeClosed())
	e.stopController()
	g.Expect(e.stagePhase("r", "prod")()).To(Equal(releasev1.StagePromoted), "the rollback was never recorded on the Release")
	g.Expect(e.getPipeline().Status.Rollbacks).To(HaveExactElements(HaveField("Phase", releasev1.RollbackRunning)), "claimed, not recorded as made")
	g.Expect(onDemandCommits(e, "prod")).To(HaveLen(1))
	// Someone commits after it: the revert is not the branch's head.
	_, err := e.sim.CommitFiles(gitopsRepo, "main", map[string]string{"README.md": "GitOps\n"}, "Docs")
	g.Expect(err).NotTo(HaveOccurred())

	e.restart(nil)
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(onDemandCommits(e, "prod")).To(HaveLen(1), "the restarted controller found its revert commit")
	g.Expect(e.get("r").Status.StageStatus("prod").Rollback.Commit).To(Equal(onDemandCommits(e, "prod")[0]))
	g.Expect(e.getPipeline().Status.Rollbacks).To(HaveExactElements(HaveField("Phase", releasev1.RollbackDone)))
	g.Expect(e.file("prod")).To(Equal(kustomization("1.4.1")))
}

// What cannot be rolled back is refused at admission, saying what to fix.
func TestRollbackOnDemandRefusals(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	// dev already runs 1.4.2: its promotion changes nothing, so dev has
	// nothing to go back to.
	_, err := e.sim.CommitFiles(gitopsRepo, "main", map[string]string{"envs/dev/kustomization.yaml": kustomization("1.4.2")}, "dev on 1.4.2 by hand")
	g.Expect(err).NotTo(HaveOccurred())
	e.pipeline(e.stage("dev"), e.stage("prod"))
	lee := e.rollbacker("lee")
	g.Expect(e.rollBackAs(lee, "prod", "", "errors")).To(MatchError(ContainSubstring(
		"spec.rollbacks[0]: nothing to roll back: Liftoff has promoted nothing into prod yet")))
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	g.Expect(e.rollBackAs(lee, "qa", "", "errors")).To(MatchError(ContainSubstring(`spec.rollbacks[0]: no stage "qa" in this pipeline (stages: dev, prod)`)))
	g.Expect(e.rollBackAs(lee, "prod", "1.3.9", "errors")).To(MatchError(ContainSubstring(
		"spec.rollbacks[0]: prod never ran 1.3.9 per its promotion history: roll back to one of 1.4.1")))
	g.Expect(e.rollBackAs(lee, "prod", "1.4.2", "errors")).To(MatchError(ContainSubstring("spec.rollbacks[0]: prod runs 1.4.2 already; name an earlier version (1.4.1)")))
	g.Expect(e.rollBackAs(lee, "dev", "", "errors")).To(MatchError(ContainSubstring(
		"spec.rollbacks[0]: nothing to roll back to: dev has run only 1.4.2 since Liftoff promoted into it")))
	e.grant("dave", []string{"releasepipelines"}, "get", "update")
	g.Expect(e.rollBackAs(e.as("dave"), "prod", "", "errors")).To(MatchError(ContainSubstring(
		`dave may not rollback releasepipelines/checkout in namespace ` + e.ns + `: an admin must grant the verb "rollback" on releasepipelines.release.liftoff.dev (RBAC)`)))
	g.Expect(e.resumeAs(lee, "prod")).To(MatchError(ContainSubstring("spec.resumes[0]: stage prod is not held by a rollback: nothing to resume")))
	g.Expect(e.getPipeline().Spec.Rollbacks).To(BeEmpty())
	g.Expect(e.stagePhase("r", "prod")()).To(Equal(releasev1.StagePromoted))

	// A forged name, and an edit of a recorded rollback, even by an admin.
	g.Expect(updateFresh(e.getPipeline(), func(p *releasev1.ReleasePipeline) {
		p.Spec.Rollbacks = append(p.Spec.Rollbacks, releasev1.RollbackRequest{Stage: "prod", Reason: "errors", By: "the-cto"})
	})).To(MatchError(ContainSubstring(`spec.rollbacks[0].by is "the-cto" but you are "`)))
	g.Expect(e.rollBackAs(lee, "prod", "", "errors")).To(Succeed())
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(updateFresh(e.getPipeline(), func(p *releasev1.ReleasePipeline) { p.Spec.Rollbacks[0].Reason = "nothing happened" })).To(MatchError(ContainSubstring(
		"spec.rollbacks[0] was edited or removed: recorded entries are append-only; add a new entry instead")))
	g.Expect(updateFresh(e.getPipeline(), func(p *releasev1.ReleasePipeline) { p.Spec.Rollbacks = nil })).To(MatchError(ContainSubstring("spec.rollbacks[0] was edited or removed")))
	// prod has run only 1.4.1 and 1.4.2 since: back to 1.4.2 is a version it ran.
	g.Expect(strings.Join(versions(e.getPipeline().RollbackTargets("prod")), ",")).To(Equal("1.4.2"))
}

func versions(ts []releasev1.RollbackTarget) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Version)
	}
	return out
}

// crashOnRefUpdate is a transport to GitHub that hangs (until each request's
// context ends) once the nth ref update succeeded, and the channel closed
// then. loseAnswer: the nth update's own answer never comes either.
func crashOnRefUpdate(n int32, loseAnswer bool) (http.RoundTripper, chan struct{}) {
	var updates atomic.Int32
	return crashWhen(func(r *http.Request, _ []byte) bool {
		return isRefUpdate(r) && updates.Add(1) == n
	}, loseAnswer)
}

// crashWhen is a transport to GitHub that hangs (until each request's
// context ends) once a request succeeded that landed says is the one (it
// gets the request and its body), and the channel closed then.
// loseAnswer: that request's own answer never comes either.
func crashWhen(landed func(r *http.Request, body []byte) bool, loseAnswer bool) (http.RoundTripper, chan struct{}) {
	var crashed atomic.Bool
	done := make(chan struct{})
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if crashed.Load() {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			body, r.Body = b, io.NopCloser(bytes.NewReader(b))
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.StatusCode == http.StatusOK && landed(r, body) && crashed.CompareAndSwap(false, true) {
			close(done)
			if loseAnswer {
				resp.Body.Close()
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
		}
		return resp, err
	}), done
}
