package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// euRepo holds the even production targets; gitopsRepo the odd ones.
const euRepo = "acme/gitops-eu"

func targetRepo(k int) string {
	if k%2 == 0 {
		return euRepo
	}
	return gitopsRepo
}

// withTargets seeds the files of prod-1..prod-6 on 1.4.1 in both GitOps
// repositories.
func withTargets() envOption {
	return func(e *testEnv) {
		e.onSim = append(e.onSim, func(e *testEnv) {
			g := NewWithT(e.t)
			g.Expect(e.sim.CreateRepo(euRepo, "main")).To(Succeed())
			files := map[string]map[string]string{gitopsRepo: {}, euRepo: {}}
			for k := 1; k <= 6; k++ {
				files[targetRepo(k)][fmt.Sprintf("envs/prod-%d/kustomization.yaml", k)] = kustomization("1.4.1")
			}
			for repo, f := range files {
				_, err := e.sim.CommitFiles(repo, "main", f, "Production targets")
				g.Expect(err).NotTo(HaveOccurred())
			}
		})
	}
}

// targetCommits are Liftoff's commits of release r in repo, oldest first,
// each as the targets it wrote (action "" for promotions, "rollback").
func (e *testEnv) targetCommits(repo, action string) [][]string {
	var out [][]string
	commits := e.sim.Commits(repo, "main")
	slices.Reverse(commits)
	for _, c := range commits {
		var targets []string
		for _, st := range promotion.StagesIn(c.Message, e.ns+"/r", action) {
			targets = append(targets, strings.TrimPrefix(st, "prod/"))
		}
		if len(targets) > 0 {
			out = append(out, targets)
		}
	}
	return out
}

// argoTargets are prod-1..prod-6 in both GitOps repositories, each
// deployed by its own Argo CD Application (created here).
func (e *testEnv) argoTargets() []releasev1.StageTarget {
	var out []releasev1.StageTarget
	for k := 1; k <= 6; k++ {
		name := fmt.Sprintf("prod-%d", k)
		e.application("checkout-" + name)
		out = append(out, releasev1.StageTarget{Name: name,
			Target: releasev1.Target{Repository: targetRepo(k), Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml",
				KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}},
			Deployment: &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "checkout-" + name, Namespace: e.ns}}})
	}
	return out
}

// argoSays makes the Application of each target of r's prod that say
// names report commit (its promotion commit, or with rollback its rollback
// commit) synced with health.
func (e *testEnv) argoSays(health string, rollback bool, say func(target string) bool) {
	ss := e.stageStatus("r", "prod")()
	for _, ts := range ss.Targets {
		commit := ts.Commit
		if rollback {
			commit = ts.RollbackCommit
		}
		if commit == "" || !say(ts.Name) {
			continue
		}
		e.setApp("checkout-"+ts.Name, agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: health, Operation: "Succeeded", Message: "successfully synced (all tasks run)"})
	}
}

func all(string) bool { return true }

