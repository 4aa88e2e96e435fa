package reconcile

import (
	"testing"
	"time"
)

func TestOutcomeResult(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		out              Outcome
		requeue          time.Duration
		continues, write bool
	}{
		{Stop(), 0, false, true},
		{WriteThenContinue(), minRequeue, true, true},
		{ContinueWithoutWrite(), minRequeue, true, false},
		{Requeue(), minRequeue, false, true},
		{WaitFor(30*time.Second, WaitPoll), 30 * time.Second, false, true},
		{WaitUntil(now.Add(time.Minute), WaitPoll), time.Minute, false, true},
		// A wait is never zero: controller-runtime would not requeue at all.
		{WaitFor(0, WaitAnalysis), minRequeue, false, true},
		{WaitUntil(now.Add(-time.Second), WaitPoll), minRequeue, false, true},
		// GitHub is never asked again sooner than a second, even when it did
		// not say how long to wait.
		{WaitFor(0, WaitGitHub), time.Second, false, true},
		{WaitFor(90*time.Second, WaitGitHub), 90 * time.Second, false, true},
		// A notification's receiver or message is not sought again within a
		// second.
		{WaitUntil(now.Add(100*time.Millisecond), WaitDelivery), time.Second, false, true},
		{WaitUntil(now, WaitDue), time.Second, false, true},
	} {
		t.Run(tt.out.String(), func(t *testing.T) {
			if got := tt.out.Result(now).RequeueAfter; got != tt.requeue {
				t.Errorf("requeue after %s, want %s", got, tt.requeue)
			}
			if tt.out.Continues() != tt.continues || tt.out.Writes() != tt.write {
				t.Errorf("continues %v writes %v, want %v %v", tt.out.Continues(), tt.out.Writes(), tt.continues, tt.write)
			}
		})
	}
}

// A receiver that keeps failing is tried again later each time, up to the
// ceiling, and never sooner than the first wait.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int32
		want     time.Duration
	}{
		{0, 5 * time.Second}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{6, 160 * time.Second}, {7, 5 * time.Minute}, {40, 5 * time.Minute},
	} {
		if got := Backoff(5*time.Second, tt.failures, 5*time.Minute); got != tt.want {
			t.Errorf("after %d failures: %s, want %s", tt.failures, got, tt.want)
		}
	}
}

// The stages of a fan-out step side by side: the Release comes back for the
// first of them that can move.
func TestOutcomeAnd(t *testing.T) {
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		a, b Outcome
		want string
	}{
		{"both stop", Stop(), Stop(), "Stop"},
		{"a wait beats a stop", Stop(), WaitFor(time.Minute, WaitPoll), "WaitFor(1m0s, Poll)"},
		{"the earliest wait wins", WaitFor(time.Hour, WaitPoll), WaitFor(time.Minute, WaitAnalysis), WaitUntil(now.Add(time.Minute), WaitAnalysis).String()},
		{"a stage waiting on its agent keeps the agent's wake-ups", WaitFor(time.Hour, WaitDeployed), WaitFor(time.Minute, WaitPoll),
			WaitUntil(now.Add(time.Minute), WaitDeployed).String()},
		{"one that goes on goes on, after a write", WaitFor(time.Minute, WaitPoll), ContinueWithoutWrite(), "WriteThenContinue"},
		{"two that need no write", ContinueWithoutWrite(), ContinueWithoutWrite(), "ContinueWithoutWrite"},
		{"a lost write starts over", Requeue(), WriteThenContinue(), "Requeue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.And(tt.b, now).String(); got != tt.want {
				t.Errorf("%s.And(%s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
			if got := tt.b.And(tt.a, now).String(); got != tt.want {
				t.Errorf("%s.And(%s) = %s, want %s", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
