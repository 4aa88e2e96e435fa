package controllers

import (
	"fmt"
	"strings"
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

// A stage with targets is on the calendar wave by wave: one entry per wave
// that started, never one per target.
func TestRecentListsEachWave(t *testing.T) {
	cal, err := calendar.New("UTC", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	at := func(h int) *metav1.Time { t := metav1.NewTime(now.Add(time.Duration(-h) * time.Hour)); return &t }
	ss := releasev1.ReleaseStageStatus{Name: "prod", Phase: releasev1.StageRolledBack, Wave: 2, Waves: 3}
	for k := 1; k <= 20; k++ {
		ts := releasev1.TargetStatus{Name: fmt.Sprintf("prod-%d", k), Wave: 3, Phase: releasev1.TargetPending}
		switch {
		case k == 1:
			ts.Wave, ts.Phase, ts.Commit, ts.CommittedAt, ts.DeployedAt = 1, releasev1.TargetDeployed, "aaaaaaa111", at(5), at(4)
		case k <= 5:
			ts.Wave, ts.Phase, ts.Commit, ts.CommittedAt = 2, releasev1.TargetRolledBack, "bbbbbbb222", at(3)
		}
		ss.Targets = append(ss.Targets, ts)
	}
	rel := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.5.0"},
		Status: releasev1.ReleaseStatus{Stages: []releasev1.ReleaseStageStatus{ss}}}
	var got []string
	for _, e := range recent(cal, []releasev1.Release{rel}, now) {
		got = append(got, fmt.Sprintf("%s at -%s: %s (%s)", e.Title, now.Sub(e.Start.Time), e.Outcome, e.Detail))
	}
	want := []string{
		"checkout 1.5.0 -> prod wave 2 of 3 at -3h0m0s: RolledBack (RolledBack prod-2, prod-3, prod-4, prod-5; commit bbbbbbb)",
		"checkout 1.5.0 -> prod wave 1 of 3 at -4h0m0s: Promoted (Deployed prod-1; commit aaaaaaa)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
