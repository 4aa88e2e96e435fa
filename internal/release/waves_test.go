package release_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
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
	w.wantCommits(t, "", [][]string{{"prod-1"}, {"prod-3"}, {"prod-5"}}, [][]string{{"prod-2"}, {"prod-4", "prod-6"}})
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
	w.wantCommits(t, promotion.ActionRollback, [][]string{{"prod-1", "prod-3"}}, [][]string{{"prod-2"}})
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
	if !maps.Equal(phases, want) {
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

// wave2AnalysisFails starts a Release of 1.4.2 into the six targets, every
// agent deployed, whose analysis aggregates over the wave's targets
// ({{ .Targets }}) and fails for wave 2 (prod-2|prod-3), and settles it.
func wave2AnalysisFails(t *testing.T, onFailure releasev1.FailurePolicy, scope releasev1.RollbackScope) *world {
	w := newWorld(t)
	st := targetsWorld(t, w)
	verified(onFailure)(&st)
	st.Rollback = scope
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
	return w
}

// The stage's analysis runs once per wave, its query aggregating over the
// wave's targets ({{ .Targets }}); wave 2's fails, and with onFailure Halt
// the targets keep the version: nothing is written back, and wave 3 never
// starts.
func TestWavesAnalysisPerWaveHalts(t *testing.T) {
	w := wave2AnalysisFails(t, releasev1.FailureHalt, "")

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

// failingIn starts a Release of 1.4.2 into the six targets, with the
// stage's rollback scope, whose agents say prod-3 (wave 2) is Degraded and
// every other target deployed, and settles it.
func failingIn(t *testing.T, scope releasev1.RollbackScope, mod ...func(*world)) *world {
	t.Helper()
	w := newWorld(t)
	st := targetsWorld(t, w)
	st.Rollback = scope
	w.pipeline(st)
	w.agentsSay(func(target string) releasev1.DeploymentState {
		if target == "prod-3" {
			return releasev1.DeploymentDegraded
		}
		return releasev1.DeploymentDeployed
	})
	for _, m := range mod {
		m(w)
	}
	w.release("r", "1.4.2")
	w.settle("r", 30)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseFailed || rel.Status.StageStatus("prod").Phase != releasev1.StageRolledBack {
		t.Fatalf("release %s: %s", rel.Status.Phase, w.describe("r"))
	}
	return w
}

// wantCommits checks Liftoff's commits of release r in both repositories
// (action "" for promotions, or rollback), oldest first, each as the
// targets it wrote.
func (w *world) wantCommits(t *testing.T, action string, gitops, eu [][]string) {
	t.Helper()
	for repo, want := range map[string][][]string{gitopsRepo: gitops, euRepo: eu} {
		if got := w.targetCommits(repo, action); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("commits (%q) in %s: %v, want %v", action, repo, got, want)
		}
	}
}

// holding says which targets hold which version, from their files.
func (w *world) holding() map[string]string {
	out := map[string]string{}
	for k := 1; k <= 6; k++ {
		for _, v := range []string{"1.4.1", "1.4.2"} {
			if strings.Contains(w.targetFile(k), `"`+v+`"`) {
				out[fmt.Sprintf("prod-%d", k)] = v
			}
		}
	}
	return out
}

// pipelineTargets says which version the pipeline's status gives each
// target of prod.
func (w *world) pipelineTargets() map[string]string {
	out := map[string]string{}
	for _, pt := range w.getPipeline().Status.StageStatus("prod").Targets {
		out[pt.Name] = pt.Version
	}
	return out
}

func targetPhases(ss *releasev1.ReleaseStageStatus) map[string]releasev1.TargetPhase {
	out := map[string]releasev1.TargetPhase{}
	for _, ts := range ss.Targets {
		out[ts.Name] = ts.Phase
	}
	return out
}

// rollback: Target writes back only the target whose agent failed, in one
// commit; the others of its wave and the waves before keep the version,
// and the wave after never starts.
func TestWavesRollbackTargetWritesBackOnlyTheFailedTarget(t *testing.T) {
	w := failingIn(t, releasev1.RollbackScopeTarget)

	w.wantCommits(t, promotion.ActionRollback, [][]string{{"prod-3"}}, nil)
	want := map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.2", "prod-3": "1.4.1", "prod-4": "1.4.1", "prod-5": "1.4.1", "prod-6": "1.4.1"}
	if got := w.holding(); !maps.Equal(got, want) {
		t.Errorf("files hold %v, want %v", got, want)
	}
	if got := w.pipelineTargets(); !maps.Equal(got, map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.2", "prod-3": "1.4.1"}) {
		t.Errorf("the pipeline's targets: %v", got)
	}
	ss := w.get("r").Status.StageStatus("prod")
	phases := map[string]releasev1.TargetPhase{"prod-1": releasev1.TargetDeployed, "prod-2": releasev1.TargetDeployed, "prod-3": releasev1.TargetRolledBack,
		"prod-4": releasev1.TargetPending, "prod-5": releasev1.TargetPending, "prod-6": releasev1.TargetPending}
	if got := targetPhases(ss); !maps.Equal(got, phases) {
		t.Errorf("targets %v, want %v", got, phases)
	}
	if !strings.Contains(ss.Message, "rolled back prod-3 in 1 commits; the waves after wave 2 of 3 never start") {
		t.Errorf("prod's message: %s", ss.Message)
	}
	if m := ss.Targets[1].Message; m != "keeps 1.4.2: the stage's rollback (Target) wrote back prod-3" {
		t.Errorf("prod-2's message: %s", m)
	}
}

// rollback: Wave writes back the failed wave's targets, one commit per
// repository; wave 1 keeps the version.
func TestWavesRollbackWaveWritesBackTheFailedWave(t *testing.T) {
	w := failingIn(t, releasev1.RollbackScopeWave)

	w.wantCommits(t, promotion.ActionRollback, [][]string{{"prod-3"}}, [][]string{{"prod-2"}})
	want := map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.1", "prod-3": "1.4.1", "prod-4": "1.4.1", "prod-5": "1.4.1", "prod-6": "1.4.1"}
	if got := w.holding(); !maps.Equal(got, want) {
		t.Errorf("files hold %v, want %v", got, want)
	}
	if got := w.pipelineTargets(); !maps.Equal(got, map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.1", "prod-3": "1.4.1"}) {
		t.Errorf("the pipeline's targets: %v", got)
	}

	// Each rollback is followed: prod-2's agent applied it; prod-3's
	// Application is Degraded on the rollback commit too.
	ss := w.get("r").Status.StageStatus("prod")
	if prod2 := ss.Targets[1]; prod2.RollbackDeployedAt == nil || !strings.HasPrefix(prod2.Message, "1.4.1 is live again since ") {
		t.Errorf("prod-2: %+v", prod2)
	}
	if prod3 := ss.Targets[2]; prod3.RollbackDeployedAt != nil || !strings.HasSuffix(prod3.Message, "prod-3 needs a person") {
		t.Errorf("prod-3: %+v", prod3)
	}
	if rb := ss.Rollback; rb.DeployedAt != nil || rb.Message != "the rollback to 1.4.1 was not deployed in prod-3: they need a person" {
		t.Errorf("rollback: %+v", rb)
	}
	for _, pt := range w.getPipeline().Status.StageStatus("prod").Targets {
		if deployed := pt.DeployedAt != nil; deployed != (pt.Name != "prod-3") {
			t.Errorf("the pipeline's %s: %+v", pt.Name, pt)
		}
	}
}

// A failed analysis names no target: with rollback: Target the wave it
// measured is written back.
func TestWavesRollbackTargetAfterAFailedAnalysisWritesBackTheWave(t *testing.T) {
	w := wave2AnalysisFails(t, releasev1.FailureRollback, releasev1.RollbackScopeTarget)

	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("prod %s: %s", ss.Phase, w.describe("r"))
	}
	want := map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.1", "prod-3": "1.4.1", "prod-4": "1.4.1", "prod-5": "1.4.1", "prod-6": "1.4.1"}
	if got := w.holding(); !maps.Equal(got, want) {
		t.Errorf("files hold %v, want %v", got, want)
	}
	for _, repo := range []string{gitopsRepo, euRepo} {
		if got := w.targetCommits(repo, promotion.ActionRollback); len(got) != 1 {
			t.Errorf("rollback commits in %s: %v, want one", repo, got)
		}
	}
}

