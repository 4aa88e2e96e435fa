package gates

import (
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

func status(r Result) releasev1.GateStatus {
	return releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, URL: r.URL, Issues: r.Issues}
}

// What each gate says to the people who read the report and the dashboard:
// who or what holds the Release, never a field to edit. The statuses come
// from the gates themselves, so a change of a message is caught here.
func TestWordsSayWhoOrWhatHoldsTheReleaseForPeople(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC) // Mon 7 Dec
	planned := time.Date(2026, 12, 9, 17, 5, 0, 0, time.UTC)
	staging := "staging"
	landed := now.Add(-20 * time.Minute)
	clock := Clock{Now: now, Loc: berlin, Relative: true}
	for _, c := range []struct {
		result Result
		clock  Clock
		want   string
	}{
		{NotBefore(planned, now), clock, "planned for prod on Wed 9 Dec 18:05 CET (in 2 days)"},
		{NotBefore(planned, now), Clock{Loc: berlin}, "planned for prod on Wed 9 Dec 18:05 CET"},
		{Approvals("prod", 1, nil), clock, "waits for 1 approval for prod"},
		{Approvals("prod", 3, []releasev1.Approval{{Stage: "prod", By: "ann"}}), clock, "waits for 2 approvals for prod"},
		{Checks([]string{"e2e"}, []github.CheckResult{{Name: "e2e", State: github.CheckPending, Detail: "in_progress"}}, "0123abcdef"), clock,
			"QA check e2e is still running"},
		{Checks([]string{"e2e", "lint", "sast"}, []github.CheckResult{{Name: "e2e", State: github.CheckPending, Detail: "queued"}, {Name: "lint", State: github.CheckPending, Detail: "in_progress"}}, "0123abcdef"), clock,
			"QA checks e2e, lint are still running; QA check sast not reported yet"},
		{Checks([]string{"e2e"}, []github.CheckResult{{Name: "e2e", State: github.CheckFailure, Detail: "failure", URL: "https://github.com/acme/checkout/runs/1"}}, "0123abcdef"), clock,
			"QA check e2e failed"},
		{Soak(time.Hour, &staging, &landed, now), clock, "soaks in staging until Mon 7 Dec 17:40 CET (in 40 minutes) before prod"},
		{Blockers(&BlockerFacts{Query: "label:blocker", SearchTotal: 2, Search: []Blocker{{Number: 12, Title: "Payment retries double-charge"}, {Number: 13, Title: "Safari"}}}), clock,
			"waits for 2 blocker issues to be closed"},
		{Paused(true), clock, "paused by a person: it goes on once someone resumes it"},
		{LaunchChecklist(&ChecklistFacts{Name: "launch", Total: 2, Open: "legal-review (Legal, pending; owners lee)"}), clock,
			"waits for the launch checklist launch: 0 of 2 done; open: legal-review (Legal, pending; owners lee)"},
		{Calendar(&CalendarFacts{Name: "releases", Reason: "freeze year-end: reduced on-call", Next: planned, Location: berlin}, now), clock,
			"the release calendar keeps prod closed: freeze year-end: reduced on-call; opens at 2026-12-09 18:05 CET"},
	} {
		got := Words("prod", status(c.result), c.clock)
		if got != c.want {
			t.Errorf("%s (%s):\n got %q\nwant %q", c.result.Name, c.result.Message, got, c.want)
		}
	}
}

// A reason Words does not know is said as the gate's own message: nothing
// is made up.
func TestWordsKeepTheMessageOfAnUnknownReason(t *testing.T) {
	g := releasev1.GateStatus{Name: NameCalendar, Status: releasev1.GatePending, Reason: "Frozen", Message: "prod is frozen until Monday"}
	if got := Words("prod", g, Clock{}); got != g.Message {
		t.Errorf("got %q, want the message %q", got, g.Message)
	}
}
