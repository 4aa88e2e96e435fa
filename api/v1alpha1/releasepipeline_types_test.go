package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLiveSummary(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	argo := &DeploymentSpec{ArgoCD: &ArgoCDDeployment{Name: "checkout"}}
	live := func(v string) *LiveVersion { return &LiveVersion{Version: v, Release: "checkout-" + v, DeployedAt: at} }
	for _, tt := range []struct {
		name   string
		prod   *DeploymentSpec
		status PipelineStageStatus
		want   string
	}{
		{name: "nothing yet", status: PipelineStageStatus{Name: "prod"}, want: "dev=1.4.2 prod=-"},
		{name: "without deployment, committed is live", status: PipelineStageStatus{Name: "prod", Version: "1.4.2", PromotedAt: &at},
			want: "dev=1.4.2 prod=1.4.2"},
		{name: "the agent deployed it", prod: argo, status: PipelineStageStatus{Name: "prod", Version: "1.4.2", DeployedAt: &at, Live: live("1.4.2")},
			want: "dev=1.4.2 prod=1.4.2"},
		{name: "committed, the agent has not deployed it", prod: argo, status: PipelineStageStatus{Name: "prod", Version: "1.4.2", PromotedAt: &at, Live: live("1.4.1")},
			want: "dev=1.4.2 prod=1.4.1 (1.4.2 committed)"},
		{name: "first commit, nothing known to run before", prod: argo, status: PipelineStageStatus{Name: "prod", Version: "1.4.2", PromotedAt: &at},
			want: "dev=1.4.2 prod=- (1.4.2 committed)"},
		{name: "first commit, what the GitOps files held runs", prod: argo, status: PipelineStageStatus{Name: "prod", Version: "1.4.2", PromotedAt: &at,
			Live: &LiveVersion{Version: "v1.0.0", DeployedAt: at, Origin: LiveFromGitOpsFiles}},
			want: "dev=1.4.2 prod=v1.0.0 (1.4.2 committed)"},
		{name: "a rollback written back, not applied", prod: argo, status: PipelineStageStatus{Name: "prod", Version: "1.4.1", PromotedAt: &at, Live: live("1.4.2")},
			want: "dev=1.4.2 prod=1.4.2 (1.4.1 committed)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &ReleasePipeline{Spec: ReleasePipelineSpec{Stages: []Stage{{Name: "dev"}, {Name: "prod", Deployment: tt.prod}}},
				Status: ReleasePipelineStatus{Stages: []PipelineStageStatus{{Name: "dev", Version: "1.4.2", PromotedAt: &at}, tt.status}}}
			if got := p.LiveSummary(); got != tt.want {
				t.Errorf("LiveSummary() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestASignatureGateWithoutKeyOrIdentityReadsCosignPub(t *testing.T) {
	for key, want := range map[string]string{"": "cosign.pub", "release.pub": "release.pub"} {
		if got := (&SignatureGate{Key: key}).KeyName(); got != want {
			t.Errorf("key %q: %q, want %q", key, got, want)
		}
	}
}