// GitHub turns away the rollback's commit in one repository after the
// other's landed: the retry writes back the rest of the targets the failure
// chose, each once, and nothing more.
func TestWavesRollbackRetriedWritesEachChosenTargetOnce(t *testing.T) {
	w := newWorld(t)
	st := targetsWorld(t, w)
	st.Rollback = releasev1.RollbackScopeWave
	w.pipeline(st)
	state := releasev1.DeploymentProgressing
	w.agentsSay(func(target string) releasev1.DeploymentState {
		if target == "prod-1" {
			return releasev1.DeploymentDeployed
		}
		return state
	})
	w.release("r", "1.4.2")
	w.settle("r", 20)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Wave != 2 || ss.Phase != releasev1.StageDeploying {
		t.Fatalf("prod %s in wave %d: %s", ss.Phase, ss.Wave, w.describe("r"))
	}

	// Wave 2 fails; prod-2's rollback (acme/gitops-eu) lands, prod-3's
	// (acme/gitops) is turned away once.
	state = releasev1.DeploymentDegraded
	w.sim.Inject(githubsim.Fault{Path: "/repos/" + gitopsRepo + "/(contents|git)/", Status: http.StatusBadGateway, Times: 1})
	if _, err := w.reconcile("r"); err == nil {
		t.Fatalf("the rollback was not turned away: %s", w.describe("r"))
	}
	got := targetPhases(w.get("r").Status.StageStatus("prod"))
	if got["prod-2"] != releasev1.TargetRolledBack || got["prod-3"] != releasev1.TargetRollingBack || got["prod-1"] != releasev1.TargetDeployed {
		t.Fatalf("after the refusal: %v", got)
	}
	w.settle("r", 10)

	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageRolledBack || !strings.Contains(ss.Message, "rolled back prod-2, prod-3 in 2 commits") {
		t.Fatalf("prod %s: %s", ss.Phase, ss.Message)
	}
	w.wantCommits(t, promotion.ActionRollback, [][]string{{"prod-3"}}, [][]string{{"prod-2"}})
	want := map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.1", "prod-3": "1.4.1", "prod-4": "1.4.1", "prod-5": "1.4.1", "prod-6": "1.4.1"}
	if got := w.holding(); !maps.Equal(got, want) {
		t.Errorf("files hold %v, want %v", got, want)
	}
}

