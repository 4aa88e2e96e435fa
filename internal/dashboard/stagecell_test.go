package dashboard

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A stage that ran a version before Liftoff's first promotion into it says
// that version, not "nothing yet", while the agent deploys Liftoff's commit.
func TestStageCellSaysWhatRanBeforeLiftoff(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	prod := releasev1.Stage{Name: "prod", Deployment: &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "checkout-prod"}}}
	landed := metav1.NewTime(now.Add(-2 * time.Minute))
	p := &releasev1.ReleasePipeline{Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{prod}}}
	p.Status.Stages = []releasev1.PipelineStageStatus{{Name: "prod", Version: "1.1.0", Release: "checkout-1-1-0", PromotedAt: &landed,
		Live: &releasev1.LiveVersion{Version: "v1.0.0", DeployedAt: landed, Origin: releasev1.LiveFromGitOpsFiles}}}
	got := stageCell(p, &prod, time.UTC)
	want := StageCell{Name: "prod", Version: "v1.0.0", Note: "ran before Liftoff's first promotion",
		Committed: "1.1.0", CommittedRelease: "checkout-1-1-0", CommittedAt: got.CommittedAt}
	if got != want || got.CommittedAt == nil || !got.CommittedAt.At.Equal(landed.Time) {
		t.Errorf("stage cell %+v, want %+v", got, want)
	}
}
