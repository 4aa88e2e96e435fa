package notify

import (
	"fmt"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func ev(i int, at time.Time) Event {
	return Event{ID: Key(fmt.Sprint(i)), Type: "Promoted", Title: fmt.Sprintf("event %d", i), At: at}
}

func newBox(receivers ...string) *Outbox {
	b := &Outbox{Status: &releasev1.ReleaseNotificationStatus{}, Receivers: receivers}
	b.Init(t0)
	return b
}

func TestOutboxQueuesEachEventOnceAndNothingFromBeforeItExisted(t *testing.T) {
	b := newBox("slack", "teams")
	n, err := b.Enqueue([]Event{ev(1, t0.Add(time.Minute)), ev(2, t0.Add(-time.Minute)), ev(1, t0.Add(time.Minute))}, t0)
	if err != nil || n != 1 || b.Status.PendingCount != 1 {
		t.Fatalf("queued %d (%v), pending %d; want event 1 once and not event 2, older than the notification", n, err, b.Status.PendingCount)
	}
	if p := b.Status.Pending[0]; len(p.Receivers) != 2 || p.Payload == "" || p.Title != "event 1" {
		t.Fatalf("pending %+v", p)
	}
	if n, _ := b.Enqueue([]Event{ev(1, t0.Add(time.Minute))}, t0); n != 0 {
		t.Fatalf("an event derived again is queued again")
	}
	// Delivered to one receiver, it waits for the other; then it is done.
	due := b.Due(t0, 10)
	if len(due) != 2 {
		t.Fatalf("due %+v", due)
	}
	b.Apply([]Result{{Attempt: due[0], At: t0}}, time.Second)
	if b.Status.PendingCount != 1 || len(b.Status.Pending[0].Receivers) != 1 || b.Receiver("slack").Delivered != 1 {
		t.Fatalf("after slack: %+v", b.Status)
	}
	b.Apply([]Result{{Attempt: due[1], At: t0}}, time.Second)
	if b.Status.PendingCount != 0 || len(b.Status.Sent) != 1 || b.Status.LastSent == nil {
		t.Fatalf("after teams: %+v", b.Status)
	}
	if n, _ := b.Enqueue([]Event{ev(1, t0.Add(time.Minute))}, t0); n != 0 {
		t.Fatalf("a sent event is queued again")
	}
}

func TestOutboxBacksOffAFailingReceiverAndDropsWhatItRefuses(t *testing.T) {
	b := newBox("slack")
	_, _ = b.Enqueue([]Event{ev(1, t0), ev(2, t0)}, t0)
	fail := &DeliveryError{Status: 503, Message: "answered 503"}
	now := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		due := b.Due(now, 10)
		if len(due) != 2 || due[0].Title != "event 1" {
			t.Fatalf("attempt %d: due %+v, want both, oldest first", i, due)
		}
		b.Apply([]Result{{Attempt: due[0], Err: fail, At: now}}, time.Second)
		rs := b.Receiver("slack")
		if rs.ConsecutiveFailures != int32(i+1) || !rs.RetryAt.Time.Equal(now.Add(want)) || rs.LastError != "answered 503" {
			t.Fatalf("after failure %d: %+v, want a retry in %s", i+1, rs, want)
		}
		if len(b.Due(now, 10)) != 0 {
			t.Fatalf("a backing-off receiver is due")
		}
		now = rs.RetryAt.Time
	}
	// Retry-After wins.
	due := b.Due(now, 10)
	b.Apply([]Result{{Attempt: due[0], Err: &DeliveryError{Status: 429, RetryAfter: time.Minute, Message: "throttled"}, At: now}}, time.Second)
	if rs := b.Receiver("slack"); !rs.RetryAt.Time.Equal(now.Add(time.Minute)) {
		t.Fatalf("Retry-After: retry at %s", rs.RetryAt)
	}
	now = now.Add(time.Minute)
	due = b.Due(now, 10)
	// The first is refused for good (4xx), the second accepted.
	b.Apply([]Result{{Attempt: due[0], Err: &DeliveryError{Status: 400, Permanent: true, Message: "refused the message with 400: invalid_blocks"}, At: now},
		{Attempt: due[1], At: now}}, time.Second)
	rs := b.Receiver("slack")
	if b.Status.PendingCount != 0 || rs.Dropped != 1 || rs.Delivered != 1 || rs.ConsecutiveFailures != 0 || rs.RetryAt != nil ||
		rs.LastError != "refused the message with 400: invalid_blocks: dropped event 1" || rs.LastSentTitle != "event 2" {
		t.Fatalf("after recovery: %+v", rs)
	}
}

