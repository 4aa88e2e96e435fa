package webhooks

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func pipelineRequiring(name string, required ...string) *releasev1.ReleasePipeline {
	p := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "dev"}, {Name: "prod"}}}}
	for _, r := range required {
		p.Spec.Requires = append(p.Spec.Requires, releasev1.Requirement{Pipeline: r, Version: ">=1.0.0"})
	}
	return p
}

// The namespace's pipelines are web -> api -> {db, cache}, cache -> db.
func TestPipelineRequiresRefusal(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := releasev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	stored := []client.Object{pipelineRequiring("web", "api"), pipelineRequiring("api", "db", "cache"), pipelineRequiring("cache", "db"), pipelineRequiring("db")}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored...).Build()
	tests := []struct {
		name string
		pipe *releasev1.ReleasePipeline
		old  *releasev1.ReleasePipeline
		want string
	}{
		{"a new pipeline on top", pipelineRequiring("mobile", "web", "api"), nil, ""},
		{"a diamond is no cycle", pipelineRequiring("web", "api", "cache", "db"), pipelineRequiring("web", "api"), ""},
		{"a long cycle is named in order", pipelineRequiring("db", "web"), pipelineRequiring("db"),
			"spec.requires: a dependency cycle, db -> web -> api -> db: no release could ever go first; remove one of these requirements"},
		{"a short one", pipelineRequiring("cache", "db", "api"), pipelineRequiring("cache", "db"),
			"spec.requires: a dependency cycle, cache -> api -> cache: no release could ever go first; remove one of these requirements"},
		{"an unknown pipeline added", pipelineRequiring("web", "api", "search"), pipelineRequiring("web", "api"),
			`spec.requires[1].pipeline: no ReleasePipeline "search" in namespace shop (pipelines: api, cache, db, web): create it first or fix the name`},
		{"an unknown pipeline kept (deleted since) is the gate's to block on", pipelineRequiring("web", "api", "search"), pipelineRequiring("web", "api", "search"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PipelineRequiresRefusal(context.Background(), c, tt.pipe, tt.old)
			if err != nil || got != tt.want {
				t.Errorf("got %q (%v)\nwant %q", got, err, tt.want)
			}
		})
	}
}
