package release_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
)

// agentByCommit makes the stage's agent say, of each commit, the state set
// for it; of any other, that it is on an earlier commit.
type agentByCommit struct {
	mu    sync.Mutex
	state map[string]releasev1.DeploymentState
}

func newAgentByCommit(w *world) *agentByCommit {
	a := &agentByCommit{state: map[string]releasev1.DeploymentState{}}
	w.agents.setFunc(func(req agents.Request) agents.ObjectObservation {
		a.mu.Lock()
		defer a.mu.Unlock()
		st, ok := a.state[req.Commits.Commit]
		if !ok {
			return agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentPending, Message: "Application argocd/checkout is on an earlier commit"}
		}
		return agents.ObjectObservation{Object: "argocd/checkout", State: st, Revision: req.Commits.Commit, Message: "Application argocd/checkout is " + string(st)}
	})
	return a
}

func (a *agentByCommit) set(commit string, st releasev1.DeploymentState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.state[commit] = st
}

func pipelineStage(w *world, stage string) releasev1.PipelineStageStatus {
	w.t.Helper()
	ps := w.getPipeline().Status.StageStatus(stage)
	if ps == nil {
		w.t.Fatalf("no status of stage %s in the pipeline", stage)
	}
	return *ps
}

func wantLive(t *testing.T, w *world, want string) {
	t.Helper()
	if got := w.getPipeline().Status.Live; got != want {
		t.Errorf("status.live %q, want %q", got, want)
	}
}

func sameTime(a *metav1.Time, b time.Time) bool { return a != nil && a.Time.Equal(b) }

