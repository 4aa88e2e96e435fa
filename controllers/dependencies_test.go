package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// paymentsPipeline is a second service in the same GitOps repository
// (envs/payments/STAGE, image ghcr.io/acme/payments), promoted into dev and
// staging; mod changes its stages. Its versions are tags of the test's
// application repository.
func (e *testEnv) paymentsPipeline(mod func(stage string, s *releasev1.Stage)) {
	e.t.Helper()
	g := NewWithT(e.t)
	files := map[string]string{}
	for _, st := range []string{"dev", "staging"} {
		files["envs/payments/"+st+"/kustomization.yaml"] = strings.ReplaceAll(kustomization("1.7.2"), "ghcr.io/acme/checkout", "ghcr.io/acme/payments")
	}
	_, err := e.sim.CommitFiles(gitopsRepo, "main", files, "payments")
	g.Expect(err).NotTo(HaveOccurred())
	var stages []releasev1.Stage
	for _, st := range []string{"dev", "staging"} {
		stages = append(stages, e.stage(st, func(s *releasev1.Stage) {
			s.Target.Files[0] = releasev1.TargetFile{Path: "envs/payments/" + st + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/payments"}}
			if mod != nil {
				mod(st, s)
			}
		}))
	}
	p := e.newPipeline(stages...)
	p.Name = "payments"
	g.Expect(k8s.Create(context.Background(), p)).To(Succeed())
}

// paymentsRelease releases version of payments (tagged first).
func (e *testEnv) paymentsRelease(version string) {
	e.t.Helper()
	NewWithT(e.t).Expect(e.sim.CreateTag(appRepo, "v"+version, e.appSHA)).To(Succeed())
	e.release("payments-"+version, version, func(r *releasev1.Release) {
		r.Spec.Pipeline = "payments"
		r.Spec.Artifacts = []releasev1.Artifact{{Name: "payments", Image: "ghcr.io/acme/payments"}}
	})
}

func requires(pipeline, version string) func(*releasev1.Release) {
	return func(r *releasev1.Release) {
		r.Spec.Requires = append(r.Spec.Requires, releasev1.Requirement{Pipeline: pipeline, Version: version})
	}
}

// Checkout 1.4.2 needs payments 1.8.0 running first. It goes into dev,
// where payments 1.8.0 runs, and is held before staging, saying where
// payments stands, until Argo CD deployed payments 1.8.0 in staging: the
// change of the payments pipeline wakes it (the poll is an hour away), and
// it goes through staging and prod (payments has no prod).
func TestReleaseWaitsForTheServiceItRequiresToRunInTheStage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, withPollInterval(time.Hour))
	e.application("payments-staging")
	e.paymentsPipeline(func(stage string, s *releasev1.Stage) {
		if stage == "staging" {
			s.Promotion = releasev1.PromotionManual
			s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
			e.argoCD("payments-staging", time.Hour)(s)
		}
	})
	e.pipeline()
	e.paymentsRelease("1.8.0")
	g.Eventually(e.gate("payments-1.8.0", "staging", gates.NameApprovals), timeout, interval).Should(HavePrefix("Pending/"))

	e.release("checkout-1.4.2", "1.4.2", requires("payments", ">=1.8.0"))
	g.Eventually(e.gate("checkout-1.4.2", "staging", gates.NameDependencies), timeout, interval).Should(Equal(
		"Pending/DependencyPending: needs payments >=1.8.0 in staging: staging runs 1.7.2; payments 1.8.0 is on its way to staging"))
	g.Expect(e.stagePhase("checkout-1.4.2", "dev")()).To(Equal(releasev1.StagePromoted))
	g.Expect(e.gate("checkout-1.4.2", "dev", gates.NameDependencies)()).To(Equal("Passed/DependenciesMet: payments 1.8.0 runs in dev (needs >=1.8.0)"))
	g.Expect(e.condition("checkout-1.4.2", releasev1.ConditionReady)()).To(ContainSubstring("waiting to promote into staging: dependencies: needs payments >=1.8.0 in staging"))

	// Payments 1.8.0 is approved into staging and committed there: not
	// running yet (staging runs what its files held before), and checkout
	// says so.
	e.approve("payments-1.8.0", "staging")
	commit := e.deploying("payments-1.8.0", "staging")
	g.Eventually(e.gate("checkout-1.4.2", "staging", gates.NameDependencies), timeout, interval).Should(Equal(
		"Pending/DependencyPending: needs payments >=1.8.0 in staging: staging runs 1.7.2 (1.8.0 committed, not deployed yet); payments 1.8.0 is deploying to staging"))
	g.Expect(e.liftoffCommits("checkout-1.4.2", "staging")).To(BeEmpty())

	// Argo CD deployed it: checkout goes on at once.
	e.setApp("payments-staging", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced"})
	g.Eventually(e.phase("checkout-1.4.2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.gate("checkout-1.4.2", "staging", gates.NameDependencies)()).To(Equal("Passed/DependenciesMet: payments 1.8.0 runs in staging (needs >=1.8.0)"))
	g.Expect(e.gate("checkout-1.4.2", "prod", gates.NameDependencies)()).To(Equal("Passed/DependenciesMet: payments has no stage prod: not held here"))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))
}

