package main

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The status tree says when a stage was committed and deployed, what its
// GitOps agent says while it waits, and when a rollback was applied.
func TestStageLinesShowTheDeployment(t *testing.T) {
	at := func(minute int) *metav1.Time {
		t := metav1.NewTime(time.Date(2026, 11, 23, 12, minute, 0, 0, time.UTC))
		return &t
	}
	const commit, rollback = "4f2c0e0b8a6d1c2e3f4a5b6c7d8e9f0a1b2c3d4e", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
	for _, tt := range []struct {
		name string
		ss   releasev1.ReleaseStageStatus
		want []string
	}{
		{name: "waiting for Argo CD", ss: releasev1.ReleaseStageStatus{
			Promotion:   &releasev1.PromotionStatus{Commit: commit},
			CommittedAt: at(0),
			Deployment: &releasev1.DeploymentStatus{Agent: "ArgoCD", State: releasev1.DeploymentProgressing, Reason: releasev1.ReasonDeploying, Revision: commit, Deadline: at(10),
				Message: "Application argocd/checkout-prod is Synced at 4f2c0e0, health Progressing: Deployment shop/web: Waiting for rollout to finish"},
		}, want: []string{
			"promotion commit 4f2c0e0, committed 2026-11-23T12:00:00Z",
			"deployment ◌ Progressing on 4f2c0e0: Application argocd/checkout-prod is Synced at 4f2c0e0, health Progressing: Deployment shop/web: Waiting for rollout to finish (until 2026-11-23T12:10:00Z)",
		}},
		{name: "deployed", ss: releasev1.ReleaseStageStatus{
			Promotion: &releasev1.PromotionStatus{Commit: commit}, CommittedAt: at(0), DeployedAt: at(3),
			Deployment: &releasev1.DeploymentStatus{State: releasev1.DeploymentDeployed, Reason: releasev1.ReasonDeployed, Revision: commit, Deadline: at(10),
				Message: "Application argocd/checkout-prod is Synced and Healthy at 4f2c0e0"},
		}, want: []string{
			"promotion commit 4f2c0e0, committed 2026-11-23T12:00:00Z, deployed 2026-11-23T12:03:00Z",
			"deployment ✔ Deployed on 4f2c0e0: Application argocd/checkout-prod is Synced and Healthy at 4f2c0e0",
		}},
		{name: "degraded, rolled back, the rollback applied", ss: releasev1.ReleaseStageStatus{
			Promotion: &releasev1.PromotionStatus{Commit: commit}, CommittedAt: at(0),
			Deployment: &releasev1.DeploymentStatus{State: releasev1.DeploymentDegraded, Reason: releasev1.ReasonDeployFailed, Revision: commit, Deadline: at(10),
				Message: "Application argocd/checkout-prod is Degraded at 4f2c0e0: Deployment shop/web: CrashLoopBackOff"},
			Rollback: &releasev1.RollbackStatus{Version: "1.4.1", Commit: rollback, At: at(2), DeployedAt: at(4),
				Deployment: &releasev1.DeploymentStatus{State: releasev1.DeploymentDeployed, Reason: releasev1.ReasonDeployed, Revision: rollback}},
		}, want: []string{
			"deployment ✖ Degraded on 4f2c0e0: Application argocd/checkout-prod is Degraded at 4f2c0e0: Deployment shop/web: CrashLoopBackOff",
			"rollback to 1.4.1 commit 9a8b7c6, deployed 2026-11-23T12:04:00Z",
		}},
		{name: "the rollback waits for the agent", ss: releasev1.ReleaseStageStatus{
			Promotion: &releasev1.PromotionStatus{Commit: commit}, CommittedAt: at(0),
			Rollback: &releasev1.RollbackStatus{Version: "1.4.1", Commit: rollback, At: at(2),
				Deployment: &releasev1.DeploymentStatus{State: releasev1.DeploymentOutOfSync, Reason: releasev1.ReasonDeploying, Revision: rollback, Deadline: at(12),
					Message: "Application argocd/checkout-prod is OutOfSync at 9a8b7c6: waiting for Argo CD to sync it"}},
		}, want: []string{
			"rollback to 1.4.1 commit 9a8b7c6",
			"rollback deployment ◌ OutOfSync on 9a8b7c6: Application argocd/checkout-prod is OutOfSync at 9a8b7c6: waiting for Argo CD to sync it (until 2026-11-23T12:12:00Z)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(stageLines(&tt.ss), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// The status tree names each pinned artifact with its short digest and signer.
func TestArtifactLinesShowShortDigestsAndSigners(t *testing.T) {
	got := artifactLines([]releasev1.ArtifactStatus{
		{Name: "checkout", Reference: "ghcr.io/acme/checkout:v1.4.2", Digest: "sha256:4f2c0e0b8a6d1c2e3f4a5b6c7d8e9f0a", Signer: `Secret "cosign" key cosign.pub`},
		{Name: "chart", Reference: "oci://ghcr.io/acme/charts/checkout:1.4.2", Digest: "sha256:9a8b7c6d5e4f3a2b1c0d"},
	})
	want := []string{
		`checkout   ghcr.io/acme/checkout:v1.4.2 4f2c0e0b8a6d, signed by Secret "cosign" key cosign.pub`,
		"chart      oci://ghcr.io/acme/charts/checkout:1.4.2 9a8b7c6d5e4f",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A graph is drawn in columns by depth: two roots side by side in the first
// column, the fan-in after them, the fan-out one above the other.
func TestGraphLinesDrawColumnsByDepth(t *testing.T) {
	after := func(names ...string) *[]string { list := append([]string{}, names...); return &list } // [] for a root, not null
	pipe := &releasev1.ReleasePipeline{Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{
		{Name: "dev-a", After: after()}, {Name: "dev-b", After: after()}, {Name: "e2e", After: after("dev-a", "dev-b")},
		{Name: "staging"}, {Name: "prod-eu", After: after("staging")}, {Name: "prod-us", After: after("staging")},
	}}}
	rel := &releasev1.Release{Status: releasev1.ReleaseStatus{Stages: []releasev1.ReleaseStageStatus{
		{Name: "dev-a", Phase: releasev1.StagePromoted}, {Name: "dev-b", Phase: releasev1.StagePromoted}, {Name: "e2e", Phase: releasev1.StagePromoted},
		{Name: "staging", Phase: releasev1.StagePromoted}, {Name: "prod-eu", Phase: releasev1.StageVerifying}, {Name: "prod-us", Phase: releasev1.StageWaiting},
	}}}
	want := []string{
		"✔ dev-a  ✔ e2e  ✔ staging  ◌ prod-eu",
		"✔ dev-b                    ⧗ prod-us",
	}
	if got := graphLines(pipe, rel); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("graph:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := afterNote(pipe, "e2e"); got != "  (after dev-a, dev-b)" {
		t.Errorf("e2e: %q", got)
	}
	if got := afterNote(pipe, "staging"); got != "  (after e2e)" {
		t.Errorf("staging: %q", got)
	}
	if !isGraph(pipe) || isGraph(&releasev1.ReleasePipeline{Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "dev"}, {Name: "prod"}}}}) {
		t.Error("only a pipeline with an after is drawn as a graph")
	}
}

// A stage with targets lists its waves, each with its targets by phase;
// the waves not started after the one under way read as one line.
func TestStageLinesShowTheWaves(t *testing.T) {
	ss := releasev1.ReleaseStageStatus{Wave: 2, Waves: 5}
	add := func(wave int32, phase releasev1.TargetPhase, names ...string) {
		for _, n := range names {
			ss.Targets = append(ss.Targets, releasev1.TargetStatus{Name: n, Wave: wave, Phase: phase})
		}
	}
	add(1, releasev1.TargetDeployed, "prod-1")
	add(2, releasev1.TargetDeployed, "prod-2")
	add(2, releasev1.TargetDeploying, "prod-3")
	add(3, releasev1.TargetPending, "prod-4", "prod-5", "prod-6")
	add(4, releasev1.TargetPending, "prod-7", "prod-8", "prod-9")
	add(5, releasev1.TargetPending, "prod-10")
	want := []string{
		"wave 1 of 5 ✔ Deployed prod-1",
		"wave 2 of 5 ◌ Deployed prod-2; Deploying prod-3",
		"waves 3-5 of 5 ⧗ Pending 7 targets (prod-4 … prod-10)",
	}
	if got := stageLines(&ss); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Wave 2 fails: its failed target is written back, the rest never start.
	ss.Targets[2].Phase = releasev1.TargetRolledBack
	if got := stageLines(&ss)[1]; got != "wave 2 of 5 ✖ Deployed prod-2; RolledBack prod-3" {
		t.Errorf("got %q", got)
	}
}