// maxParallel 4 of six targets: waves of 4 and 2, each one commit per
// repository.
func TestWavesMaxParallel(t *testing.T) {
	w := newWorld(t)
	st := targetsWorld(t, w)
	four := int32(4)
	st.Waves, st.MaxParallel = nil, &four
	w.pipeline(st)
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed })
	w.release("r", "1.4.2")
	w.settle("r", 20)

	rel := w.get("r")
	if ss := rel.Status.StageStatus("prod"); rel.Status.Phase != releasev1.PhaseReleased || ss.Waves != 2 {
		t.Fatalf("release %s, %d waves: %s", rel.Status.Phase, ss.Waves, w.describe("r"))
	}
	w.wantCommits(t, "", [][]string{{"prod-1", "prod-3"}, {"prod-5"}}, [][]string{{"prod-2", "prod-4"}, {"prod-6"}})
}

// A rollback on demand of a stage with targets, once the version runs in
// all six: every target is written back, one commit per repository, the
// pipeline's record names them, and each target's rollback is followed
// until its agent applied it; then the stage runs the version written back.
func TestWavesRollbackOnDemandWritesBackEveryTargetAndFollowsIt(t *testing.T) {
	w, deployed := deployedAsSaid(t)
	for k := 2; k <= 6; k++ {
		deployed[fmt.Sprintf("prod-%d", k)] = true
	}
	if w.settle("r", 30); w.get("r").Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s", w.describe("r"))
	}

	w.clk.Step(time.Hour)
	w.askRollback("prod", "1.4.1", "errors since 13:00")
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentProgressing })
	w.settle("r", 6)
	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != releasev1.StageRolledBack || ss.Rollback == nil || ss.Rollback.RequestedBy != "lee" {
		t.Fatalf("%s", w.describe("r"))
	}
	w.wantCommits(t, promotion.ActionRollback, [][]string{{"prod-1", "prod-3", "prod-5"}}, [][]string{{"prod-2", "prod-4", "prod-6"}})
	for _, repo := range []string{gitopsRepo, euRepo} {
		if head := w.sim.Commits(repo, "main")[0]; !strings.Contains(head.Message, "Liftoff-Rollback-Request: 0\n") {
			t.Errorf("the rollback in %s does not name its request: %s", repo, head.Message)
		}
	}
	want := map[string]string{"prod-1": "1.4.1", "prod-2": "1.4.1", "prod-3": "1.4.1", "prod-4": "1.4.1", "prod-5": "1.4.1", "prod-6": "1.4.1"}
	if got := w.holding(); !maps.Equal(got, want) {
		t.Errorf("files hold %v, want %v", got, want)
	}
	rec := w.getPipeline().Status.RollbackRecordOf(0)
	if rec == nil || rec.Phase != releasev1.RollbackDone || rec.From != "1.4.2" || rec.To != "1.4.1" ||
		!slices.Equal(rec.Targets, []string{"prod-1", "prod-3", "prod-5", "prod-2", "prod-4", "prod-6"}) {
		t.Fatalf("record %+v", rec)
	}
	for _, ts := range ss.Targets {
		if ts.Phase != releasev1.TargetRolledBack || ts.RollbackDeployedAt != nil || ts.RollbackDeployment == nil {
			t.Errorf("target %s before its agent applied the rollback: %+v", ts.Name, ts)
		}
	}
	if !strings.Contains(ss.Rollback.Message, "waiting for prod-1, prod-2, prod-3, prod-4, prod-5, prod-6 to deploy it") {
		t.Errorf("rollback: %s", ss.Rollback.Message)
	}
	// Each target's GitHub deployment: successful, then failed by the rollback.
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success", "failure"}, "prod-2": {"success", "failure"}, "prod-3": {"success", "failure"},
		"prod-4": {"success", "failure"}, "prod-5": {"success", "failure"}, "prod-6": {"success", "failure"}})

	// The agents apply the rollback: every target, then the stage, runs 1.4.1.
	w.agentsSay(func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed })
	w.clk.Step(time.Minute)
	w.settle("r", 4)
	ss = w.get("r").Status.StageStatus("prod")
	for _, ts := range ss.Targets {
		if ts.RollbackDeployedAt == nil {
			t.Errorf("target %s: %+v", ts.Name, ts)
		}
	}
	if ss.Rollback.DeployedAt == nil || !strings.HasPrefix(ss.Rollback.Message, "1.4.1 is live again in every target of prod written back since ") {
		t.Errorf("rollback: %+v", ss.Rollback)
	}
	ps := w.getPipeline().Status.StageStatus("prod")
	if ps.Version != "1.4.1" || ps.Live == nil || ps.Live.Version != "1.4.1" {
		t.Errorf("the pipeline's prod: version %s, live %+v", ps.Version, ps.Live)
	}
	for _, pt := range ps.Targets {
		if pt.Version != "1.4.1" || pt.DeployedAt == nil {
			t.Errorf("the pipeline's %s: %+v", pt.Name, pt)
		}
	}
	before := len(w.sim.Commits(gitopsRepo, "main")) + len(w.sim.Commits(euRepo, "main"))
	w.settle("r", 3)
	if after := len(w.sim.Commits(gitopsRepo, "main")) + len(w.sim.Commits(euRepo, "main")); after != before {
		t.Errorf("%d commits after the rollback was applied", after-before)
	}
}

