package release_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
)

// after makes a stage come after the named stages (none: a root).
func after(names ...string) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		list := append([]string{}, names...)
		s.After = &list
	}
}

// withEnvironments adds the GitOps files of more stages than dev, staging
// and prod.
func (w *world) withEnvironments(stages ...string) {
	files := map[string]string{}
	for _, st := range stages {
		files["envs/"+st+"/kustomization.yaml"] = kustomization("1.4.1")
	}
	_, err := w.sim.CommitFiles(gitopsRepo, "main", files, "More environments")
	w.must(err)
}

// planned holds the Release out of stage until at.
func planned(stage string, at time.Time) func(*releasev1.Release) {
	return func(r *releasev1.Release) {
		r.Spec.Plan = append(r.Spec.Plan, releasev1.PlannedPromotion{Stage: stage, At: metav1.NewTime(at)})
	}
}

// phases says each stage's phase: "dev=Promoted staging=Waiting".
func phases(rel *releasev1.Release) string {
	out := make([]string, 0, len(rel.Status.Stages))
	for _, ss := range rel.Status.Stages {
		out = append(out, ss.Name+"="+string(ss.Phase))
	}
	return strings.Join(out, " ")
}

// Two roots fan in to e2e, which leads to staging, which fans out to two
// production regions: every stage is written once, in the order of the
// graph, and the Release ends live in both regions.
func TestGraphPromotesEveryStageOnceInGraphOrder(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("dev-a", "dev-b", "e2e", "prod-eu", "prod-us")
	w.pipeline(w.stage("dev-a", after()), w.stage("dev-b", after()), w.stage("e2e", after("dev-a", "dev-b")),
		w.stage("staging"), w.stage("prod-eu", after("staging")), w.stage("prod-us", after("staging")))
	w.release("r", "1.4.2")
	if out := w.settle("r", 5); out.String() != "Stop" {
		t.Fatalf("outcome %s: %s", out, w.describe("r"))
	}
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased || rel.Status.CurrentStage != "prod-eu, prod-us" {
		t.Fatalf("%s", w.describe("r"))
	}
	if got := w.condition("r", releasev1.ConditionReady); got != "True/Released: 1.4.2 is live in prod-eu, prod-us" {
		t.Errorf("Ready %s", got)
	}
	order := map[string]int{} // the commits come newest first
	commits := w.liftoffCommits("r", "")
	for k, c := range commits {
		for _, st := range []string{"dev-a", "dev-b", "e2e", "staging", "prod-eu", "prod-us"} {
			if strings.Contains(c.Message, "Liftoff-Stage: "+st+"\n") {
				if _, twice := order[st]; twice {
					t.Errorf("%s written twice", st)
				}
				order[st] = len(commits) - k
			}
		}
	}
	if len(order) != 6 {
		t.Fatalf("stages written: %v", order)
	}
	for _, edge := range [][2]string{{"dev-a", "e2e"}, {"dev-b", "e2e"}, {"e2e", "staging"}, {"staging", "prod-eu"}, {"staging", "prod-us"}} {
		if order[edge[0]] >= order[edge[1]] {
			t.Errorf("%s written after %s (commits %v)", edge[0], edge[1], order)
		}
	}
	p := w.getPipeline()
	for _, st := range []string{"prod-eu", "prod-us"} {
		if ps := p.Status.StageStatus(st); ps.Version != "1.4.2" || ps.InFlight != nil {
			t.Errorf("pipeline %s: %+v", st, ps)
		}
		if w.file(st) != kustomization("1.4.2") {
			t.Errorf("%s holds %q", st, w.file(st))
		}
	}
}

// A fan-in stage waits for every stage it comes after, and its soak counts
// from the last of them to go live: the soak gate names that stage.
func TestFanInSoaksFromTheLastStageBeforeIt(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("dev-a", "dev-b", "e2e")
	w.pipeline(w.stage("dev-a", after()), w.stage("dev-b", after()), w.stage("e2e", after("dev-a", "dev-b"), func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Soak: &metav1.Duration{Duration: time.Hour}}
	}))
	w.release("r", "1.4.2", planned("dev-b", t0.Add(30*time.Minute)))
	w.settle("r", 5)
	rel := w.get("r")
	if got := phases(rel); got != "dev-a=Promoted dev-b=Waiting e2e=Pending" || rel.Status.CurrentStage != "dev-b" {
		t.Fatalf("before dev-b's planned time: %s, current %q", got, rel.Status.CurrentStage)
	}
	if n := len(w.liftoffCommits("r", "e2e")); n != 0 {
		t.Fatalf("e2e written %d times before dev-b", n)
	}

	w.clk.Step(30 * time.Minute)
	w.settle("r", 5)
	rel = w.get("r")
	e2e := rel.Status.StageStatus("e2e")
	if got := phases(rel); got != "dev-a=Promoted dev-b=Promoted e2e=Waiting" {
		t.Fatalf("after dev-b: %s", got)
	}
	if !strings.Contains(e2e.Message, "soak: soaking in dev-b: 1h0m0s left of 1h0m0s") {
		t.Errorf("e2e waits: %q, want the soak in dev-b, the last stage before it to go live", e2e.Message)
	}

	w.clk.Step(59 * time.Minute)
	w.settle("r", 5)
	if got := phases(w.get("r")); got != "dev-a=Promoted dev-b=Promoted e2e=Waiting" {
		t.Fatalf("an hour after dev-a but before an hour in dev-b: %s", got)
	}
	w.clk.Step(time.Minute)
	w.settle("r", 5)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseReleased || len(w.liftoffCommits("r", "e2e")) != 1 {
		t.Fatalf("after the soak: %s", w.describe("r"))
	}
}

