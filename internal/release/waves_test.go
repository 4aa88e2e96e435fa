package release_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// euRepo is the second GitOps repository of the waves tests: the even
// targets live there, the odd ones in gitopsRepo.
const euRepo = "acme/gitops-eu"

// repoOf is the repository of target prod-k.
func repoOf(k int) string {
	if k%2 == 0 {
		return euRepo
	}
	return gitopsRepo
}

// targetsWorld adds the second repository and the files of prod-1..prod-6,
// each on 1.4.1, and returns the prod stage of those six targets, each
// deployed by its own Argo CD Application, in waves 1, 50%, 100%: prod-1;
// prod-2 and prod-3; prod-4, prod-5 and prod-6.
func targetsWorld(t *testing.T, w *world) releasev1.Stage {
	t.Helper()
	w.must(w.sim.CreateRepo(euRepo, "main"))
	files := map[string]map[string]string{gitopsRepo: {}, euRepo: {}}
	st := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("50%"), intstr.FromString("100%")}}
	for k := 1; k <= 6; k++ {
		name := fmt.Sprintf("prod-%d", k)
		path := "envs/" + name + "/kustomization.yaml"
		files[repoOf(k)][path] = kustomization("1.4.1")
		st.Targets = append(st.Targets, releasev1.StageTarget{Name: name,
			Target:     releasev1.Target{Repository: repoOf(k), Branch: "main", Files: []releasev1.TargetFile{{Path: path, KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}},
			Deployment: &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "checkout-" + name, Namespace: "argocd"}}})
	}
	for repo, f := range files {
		_, err := w.sim.CommitFiles(repo, "main", f, "Production targets")
		w.must(err)
	}
	return st
}

// targetFile is what target prod-k's file holds.
func (w *world) targetFile(k int) string {
	c, _ := w.sim.FileAt(repoOf(k), "main", fmt.Sprintf("envs/prod-%d/kustomization.yaml", k))
	return c
}

// targetCommits are Liftoff's commits of release r in repo, oldest first,
// each as the targets it wrote (action "" for promotions, "rollback").
func (w *world) targetCommits(repo, action string) [][]string {
	var out [][]string
	commits := w.sim.Commits(repo, "main")
	slices.Reverse(commits)
	for _, c := range commits {
		var targets []string
		for _, st := range promotion.StagesIn(c.Message, ns+"/r", action) {
			targets = append(targets, strings.TrimPrefix(st, "prod/"))
		}
		if len(targets) > 0 {
			out = append(out, targets)
		}
	}
	return out
}

// agentsSay makes each target's Application say state of its commit once
// deployed(target) allows it, and be Progressing before.
func (w *world) agentsSay(state func(target string) releasev1.DeploymentState) {
	w.agents.setFunc(func(req agents.Request) agents.ObjectObservation {
		target := strings.TrimPrefix(req.Stage, "prod/")
		st := state(target)
		return agents.ObjectObservation{Object: "argocd/checkout-" + target, State: st, Revision: req.Commits.Commit,
			Message: fmt.Sprintf("Application argocd/checkout-%s is %s", target, st)}
	})
}

// deployedAsSaid starts a Release of 1.4.2 into the six targets, whose
// agents say a target is deployed once deployed names it (prod-1 at first).
func deployedAsSaid(t *testing.T) (*world, map[string]bool) {
	w := newWorld(t)
	w.pipeline(targetsWorld(t, w))
	deployed := map[string]bool{"prod-1": true}
	w.agentsSay(func(target string) releasev1.DeploymentState {
		if deployed[target] {
			return releasev1.DeploymentDeployed
		}
		return releasev1.DeploymentProgressing
	})
	w.release("r", "1.4.2")
	return w, deployed
}

