package gates

import (
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestCalendarGate(t *testing.T) {
	now := time.Date(2026, 12, 23, 9, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		name    string
		facts   CalendarFacts
		state   releasev1.GateState
		message string
		recheck time.Duration
	}{
		{"open", CalendarFacts{Name: "c", Open: true, Reason: "inside allow window trains"}, releasev1.GatePassed, "calendar c: inside allow window trains", 0},
		{"closed with next", CalendarFacts{Name: "c", Reason: "freeze x until y: z", Next: now.Add(36 * time.Hour), Location: berlin},
			releasev1.GatePending, "calendar c: freeze x until y: z; opens at 2026-12-24 22:00 CET", 36 * time.Hour},
		{"closed for good", CalendarFacts{Name: "c", Reason: "outside every allow window"}, releasev1.GatePending,
			"calendar c: outside every allow window; no opening in the next 400 days", 0},
		{"problem", CalendarFacts{Name: "c", Problem: "not found"}, releasev1.GateFailed, "calendar c: not found", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Calendar(&tc.facts, now)
			if r.State != tc.state || r.Message != tc.message || r.RecheckAfter != tc.recheck || r.Name != NameCalendar {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

func TestNotBeforeGate(t *testing.T) {
	planned := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	if r := NotBefore(planned, planned.Add(-90*time.Minute)); r.State != releasev1.GatePending || r.RecheckAfter != 90*time.Minute ||
		r.Message != "planned for 2026-11-23T11:00:00Z (in 1h30m0s): spec.plan holds it until then" {
		t.Fatalf("before: %+v", r)
	}
	if r := NotBefore(planned, planned); r.State != releasev1.GatePassed {
		t.Fatalf("at: %+v", r)
	}
}

func TestBlockersGate(t *testing.T) {
	six := make([]Blocker, 6)
	for i := range six {
		six[i] = Blocker{Number: i + 1, Title: "bug", URL: "u"}
	}
	for _, tc := range []struct {
		name    string
		facts   BlockerFacts
		state   releasev1.GateState
		message string
	}{
		{"search clean", BlockerFacts{Query: "label:blocker"}, releasev1.GatePassed, `no open issue matches "label:blocker"`},
		{"milestone clean", BlockerFacts{Milestone: "q4"}, releasev1.GatePassed, "milestone q4 has no open blocker"},
		{"search finds", BlockerFacts{Query: "label:blocker", SearchTotal: 1, Search: []Blocker{{Number: 7, Title: "Checkout fails on Safari", URL: "https://x/7"}}},
			releasev1.GatePending, `1 open issue(s) match "label:blocker": #7 Checkout fails on Safari: close them to go on`},
		{"milestone lists five and counts the rest", BlockerFacts{Milestone: "q4", MilestoneTotal: 8, MilestoneBlockers: six},
			releasev1.GatePending, "milestone q4 has 8 open blocker(s): #1 bug, #2 bug, #3 bug, #4 bug, #5 bug and 3 more: close them to go on"},
		{"milestone missing", BlockerFacts{Milestone: "q4", MilestoneProblem: "not found"}, releasev1.GateFailed, "milestone q4: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Blockers(&tc.facts)
			if r.State != tc.state || r.Message != tc.message {
				t.Fatalf("got %s %q", r.State, r.Message)
			}
		})
	}
}
