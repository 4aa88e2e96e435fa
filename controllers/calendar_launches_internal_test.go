package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A launch is on the calendar with its plan and its forecast, for the
// stages it has not reached.
func TestLaunchEntries(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	at := func(h int) metav1.Time { return metav1.NewTime(now.Add(time.Duration(h) * time.Hour)) }
	l := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring"},
		Spec: releasev1.LaunchSpec{Plan: []releasev1.PlannedPromotion{{Stage: "dev", At: at(-2)}, {Stage: "prod", At: at(20)}}},
		Status: releasev1.LaunchStatus{Members: []releasev1.LaunchMember{{Name: "checkout"}, {Name: "web"}},
			Forecast: []releasev1.LaunchStageForecast{
				{Stage: "dev", At: at(-1), Reached: true, Member: "web 1.2.0"},
				{Stage: "prod", At: at(22), Member: "web 1.2.0"},
				{Stage: "beyond", At: at(24 * 40), Member: "web 1.2.0"},
			}}}
	got := launchEntries(l, now)
	want := []releasev1.CalendarEntry{
		{Type: releasev1.EntryPlannedPromotion, Title: "launch spring -> prod", Start: at(20), Stages: []string{"prod"}, Detail: "2 members"},
		{Type: releasev1.EntryLaunchForecast, Title: "launch spring reaches prod", Start: at(22), Stages: []string{"prod"}, Detail: "critical path: web 1.2.0"},
	}
	if len(got) != len(want) {
		t.Fatalf("launchEntries() = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Title != w.Title || !g.Start.Equal(&w.Start) || g.Stages[0] != w.Stages[0] || g.Detail != w.Detail {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}
