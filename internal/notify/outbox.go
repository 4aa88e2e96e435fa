package notify

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// Bounds of the outbox in a ReleaseNotification's status.
const (
	// MaxPending messages wait at most; when more come, the oldest is dropped.
	MaxPending = 50
	// MaxSent keys of messages done with are kept to recognise an event
	// derived again; when more are done, Since moves past the oldest.
	MaxSent = 256
	// GiveUpAfter: a message not delivered for this long is dropped.
	GiveUpAfter = 24 * time.Hour
	// MaxBackoff between attempts of a failing receiver.
	MaxBackoff = 5 * time.Minute
)

// Outbox is the delivery state of one ReleaseNotification, its status. Every
// function is pure over it: the controller writes it back with optimistic
// locking before anything is sent and after each delivery.
type Outbox struct {
	Status *releasev1.ReleaseNotificationStatus
	// Receivers are the names of the spec's receivers, in order.
	Receivers []string
	// Held are receivers that cannot be used as configured (a ConfigError):
	// nothing is due for them and they wake nothing; their messages wait
	// until the configuration is fixed (at most GiveUpAfter, as any).
	Held map[string]bool
}

// Init starts the record at the notification's creation: what happened
// before is not news.
func (o *Outbox) Init(created time.Time) {
	if o.Status.Since == nil {
		t := metav1.NewTime(created.Truncate(time.Second))
		o.Status.Since = &t
	}
}

// Known reports whether the event was queued or sent already, or is older
// than the record.
func (o *Outbox) Known(id string, at time.Time) bool {
	if o.Status.Since != nil && at.Before(o.Status.Since.Time) {
		return true
	}
	for _, p := range o.Status.Pending {
		if p.Key == id {
			return true
		}
	}
	for _, s := range o.Status.Sent {
		if s.Key == id {
			return true
		}
	}
	return false
}

// Enqueue queues the events that are new, for every receiver, and returns
// how many it queued. A full queue drops its oldest message (counted as
// dropped for each receiver it still waited for).
func (o *Outbox) Enqueue(events []Event, now time.Time) (int, error) {
	added := 0
	for i := range events {
		e := &events[i]
		if o.Known(e.ID, e.At) {
			continue
		}
		payload, err := e.Payload()
		if err != nil {
			return added, err
		}
		at := metav1.NewTime(e.At)
		if len(o.Receivers) == 0 {
			o.done(e.ID, at)
			added++
			continue
		}
		o.Status.Pending = append(o.Status.Pending, releasev1.PendingMessage{Key: e.ID, Type: e.Type, Title: clip(e.Title, 256), At: at,
			QueuedAt: metav1.NewTime(now), Receivers: append([]string(nil), o.Receivers...), Payload: string(payload)})
		added++
		for len(o.Status.Pending) > MaxPending {
			o.drop(0, now, "the queue is full: dropped the oldest message")
		}
	}
	o.count()
	return added, nil
}

// Expire drops the messages queued longer than GiveUpAfter, and forgets
// receivers that are no longer in the spec.
func (o *Outbox) Expire(now time.Time) {
	keep := map[string]bool{}
	for _, r := range o.Receivers {
		keep[r] = true
	}
	var rs []releasev1.ReceiverStatus
	for _, r := range o.Status.Receivers {
		if keep[r.Name] {
			rs = append(rs, r)
		}
	}
	o.Status.Receivers = rs
	for i := 0; i < len(o.Status.Pending); {
		p := &o.Status.Pending[i]
		var still []string
		for _, r := range p.Receivers {
			if keep[r] {
				still = append(still, r)
			}
		}
		p.Receivers = still
		switch {
		case len(p.Receivers) == 0:
			o.done(p.Key, p.At)
			o.Status.Pending = append(o.Status.Pending[:i], o.Status.Pending[i+1:]...)
		case now.Sub(p.QueuedAt.Time) >= GiveUpAfter:
			o.drop(i, now, "not delivered within 24h: dropped")
		default:
			i++
		}
	}
	o.count()
}

// drop gives up pending message i for every receiver it waits for.
func (o *Outbox) drop(i int, now time.Time, why string) {
	p := o.Status.Pending[i]
	for _, r := range p.Receivers {
		rs := o.Receiver(r)
		rs.Dropped++
		rs.LastError, rs.LastErrorAt = why+": "+p.Title, ptrTime(now)
	}
	o.Status.Pending = append(o.Status.Pending[:i], o.Status.Pending[i+1:]...)
	o.done(p.Key, p.At)
}

// done records a message as done with. When the record is full, the oldest
// event is forgotten and Since moves past it, so it is never derived again.
func (o *Outbox) done(key string, at metav1.Time) {
	o.Status.Sent = append(o.Status.Sent, releasev1.SentMessage{Key: key, At: at})
	if len(o.Status.Sent) <= MaxSent {
		return
	}
	sort.SliceStable(o.Status.Sent, func(i, j int) bool { return o.Status.Sent[i].At.Before(&o.Status.Sent[j].At) })
	oldest := o.Status.Sent[0]
	o.Status.Sent = o.Status.Sent[1:]
	since := metav1.NewTime(oldest.At.Add(time.Second).Truncate(time.Second))
	if o.Status.Since == nil || o.Status.Since.Before(&since) {
		o.Status.Since = &since
	}
}