// Six targets in two repositories, in waves 1, 50%, 100%: each wave is one
// commit per repository holding its targets there, written only once the
// wave before it is deployed; the Release and the pipeline say which
// targets run what.
func TestWavesOneCommitPerRepositoryPerWave(t *testing.T) {
	w, deployed := deployedAsSaid(t)

	// Wave 1 deployed; wave 2 committed, its agents still progressing.
	w.settle("r", 20)
	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if ss.Phase != releasev1.StageDeploying || ss.Wave != 2 || ss.Waves != 3 {
		t.Fatalf("prod %s, wave %d of %d; want Deploying, wave 2 of 3: %s", ss.Phase, ss.Wave, ss.Waves, w.describe("r"))
	}
	if want := "prod 1/6 on 1.4.2, wave 2 of 3"; rel.Status.CurrentStage != want {
		t.Errorf("currentStage %q, want %q", rel.Status.CurrentStage, want)
	}
	if !strings.HasPrefix(ss.Message, "prod 1/6 on 1.4.2, wave 2 of 3: waiting for prod-2, prod-3 to deploy it") {
		t.Errorf("prod's message: %s", ss.Message)
	}
	for k := 4; k <= 6; k++ {
		if got := w.targetFile(k); !strings.Contains(got, `"1.4.1"`) {
			t.Errorf("prod-%d was written before wave 2 was deployed: %s", k, got)
		}
	}

	for _, t := range []string{"prod-2", "prod-3", "prod-4", "prod-5", "prod-6"} {
		deployed[t] = true
	}
	out := w.settle("r", 20)
	rel = w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased || out.Waits() != "" {
		t.Fatalf("release %s (%s): %s", rel.Status.Phase, out, w.describe("r"))
	}
	if got, want := w.targetCommits(gitopsRepo, ""), [][]string{{"prod-1"}, {"prod-3"}, {"prod-5"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("commits in %s: %v, want %v", gitopsRepo, got, want)
	}
	if got, want := w.targetCommits(euRepo, ""), [][]string{{"prod-2"}, {"prod-4", "prod-6"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("commits in %s: %v, want %v", euRepo, got, want)
	}
	ss = rel.Status.StageStatus("prod")
	for k, ts := range ss.Targets {
		if ts.Phase != releasev1.TargetDeployed || ts.Commit == "" || ts.DeployedAt == nil || ts.PreviousVersion != "1.4.1" {
			t.Errorf("target %s: %+v", ts.Name, ts)
		}
		if got := w.targetFile(k + 1); !strings.Contains(got, `"1.4.2"`) {
			t.Errorf("prod-%d holds %s", k+1, got)
		}
	}
	if ss.Message != "1.4.2 live in prod: 6 targets in 3 waves, the last deployed" {
		t.Errorf("prod's message: %s", ss.Message)
	}
	ps := w.getPipeline().Status.StageStatus("prod")
	if ps == nil || ps.Version != "1.4.2" || len(ps.Targets) != 6 || ps.InFlight != nil {
		t.Fatalf("pipeline's prod: %+v", ps)
	}
	for _, pt := range ps.Targets {
		if pt.Version != "1.4.2" || pt.DeployedAt == nil {
			t.Errorf("pipeline's target %s: %+v", pt.Name, pt)
		}
	}
}

// An agent of the second wave reports its target failed: every target the
// version reached (prod-1, prod-2, prod-3) is written back, in one commit
// per repository, and the third wave never starts.
func TestWavesFailureRollsBackTheReachedTargets(t *testing.T) {
	w := newWorld(t)
	w.pipeline(targetsWorld(t, w))
	w.agentsSay(func(target string) releasev1.DeploymentState {
		if target == "prod-3" {
			return releasev1.DeploymentDegraded
		}
		return releasev1.DeploymentDeployed
	})
	w.release("r", "1.4.2")
	w.settle("r", 20)

	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("release %s, prod %s: %s", rel.Status.Phase, ss.Phase, w.describe("r"))
	}
	if got, want := w.targetCommits(gitopsRepo, promotion.ActionRollback), [][]string{{"prod-1", "prod-3"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("rollback commits in %s: %v, want %v", gitopsRepo, got, want)
	}
	if got, want := w.targetCommits(euRepo, promotion.ActionRollback), [][]string{{"prod-2"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("rollback commits in %s: %v, want %v", euRepo, got, want)
	}
	for k := 1; k <= 6; k++ {
		if got := w.targetFile(k); !strings.Contains(got, `"1.4.1"`) {
			t.Errorf("prod-%d holds %s after the rollback", k, got)
		}
	}
	if got := w.targetCommits(euRepo, ""); len(got) != 1 {
		t.Errorf("promotions in %s: %v: wave 3 started", euRepo, got)
	}
	phases := map[string]releasev1.TargetPhase{}
	for _, ts := range ss.Targets {
		phases[ts.Name] = ts.Phase
	}
	want := map[string]releasev1.TargetPhase{"prod-1": releasev1.TargetRolledBack, "prod-2": releasev1.TargetRolledBack, "prod-3": releasev1.TargetRolledBack,
		"prod-4": releasev1.TargetPending, "prod-5": releasev1.TargetPending, "prod-6": releasev1.TargetPending}
	if !maps(phases, want) {
		t.Errorf("targets %v, want %v", phases, want)
	}
	if !strings.Contains(ss.Message, "target prod-3: deployment failed") || !strings.Contains(ss.Message, "rolled back prod-1, prod-3, prod-2 in 2 commits; the waves after wave 2 of 3 never start") {
		t.Errorf("prod's message: %s", ss.Message)
	}
	if c := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, "False/RolledBack: stage prod: ") {
		t.Errorf("Ready %s", c)
	}
	// Nothing is left to do: no more commits on another reconcile.
	before := len(w.sim.Commits(gitopsRepo, "main")) + len(w.sim.Commits(euRepo, "main"))
	w.settle("r", 5)
	if after := len(w.sim.Commits(gitopsRepo, "main")) + len(w.sim.Commits(euRepo, "main")); after != before {
		t.Errorf("%d commits after the Release failed", after-before)
	}
}

func maps(a, b map[string]releasev1.TargetPhase) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The controller restarts after wave 2's commits landed but before the
// Release's status said so: the new engine finds them by their trailers,
// and each target is written exactly once.
func TestWavesRestartWritesEachTargetOnce(t *testing.T) {
	w, deployed := deployedAsSaid(t)
	w.settle("r", 20)

	// The status write that recorded wave 2's commits is lost.
	rel := w.get("r")
	ss := &rel.Status.Stages[0]
	if ss.Wave != 2 || ss.Phase != releasev1.StageDeploying {
		t.Fatalf("prod %s in wave %d: %s", ss.Phase, ss.Wave, w.describe("r"))
	}
	ss.Phase = releasev1.StagePromoting
	for k := range ss.Targets {
		if ts := &ss.Targets[k]; ts.Wave == 2 {
			ts.Phase, ts.Commit, ts.CommittedAt, ts.PreviousVersion, ts.Deployment, ts.Message = releasev1.TargetPending, "", nil, "", nil, ""
		}
	}
	w.must(w.c.Status().Update(w.ctx, rel))
	w.start()
	for _, t := range []string{"prod-2", "prod-3", "prod-4", "prod-5", "prod-6"} {
		deployed[t] = true
	}
	if out := w.settle("r", 20); out.Waits() != "" || w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}
	written := map[string]int{}
	for _, repo := range []string{gitopsRepo, euRepo} {
		for _, c := range w.targetCommits(repo, "") {
			for _, target := range c {
				written[target]++
			}
		}
	}
	for k := 1; k <= 6; k++ {
		if n := written[fmt.Sprintf("prod-%d", k)]; n != 1 {
			t.Errorf("prod-%d written %d times", k, n)
		}
	}
	// prod-2's commit is its own, found by its trailers (not the head,
	// which wave 3 moved on).
	var own string
	for _, c := range w.sim.Commits(euRepo, "main") {
		if strings.Contains(c.Message, "Liftoff-Stage: prod/prod-2\n") {
			own = c.SHA
		}
	}
	if got := w.get("r").Status.StageStatus("prod").Targets[1]; got.Commit != own || got.PreviousVersion != "1.4.1" {
		t.Errorf("prod-2's commit %s (previous %q), want its own %s", got.Commit, got.PreviousVersion, own)
	}
}

// A paused Release holds its next wave, not the one in flight: wave 1
// deploys, wave 2 waits until the Release is resumed.
func TestWavesPauseHoldsTheNextWave(t *testing.T) {
	w := newWorld(t)
	w.pipeline(targetsWorld(t, w))
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentProgressing })
	w.release("r", "1.4.2")
	w.settle("r", 20)
	rel := w.get("r")
	rel.Spec.Paused = true
	w.must(w.c.Update(w.ctx, rel))
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed })

	out := w.settle("r", 20)
	ss := w.get("r").Status.StageStatus("prod")
	if out.Waits() != reconcile.WaitPoll || ss.Wave != 2 || ss.Targets[0].Phase != releasev1.TargetDeployed {
		t.Fatalf("%s: %s", out, w.describe("r"))
	}
	if !strings.HasSuffix(ss.Message, "wave 2 held: the Release is paused") {
		t.Errorf("prod's message: %s", ss.Message)
	}
	if got := w.targetCommits(euRepo, ""); len(got) != 0 {
		t.Errorf("wave 2 written while paused: %v", got)
	}

	rel = w.get("r")
	rel.Spec.Paused = false
	w.must(w.c.Update(w.ctx, rel))
	if w.settle("r", 20); w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("after the resume: %s", w.describe("r"))
	}
}

