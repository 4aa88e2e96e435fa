package playground

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"k8s.io/apimachinery/pkg/types"
)

// The embedded default does what the README promises: the sample release
// reaches prod through dev and staging, with one commit per stage.
func TestSampleReleaseReachesProd(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../../hack/build-control-plane.sh").Output()
		if err != nil {
			t.Fatalf("building the control plane: %v", err)
		}
		t.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := Start(ctx, Options{SimAddr: "127.0.0.1:0", Dir: t.TempDir(), Root: root, PollInterval: time.Second, MetricsAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	if _, err := os.Stat(p.Kubeconfig); err != nil {
		t.Fatalf("kubeconfig not written: %v", err)
	}
	if err := WaitReleased(ctx, p, "default", "checkout-1-4-2", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	rel := &releasev1.Release{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2"}, rel); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"dev", "staging", "prod"} {
		content, ok := p.Sim.FileAt(GitOpsRepo, "main", "envs/"+st+"/kustomization.yaml")
		if !ok || !strings.Contains(content, `newTag: "1.4.2" # promoted by Liftoff`) || !strings.Contains(content, "digest: sha256:9f2d6c8e") {
			t.Errorf("%s kustomization:\n%s", st, content)
		}
		if ss := rel.Status.StageStatus(st); ss == nil || ss.Phase != releasev1.StagePromoted {
			t.Errorf("stage %s: %+v", st, ss)
		}
	}
	values, _ := p.Sim.FileAt(GitOpsRepo, "main", "envs/staging/values.yaml")
	if !strings.Contains(values, "version: 1.4.2 # promoted by Liftoff") {
		t.Errorf("staging values.yaml:\n%s", values)
	}
	prs := p.Sim.PullRequests(GitOpsRepo)
	if len(prs) != 1 || !prs[0].Merged {
		t.Errorf("prod promotes through one merged pull request, got %+v", prs)
	}
}