func TestOutboxIsBounded(t *testing.T) {
	b := newBox("slack")
	var events []Event
	for i := 0; i < MaxPending+5; i++ {
		events = append(events, ev(i, t0.Add(time.Duration(i)*time.Second)))
	}
	_, _ = b.Enqueue(events, t0)
	if b.Status.PendingCount != MaxPending || b.Receiver("slack").Dropped != 5 || b.Status.Pending[0].Title != "event 5" {
		t.Fatalf("pending %d dropped %d first %q: want the %d newest, the 5 oldest dropped", b.Status.PendingCount, b.Receiver("slack").Dropped, b.Status.Pending[0].Title, MaxPending)
	}
	if n, _ := b.Enqueue(events[:5], t0); n != 0 {
		t.Fatal("a dropped event is queued again")
	}
	// Not delivered within a day: given up.
	b.Expire(t0.Add(GiveUpAfter))
	if b.Status.PendingCount != 0 || b.Receiver("slack").Dropped != MaxPending+5 {
		t.Fatalf("after a day: pending %d dropped %d", b.Status.PendingCount, b.Receiver("slack").Dropped)
	}
	// The record of sent keys is bounded too: Since moves past what it forgets.
	b = newBox()
	for i := 0; i < MaxSent+10; i++ {
		_, _ = b.Enqueue([]Event{ev(i, t0.Add(time.Duration(i)*time.Minute))}, t0)
	}
	if len(b.Status.Sent) != MaxSent || !b.Status.Since.Time.Equal(t0.Add(9*time.Minute+time.Second)) {
		t.Fatalf("sent %d since %s", len(b.Status.Sent), b.Status.Since)
	}
	if !b.Known(Key("3"), t0.Add(3*time.Minute)) || b.Known(Key("new"), t0.Add(time.Hour)) {
		t.Fatal("a forgotten event must stay known (older than Since), a new one not")
	}
}

// A receiver that cannot be used as configured is held: nothing is due for
// it and it wakes nothing, but its messages wait (until GiveUpAfter).
func TestOutboxHoldsAReceiverThatCannotBeUsed(t *testing.T) {
	b := newBox("slack", "hook")
	b.Held = map[string]bool{"hook": true}
	_, _ = b.Enqueue([]Event{ev(1, t0)}, t0)
	due := b.Due(t0, 10)
	if len(due) != 1 || due[0].Receiver != "slack" {
		t.Fatalf("due %+v, want slack only", due)
	}
	b.Apply([]Result{{Attempt: due[0], At: t0}}, time.Second)
	if b.Status.PendingCount != 1 || len(b.Status.Pending[0].Receivers) != 1 {
		t.Fatalf("the message waits for hook: %+v", b.Status.Pending)
	}
	if wake := b.Wake(t0); !wake.Equal(t0.Add(GiveUpAfter)) {
		t.Errorf("wake %v, want only the give-up time %v", wake, t0.Add(GiveUpAfter))
	}
	b.Held = nil
	if due := b.Due(t0.Add(time.Hour), 10); len(due) != 1 || due[0].Receiver != "hook" {
		t.Errorf("once fixed, due %+v", due)
	}
}