// The stage's analysis runs once per wave, its query aggregating over the
// wave's targets ({{ .Targets }}); wave 2's fails, and with onFailure Halt
// the targets keep the version: nothing is written back, and wave 3 never
// starts.
func TestWavesAnalysisPerWaveHalts(t *testing.T) {
	w := newWorld(t)
	st := targetsWorld(t, w)
	verified(releasev1.FailureHalt)(&st)
	st.Verify.Analysis.Metrics[0].Query = `max(errors{version="{{ .Version }}", cluster=~"{{ .Targets }}"})`
	w.pipeline(st)
	w.promFor = func(q string) string {
		if strings.Contains(q, "prod-2|prod-3") {
			return "0.3"
		}
		return "0.01"
	}
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed })
	w.release("r", "1.4.2")
	w.settle("r", 40)

	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != releasev1.StageFailed || ss.Wave != 2 {
		t.Fatalf("release %s, prod %s in wave %d: %s", rel.Status.Phase, ss.Phase, ss.Wave, w.describe("r"))
	}
	w.mu.Lock()
	asked := slices.Compact(slices.Clone(w.queries))
	w.mu.Unlock()
	want := []string{`max(errors{version="1.4.2", cluster=~"prod-1"})`, `max(errors{version="1.4.2", cluster=~"prod-2|prod-3"})`}
	if !slices.Equal(asked, want) {
		t.Errorf("queries %q, want %q", asked, want)
	}
	if !strings.Contains(ss.Message, "halted with 1.4.2 in prod 3/6 on 1.4.2, wave 2 of 3") {
		t.Errorf("prod's message: %s", ss.Message)
	}
	for _, repo := range []string{gitopsRepo, euRepo} {
		if got := w.targetCommits(repo, promotion.ActionRollback); len(got) != 0 {
			t.Errorf("rollback commits in %s: %v", repo, got)
		}
	}
	for k := 1; k <= 6; k++ {
		want := `"1.4.2"`
		if k > 3 {
			want = `"1.4.1"`
		}
		if got := w.targetFile(k); !strings.Contains(got, want) {
			t.Errorf("prod-%d holds %s, want %s", k, got, want)
		}
	}
	if ps := w.getPipeline().Status.StageStatus("prod"); ps.InFlight != nil {
		t.Errorf("prod still held by %s", ps.InFlight.Release)
	}
}