// fourTargetsInTwoWaves starts a Release of 1.4.2 into prod-1..prod-4 in
// waves 2, 100% (prod-1, prod-2; prod-3, prod-4), whose agents say what
// state says.
func fourTargetsInTwoWaves(t *testing.T, state func(target string) releasev1.DeploymentState, mod ...func(*world)) *world {
	w := newWorld(t)
	st := targetsWorld(t, w)
	st.Targets = st.Targets[:4]
	st.Waves = []intstr.IntOrString{intstr.FromInt32(2), intstr.FromString("100%")}
	w.pipeline(st)
	w.agentsSay(state)
	for _, m := range mod {
		m(w)
	}
	w.release("r", "1.4.2")
	return w
}

// targetDeployments are the GitHub deployments of prod's targets, by
// environment, in the targets' repositories.
func (w *world) targetDeployments(t *testing.T) map[string]githubsim.Deployment {
	t.Helper()
	out := map[string]githubsim.Deployment{}
	for _, repo := range []string{gitopsRepo, euRepo} {
		for _, d := range w.sim.Deployments(repo) {
			if _, twice := out[d.Environment]; twice {
				t.Errorf("two deployments to %s", d.Environment)
			}
			out[d.Environment] = d
		}
	}
	if n := len(w.sim.Deployments(appRepo)); n != 0 {
		t.Errorf("%d deployments in the source repository, want none for a stage with targets", n)
	}
	return out
}

