package release_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/shard"
)

// payments is a second service's pipeline, dev and staging only, whose
// staging is deployed by an agent: staging runs live, committed or not.
func (w *world) payments(labels map[string]string) *releasev1.ReleasePipeline {
	p := &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: ns, Generation: 1, Labels: labels},
		Spec: releasev1.ReleasePipelineSpec{
			Source: releasev1.SourceSpec{Repository: "acme/payments"},
			Stages: []releasev1.Stage{w.stage("dev"), w.stage("staging", func(s *releasev1.Stage) {
				s.Deployment = &releasev1.DeploymentSpec{CommitStatus: &releasev1.CommitStatusDeployment{Context: "deploy"}}
			})},
		},
	}
	w.must(w.c.Create(w.ctx, p))
	at := metav1.NewTime(w.clk.Now())
	p.Status.Stages = []releasev1.PipelineStageStatus{
		{Name: "dev", Version: "1.8.0", Release: "payments-1.8.0", PromotedAt: &at, DeployedAt: &at},
		{Name: "staging", Version: "1.7.2", Release: "payments-1.7.2", PromotedAt: &at, DeployedAt: &at,
			Live: &releasev1.LiveVersion{Version: "1.7.2", Release: "payments-1.7.2", DeployedAt: at}},
	}
	w.must(w.c.Status().Update(w.ctx, p))
	w.must(w.c.Create(w.ctx, &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "payments-1.8.0", Namespace: ns, Labels: labels},
		Spec: releasev1.ReleaseSpec{Pipeline: "payments", Version: "1.8.0"}}))
	return p
}

func (w *world) dependenciesGate(name, stage string) releasev1.GateStatus {
	w.t.Helper()
	for _, g := range w.get(name).Status.StageStatus(stage).Gates {
		if g.Name == gates.NameDependencies {
			return g
		}
	}
	w.t.Fatalf("no dependencies gate in %s: %s", stage, w.describe(name))
	return releasev1.GateStatus{}
}

// shardCache is what a controller of the default shard caches: only the
// pipelines and Releases without a shard label.
type shardCache struct{ client.Reader }

func (c shardCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Reader.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if !shard.Shard("").Owns(obj) {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	return nil
}

func (c shardCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := c.Reader.List(ctx, list, opts...); err != nil {
		return err
	}
	if rl, ok := list.(*releasev1.ReleaseList); ok {
		rl.Items = slices.DeleteFunc(rl.Items, func(r releasev1.Release) bool { return !shard.Shard("").Owns(&r) })
	}
	return nil
}

// Checkout waits in staging until payments runs 1.8.0 there, deployed, and
// reads it the same whether payments is in its shard (the cache) or in
// another (the API server).
func TestReleaseWaitsUntilTheRequiredPipelineRunsTheVersionDeployed(t *testing.T) {
	for name, labels := range map[string]map[string]string{"same shard": nil, "another shard": {shard.Label: "payments"}} {
		t.Run(name, func(t *testing.T) { waitsForPayments(t, labels) })
	}
}

func waitsForPayments(t *testing.T, labels map[string]string) {
	w := newWorld(t)
	w.cache = shardCache{w.c}
	w.start()
	w.pipeline()
	payments := w.payments(labels)
	w.release("checkout-1.4.2", "1.4.2", func(r *releasev1.Release) {
		r.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0"}}
	})
	w.settle("checkout-1.4.2", 20)
	rel := w.get("checkout-1.4.2")
	if rel.Status.StageStatus("dev").Phase != releasev1.StagePromoted || rel.Status.CurrentStage != "staging" {
		t.Fatalf("payments 1.8.0 runs in dev: checkout should be in dev and wait before staging: %s", w.describe("checkout-1.4.2"))
	}
	if g := w.dependenciesGate("checkout-1.4.2", "staging"); g.Status != releasev1.GatePending ||
		g.Message != "needs payments >=1.8.0 in staging: staging runs 1.7.2; payments 1.8.0 has not started" {
		t.Fatalf("staging's gate: %+v", g)
	}

	// Committed is not enough: the agent has not deployed 1.8.0 yet.
	at := metav1.NewTime(w.clk.Now())
	ps := payments.Status.StageStatus("staging")
	ps.Version, ps.Release, ps.DeployedAt = "1.8.0", "payments-1.8.0", nil
	w.must(w.c.Status().Update(w.ctx, payments))
	pr := &releasev1.Release{}
	w.must(w.c.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: "payments-1.8.0"}, pr))
	pr.Status.Phase, pr.Status.CurrentStage = releasev1.PhaseDeploying, "staging"
	w.must(w.c.Status().Update(w.ctx, pr))
	w.settle("checkout-1.4.2", 5)
	if g := w.dependenciesGate("checkout-1.4.2", "staging"); g.Status != releasev1.GatePending ||
		g.Message != "needs payments >=1.8.0 in staging: staging runs 1.7.2 (1.8.0 committed, not deployed yet); payments 1.8.0 is deploying to staging" {
		t.Fatalf("staging's gate with 1.8.0 committed: %+v", g)
	}
	if c := w.condition("checkout-1.4.2", "Ready"); !strings.Contains(c, "dependencies: needs payments") {
		t.Errorf("Ready should say what holds it: %s", c)
	}

	// Deployed: checkout goes on, and prod (which payments does not have)
	// does not hold it.
	ps = payments.Status.StageStatus("staging")
	ps.DeployedAt, ps.Live = &at, &releasev1.LiveVersion{Version: "1.8.0", Release: "payments-1.8.0", DeployedAt: at}
	w.must(w.c.Status().Update(w.ctx, payments))
	w.settle("checkout-1.4.2", 20)
	if rel := w.get("checkout-1.4.2"); rel.Status.Phase != releasev1.PhaseReleased {
		t.Fatalf("checkout should be released: %s", w.describe("checkout-1.4.2"))
	}
	if g := w.dependenciesGate("checkout-1.4.2", "staging"); g.Status != releasev1.GatePassed || g.Message != "payments 1.8.0 runs in staging (needs >=1.8.0)" {
		t.Errorf("staging's gate once deployed: %+v", g)
	}
	if g := w.dependenciesGate("checkout-1.4.2", "prod"); g.Status != releasev1.GatePassed || g.Message != "payments has no stage prod: not held here" {
		t.Errorf("prod's gate: %+v", g)
	}
}

func TestReleaseIsBlockedWhenItsRequiredPipelineIsGone(t *testing.T) {
	w := newWorld(t)
	p := w.pipeline()
	p.Spec.Requires = []releasev1.Requirement{{Pipeline: "payments", Version: ">=1.8.0"}}
	w.must(w.c.Update(w.ctx, p))
	w.release("checkout-1.4.2", "1.4.2")
	w.settle("checkout-1.4.2", 20)
	rel := w.get("checkout-1.4.2")
	if rel.Status.Phase != releasev1.PhaseBlocked || rel.Status.CurrentStage != "dev" {
		t.Fatalf("checkout should be blocked before dev: %s", w.describe("checkout-1.4.2"))
	}
	want := "required pipeline payments does not exist: create it or remove the requirement from spec.requires"
	if g := w.dependenciesGate("checkout-1.4.2", "dev"); g.Status != releasev1.GateFailed || g.Reason != releasev1.ReasonDependencyNotFound || g.Message != want {
		t.Fatalf("dev's gate: %+v", g)
	}
	if len(w.liftoffCommits("checkout-1.4.2", "")) != 0 {
		t.Error("nothing may be promoted while a requirement cannot be read")
	}
}
