package v1alpha1

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRollbackTargets(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	rec := func(v, prev, commit string) PromotionRecord {
		return PromotionRecord{Release: "checkout-" + v, Version: v, PreviousVersion: prev, Commit: commit, At: at}
	}
	for _, tt := range []struct {
		name    string
		current string
		history []PromotionRecord
		want    []RollbackTarget
	}{
		{name: "nothing promoted"},
		{name: "the first promotion: the version before Liftoff, from the files before its commit", current: "1.4.2",
			history: []PromotionRecord{rec("1.4.2", "1.4.1", "c2")},
			want:    []RollbackTarget{{Version: "1.4.1", Commit: "c2", Parent: true}}},
		{name: "the files held the version already: nothing to go back to", current: "1.4.2",
			history: []PromotionRecord{rec("1.4.2", "1.4.2", "c2")}},
		{name: "older versions, newest first, each once", current: "1.4.3",
			history: []PromotionRecord{rec("1.4.3", "1.4.2", "c3"), rec("1.4.2", "1.4.1", "c2"), rec("1.4.1", "", "c1")},
			want:    []RollbackTarget{{Version: "1.4.2", Commit: "c3", Parent: true}, {Version: "1.4.1", Commit: "c2", Parent: true}}},
		{name: "after a rollback the version rolled back is a target again", current: "1.4.1",
			history: []PromotionRecord{rec("1.4.1", "1.4.2", "r1"), rec("1.4.2", "1.4.1", "c2")},
			want:    []RollbackTarget{{Version: "1.4.2", Commit: "r1", Parent: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &ReleasePipeline{Status: ReleasePipelineStatus{Stages: []PipelineStageStatus{{Name: "prod", Version: tt.current, History: tt.history}}}}
			if got := p.RollbackTargets("prod"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RollbackTargets = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHeldBy(t *testing.T) {
	n := func(i int32) *int32 { return &i }
	rb := func(stage string) RollbackRequest { return RollbackRequest{Stage: stage, Reason: "errors"} }
	for _, tt := range []struct {
		name      string
		rollbacks []RollbackRequest
		resumes   []ResumeRequest
		want      int
	}{
		{name: "no rollback", want: -1},
		{name: "held by the stage's latest rollback", rollbacks: []RollbackRequest{rb("prod"), rb("dev"), rb("prod")}, want: 2},
		{name: "resumed", rollbacks: []RollbackRequest{rb("prod")}, resumes: []ResumeRequest{{Stage: "prod", Rollback: n(0)}}, want: -1},
		{name: "a rollback after the resume holds again", rollbacks: []RollbackRequest{rb("prod"), rb("prod")},
			resumes: []ResumeRequest{{Stage: "prod", Rollback: n(0)}}, want: 1},
		{name: "another stage's resume does not count", rollbacks: []RollbackRequest{rb("prod")},
			resumes: []ResumeRequest{{Stage: "dev", Rollback: n(0)}}, want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &ReleasePipeline{Spec: ReleasePipelineSpec{Rollbacks: tt.rollbacks, Resumes: tt.resumes}}
			if got := p.HeldBy("prod"); got != tt.want {
				t.Errorf("HeldBy = %d, want %d", got, tt.want)
			}
		})
	}
}
