package release_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
)

// askRollback appends a rollback on demand of stage, as admitted (by, at and
// to stamped).
func (w *world) askRollback(stage, to, reason string) {
	w.t.Helper()
	p := w.getPipeline()
	at := metav1.NewTime(w.clk.Now())
	p.Spec.Rollbacks = append(p.Spec.Rollbacks, releasev1.RollbackRequest{Stage: stage, To: to, Reason: reason, By: "lee", At: &at})
	p.Generation++
	w.must(w.c.Update(w.ctx, p))
}

// A Released version rolled back on demand in a stage with a GitOps agent:
// the Release whose version runs there writes the revert once, is
// RolledBack with who asked, follows the rollback until the agent applied
// it; the next Release waits before the stage until it is resumed.
func TestRollbackOnDemandIsFollowedAndHoldsTheStage(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("dev"), w.stage("prod", argo))
	w.release("r", "1.4.2")
	w.agents.set(releasev1.DeploymentDeployed, "Application argocd/checkout is Synced and Healthy")
	w.settle("r", 4)
	if w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s", w.describe("r"))
	}

	w.clk.Step(time.Hour)
	w.askRollback("prod", "1.4.1", "errors since 13:00")
	w.agents.set(releasev1.DeploymentProgressing, "Application argocd/checkout is syncing")
	w.settle("r", 4)
	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if ss.Phase != releasev1.StageRolledBack || rel.Status.Phase != releasev1.PhaseFailed || ss.Rollback == nil || ss.Rollback.Commit == "" {
		t.Fatalf("%s", w.describe("r"))
	}
	if ss.Rollback.RequestedBy != "lee" || ss.Rollback.Reason != "errors since 13:00" || ss.Rollback.Request == nil || *ss.Rollback.Request != 0 {
		t.Errorf("rollback %+v", ss.Rollback)
	}
	if w.file("prod") != kustomization("1.4.1") || w.file("dev") != kustomization("1.4.2") {
		t.Errorf("files: prod %q dev %q", w.file("prod"), w.file("dev"))
	}
	revert := 0
	for _, c := range w.liftoffCommits("r", "prod") {
		if strings.Contains(c.Message, "Liftoff-Rollback-Request: 0\n") {
			revert++
		}
	}
	if revert != 1 {
		t.Errorf("%d revert commits", revert)
	}
	p := w.getPipeline()
	if rec := p.Status.RollbackRecordOf(0); rec == nil || rec.Phase != releasev1.RollbackDone || rec.Commit != ss.Rollback.Commit || rec.From != "1.4.2" {
		t.Errorf("record %+v", rec)
	}
	if p.Status.Live != "dev=1.4.2 prod=1.4.2 (1.4.1 committed)" {
		t.Errorf("live %q", p.Status.Live)
	}

	// The agent applies the rollback: prod runs 1.4.1 again.
	w.agents.setFunc(func(req agents.Request) agents.ObjectObservation {
		return agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentDeployed, Revision: req.Commits.Commit, Message: "Synced and Healthy"}
	})
	w.clk.Step(time.Minute)
	w.settle("r", 3)
	if live := w.getPipeline().Status.Live; live != "dev=1.4.2 prod=1.4.1" {
		t.Errorf("live %q after the agent applied the rollback: %s", live, w.describe("r"))
	}
	w.settle("r", 2)
	if n := len(w.liftoffCommits("r", "prod")); n != 2 {
		t.Errorf("%d commits of r in prod, want the promotion and one revert", n)
	}

	// The next Release is held before prod until resumed.
	w.tag("1.4.3")
	w.release("r2", "1.4.3")
	w.settle("r2", 6)
	if g := w.get("r2").Status.StageStatus("prod"); g.Phase != releasev1.StageWaiting || !strings.Contains(g.Message, "hold: prod is held since the rollback of 1.4.2 to 1.4.1, asked by lee") {
		t.Fatalf("%s", w.describe("r2"))
	}
	if c := w.condition("r2", releasev1.ConditionReady); !strings.HasPrefix(c, "False/StageHeld: ") {
		t.Errorf("Ready %s", c)
	}
	p = w.getPipeline()
	zero := int32(0)
	p.Spec.Resumes = append(p.Spec.Resumes, releasev1.ResumeRequest{Stage: "prod", Rollback: &zero, By: "lee"})
	p.Generation++
	w.must(w.c.Update(w.ctx, p))
	w.settle("r2", 6)
	if w.get("r2").Status.Phase != releasev1.PhaseReleased {
		t.Errorf("%s", w.describe("r2"))
	}
}

// The Release's status write after the revert is lost (the pipeline recorded
// it): the next reconcile records the rollback from the pipeline's record,
// with no second commit and no second postmortem.
func TestRollbackOnDemandAfterALostStatusWrite(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", func(s *releasev1.Stage) { s.Postmortem = &releasev1.PostmortemSpec{} }))
	w.release("r", "1.4.2")
	w.settle("r", 3)
	before := w.get("r")
	w.askRollback("prod", "1.4.1", "errors")
	w.settle("r", 3)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("%s", w.describe("r"))
	}
	lost := w.get("r")
	lost.Status = before.Status
	w.must(w.c.Status().Update(w.ctx, lost))

	w.settle("r", 3)
	ss := w.get("r").Status.StageStatus("prod")
	if ss.Phase != releasev1.StageRolledBack || ss.Rollback == nil || ss.Rollback.RequestedBy != "lee" {
		t.Fatalf("%s", w.describe("r"))
	}
	if n := len(w.liftoffCommits("r", "prod")); n != 2 {
		t.Errorf("%d commits, want the promotion and one revert", n)
	}
	if n := len(w.sim.Issues(appRepo)); n != 1 || ss.Postmortem == nil {
		t.Errorf("%d postmortem issues, recorded %+v", n, ss.Postmortem)
	}
}

// A PullRequest stage is rolled back on demand through a pull request: the
// pipeline's record says it waits for the merge, then that it is done.
func TestRollbackOnDemandThroughAPullRequest(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", func(s *releasev1.Stage) {
		s.Target.Strategy, s.Target.AutoMerge = releasev1.StrategyPullRequest, true
	}))
	w.release("r", "1.4.2")
	w.settle("r", 4)
	if w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s", w.describe("r"))
	}
	w.askRollback("prod", "1.4.1", "errors")
	w.settle("r", 4)
	ss := w.get("r").Status.StageStatus("prod")
	if ss.Phase != releasev1.StageRolledBack || ss.Rollback.PullRequest == nil || ss.Rollback.PullRequest.State != "merged" ||
		!strings.HasSuffix(ss.Rollback.PullRequest.Branch, "/prod-rollback-0") {
		t.Fatalf("%s; rollback %+v", w.describe("r"), ss.Rollback)
	}
	if rec := w.getPipeline().Status.RollbackRecordOf(0); rec == nil || rec.Phase != releasev1.RollbackDone || rec.Commit != ss.Rollback.Commit {
		t.Errorf("record %+v", rec)
	}
	if w.file("prod") != kustomization("1.4.1") {
		t.Errorf("prod holds %q", w.file("prod"))
	}
}