// Receiver returns the status entry of a receiver, adding it.
func (o *Outbox) Receiver(name string) *releasev1.ReceiverStatus {
	for i := range o.Status.Receivers {
		if o.Status.Receivers[i].Name == name {
			return &o.Status.Receivers[i]
		}
	}
	o.Status.Receivers = append(o.Status.Receivers, releasev1.ReceiverStatus{Name: name})
	sort.SliceStable(o.Status.Receivers, func(i, j int) bool { return o.Status.Receivers[i].Name < o.Status.Receivers[j].Name })
	return o.Receiver(name)
}

// Attempt is one delivery to make: a message to a receiver.
type Attempt struct {
	Key, Receiver string
	// Payload and Title of the message.
	Payload, Title string
}

// Due lists up to limit deliveries to make now, oldest message first,
// skipping receivers that are backing off or held. A receiver gets its messages in order.
func (o *Outbox) Due(now time.Time, limit int) []Attempt {
	var out []Attempt
	for _, p := range o.Status.Pending {
		for _, r := range p.Receivers {
			if len(out) == limit {
				return out
			}
			if o.Held[r] {
				continue
			}
			if rs := o.Receiver(r); rs.RetryAt != nil && now.Before(rs.RetryAt.Time) {
				continue
			}
			out = append(out, Attempt{Key: p.Key, Receiver: r, Payload: p.Payload, Title: p.Title})
		}
	}
	return out
}

// Result is the outcome of an attempt.
type Result struct {
	Attempt
	// Err is nil when the receiver accepted the message.
	Err error
	// At is when the receiver answered.
	At time.Time
}

// Apply records the results. A success or a refusal (Permanent) takes the
// receiver off the message; a message no receiver waits for is done. A
// failure backs the receiver off: reconcile.Backoff from backoff, at most
// MaxBackoff, or what the receiver asked (Retry-After).
func (o *Outbox) Apply(results []Result, backoff time.Duration) {
	for _, res := range results {
		rs := o.Receiver(res.Receiver)
		switch {
		case res.Err == nil:
			o.take(res.Key, res.Receiver)
			rs.Delivered++
			rs.LastSent, rs.LastSentTitle = ptrTime(res.At), res.Title
			rs.ConsecutiveFailures, rs.RetryAt = 0, nil
			if o.Status.LastSent == nil || o.Status.LastSent.Time.Before(res.At) {
				o.Status.LastSent = ptrTime(res.At)
			}
		case IsPermanent(res.Err):
			o.take(res.Key, res.Receiver)
			rs.Dropped++
			rs.LastError, rs.LastErrorAt = clip(res.Err.Error()+": dropped "+res.Title, 1024), ptrTime(res.At)
			rs.ConsecutiveFailures, rs.RetryAt = 0, nil
		default:
			rs.ConsecutiveFailures++
			wait := RetryAfter(res.Err)
			if wait <= 0 {
				wait = reconcile.Backoff(backoff, rs.ConsecutiveFailures, MaxBackoff)
			}
			rs.LastError, rs.LastErrorAt = clip(res.Err.Error(), 1024), ptrTime(res.At)
			rs.RetryAt = ptrTime(res.At.Add(wait))
		}
	}
	o.count()
}

// take removes receiver from the message key; a message left with no
// receiver is done.
func (o *Outbox) take(key, receiver string) {
	for i := range o.Status.Pending {
		p := &o.Status.Pending[i]
		if p.Key != key {
			continue
		}
		var still []string
		for _, r := range p.Receivers {
			if r != receiver {
				still = append(still, r)
			}
		}
		p.Receivers = still
		if len(still) == 0 {
			o.done(p.Key, p.At)
			o.Status.Pending = append(o.Status.Pending[:i], o.Status.Pending[i+1:]...)
		}
		return
	}
}

// Wake is the earliest time the outbox has work: a receiver's retry, or a
// message to give up on. Zero when nothing is pending.
func (o *Outbox) Wake(now time.Time) time.Time {
	var wake time.Time
	at := func(t time.Time) {
		if wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}
	for _, p := range o.Status.Pending {
		at(p.QueuedAt.Add(GiveUpAfter))
		for _, r := range p.Receivers {
			if o.Held[r] {
				continue
			}
			if rs := o.Receiver(r); rs.RetryAt != nil && rs.RetryAt.After(now) {
				at(rs.RetryAt.Time)
			} else {
				at(now)
			}
		}
	}
	return wake
}

func (o *Outbox) count() { o.Status.PendingCount = int32(len(o.Status.Pending)) }

func ptrTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}