// targetStage in a graph goes no further: the stages not on the way to it
// are skipped, and the Release is released once its way is promoted.
func TestTargetStageInAGraphSkipsOtherBranches(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("prod-eu", "prod-us")
	w.pipeline(w.stage("dev"), w.stage("staging"), w.stage("prod-eu", after("staging")), w.stage("prod-us", after("staging")))
	w.release("r", "1.4.2", func(r *releasev1.Release) { r.Spec.TargetStage = "prod-eu" })
	w.settle("r", 5)
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased || rel.Status.CurrentStage != "prod-eu" {
		t.Fatalf("%s", w.describe("r"))
	}
	us := rel.Status.StageStatus("prod-us")
	if us.Phase != releasev1.StageSkipped || us.Message != "not on the way to the Release's targetStage" {
		t.Errorf("prod-us %s: %q", us.Phase, us.Message)
	}
	if n := len(w.liftoffCommits("r", "prod-us")); n != 0 || w.file("prod-us") != kustomization("1.4.1") {
		t.Errorf("prod-us written %d times, holds %q", n, w.file("prod-us"))
	}
}

// When one branch of a fan-out fails, the Release fails: a sibling whose
// promotion is in flight finishes it (its commit is never left half-way)
// and frees its stage; a sibling not started never starts.
func TestFailingBranchFinishesSiblingsInFlightAndStartsNoOther(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("prod-eu", "prod-us", "prod-ap")
	w.setProm("0.30")
	w.pipeline(w.stage("staging"),
		w.stage("prod-eu", after("staging"), verified(releasev1.FailureRollback)),
		w.stage("prod-us", after("staging"), argo),
		w.stage("prod-ap", after("staging")))
	// prod-us's agent has not applied its commit yet; prod-ap waits for its
	// planned time.
	w.release("r", "1.4.2", planned("prod-ap", t0.Add(time.Hour)))
	w.settle("r", 10)
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseFailed {
		t.Fatalf("%s", w.describe("r"))
	}
	if got := phases(rel); got != "staging=Promoted prod-eu=RolledBack prod-us=Deploying prod-ap=Pending" {
		t.Fatalf("phases %s", got)
	}
	if ap := rel.Status.StageStatus("prod-ap"); ap.Message != "not started: the Release failed in prod-eu" {
		t.Errorf("prod-ap: %q", ap.Message)
	}
	if ps := w.getPipeline().Status.StageStatus("prod-us"); ps.InFlight == nil || ps.InFlight.Release != "r" {
		t.Errorf("prod-us's promotion is in flight, its stage held: %+v", ps)
	}
	// A newer Release does not take prod-us from the failed one while its
	// promotion there is in flight.
	w.tag("1.4.3")
	w.setProm("0.01")
	w.release("r2", "1.4.3")
	w.settle("r2", 20)
	if us := w.get("r2").Status.StageStatus("prod-us"); us.Phase != releasev1.StageWaiting || !strings.Contains(us.Message, "stage: ") ||
		len(w.liftoffCommits("r2", "prod-us")) != 0 {
		t.Errorf("r2 in prod-us: %s: %s", us.Phase, us.Message)
	}

	// The agent applies prod-us's commit: that promotion ends, the stage is
	// free, the Release stays failed in prod-eu.
	w.agents.setFunc(func(req agents.Request) agents.ObjectObservation {
		return agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentDeployed, Revision: req.Commits.Commit,
			Message: "Application argocd/checkout is Synced and Healthy"}
	})
	w.clk.Step(time.Hour)
	w.settle("r", 5)
	rel = w.get("r")
	if got := phases(rel); got != "staging=Promoted prod-eu=RolledBack prod-us=Promoted prod-ap=Pending" || rel.Status.Phase != releasev1.PhaseFailed {
		t.Fatalf("after prod-us deployed: %s", w.describe("r"))
	}
	if got := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(got, "False/RolledBack: stage prod-eu: analysis failed") {
		t.Errorf("Ready %s", got)
	}
	ps := w.getPipeline().Status
	if us := ps.StageStatus("prod-us"); us.InFlight != nil || us.Live == nil || us.Live.Version != "1.4.2" {
		t.Errorf("pipeline prod-us %+v", us)
	}
	if n := len(w.liftoffCommits("r", "prod-us")); n != 1 {
		t.Errorf("prod-us written %d times", n)
	}
	if n := len(w.liftoffCommits("r", "prod-ap")); n != 0 {
		t.Errorf("prod-ap written %d times after the failure", n)
	}
	if out := w.settle("r", 1); out.String() != "Stop" {
		t.Errorf("once every promotion ended: %s", out)
	}
	// prod-us is free: r2 goes on.
	w.settle("r2", 20)
	if n := len(w.liftoffCommits("r2", "prod-us")); n != 1 {
		t.Errorf("r2 wrote prod-us %d times once it was free: %s", n, w.describe("r2"))
	}
}

