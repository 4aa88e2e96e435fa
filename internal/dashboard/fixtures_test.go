package dashboard

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

var t0 = time.Date(2026, 12, 14, 10, 0, 0, 0, time.UTC)

func mt(t time.Time) *metav1.Time { v := metav1.NewTime(t); return &v }

// fixturePipeline is a three-stage pipeline; prod is Manual, verified, and
// soaks 1h in staging first.
func fixturePipeline(ns, name string) *releasev1.ReleasePipeline {
	st := func(n string) releasev1.Stage {
		return releasev1.Stage{Name: n, Target: releasev1.Target{Repository: "acme/gitops", Files: []releasev1.TargetFile{{Path: "envs/" + n + "/kustomization.yaml"}}}}
	}
	prod := st("prod")
	prod.Promotion = releasev1.PromotionManual
	prod.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}, Soak: &metav1.Duration{Duration: time.Hour}}
	prod.Verify = &releasev1.Verify{Rollout: &releasev1.RolloutCheck{Query: "up"}, Analysis: releasev1.AnalysisSpec{Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: "q", SuccessCondition: "result < 0.05"}}}}
	staging := st("staging")
	staging.Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: name + "-staging"}}
	return &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: releasev1.ReleasePipelineSpec{
			GitHub: releasev1.GitHubSpec{APIURL: "https://api.github.com/"},
			Source: releasev1.SourceSpec{Repository: "acme/" + name},
			Stages: []releasev1.Stage{st("dev"), staging, prod},
		},
		Status: releasev1.ReleasePipelineStatus{
			Conditions: []metav1.Condition{{Type: "Ready", Status: "True"}},
			Stages: []releasev1.PipelineStageStatus{
				{Name: "dev", Version: "1.4.2", Release: name + "-1-4-2", PromotedAt: mt(t0.Add(-3 * time.Hour))},
				{Name: "staging", Version: "1.4.2", Release: name + "-1-4-2", PromotedAt: mt(t0.Add(-2 * time.Hour)), DeployedAt: mt(t0.Add(-100 * time.Minute)),
					Live: &releasev1.LiveVersion{Version: "1.4.2", Release: name + "-1-4-2", DeployedAt: metav1.NewTime(t0.Add(-100 * time.Minute))}},
				{Name: "prod", Version: "1.4.1", Release: name + "-1-4-1", InFlight: &releasev1.InFlightPromotion{Release: name + "-1-4-2", Version: "1.4.2", Since: metav1.NewTime(t0)}},
			},
		},
	}
}

// fixtureRelease waits for an approval into prod, its analysis in staging done.
func fixtureRelease(ns, pipeline, version string) *releasev1.Release {
	name := fmt.Sprintf("%s-%s", pipeline, dashed(version))
	return &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{"release.liftoff.dev/created-by": "carol"}},
		Spec: releasev1.ReleaseSpec{Pipeline: pipeline, Version: version, LaunchChecklist: "launch",
			Approvals: []releasev1.Approval{{Stage: "staging", By: "ann", At: mt(t0.Add(-time.Hour))}}},
		Status: releasev1.ReleaseStatus{
			Phase: releasev1.PhaseBlocked, CurrentStage: "prod", Commit: "0123456789abcdef0123456789abcdef01234567",
			Stages: []releasev1.ReleaseStageStatus{
				{Name: "dev", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "aaaaaaa1111", CompletedAt: mt(t0.Add(-3 * time.Hour))}},
				{Name: "staging", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "bbbbbbb2222", CompletedAt: mt(t0.Add(-2 * time.Hour))}},
				{Name: "prod", Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{
					{Name: gates.NameChecks, Status: releasev1.GatePassed, Message: "qa passed"},
					{Name: gates.NameApprovals, Status: releasev1.GatePending, Reason: "AwaitingApproval", Message: "0 of 1 approvals", LastChecked: mt(t0)},
				}},
			},
		},
	}
}

func dashed(v string) string {
	b := []byte(v)
	for i := range b {
		if b[i] == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

// fixtureWorld is pipelines × releases in namespaces of 20 pipelines each:
// every pipeline has one Release waiting and the rest released.
func fixtureWorld(pipelines, releasesPer int) *memStore {
	m := &memStore{}
	for p := 0; p < pipelines; p++ {
		ns := fmt.Sprintf("team-%02d", p/20)
		name := fmt.Sprintf("app-%03d", p)
		m.pipelines = append(m.pipelines, fixturePipeline(ns, name))
		for r := 0; r < releasesPer; r++ {
			rel := fixtureRelease(ns, name, fmt.Sprintf("1.%d.%d", r/10, r%10))
			if r < releasesPer-1 {
				rel.Status.Phase = releasev1.PhaseReleased
			}
			m.releases = append(m.releases, rel)
		}
	}
	return m
}
