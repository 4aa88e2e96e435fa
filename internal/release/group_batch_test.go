package release

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// TestGroupBatch: how many members of a launch a promotion's coalesced
// commit waits for. Every member but docs writes acme/gitops@main in dev;
// worker requires api.
func TestGroupBatch(t *testing.T) {
	type member struct {
		phase  releasev1.StagePhase // in dev
		failed bool
	}
	tests := []struct {
		name    string
		self    string
		members map[string]member
		want    int
	}{
		{"the stage opens", "api", map[string]member{
			"api": {phase: releasev1.StagePromoting}, "web": {phase: releasev1.StageWaiting}, "cart": {},
			"worker": {phase: releasev1.StageWaiting}, "docs": {phase: releasev1.StageWaiting},
			"search": {phase: releasev1.StageWaiting, failed: true}, "pr": {phase: releasev1.StageWaiting},
		}, 3}, // api, web, cart: worker waits for api, docs writes elsewhere, search failed, pr opens a pull request
		{"a member committed before", "web", map[string]member{
			"api": {phase: releasev1.StageDeploying}, "web": {phase: releasev1.StagePromoting}, "cart": {phase: releasev1.StagePromoted},
			"worker": {phase: releasev1.StageWaiting},
		}, 1}, // worker waits for api, deploying
		{"the dependent once its requirement is deployed", "worker", map[string]member{
			"api": {phase: releasev1.StageVerifying}, "web": {phase: releasev1.StagePromoted}, "worker": {phase: releasev1.StagePromoting},
			"cart": {phase: releasev1.StageWaiting},
		}, 2},
		{"the dependent counts itself", "worker", map[string]member{
			"api": {phase: releasev1.StageDeploying}, "worker": {phase: releasev1.StagePromoting},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []client.Object
			var names []string
			for name, m := range tt.members {
				target := releasev1.Target{Repository: "acme/gitops", Branch: "main", Strategy: releasev1.StrategyCommit}
				switch name {
				case "docs":
					target.Repository = "acme/docs"
				case "pr":
					target.Strategy = releasev1.StrategyPullRequest
				}
				p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
					Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "dev", Target: target}}}}
				if name == "worker" {
					p.Spec.Requires = []releasev1.Requirement{{Pipeline: "api", Version: ">=1.0.0"}}
				}
				rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
					Spec:   releasev1.ReleaseSpec{Pipeline: name, Version: "1.0.0"},
					Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseProgressing, Stages: []releasev1.ReleaseStageStatus{{Name: "dev", Phase: m.phase}}}}
				if m.failed {
					rel.Status.Phase = releasev1.PhaseFailed
				}
				objs = append(objs, p, rel)
				names = append(names, name)
			}
			objs = append(objs, &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: "shop"},
				Spec: releasev1.LaunchSpec{Members: names}})
			c := fakeClient(t, objs...)
			s := &step{client: c, rel: &releasev1.Release{}, pipe: &releasev1.ReleasePipeline{}}
			ctx := context.Background()
			if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: tt.self}, s.rel); err != nil {
				t.Fatal(err)
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: tt.self}, s.pipe); err != nil {
				t.Fatal(err)
			}
			group, n := s.groupBatch(ctx, 0)
			if group != "shop/spring|dev" || n != tt.want {
				t.Errorf("groupBatch = %q, %d; want %q, %d", group, n, "shop/spring|dev", tt.want)
			}
		})
	}
	t.Run("no launch", func(t *testing.T) {
		s := &step{client: fakeClient(t),
			rel:  &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}},
			pipe: &releasev1.ReleasePipeline{Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "dev"}}}}}
		if group, n := s.groupBatch(context.Background(), 0); group != "" || n != 0 {
			t.Errorf("groupBatch = %q, %d; want none", group, n)
		}
	})
}

// fakeClient holds objs.
func fakeClient(t *testing.T, objs ...client.Object) client.Client {
	scheme := runtime.NewScheme()
	if err := releasev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}