// Six production targets in two repositories, each its own Argo CD
// Application, in waves 1, 50%, 100%, verified by a real Prometheus: wave 1
// passes; wave 2's analysis fails, so prod-1, prod-2 and prod-3 are written
// back in one commit per repository and wave 3 never starts; the Release
// and the pipeline say which targets run what.
func TestWavesRollBackWhenTheSecondWaveFailsItsAnalysis(t *testing.T) {
	g := NewWithT(t)
	target, prom := startPrometheus(t, "1.4.2", 0.01)
	e := newEnv(t, withTargets())
	prod := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("50%"), intstr.FromString("100%")},
		Verify: &releasev1.Verify{Analysis: releasev1.AnalysisSpec{
			InitialDelay: &metav1.Duration{Duration: 200 * time.Millisecond},
			Interval:     &metav1.Duration{Duration: 300 * time.Millisecond}, Count: 3, ConsecutiveErrorLimit: 2,
			Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: `max(demo_error_ratio{version="{{ .Version }}"})`, SuccessCondition: "result < 0.05", NoData: "Fail"}},
		}}}
	prod.Targets = e.argoTargets()
	p := e.newPipeline(prod)
	p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: prom.URL}
	g.Expect(k8sCreate(p)).To(Succeed())
	e.release("r", "1.4.2")

	prodStatus := e.stageStatus("r", "prod")
	inWave := func(wave int32) func() releasev1.ReleaseStageStatus {
		return func() releasev1.ReleaseStageStatus {
			if ss := prodStatus(); ss.Wave == wave {
				return ss
			}
			return releasev1.ReleaseStageStatus{}
		}
	}
	healthy := func(names ...string) {
		ss := prodStatus()
		for _, ts := range ss.Targets {
			if slices.Contains(names, ts.Name) {
				g.Expect(ts.Commit).NotTo(BeEmpty(), ts.Name)
				e.setApp("checkout-"+ts.Name, agenttest.ArgoStatus{Revision: ts.Commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced (all tasks run)"})
			}
		}
	}
	phase := func(ss releasev1.ReleaseStageStatus) releasev1.StagePhase { return ss.Phase }

	g.Eventually(inWave(1), timeout, interval).Should(WithTransform(phase, Equal(releasev1.StageDeploying)))
	g.Expect(e.get("r").Status.CurrentStage).To(Equal("prod 0/6 on 1.4.2, wave 1 of 3"))
	healthy("prod-1")
	g.Eventually(inWave(2), timeout, interval).Should(WithTransform(phase, Equal(releasev1.StageDeploying)))
	g.Expect(prodStatus().Analysis.Phase).To(Equal("Succeeded"), "wave 1 was verified")
	g.Expect(e.targetCommits(gitopsRepo, "")).To(Equal([][]string{{"prod-1"}, {"prod-3"}}))
	g.Expect(e.targetCommits(euRepo, "")).To(Equal([][]string{{"prod-2"}}))

	// The version turns bad once it reaches wave 2.
	target.Set("1.4.2", 0.30)
	prom.WaitForSeries(t, `demo_error_ratio{version="1.4.2"} > 0.2`)
	healthy("prod-2", "prod-3")

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	ss := prodStatus()
	g.Expect(ss.Phase).To(Equal(releasev1.StageRolledBack))
	g.Expect(ss.Message).To(ContainSubstring("successCondition result < 0.05 is false"))
	g.Expect(ss.Message).To(ContainSubstring("rolled back prod-1, prod-3, prod-2 in 2 commits; the waves after wave 2 of 3 never start"))
	g.Expect(e.targetCommits(gitopsRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-1", "prod-3"}}))
	g.Expect(e.targetCommits(euRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-2"}}))
	for k := 1; k <= 6; k++ {
		c, _ := e.sim.FileAt(targetRepo(k), "main", fmt.Sprintf("envs/prod-%d/kustomization.yaml", k))
		g.Expect(c).To(Equal(kustomization("1.4.1")), "prod-%d holds what it held before", k)
	}
	want := map[string]releasev1.TargetPhase{"prod-1": releasev1.TargetRolledBack, "prod-2": releasev1.TargetRolledBack, "prod-3": releasev1.TargetRolledBack,
		"prod-4": releasev1.TargetPending, "prod-5": releasev1.TargetPending, "prod-6": releasev1.TargetPending}
	for _, ts := range ss.Targets {
		g.Expect(ts.Phase).To(Equal(want[ts.Name]), ts.Name)
	}
	g.Consistently(func() [][]string { return e.targetCommits(euRepo, "") }, 2*time.Second, 100*time.Millisecond).
		Should(Equal([][]string{{"prod-2"}}), "wave 3 never starts")

	ps := e.getPipeline().Status.StageStatus("prod")
	g.Expect(ps).NotTo(BeNil())
	g.Expect(ps.InFlight).To(BeNil(), "the stage is freed")
	g.Expect(ps.Version).To(BeEmpty(), "1.4.2 never ran in all of prod")
	versions := map[string]string{}
	for _, pt := range ps.Targets {
		versions[pt.Name] = pt.Version
	}
	g.Expect(versions).To(Equal(map[string]string{"prod-1": "1.4.1", "prod-2": "1.4.1", "prod-3": "1.4.1"}))
}

// Admission refuses waves that do not split the targets and targets that
// write one file, with the field to fix (the pipeline webhook).
func TestAPIRefusesBadWaves(t *testing.T) {
	needsControlPlane(t)
	ns := fmt.Sprintf("waves-validation-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	n, pc := intstr.FromInt32, intstr.FromString
	for _, tc := range []struct {
		name string
		mod  func(*releasev1.Stage)
		want string
	}{
		{"waves that split the targets", func(s *releasev1.Stage) { s.Waves = []intstr.IntOrString{n(1), pc("50%"), pc("100%")} }, ""},
		{"waves that do not grow", func(s *releasev1.Stage) { s.Waves = []intstr.IntOrString{n(3), pc("50%"), pc("100%")} },
			"spec.stages[0].waves[1]: 50% (3 targets) does not grow past waves[0] (3 targets)"},
		{"a wave past the targets", func(s *releasev1.Stage) { s.Waves = []intstr.IntOrString{n(1), n(7)} },
			"spec.stages[0].waves[1]: 7 is more than the stage's 6 targets"},
		{"waves short of every target", func(s *releasev1.Stage) { s.Waves = []intstr.IntOrString{n(1), pc("50%")} },
			`spec.stages[0].waves[1]: the last wave reaches 3 of the stage's 6 targets: end the waves with "100%" or 6`},
		{"two targets writing one file", func(s *releasev1.Stage) { s.Targets[4].Target.Files[0].Path = "envs/prod-3/kustomization.yaml" },
			"spec.stages[0].targets[4].target.files: envs/prod-3/kustomization.yaml on main of acme/gitops-1 is written by targets[2] (prod-3) too: give each target its own files"},
		{"maxParallel", func(s *releasev1.Stage) { s.MaxParallel = ptr.To[int32](2) }, ""},
		{"maxParallel and waves", func(s *releasev1.Stage) {
			s.MaxParallel, s.Waves = ptr.To[int32](2), []intstr.IntOrString{n(1), pc("100%")}
		}, "spec.stages[0].maxParallel: Invalid value: set waves (how many targets run the version after each wave) or maxParallel (waves of that many targets), not both"},
		{"maxParallel 0", func(s *releasev1.Stage) { s.MaxParallel = ptr.To[int32](0) }, "spec.stages[0].maxParallel: Invalid value: 0: spec.stages[0].maxParallel in body should be greater than or equal to 1"},
		{"rollback of the failed target", func(s *releasev1.Stage) { s.Rollback = releasev1.RollbackScopeTarget }, ""},
		{"rollback with onFailure Halt", func(s *releasev1.Stage) { s.Rollback, s.OnFailure = releasev1.RollbackScopeWave, releasev1.FailureHalt },
			"spec.stages[0].rollback: Invalid value: rollback says what onFailure Rollback writes back: remove it, or set onFailure Rollback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := targetsStage()
			tc.mod(&st)
			p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns},
				Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/app"}, Stages: []releasev1.Stage{st}}}
			err := k8s.Create(context.Background(), p)
			if tc.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

// The controller dies between two waves: wave 1 recorded, wave 2's commit
// in acme/gitops-eu landed but never recorded in the Release's status, its
// commit in acme/gitops not made. A new manager (as after a leader change)
// finishes the stage: each target's file is written exactly once.
func TestWavesLeaderChangeWritesEachTargetOnce(t *testing.T) {
	g := NewWithT(t)
	// The second ref update (wave 2's first commit) lands; every GitHub call
	// after it hangs until the controller is stopped.
	crashing, landed := crashingAfter(2)
	e := newEnv(t, withTargets(), withTransport(crashing))
	prod := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("50%"), intstr.FromString("100%")}}
	for k := 1; k <= 6; k++ {
		name := fmt.Sprintf("prod-%d", k)
		prod.Targets = append(prod.Targets, releasev1.StageTarget{Name: name,
			Target: releasev1.Target{Repository: targetRepo(k), Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml",
				KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}}})
	}
	e.pipeline(prod)
	e.release("r", "1.4.2")
	g.Eventually(landed, timeout).Should(BeClosed())
	e.stopController()
	ss := e.stageStatus("r", "prod")()
	g.Expect(ss.Wave).To(Equal(int32(2)), "wave 1 was recorded")
	for _, ts := range ss.Targets {
		if ts.Wave == 2 {
			g.Expect(ts.Commit).To(BeEmpty(), "%s: wave 2's commits were never recorded", ts.Name)
		}
	}
	g.Expect(e.targetCommits(euRepo, "")).To(Equal([][]string{{"prod-2"}}), "wave 2's first commit landed")

	e.restart(nil)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	written := map[string]int{}
	for _, repo := range []string{gitopsRepo, euRepo} {
		for _, c := range e.targetCommits(repo, "") {
			for _, target := range c {
				written[target]++
			}
		}
	}
	g.Expect(written).To(Equal(map[string]int{"prod-1": 1, "prod-2": 1, "prod-3": 1, "prod-4": 1, "prod-5": 1, "prod-6": 1}))
	g.Expect(e.targetCommits(gitopsRepo, "")).To(Equal([][]string{{"prod-1"}, {"prod-3"}, {"prod-5"}}))
	g.Expect(e.targetCommits(euRepo, "")).To(Equal([][]string{{"prod-2"}, {"prod-4", "prod-6"}}))
	for _, ts := range e.stageStatus("r", "prod")().Targets {
		g.Expect(ts.Phase).To(Equal(releasev1.TargetDeployed), ts.Name)
	}
	g.Expect(e.getPipeline().Status.StageStatus("prod").Version).To(Equal("1.4.2"))
}

// A stage of 50 targets is admitted (the API server's budget for checking
// their files holds); one of them with a path out of the repository, or a
// 51st target, is refused with the field to fix.
func TestAPIAdmitsFiftyTargets(t *testing.T) {
	needsControlPlane(t)
	ns := fmt.Sprintf("waves-fifty-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	stage := func(n int) releasev1.Stage {
		st := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("25%"), intstr.FromString("100%")}}
		for k := 1; k <= n; k++ {
			name := fmt.Sprintf("prod-%d", k)
			st.Targets = append(st.Targets, releasev1.StageTarget{Name: name, Target: releasev1.Target{Repository: "acme/gitops",
				Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "app"}}}}})
		}
		return st
	}
	for _, tc := range []struct {
		name string
		st   releasev1.Stage
		want string
	}{
		{"50 targets in 3 waves", stage(50), ""},
		{"a target's path out of the repository", func() releasev1.Stage {
			st := stage(50)
			st.Targets[49].Target.Files[0].Path = "../prod/kustomization.yaml"
			return st
		}(), `spec.stages[0].targets[49].target.files[0].path: "../prod/kustomization.yaml": the path must be relative to the repository root and must not contain '..'`},
		{"51 targets", stage(51), "spec.stages[0].targets: Too many: 51: must have at most 50 items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns},
				Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/app"}, Stages: []releasev1.Stage{tc.st}}}
			err := k8s.Create(context.Background(), p)
			if tc.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

// rollback: Wave with real Argo CD Applications: prod-3 turns Degraded in
// wave 2, so wave 2 (prod-2, prod-3) is written back, one commit per
// repository, prod-1 keeps 1.4.2; then each target's rollback is followed
// until its Application applied it.
func TestWavesRollbackWaveFollowedUntilApplied(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withTargets())
	prod := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("50%"), intstr.FromString("100%")},
		OnFailure: releasev1.FailureRollback, Rollback: releasev1.RollbackScopeWave, Targets: e.argoTargets()}
	e.pipeline(prod)
	e.release("r", "1.4.2")
	first := func(name string) bool { return name == "prod-1" }
	g.Eventually(func() int32 { e.argoSays("Healthy", false, first); return e.stageStatus("r", "prod")().Wave }, timeout, interval).Should(Equal(int32(2)))
	g.Eventually(func() releasev1.ReleasePhase {
		e.argoSays("Healthy", false, func(name string) bool { return name == "prod-2" })
		e.argoSays("Degraded", false, func(name string) bool { return name == "prod-3" })
		return e.get("r").Status.Phase
	}, timeout, interval).Should(Equal(releasev1.PhaseFailed))

	ss := e.stageStatus("r", "prod")()
	g.Expect(ss.Phase).To(Equal(releasev1.StageRolledBack))
	g.Expect(e.targetCommits(gitopsRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-3"}}))
	g.Expect(e.targetCommits(euRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-2"}}))
	for k, want := range map[int]string{1: "1.4.2", 2: "1.4.1", 3: "1.4.1", 4: "1.4.1"} {
		c, _ := e.sim.FileAt(targetRepo(k), "main", fmt.Sprintf("envs/prod-%d/kustomization.yaml", k))
		g.Expect(c).To(ContainSubstring(`newTag: "`+want+`"`), "prod-%d", k)
	}
	g.Expect(ss.Targets[0].Message).To(Equal("keeps 1.4.2: the stage's rollback (Wave) wrote back prod-2, prod-3"))
	g.Expect(ss.Rollback.DeployedAt).To(BeNil(), "the Applications have not applied the rollback yet")

	e.argoSays("Healthy", true, all)
	g.Eventually(func() *metav1.Time { return e.stageStatus("r", "prod")().Rollback.DeployedAt }, timeout, interval).ShouldNot(BeNil())
	ss = e.stageStatus("r", "prod")()
	for _, ts := range ss.Targets[1:3] {
		g.Expect(ts.RollbackDeployedAt).NotTo(BeNil(), ts.Name)
		g.Expect(ts.RollbackDeployment.Object).To(Equal(e.ns+"/checkout-"+ts.Name), ts.Name)
	}
	versions := map[string]string{}
	for _, pt := range e.getPipeline().Status.StageStatus("prod").Targets {
		g.Expect(pt.DeployedAt).NotTo(BeNil(), pt.Name)
		versions[pt.Name] = pt.Version
	}
	g.Expect(versions).To(Equal(map[string]string{"prod-1": "1.4.2", "prod-2": "1.4.1", "prod-3": "1.4.1"}))
}

// A rollback on demand of prod's six targets, asked through the API as a
// person does (kubectl liftoff rollback): every target is written back, one
// commit per repository, the pipeline's record names them, and the stage
// runs 1.4.1 once every Application applied its rollback.
func TestWavesRollbackOnDemandOfEveryTarget(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withTargets())
	prod := releasev1.Stage{Name: "prod", Waves: []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("100%")}, Targets: e.argoTargets()}
	e.pipeline(prod)
	e.release("r", "1.4.2")
	g.Eventually(func() releasev1.ReleasePhase { e.argoSays("Healthy", false, all); return e.get("r").Status.Phase }, timeout, interval).
		Should(Equal(releasev1.PhaseReleased))

	lee := e.rollbacker("lee")
	g.Expect(e.rollBackAs(lee, "prod", "1.4.0", "errors")).To(MatchError(ContainSubstring("stage prod has targets: each goes back to what it ran before 1.4.2, 1.4.1: leave to out or name 1.4.1")))
	g.Expect(e.rollBackAs(lee, "prod", "", "checkout errors since 14:00")).To(Succeed())
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Expect(e.targetCommits(gitopsRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-1", "prod-3", "prod-5"}}))
	g.Expect(e.targetCommits(euRepo, promotion.ActionRollback)).To(Equal([][]string{{"prod-2", "prod-4", "prod-6"}}))
	rec := e.getPipeline().Status.RollbackRecordOf(0)
	g.Expect(rec).NotTo(BeNil())
	g.Expect(rec.Phase).To(Equal(releasev1.RollbackDone))
	g.Expect(rec.Targets).To(Equal([]string{"prod-1", "prod-3", "prod-5", "prod-2", "prod-4", "prod-6"}))
	ss := e.stageStatus("r", "prod")()
	g.Expect(ss.Rollback.RequestedBy).To(Equal("lee"))

	e.argoSays("Healthy", true, all)
	g.Eventually(func() *metav1.Time { return e.stageStatus("r", "prod")().Rollback.DeployedAt }, timeout, interval).ShouldNot(BeNil())
	for _, ts := range e.stageStatus("r", "prod")().Targets {
		g.Expect(ts.RollbackDeployedAt).NotTo(BeNil(), ts.Name)
	}
	g.Expect(e.getPipeline().Status.Live).To(Equal("prod=1.4.1"))
	for k := 1; k <= 6; k++ {
		c, _ := e.sim.FileAt(targetRepo(k), "main", fmt.Sprintf("envs/prod-%d/kustomization.yaml", k))
		g.Expect(c).To(Equal(kustomization("1.4.1")), "prod-%d", k)
	}
}
