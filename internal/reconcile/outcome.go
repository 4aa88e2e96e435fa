// Package reconcile is the vocabulary every Liftoff controller speaks: a
// reconcile (or one step of one) ends with an Outcome, which says whether the
// status is written and what comes next, and a GitHub failure becomes
// conditions and an Outcome through one function, GitHub.
package reconcile

import (
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Outcome is what a reconcile, or a step of one, asks of the controller once
// it has run: whether its status is written now, and what comes next. It is
// said with one of the constructors below; Result turns it into
// controller-runtime's terms.
type Outcome struct {
	next next
	// wait says why a Wait waits, after or until how long.
	wait  Wait
	after time.Duration
	until time.Time
}

type next int

const (
	// stop: nothing more until a watch brings the Release back.
	stop next = iota
	// proceed: write the status, then run the next step at once.
	proceed
	// proceedUnwritten: run the next step at once; its write records this
	// step's changes too.
	proceedUnwritten
	// wait: write the status, then run again later.
	wait
	// again: run again at once, from a fresh read.
	again
)

// Wait names what a waiting step waits for. Each kind has its floor in
// floors; a new kind of wait (a deployment to turn healthy, a slot in a write
// budget) is one more constant here.
type Wait string

// Kinds of waits.
const (
	// WaitPoll: something outside the cluster that no watch reports (QA
	// checks, an open pull request, a commit's tag) is read again at the
	// poll interval, or when a gate says it changes by itself (a soak ends,
	// a window opens, a planned time comes).
	WaitPoll Wait = "Poll"
	// WaitGitHub: GitHub asked to wait (a rate limit): never less than a
	// second, even when it did not say how long.
	WaitGitHub Wait = "GitHub"
	// WaitBudget: the credential's write budget has no slot for a write
	// (or a record the Release owes) before the time waited until; nothing
	// was sent.
	WaitBudget Wait = "Budget"
	// WaitCoalesced: the promotion is in the next coalesced commit to its
	// branch; the coalescer wakes the Release when it is made, and this
	// wait is only the fallback should that wake-up be lost.
	WaitCoalesced Wait = "Coalesced"
	// WaitFix: a person must fix something no watch reports (a file in
	// GitHub, a token, a notification receiver's Secret): it is tried again
	// now and then.
	WaitFix Wait = "Fix"
	// WaitStageLock: another Release took the stage this one promotes into.
	WaitStageLock Wait = "StageLock"
	// WaitRollout: the new version is not seen serving yet.
	WaitRollout Wait = "Rollout"
	// WaitAnalysis: the next measurement of a running analysis is due later.
	WaitAnalysis Wait = "Analysis"
	// WaitRecords: GitHub records the Release owes (status.pendingRecords)
	// are tried again: at the write budget's next slot, when GitHub said,
	// or a while after GitHub failed.
	WaitRecords Wait = "Records"
	// WaitDeployed: the stage's GitOps agent has not reported the commit
	// (the promotion's, or a rollback's) deployed yet, or cannot be read. A
	// change of the agent's object wakes the Release sooner; the wait ends
	// at the next poll or at the deployment's deadline.
	WaitDeployed Wait = "Deployed"
	// WaitRegistry: an artifact's registry could not be read (unreachable,
	// or it asked to wait until a time).
	WaitRegistry Wait = "Registry"
	// WaitCache: the cache has not caught up with the controller's own last
	// write.
	WaitCache Wait = "Cache"
	// WaitDelivery: a notification's receiver failed and is tried again at
	// its retry (Backoff, or when the receiver asked), or a queued message
	// is given up on.
	WaitDelivery Wait = "Delivery"
	// WaitDue: time alone makes a notification's next message (a wait that
	// turns into Blocked, a freeze coming into notice, the next report).
	WaitDue Wait = "Due"
)

// minRequeue is the shortest requeue: a wait is never zero (controller-runtime
// takes a zero RequeueAfter for "do not requeue"), and "at once" is this.
const minRequeue = time.Millisecond

// floors are the shortest waits of some kinds.
var floors = map[Wait]time.Duration{
	WaitGitHub:   time.Second,
	WaitRegistry: time.Second,
	// Records lag anyway: a slot that is due comes back no sooner than
	// this, so Releases that owe records never spin.
	WaitRecords: 100 * time.Millisecond,
	// A receiver, or a message come due, is never sought more than once a
	// second.
	WaitDelivery: time.Second,
	WaitDue:      time.Second,
}

// Stop ends the reconcile: the status is written and nothing is scheduled; a
// watch (the Release, its pipeline, calendar, milestone or checklist) brings
// the Release back.
func Stop() Outcome { return Outcome{next: stop} }

// WriteThenContinue writes the status (a promotion's intent, a stage landed
// under verification) and runs the next step at once, from the object the
// write returned.
func WriteThenContinue() Outcome { return Outcome{next: proceed} }

// ContinueWithoutWrite runs the next step at once; the next write records
// this step's changes with its own (what this step did is recorded elsewhere
// already, such as a landing in the pipeline's status).
func ContinueWithoutWrite() Outcome { return Outcome{next: proceedUnwritten} }

// Requeue runs the Release again at once from a fresh read: its status write
// lost to someone else's change.
func Requeue() Outcome { return Outcome{next: again} }

// WaitFor writes the status and runs the Release again after d.
func WaitFor(d time.Duration, why Wait) Outcome {
	return Outcome{next: wait, wait: why, after: d}
}

// WaitUntil writes the status and runs the Release again at t.
func WaitUntil(t time.Time, why Wait) Outcome {
	return Outcome{next: wait, wait: why, until: t}
}

// NoLaterThan is o, or a wait (why) until t when o would come back later, or
// never.
func (o Outcome) NoLaterThan(t, now time.Time, why Wait) Outcome {
	switch o.next {
	case stop:
		return WaitUntil(t, why)
	case wait:
		at := o.until
		if at.IsZero() {
			at = now.Add(o.after)
		}
		if at.After(t) {
			if o.wait == WaitDeployed {
				// Still waiting on the agent, whose changes keep waking it.
				why = WaitDeployed
			}
			return WaitUntil(t, why)
		}
	}
	return o
}

// And combines the outcomes of steps run side by side (the stages of a
// fan-out): the next step runs at once when either asks, after a write
// unless neither needs one; otherwise the earliest wait wins, kept a wait on
// a GitOps agent when either waits on one (its changes keep waking the
// Release); a Stop adds nothing.
func (o Outcome) And(p Outcome, now time.Time) Outcome {
	switch {
	case o.next == again || p.next == again:
		return Requeue()
	case o.next == stop:
		return p
	case p.next == stop:
		return o
	case o.Continues() || p.Continues():
		if o.next == proceedUnwritten && p.next == proceedUnwritten {
			return ContinueWithoutWrite()
		}
		return WriteThenContinue()
	}
	at := func(x Outcome) time.Time {
		if x.until.IsZero() {
			return now.Add(x.after)
		}
		return x.until
	}
	first := o
	if at(p).Before(at(o)) {
		first = p
	}
	why := first.wait
	if o.wait == WaitDeployed || p.wait == WaitDeployed {
		why = WaitDeployed
	}
	return WaitUntil(at(first), why)
}

// Continues reports whether the next step runs at once.
func (o Outcome) Continues() bool { return o.next == proceed || o.next == proceedUnwritten }

// Writes reports whether the status is written before what comes next.
func (o Outcome) Writes() bool { return o.next != proceedUnwritten }

// Requeues reports whether the reconcile starts over at once from a fresh
// read (a status write lost to someone else's change).
func (o Outcome) Requeues() bool { return o.next == again }

// Waits returns what a waiting outcome waits for, "" for the others.
func (o Outcome) Waits() Wait { return o.wait }

// Result is the outcome in controller-runtime's terms, at now. A wait is
// clamped to its floor and never zero; an outcome that continues, returned
// to controller-runtime (a reconcile ran its most steps), runs again at once.
func (o Outcome) Result(now time.Time) ctrl.Result {
	switch o.next {
	case proceed, proceedUnwritten, again:
		return ctrl.Result{RequeueAfter: minRequeue}
	case wait:
		d := o.after
		if !o.until.IsZero() {
			d = o.until.Sub(now)
		}
		return ctrl.Result{RequeueAfter: max(d, floors[o.wait], minRequeue)}
	}
	return ctrl.Result{}
}

func (o Outcome) String() string {
	switch o.next {
	case proceed:
		return "WriteThenContinue"
	case proceedUnwritten:
		return "ContinueWithoutWrite"
	case again:
		return "Requeue"
	case wait:
		if !o.until.IsZero() {
			return fmt.Sprintf("WaitUntil(%s, %s)", o.until.Format(time.RFC3339Nano), o.wait)
		}
		return fmt.Sprintf("WaitFor(%s, %s)", o.after, o.wait)
	}
	return "Stop"
}

// Backoff is how long to wait after failures (at least one) consecutive
// failures of the same thing: first, doubled per failure after the first,
// at most ceiling.
func Backoff(first time.Duration, failures int32, ceiling time.Duration) time.Duration {
	if failures < 1 {
		failures = 1
	}
	return min(first<<min(failures-1, 16), ceiling)
}

// Poll runs again after d, as a reconciler that polls something outside the
// cluster does; a d of zero or less schedules nothing (Stop).
func Poll(d time.Duration) Outcome {
	if d <= 0 {
		return Stop()
	}
	return WaitFor(d, WaitPoll)
}