// The pipeline shows a version live in a stage that Argo CD deploys only
// once Argo CD deployed it; until then the version before (before Liftoff's
// first promotion there, the one the stage's GitOps file held), and the one
// committed. A stage without deployment shows what was committed. A
// rollback shows the version written back live once it was applied.
func TestPipelineLiveFollowsTheAgent(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("dev"), w.stage("prod", argo))
	agent := newAgentByCommit(w)
	w.release("r", "1.4.2")
	w.settle("r", 4)
	commit := w.get("r").Status.StageStatus("prod").Promotion.Commit
	wantLive(t, w, "dev=1.4.2 prod=1.4.1 (1.4.2 committed)")
	prod := pipelineStage(w, "prod")
	ran := &releasev1.LiveVersion{Version: "1.4.1", DeployedAt: metav1.NewTime(t0), Origin: releasev1.LiveFromGitOpsFiles}
	if prod.Version != "1.4.2" || prod.Release != "r" || prod.Commit != commit || !sameTime(prod.PromotedAt, t0) || prod.DeployedAt != nil ||
		!equality.Semantic.DeepEqual(prod.Live, ran) || prod.InFlight == nil || prod.InFlight.Release != "r" {
		t.Errorf("prod while deploying: %+v, live %+v (what its file held, found there)", prod, prod.Live)
	}
	if dev := pipelineStage(w, "dev"); !sameTime(dev.DeployedAt, t0) || dev.Live == nil || dev.Live.Version != "1.4.2" || dev.Live.Release != "r" || dev.Live.Commit != dev.Commit {
		t.Errorf("dev, committed is live: %+v", dev)
	}

	// Waiting for the agent writes nothing to the pipeline.
	writes := w.pipelineWrites
	agent.set(commit, releasev1.DeploymentProgressing)
	for range 3 {
		w.clk.Step(time.Minute)
		w.settle("r", 1)
	}
	if n := w.pipelineWrites - writes; n != 0 {
		t.Errorf("%d pipeline writes while waiting for the agent", n)
	}
	agent.set(commit, releasev1.DeploymentDeployed)
	if out := w.settle("r", 3); out.String() != "Stop" || w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}
	if n := w.pipelineWrites - writes; n != 1 {
		t.Errorf("%d pipeline writes for the deployment, want one (live and the lock freed together)", n)
	}
	wantLive(t, w, "dev=1.4.2 prod=1.4.2")
	deployed := t0.Add(3 * time.Minute)
	prod = pipelineStage(w, "prod")
	if !sameTime(prod.DeployedAt, deployed) || prod.InFlight != nil ||
		!equality.Semantic.DeepEqual(prod.Live, &releasev1.LiveVersion{Version: "1.4.2", Release: "r", Commit: commit, DeployedAt: metav1.NewTime(deployed)}) {
		t.Errorf("prod once deployed: %+v, live %+v", prod, prod.Live)
	}
	if ss := w.get("r").Status.StageStatus("prod"); !sameTime(ss.DeployedAt, deployed) {
		t.Errorf("the Release says deployed at %v", ss.DeployedAt)
	}

	// 1.4.3 is committed: 1.4.2 stays live until Argo CD reports 1.4.3
	// Degraded; the rollback writes 1.4.2 back, live again once applied.
	w.tag("1.4.3")
	w.release("r2", "1.4.3")
	w.settle("r2", 4)
	wantLive(t, w, "dev=1.4.3 prod=1.4.2 (1.4.3 committed)")
	agent.set(w.get("r2").Status.StageStatus("prod").Promotion.Commit, releasev1.DeploymentDegraded)
	w.clk.Step(time.Minute)
	w.settle("r2", 3)
	rb := w.get("r2").Status.StageStatus("prod").Rollback
	if rb == nil || rb.Commit == "" || rb.DeployedAt != nil {
		t.Fatalf("rollback %+v: %s", rb, w.describe("r2"))
	}
	wantLive(t, w, "dev=1.4.3 prod=1.4.2 (1.4.2 committed)")
	prod = pipelineStage(w, "prod")
	if prod.Version != "1.4.2" || prod.Release != "r" || prod.Commit != rb.Commit || prod.DeployedAt != nil || prod.Live.Commit != commit {
		t.Errorf("prod while the rollback deploys: %+v, live %+v", prod, prod.Live)
	}
	agent.set(rb.Commit, releasev1.DeploymentDeployed)
	w.clk.Step(time.Minute)
	w.settle("r2", 2)
	rb = w.get("r2").Status.StageStatus("prod").Rollback
	if rb.DeployedAt == nil {
		t.Fatalf("rollback not followed: %s", w.describe("r2"))
	}
	wantLive(t, w, "dev=1.4.3 prod=1.4.2")
	prod = pipelineStage(w, "prod")
	if !prod.DeployedAt.Equal(rb.DeployedAt) || !equality.Semantic.DeepEqual(prod.Live, &releasev1.LiveVersion{Version: "1.4.2", Release: "r", Commit: rb.Commit, DeployedAt: *rb.DeployedAt}) {
		t.Errorf("prod once the rollback is deployed: %+v, live %+v", prod, prod.Live)
	}
}

// The controller dies after the pipeline recorded the deployment, before
// the Release's status said so: the Release, resumed in Deploying, finds
// itself deployed, and the deployment is recorded once, at its first time.
func TestDeploymentRecordedOnceAcrossALostStatusWrite(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", argo))
	w.release("r", "1.4.2")
	w.settle("r", 2)
	w.clk.Step(2 * time.Minute)
	w.agents.set(releasev1.DeploymentDeployed, "Application argocd/checkout is Synced and Healthy")
	writes := w.pipelineWrites
	_, err := w.engine.Reconcile(w.ctx, w.get("r"), func(_ context.Context, _, _ *releasev1.Release) (bool, error) {
		return false, errors.New("connection refused")
	})
	if err == nil {
		t.Fatal("the lost write was not reported")
	}
	deployed := t0.Add(2 * time.Minute)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageDeploying || w.pipelineWrites != writes+1 {
		t.Fatalf("%d pipeline writes: %s", w.pipelineWrites-writes, w.describe("r"))
	}
	if prod := pipelineStage(w, "prod"); !sameTime(prod.DeployedAt, deployed) || prod.InFlight != nil {
		t.Fatalf("the pipeline: %+v", prod)
	}
	w.clk.Step(time.Minute)
	w.settle("r", 2)
	ss := w.get("r").Status.StageStatus("prod")
	if w.get("r").Status.Phase != releasev1.PhaseReleased || !sameTime(ss.DeployedAt, deployed) {
		t.Errorf("deployed at %v: %s", ss.DeployedAt, w.describe("r"))
	}
	if n := w.pipelineWrites - writes; n != 1 {
		t.Errorf("%d pipeline writes, want the first one only", n)
	}
	wantLive(t, w, "prod=1.4.2")
}

