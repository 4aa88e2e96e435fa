package dashboard

import (
	"fmt"
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

// A stage with targets says which target runs what, short for 12 targets.
func TestStageCellSaysWhichTargetRunsWhat(t *testing.T) {
	prod := releasev1.Stage{Name: "prod"}
	for k := 1; k <= 12; k++ {
		prod.Targets = append(prod.Targets, releasev1.StageTarget{Name: fmt.Sprintf("prod-%d", k)})
	}
	p := &releasev1.ReleasePipeline{Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{prod}}}
	ps := releasev1.PipelineStageStatus{Name: "prod"}
	for k := 1; k <= 10; k++ {
		v := "1.4.2"
		if k <= 3 {
			v = "1.5.0"
		}
		ps.Targets = append(ps.Targets, releasev1.PipelineTargetStatus{Name: fmt.Sprintf("prod-%d", k), Version: v})
	}
	p.Status.Stages = []releasev1.PipelineStageStatus{ps}
	if got, want := stageCell(p, &prod, time.UTC).Targets, "1.5.0 on prod-1, prod-2, prod-3; 1.4.2 on 7 targets (prod-4 … prod-10); not promoted yet on prod-11, prod-12"; got != want {
		t.Errorf("targets %q, want %q", got, want)
	}
}