// wantTargetDeployments checks that each target of prod has one GitHub
// deployment, in its repository, to prod/TARGET, of the commit that landed
// the version there, whose statuses are states (each written once).
func (w *world) wantTargetDeployments(t *testing.T, states map[string][]string) {
	t.Helper()
	deps := w.targetDeployments(t)
	if len(deps) != len(states) {
		t.Errorf("deployments to %v, want one per target", slices.Sorted(maps.Keys(deps)))
	}
	ss := w.get("r").Status.StageStatus("prod")
	for _, ts := range ss.Targets {
		env := "prod/" + ts.Name
		d, ok := deps[env]
		if _, want := states[ts.Name]; !want {
			if ok {
				t.Errorf("%s, never written, has deployment %+v", env, d)
			}
			continue
		}
		if !ok {
			t.Errorf("no deployment to %s", env)
			continue
		}
		if d.Ref != ts.Commit || d.SHA != ts.Commit || d.ID != ts.DeploymentID {
			t.Errorf("%s: deployment %d of %s, want %d of the target's commit %s", env, d.ID, d.Ref, ts.DeploymentID, ts.Commit)
		}
		var got []string
		for _, st := range d.Statuses {
			got = append(got, st.State)
		}
		if !slices.Equal(got, states[ts.Name]) {
			t.Errorf("%s: statuses %v, want %v", env, got, states[ts.Name])
		}
	}
}

// With verify, a target's deployment succeeds once its wave is verified;
// wave 2's analysis fails and the stage halts: its targets' deployments
// fail, and the targets of wave 3, never written, have none.
func TestWavesTargetDeploymentsFollowTheVerification(t *testing.T) {
	w := wave2AnalysisFails(t, releasev1.FailureHalt, "")
	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageFailed {
		t.Fatalf("prod %s: %s", ss.Phase, w.describe("r"))
	}
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success"}, "prod-2": {"failure"}, "prod-3": {"failure"}})
	if d := w.targetDeployments(t)["prod/prod-1"]; !strings.Contains(d.Statuses[0].Description, "verified") {
		t.Errorf("prod/prod-1's success: %q", d.Statuses[0].Description)
	}
}

// Four targets in two waves record one GitHub deployment each, to
// prod/TARGET, of the target's wave commit: created when it lands,
// successful once the wave is deployed.
func TestWavesRecordADeploymentPerTarget(t *testing.T) {
	deployed := map[string]bool{"prod-1": true, "prod-2": true}
	w := fourTargetsInTwoWaves(t, func(target string) releasev1.DeploymentState {
		if deployed[target] {
			return releasev1.DeploymentDeployed
		}
		return releasev1.DeploymentProgressing
	})
	w.settle("r", 20)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Wave != 2 || ss.Phase != releasev1.StageDeploying {
		t.Fatalf("prod %s in wave %d: %s", ss.Phase, ss.Wave, w.describe("r"))
	}
	// Wave 1 successful; wave 2's deployments created, without a status.
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success"}, "prod-2": {"success"}, "prod-3": nil, "prod-4": nil})

	deployed["prod-3"], deployed["prod-4"] = true, true
	w.settle("r", 20)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s", w.describe("r"))
	}
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success"}, "prod-2": {"success"}, "prod-3": {"success"}, "prod-4": {"success"}})
	if d := w.targetDeployments(t)["prod/prod-3"]; !strings.Contains(d.Description, "1.4.2 to prod/prod-3") {
		t.Errorf("prod/prod-3's description %q", d.Description)
	}
}

