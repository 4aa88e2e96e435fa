package release

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestCarriedByFillsWhatTheReleaseLacks(t *testing.T) {
	at := func(h int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 8, h, 0, 0, 0, time.UTC)) }
	l := &releasev1.Launch{Spec: releasev1.LaunchSpec{Milestone: "q4", LaunchChecklist: "spring-ready",
		Plan: []releasev1.PlannedPromotion{{Stage: "staging", At: at(10)}, {Stage: "prod", At: at(14)}}}}
	rel := &releasev1.Release{Spec: releasev1.ReleaseSpec{LaunchChecklist: "checkout-ready",
		Plan: []releasev1.PlannedPromotion{{Stage: "staging", At: at(12)}, {Stage: "prod", At: at(9)}}}}
	v := carriedBy(rel, l)
	if v.Spec.Milestone != "q4" {
		t.Errorf("milestone = %q, want the launch's q4", v.Spec.Milestone)
	}
	if v.Spec.LaunchChecklist != "checkout-ready" {
		t.Errorf("launchChecklist = %q, want the Release's own", v.Spec.LaunchChecklist)
	}
	if p := plannedFor(v, "staging"); p == nil || !p.Equal(&[]metav1.Time{at(12)}[0]) {
		t.Errorf("staging planned at %v, want the Release's later 12:00", p)
	}
	if p := plannedFor(v, "prod"); p == nil || !p.Equal(&[]metav1.Time{at(14)}[0]) {
		t.Errorf("prod planned at %v, want the launch's later 14:00", p)
	}
	if p := plannedFor(rel, "prod"); !p.Equal(&[]metav1.Time{at(9)}[0]) {
		t.Errorf("the Release itself changed: prod planned at %v", p)
	}
	if carriedBy(rel, nil) != rel || carriedBy(rel, &releasev1.Launch{}) != rel {
		t.Error("a Release without a launch that carries anything is itself")
	}
}

func TestGroupFailureIsTheMemberThatFailedOnItsOwn(t *testing.T) {
	member := func(name string, phase releasev1.ReleasePhase, prod releasev1.StagePhase, rb *releasev1.RollbackStatus) releasev1.Release {
		r := releasev1.Release{}
		r.Name, r.Status.Phase = name, phase
		r.Status.Stages = []releasev1.ReleaseStageStatus{{Name: "dev", Phase: releasev1.StagePromoted}, {Name: "prod", Phase: prod, Rollback: rb}}
		return r
	}
	two := int32(2)
	tests := []struct {
		name    string
		members []releasev1.Release
		want    string
	}{
		{"a member rolled back after its own failure", []releasev1.Release{
			member("checkout", releasev1.PhaseVerifying, releasev1.StageVerifying, nil),
			member("web", releasev1.PhaseFailed, releasev1.StageRolledBack, &releasev1.RollbackStatus{Commit: "abc"}),
		}, "web/prod"},
		{"one rolled back with the launch is not followed", []releasev1.Release{
			member("api", releasev1.PhaseFailed, releasev1.StageRolledBack, &releasev1.RollbackStatus{Commit: "abc", Launch: "spring"}),
			member("checkout", releasev1.PhaseVerifying, releasev1.StageVerifying, nil),
		}, ""},
		{"a member that halted keeps its version: so do the others", []releasev1.Release{
			member("checkout", releasev1.PhaseVerifying, releasev1.StageVerifying, nil),
			member("web", releasev1.PhaseFailed, releasev1.StageFailed, nil),
		}, ""},
		{"a rollback on demand concerns its member only", []releasev1.Release{
			member("checkout", releasev1.PhaseVerifying, releasev1.StageVerifying, nil),
			member("web", releasev1.PhaseFailed, releasev1.StageRolledBack, &releasev1.RollbackStatus{Commit: "abc", Request: &two}),
		}, ""},
		{"itself is not followed", []releasev1.Release{
			member("checkout", releasev1.PhaseFailed, releasev1.StageRolledBack, &releasev1.RollbackStatus{Commit: "abc"}),
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if m, stage := groupFailure(tt.members, "checkout"); m != nil {
				got = m.Name + "/" + stage
			}
			if got != tt.want {
				t.Errorf("groupFailure() = %q, want %q", got, tt.want)
			}
		})
	}
}
