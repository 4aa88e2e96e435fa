package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// A rollback on demand is on the calendar, said to have happened in a
// freeze when one was in force; a rollback after a failure is not listed on
// its own.
func TestRecentListsRollbacksOnDemand(t *testing.T) {
	cal, err := calendar.New("UTC", []calendar.WindowSpec{{Name: "year-end", Kind: calendar.Deny, Start: "2026-12-22T18:00", End: "2027-01-04T08:00", Stages: []string{"prod"}, Reason: "year-end"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	zero := int32(0)
	rel := func(at time.Time, request *int32) releasev1.Release {
		t := metav1.NewTime(at)
		return releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2"},
			Status: releasev1.ReleaseStatus{Stages: []releasev1.ReleaseStageStatus{{Name: "prod", Phase: releasev1.StageRolledBack,
				Rollback: &releasev1.RollbackStatus{Commit: "abcdef0123", Version: "1.4.1", At: &t, Request: request, RequestedBy: "lee", Reason: "errors"}}}}}
	}
	for _, tt := range []struct {
		name   string
		rel    releasev1.Release
		detail string
	}{
		{name: "in the freeze", rel: rel(time.Date(2026, 12, 23, 15, 0, 0, 0, time.UTC), &zero),
			detail: "on demand by lee: errors; commit abcdef0; during freeze year-end until 2027-01-04T08:00:00Z: year-end (a freeze does not hold a rollback)"},
		{name: "outside it", rel: rel(time.Date(2027, 1, 5, 15, 0, 0, 0, time.UTC), &zero), detail: "on demand by lee: errors; commit abcdef0"},
		{name: "after a failure", rel: rel(time.Date(2027, 1, 5, 15, 0, 0, 0, time.UTC), nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := recent(cal, []releasev1.Release{tt.rel}, now)
			if tt.detail == "" {
				if len(got) != 0 {
					t.Errorf("listed %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Type != releasev1.EntryRollback || got[0].Title != "checkout 1.4.2 rolled back in prod to 1.4.1" || got[0].Detail != tt.detail {
				t.Errorf("recent = %+v", got)
			}
		})
	}
}