// A pipeline whose stages form a cycle (admission refuses it; the webhook
// may have been off) stalls its Releases with the same words, and nothing
// is written.
func TestCycleStallsTheRelease(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("e2e", "prod-eu")
	w.pipeline(w.stage("dev"), w.stage("e2e", after("dev", "prod-eu")), w.stage("prod-eu", after("e2e")))
	w.release("r", "1.4.2")
	if out := w.settle("r", 2); out.String() != "Stop" {
		t.Errorf("outcome %s: the pipeline's change brings the Release back", out)
	}
	want := "True/InvalidStageGraph: ReleasePipeline checkout: spec.stages: the stages form a cycle: e2e -> prod-eu -> e2e: remove one of these from the after of the next"
	if got := w.condition("r", releasev1.ConditionStalled); got != want {
		t.Errorf("Stalled %s\nwant    %s", got, want)
	}
	if n := len(w.liftoffCommits("r", "")); n != 0 {
		t.Errorf("%d commits", n)
	}
}

// A released Release is superseded once a newer version is live in every
// stage it ended in: with a fan-out, both regions.
func TestReleasedIsSupersededOnlyInEveryRegion(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("prod-eu", "prod-us")
	w.tag("1.5.0")
	w.tag("1.6.0")
	w.pipeline(w.stage("staging"), w.stage("prod-eu", after("staging")), w.stage("prod-us", after("staging")))
	w.release("old", "1.4.2")
	w.settle("old", 3)
	w.release("eu-only", "1.5.0", func(r *releasev1.Release) { r.Spec.TargetStage = "prod-eu" })
	w.settle("eu-only", 3)
	w.settle("old", 1)
	old := w.get("old")
	if old.Status.Phase != releasev1.PhaseReleased || phases(old) != "staging=Superseded prod-eu=Superseded prod-us=Promoted" {
		t.Fatalf("1.4.2 still runs in prod-us: %s", w.describe("old"))
	}
	w.release("everywhere", "1.6.0")
	w.settle("everywhere", 3)
	w.settle("old", 1)
	if c := w.condition("old", releasev1.ConditionReady); c != "False/Superseded: newer release everywhere is live in prod-us" {
		t.Errorf("Ready %q: %s", c, w.describe("old"))
	}
}

// With several stages in flight, the Release says what each does, and its
// phase is the one of the stage that moves: one region deploying while the
// other waits for an approval is Deploying, not Blocked.
func TestFanOutSaysWhatEachStageDoes(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("prod-eu", "prod-us")
	w.pipeline(w.stage("staging"), w.stage("prod-eu", after("staging"), argo), w.stage("prod-us", after("staging"), manual))
	w.release("r", "1.4.2")
	out := w.settle("r", 5)
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseDeploying || rel.Status.CurrentStage != "prod-eu, prod-us" {
		t.Fatalf("%s", w.describe("r"))
	}
	ready := w.condition("r", releasev1.ConditionReady)
	if !strings.HasPrefix(ready, "False/Deploying: prod-eu Deploying: 1.4.2 committed to prod-eu") ||
		!strings.Contains(ready, "; prod-us Waiting: approvals: 0 of 1 approvals") {
		t.Errorf("Ready %s", ready)
	}
	if out.Waits() != "Deployed" {
		t.Errorf("outcome %s: prod-eu's agent wakes the Release", out)
	}
}

// A stage of a fan-out whose target cannot take the version stalls the
// Release with what to fix; its sibling is promoted all the same.
func TestStalledBranchDoesNotHoldItsSibling(t *testing.T) {
	w := newWorld(t)
	w.withEnvironments("prod-eu") // prod-us has no file to write
	w.pipeline(w.stage("staging"), w.stage("prod-eu", after("staging")), w.stage("prod-us", after("staging")))
	w.release("r", "1.4.2")
	w.settle("r", 5)
	rel := w.get("r")
	if got := phases(rel); got != "staging=Promoted prod-eu=Promoted prod-us=Waiting" {
		t.Fatalf("%s", w.describe("r"))
	}
	if got := w.condition("r", releasev1.ConditionStalled); !strings.HasPrefix(got, "True/TargetInvalid: stage prod-us: ") {
		t.Errorf("Stalled %s", got)
	}
	if n := len(w.liftoffCommits("r", "prod-eu")); n != 1 {
		t.Errorf("prod-eu written %d times", n)
	}
}