// What can never be met is refused at admission, with the field and what
// to fix: a malformed range, a pipeline requiring itself, one that does
// not exist, a stage mapping to a stage that does not exist, and a cycle,
// named, whether it closes through pipelines or through a Release.
func TestRequirementsThatCannotBeMetAreRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	e.paymentsPipeline(nil)
	checkout := e.newPipeline()
	refused := func(err error, msg string) {
		t.Helper()
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring(msg))
	}

	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.x.1"}}
	refused(k8s.Create(ctx, checkout.DeepCopy()), `spec.requires[0].version: ">=1.8.x.1" is not a semver range`)
	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "checkout", Version: ">=1.0.0"}}
	refused(k8s.Create(ctx, checkout.DeepCopy()), "spec.requires[0].pipeline: checkout cannot require itself")
	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "ledger", Version: ">=1.0.0"}}
	refused(k8s.Create(ctx, checkout.DeepCopy()), `spec.requires[0].pipeline: no ReleasePipeline "ledger" in namespace `+e.ns+" (pipelines: payments): create it first or fix the name")
	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0", Stages: map[string]string{"prod": "production"}}}
	refused(k8s.Create(ctx, checkout.DeepCopy()), `spec.requires[0].stages.prod: "production" is not a stage of payments (stages: dev, staging)`)

	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0", Stages: map[string]string{"prod": strings.Repeat("p", 64)}}}
	refused(k8s.Create(ctx, checkout.DeepCopy()), "spec.requires[0].stages: Invalid value: stage names are at most 63 characters")

	checkout.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0"}}
	g.Expect(k8s.Create(ctx, checkout)).To(Succeed())
	payments := &releasev1.ReleasePipeline{}
	g.Expect(k8s.Get(ctx, e.key("payments"), payments)).To(Succeed())
	payments.Spec.Requires = []releasev1.Requirement{{Pipeline: "checkout", Version: "^1"}}
	refused(k8s.Update(ctx, payments), "spec.requires: a dependency cycle, payments -> checkout -> payments: no release could ever go first; remove one of these requirements")

	// A Release of payments closes the same cycle on its own.
	g.Expect(e.sim.CreateTag(appRepo, "v1.8.0", e.appSHA)).To(Succeed())
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "payments-1.8.0", Namespace: e.ns},
		Spec: releasev1.ReleaseSpec{Pipeline: "payments", Version: "1.8.0", Requires: []releasev1.Requirement{{Pipeline: "checkout", Version: "^1"}}}}
	refused(k8s.Create(ctx, rel), "spec.requires: a dependency cycle, payments -> checkout -> payments")
	rel.Spec.Requires[0].Version = "1.8"
	rel.Spec.Requires[0].Pipeline = "payments"
	refused(k8s.Create(ctx, rel), "spec.requires[0].pipeline: payments cannot require itself")
}

// A required pipeline deleted later blocks the Release that needs it,
// named, and nothing is promoted.
func TestReleaseIsBlockedWhenTheRequiredPipelineIsDeleted(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	e.paymentsPipeline(nil)
	e.pipeline(e.stage("dev", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))
	e.release("checkout-1.4.2", "1.4.2", requires("payments", ">=1.8.0"))
	g.Eventually(e.gate("checkout-1.4.2", "dev", gates.NameDependencies), timeout, interval).Should(HavePrefix("Pending/DependencyPending: needs payments >=1.8.0 in dev: dev runs 1.7.2; no payments release matches >=1.8.0 yet"))

	g.Expect(k8s.Delete(ctx, &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: e.ns}})).To(Succeed())
	g.Eventually(e.gate("checkout-1.4.2", "dev", gates.NameDependencies), timeout, interval).Should(Equal(
		"Failed/DependencyNotFound: required pipeline payments does not exist: create it or remove the requirement from spec.requires"))
	g.Expect(e.phase("checkout-1.4.2")()).To(Equal(releasev1.PhaseBlocked))
	g.Expect(e.condition("checkout-1.4.2", releasev1.ConditionBlocked)()).To(ContainSubstring("required pipeline payments does not exist"))
	g.Expect(e.liftoffCommits("checkout-1.4.2", "")).To(BeEmpty())

	// The Release can still be edited (approved) while the requirement it
	// holds names a deleted pipeline.
	e.approve("checkout-1.4.2", "dev")
}