// A newer version committed into prod and halted because Argo CD never ran
// it healthy does not supersede the Release whose version prod still runs;
// one that Argo CD deployed does.
func TestOnlyADeployedVersionSupersedes(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", argo, onFailure(releasev1.FailureHalt)))
	agent := newAgentByCommit(w)
	// promote lands version in prod, lets Argo CD say st of its commit, and
	// returns the Release's phase then.
	promote := func(name, version string, st releasev1.DeploymentState) releasev1.ReleasePhase {
		if version != "1.4.2" {
			w.tag(version)
		}
		w.release(name, version)
		w.settle(name, 2)
		agent.set(w.get(name).Status.StageStatus("prod").Promotion.Commit, st)
		w.clk.Step(time.Minute)
		w.settle(name, 3)
		return w.get(name).Status.Phase
	}
	if got := promote("r", "1.4.2", releasev1.DeploymentDeployed); got != releasev1.PhaseReleased {
		t.Fatalf("1.4.2: %s", w.describe("r"))
	}
	if got := promote("r2", "1.4.3", releasev1.DeploymentFailed); got != releasev1.PhaseFailed {
		t.Fatalf("1.4.3 should have halted: %s", w.describe("r2"))
	}
	wantLive(t, w, "prod=1.4.2 (1.4.3 committed)")
	w.settle("r", 1)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseReleased {
		t.Errorf("1.4.2 still runs in prod, yet: %s", w.describe("r"))
	}
	if got := promote("r3", "1.4.4", releasev1.DeploymentDeployed); got != releasev1.PhaseReleased {
		t.Fatalf("1.4.4: %s", w.describe("r3"))
	}
	w.settle("r", 1)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseSuperseded {
		t.Errorf("1.4.4 runs in prod, yet: %s", w.describe("r"))
	}
}

// A newer version that Argo CD deployed and whose analysis then failed is
// rolled back: while the rollback commit waits for Argo CD, and after, the
// older Release stays Released (its version is the stage's own again).
func TestARolledBackVersionDoesNotSupersede(t *testing.T) {
	w := newWorld(t)
	w.setProm("0.01")
	w.pipeline(w.stage("prod", argo, verified(releasev1.FailureRollback)))
	agent := newAgentByCommit(w)
	deploy := func(name string) {
		t.Helper()
		w.settle(name, 2)
		agent.set(w.get(name).Status.StageStatus("prod").Promotion.Commit, releasev1.DeploymentDeployed)
		for range 4 {
			w.clk.Step(30 * time.Second)
			w.settle(name, 3)
		}
	}
	w.release("r", "1.4.2")
	deploy("r")
	if w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("1.4.2: %s", w.describe("r"))
	}
	w.tag("1.4.3")
	w.setProm("0.30")
	w.release("r2", "1.4.3")
	deploy("r2")
	rb := w.get("r2").Status.StageStatus("prod").Rollback
	if rb == nil || rb.Commit == "" || rb.DeployedAt != nil {
		t.Fatalf("1.4.3 should be rolling back: %s", w.describe("r2"))
	}
	wantLive(t, w, "prod=1.4.3 (1.4.2 committed)")
	w.settle("r", 1)
	if got := w.get("r").Status.Phase; got != releasev1.PhaseReleased {
		t.Errorf("while the rollback deploys: %s", w.describe("r"))
	}
	agent.set(rb.Commit, releasev1.DeploymentDeployed)
	w.clk.Step(time.Minute)
	w.settle("r2", 2)
	w.settle("r", 1)
	wantLive(t, w, "prod=1.4.2")
	if got := w.get("r").Status.Phase; got != releasev1.PhaseReleased {
		t.Errorf("once the rollback is deployed: %s", w.describe("r"))
	}
}