// A target of the second wave fails: it and every target written back
// have their deployment failed.
func TestWavesTargetDeploymentsFailOnRollback(t *testing.T) {
	w := fourTargetsInTwoWaves(t, func(target string) releasev1.DeploymentState {
		if target == "prod-4" {
			return releasev1.DeploymentDegraded
		}
		return releasev1.DeploymentDeployed
	})
	w.settle("r", 20)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("prod %s: %s", ss.Phase, w.describe("r"))
	}
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success", "failure"}, "prod-2": {"success", "failure"}, "prod-3": {"failure"}, "prod-4": {"failure"}})
	for env, d := range w.targetDeployments(t) {
		if last := d.Statuses[len(d.Statuses)-1]; !strings.HasPrefix(last.Description, "rolled back: target prod-4") {
			t.Errorf("%s's last status: %q", env, last.Description)
		}
	}
}

// The controller loses GitHub's answer to a target's deployment and to a
// target's status, then restarts: each deployment is found again or owed,
// and every one and its success written once.
func TestWavesTargetDeploymentsWrittenOnceAcrossARestart(t *testing.T) {
	var lostCreate, lostStatus atomic.Bool
	w := fourTargetsInTwoWaves(t, func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed }, func(w *world) {
		w.transport = func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			lose := err == nil && r.Method == http.MethodPost && resp.StatusCode == http.StatusCreated &&
				(strings.HasSuffix(r.URL.Path, "/deployments") && lostCreate.CompareAndSwap(false, true) ||
					strings.HasSuffix(r.URL.Path, "/statuses") && lostStatus.CompareAndSwap(false, true))
			if lose {
				resp.Body.Close()
				return nil, errors.New("connection reset: the controller died")
			}
			return resp, err
		}
	})
	for n := 0; n < 20 && (!lostCreate.Load() || !lostStatus.Load()); n++ {
		_, _ = w.reconcile("r")
		w.clk.Step(time.Second)
	}
	if !lostCreate.Load() || !lostStatus.Load() {
		t.Fatalf("no answer lost: %s", w.describe("r"))
	}
	if len(w.get("r").Status.PendingRecords) == 0 {
		t.Errorf("nothing owed after the lost answers: %s", w.describe("r"))
	}
	w.transport = nil
	w.start()
	for n := 0; n < 20 && (w.get("r").Status.Phase != releasev1.PhaseReleased || len(w.get("r").Status.PendingRecords) > 0); n++ {
		w.settle("r", 5)
		w.clk.Step(time.Minute)
	}
	rel := w.get("r")
	if rel.Status.Phase != releasev1.PhaseReleased || len(rel.Status.PendingRecords) != 0 {
		t.Fatalf("still owing %+v: %s", rel.Status.PendingRecords, w.describe("r"))
	}
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success"}, "prod-2": {"success"}, "prod-3": {"success"}, "prod-4": {"success"}})
}

// The controller dies after wave 1's commits and deployments were created
// and before the Release's status recorded them: after the restart, each
// commit and deployment is found again, none written twice.
func TestWavesTargetDeploymentsFoundAgainAfterARestart(t *testing.T) {
	w := fourTargetsInTwoWaves(t, func(string) releasev1.DeploymentState { return releasev1.DeploymentDeployed })
	died := false
	for n := 0; n < 20 && !died; n++ {
		rel := w.get("r")
		_, err := w.engine.Reconcile(w.ctx, rel, func(ctx context.Context, before, after *releasev1.Release) (bool, error) {
			if len(w.sim.Deployments(gitopsRepo)) > 0 {
				died = true
				return false, errors.New("the controller died before writing the status")
			}
			return false, w.c.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		})
		if err != nil && !died {
			t.Fatal(err)
		}
	}
	if !died {
		t.Fatalf("no deployment created: %s", w.describe("r"))
	}
	if ss := w.get("r").Status.StageStatus("prod"); ss != nil && len(ss.Targets) > 0 && ss.Targets[0].DeploymentID != 0 {
		t.Fatalf("the status recorded the deployment before the controller died: %+v", ss.Targets[0])
	}
	w.start()
	w.settle("r", 20)
	if rel := w.get("r"); rel.Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("%s", w.describe("r"))
	}
	w.wantCommits(t, "", [][]string{{"prod-1"}, {"prod-3"}}, [][]string{{"prod-2"}, {"prod-4"}})
	w.wantTargetDeployments(t, map[string][]string{"prod-1": {"success"}, "prod-2": {"success"}, "prod-3": {"success"}, "prod-4": {"success"}})
}
