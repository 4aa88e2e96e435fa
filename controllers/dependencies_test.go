package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

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
		"Pending/DependencyPending: needs payments >=1.8.0 in staging: staging runs nothing yet; payments 1.8.0 is on its way to staging"))
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
