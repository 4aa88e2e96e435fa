package controllers_test

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
)

// withEnvironments seeds the GitOps files of more stages than dev, staging
// and prod.
func withEnvironments(stages ...string) envOption {
	return func(e *testEnv) {
		e.onSim = append(e.onSim, func(e *testEnv) {
			files := map[string]string{}
			for _, st := range stages {
				files["envs/"+st+"/kustomization.yaml"] = kustomization("1.4.1")
			}
			_, err := e.sim.CommitFiles(gitopsRepo, "main", files, "More environments")
			NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
		})
	}
}

// comesAfter makes a stage come after the named stages (none: a root).
func comesAfter(names ...string) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		list := append([]string{}, names...)
		s.After = &list
	}
}

// Two development clusters fan in to e2e (Argo CD deploys dev-a, Flux
// dev-b); staging follows; production fans out to two regions, each its own
// Argo CD Application. Each stage is written once (the regions' promotions,
// ready together into one branch, may share a coalesced commit, each found
// by its own trailer), e2e only once both dev clusters run the version,
// both regions are promoted side by side, and the pipeline says what runs
// where.
func TestStageGraphFansInAndOut(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withEnvironments("dev-a", "dev-b", "e2e", "prod-eu", "prod-us"))
	e.application("checkout-dev-a")
	e.kustomization("checkout-dev-b")
	e.application("checkout-prod-eu")
	e.application("checkout-prod-us")
	e.pipeline(
		e.stage("dev-a", comesAfter(), e.argoCD("checkout-dev-a", 0)),
		e.stage("dev-b", comesAfter(), e.flux("checkout-dev-b", 0)),
		e.stage("e2e", comesAfter("dev-a", "dev-b")),
		e.stage("staging"),
		e.stage("prod-eu", comesAfter("staging"), e.argoCD("checkout-prod-eu", 0)),
		e.stage("prod-us", comesAfter("staging"), e.argoCD("checkout-prod-us", 0)))
	e.release("r", "1.4.2")
	healthy := func(app, commit string) {
		e.setApp(app, agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced (all tasks run)"})
	}
	current := func() string { return e.get("r").Status.CurrentStage }

	// Both roots start at once.
	devA, devB := e.deploying("r", "dev-a"), e.deploying("r", "dev-b")
	g.Eventually(current, timeout, interval).Should(Equal("dev-a, dev-b"))
	healthy("checkout-dev-a", devA)
	g.Eventually(e.stagePhase("r", "dev-a"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	g.Expect(e.liftoffCommits("r", "e2e")).To(BeEmpty(), "e2e waits for dev-b too")
	g.Expect(e.get("r").Status.StageStatus("e2e").Phase).To(Equal(releasev1.StagePending))

	g.Expect(e.agent().SetKustomization(context.Background(), e.key("checkout-dev-b"), agenttest.FluxStatus{
		Applied: agenttest.FluxRevision("main", devB), Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:" + devB,
	})).To(Succeed())

	// e2e and staging have no agent: they go at once, and production fans out.
	eu, us := e.deploying("r", "prod-eu"), e.deploying("r", "prod-us")
	g.Eventually(current, timeout, interval).Should(Equal("prod-eu, prod-us"))
	p := e.getPipeline()
	g.Expect(p.Status.StageStatus("prod-eu").InFlight.Release).To(Equal("r"))
	g.Expect(p.Status.StageStatus("prod-us").InFlight.Release).To(Equal("r"))
	healthy("checkout-prod-us", us)
	g.Eventually(e.stagePhase("r", "prod-us"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	g.Expect(e.getPipeline().Status.StageStatus("prod-eu").InFlight).NotTo(BeNil(), "prod-us's end frees its own stage only")
	g.Expect(e.get("r").Status.Phase).To(Equal(releasev1.PhaseDeploying))
	healthy("checkout-prod-eu", eu)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	rel := e.get("r")
	g.Expect(rel.Status.CurrentStage).To(Equal("prod-eu, prod-us"))
	for _, st := range []string{"dev-a", "dev-b", "e2e", "staging", "prod-eu", "prod-us"} {
		commits := e.liftoffCommits("r", st)
		g.Expect(commits).To(HaveLen(1), "one commit into %s", st)
		g.Expect(rel.Status.StageStatus(st).Phase).To(Equal(releasev1.StagePromoted), st)
		g.Expect(rel.Status.StageStatus(st).Promotion.Commit).To(Equal(commits[0].SHA), st)
	}
	g.Eventually(func() string { return e.getPipeline().Status.Live }, timeout, interval).
		Should(Equal("dev-a=1.4.2 dev-b=1.4.2 e2e=1.4.2 staging=1.4.2 prod-eu=1.4.2 prod-us=1.4.2"))
	for _, ps := range e.getPipeline().Status.Stages {
		g.Expect(ps.InFlight).To(BeNil(), "%s still held", ps.Name)
	}

	// kubectl liftoff status draws the graph, each stage saying what it
	// comes after; a user who may not read the pipeline gets the list.
	e.grant("ann", []string{"releases", "releasepipelines"}, "get")
	out, ok := e.kubectlAs("ann", nil, "liftoff", "status", "release/r", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(ContainSubstring("GRAPH\n  ✔ dev-a  ✔ e2e  ✔ staging  ✔ prod-eu\n  ✔ dev-b                    ✔ prod-us\n"))
	g.Expect(out).To(ContainSubstring("├─ e2e        ✔ Promoted  (after dev-a, dev-b)"))
	g.Expect(out).To(ContainSubstring("├─ dev-a      ✔ Promoted  (first)"))
	e.grant("lee", []string{"releases"}, "get")
	out, ok = e.kubectlAs("lee", nil, "liftoff", "status", "release/r", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).NotTo(ContainSubstring("GRAPH"))
	g.Expect(out).To(ContainSubstring("├─ e2e        ✔ Promoted\n"))
}

// Admission refuses stages that do not form a graph, with the field to fix.
func TestAPIRefusesBadStageGraphs(t *testing.T) {
	needsControlPlane(t)
	ns := fmt.Sprintf("graph-validation-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	stage := func(name string, after ...string) releasev1.Stage {
		s := releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{
			{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "app"}}}}}
		if after != nil {
			comesAfter(after...)(&s)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		stages []releasev1.Stage
		want   string
	}{
		{"a line, as before", []releasev1.Stage{stage("dev"), stage("staging"), stage("prod")}, ""},
		{"fan-out, fan-in and two roots", []releasev1.Stage{stage("dev-a", []string{}...), stage("dev-b", []string{}...), stage("e2e", "dev-a", "dev-b"),
			stage("prod-eu", "e2e"), stage("prod-us", "e2e")}, ""},
		{"an unknown stage", []releasev1.Stage{stage("dev"), stage("staging"), stage("prod"), stage("canary", "stagin")},
			`spec.stages[3].after[0]: "stagin" is not a stage of this pipeline (stages: dev, staging, prod, canary)`},
		{"a stage after itself", []releasev1.Stage{stage("dev"), stage("e2e", "dev", "e2e")},
			"spec.stages[1].after: Invalid value: stage e2e cannot come after itself: remove it from after"},
		{"a stage named twice", []releasev1.Stage{stage("dev"), stage("e2e", "dev", "dev")}, `spec.stages[1].after[1]: Duplicate value: "dev"`},
		{"a cycle", []releasev1.Stage{stage("dev"), stage("e2e", "dev", "prod-eu"), stage("prod-eu", "e2e")},
			"spec.stages: the stages form a cycle: e2e -> prod-eu -> e2e: remove one of these from the after of the next"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: ns},
				Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/app"}, Stages: tc.stages}}
			err := k8s.Create(context.Background(), p)
			if tc.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}
