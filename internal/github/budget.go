package github

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// GitHub's secondary rate limits allow a token about 80 content-generating
// requests a minute and 500 an hour. A Budget paces one credential's writes
// under them, so that Liftoff is not refused in steady state, and serves
// them by priority.

// Priority orders writes that wait for the budget; a lower value goes first.
type Priority int

const (
	// PriorityRollback means a rollback's revert commit. It may use every slot.
	PriorityRollback Priority = iota
	// PriorityCommit means a promotion commit.
	PriorityCommit
	// PriorityMerge means a pull request's branch, the pull request and its merge.
	PriorityMerge
	// PriorityRecord means GitHub deployments and their statuses, postmortem
	// issues, and every write whose context names no priority. They may lag.
	PriorityRecord

	numPriorities = int(PriorityRecord) + 1
)

func (p Priority) String() string {
	switch p {
	case PriorityRollback:
		return "rollback"
	case PriorityCommit:
		return "commit"
	case PriorityMerge:
		return "merge"
	}
	return "record"
}

type priorityKey struct{}
type writeWaitKey struct{}

// WithPriority marks the writes made with ctx.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority of ctx's writes, PriorityRecord when
// unmarked.
func PriorityFrom(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok && p >= PriorityRollback && p <= PriorityRecord {
		return p
	}
	return PriorityRecord
}

// WithWriteWait lets the writes made with ctx wait up to d for their slot
// (the budget's MaxBlock otherwise). A goroutine that holds no reconcile,
// such as the commit coalescer, waits as long as it takes.
func WithWriteWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, writeWaitKey{}, d)
}

// WriteBudget configures the budget of every credential of a Factory.
type WriteBudget struct {
	// PerMinute and PerHour bound the content-generating requests of one
	// credential in any minute and any hour; 0 does not bound them.
	// GitHub.com allows 80 and 500; a GitHub Enterprise Server has the
	// limits its administrator sets (none unless set).
	PerMinute, PerHour int
	// Reserved is the share of each window kept for higher priorities:
	// rollbacks may use the whole window, promotion commits all but
	// Reserved of it, merges and records all but twice Reserved. 1/10 when
	// zero.
	Reserved float64
	// MaxBlock is the longest a write waits for its slot in the call that
	// makes it; when the next slot is further away, the call returns at once
	// with an error that says when it is (IsWriteBudget). 2s when zero.
	MaxBlock time.Duration
	// MaxConcurrent bounds the requests in flight (GitHub allows 100, REST
	// and GraphQL together). 50 when zero.
	MaxConcurrent int
}

// GitHubWriteBudget is the budget of api.github.com's documented limits.
var GitHubWriteBudget = WriteBudget{PerMinute: 80, PerHour: 500}

func (w WriteBudget) withDefaults() WriteBudget {
	if w.Reserved <= 0 {
		w.Reserved = 0.1
	}
	if w.MaxBlock <= 0 {
		w.MaxBlock = 2 * time.Second
	}
	if w.MaxConcurrent <= 0 {
		w.MaxConcurrent = 50
	}
	return w
}

// ErrWriteBudget is wrapped by the error a write gets when its slot is
// further away than it may wait: nothing was sent to GitHub.
var ErrWriteBudget = errors.New("waiting for GitHub's write budget")

// IsWriteBudget reports whether err says a write waits for the budget. Such
// an error is KindRateLimited with RetryAfter until the next slot.
func IsWriteBudget(err error) bool { return errors.Is(err, ErrWriteBudget) }

// window is one of the budget's sliding windows.
type window struct {
	span  time.Duration
	limit int
	// ceiling is what each priority may fill the window up to.
	ceiling [numPriorities]int
}

// Budget paces the content-generating requests of one credential.
type Budget struct {
	cfg        WriteBudget
	clock      clock.Clock
	credential string
	windows    []window
	inFlight   chan struct{}

	mu sync.Mutex
	// granted holds the times the writes given a slot were done, oldest
	// first, as far back as the longest window. A write counts from when it
	// is given its slot until a window's span after its answer came: GitHub
	// saw it somewhere in between.
	granted        []time.Time
	inFlightWrites int
	blockedUntil   time.Time
	queue          []*waiter
	seq            uint64
	// promised holds the slot told to each caller of Promise that waits
	// for it, so that callers waiting together are told slots one after
	// another rather than all the next one.
	promised    map[string]time.Time
	dispatching bool
	// changed is closed, and replaced, whenever a slot is given or the
	// queue or the block changes.
	changed chan struct{}
}

type waiter struct {
	prio    Priority
	seq     uint64
	ready   chan struct{}
	granted bool
}

// NewBudget returns the budget of one credential; credential is its label in
// metrics (never the token).
func NewBudget(cfg WriteBudget, clk clock.Clock, credential string) *Budget {
	cfg = cfg.withDefaults()
	if clk == nil {
		clk = clock.RealClock{}
	}
	b := &Budget{cfg: cfg, clock: clk, credential: credential, inFlight: make(chan struct{}, cfg.MaxConcurrent), changed: make(chan struct{})}
	for _, w := range []window{{span: time.Minute, limit: cfg.PerMinute}, {span: time.Hour, limit: cfg.PerHour}} {
		if w.limit <= 0 {
			continue
		}
		reserve := int(math.Ceil(float64(w.limit) * cfg.Reserved))
		for p := range numPriorities {
			w.ceiling[p] = w.limit - min(p, 2)*reserve
		}
		b.windows = append(b.windows, w)
	}
	registerBudget(b)
	return b
}

// inWindow returns the slots of writes done within span before now; the
// caller holds b.mu.
func (b *Budget) inWindow(span time.Duration, now time.Time) []time.Time {
	from := now.Add(-span)
	i, _ := slices.BinarySearchFunc(b.granted, from, func(t, target time.Time) int {
		if t.After(target) {
			return 1
		}
		return -1
	})
	return b.granted[i:]
}

// used counts the writes of the window that ends now: those done within it
// and those in flight; the caller holds b.mu.
func (b *Budget) used(span time.Duration, now time.Time) int {
	return len(b.inWindow(span, now)) + b.inFlightWrites
}

// fits reports whether a write of priority p may go now; the caller holds b.mu.
func (b *Budget) fits(p Priority, now time.Time) bool {
	if now.Before(b.blockedUntil) {
		return false
	}
	for _, w := range b.windows {
		if b.used(w.span, now) >= w.ceiling[p] {
			return false
		}
	}
	return true
}

// nextFor estimates when k more writes of priority p fit; the caller holds b.mu.
func (b *Budget) nextFor(p Priority, now time.Time, k int) time.Time {
	next := now
	if b.blockedUntil.After(next) {
		next = b.blockedUntil
	}
	for _, w := range b.windows {
		if w.ceiling[p] <= 0 {
			return now.Add(w.span)
		}
		in := b.inWindow(w.span, now)
		// The oldest must leave the window until k more fit under the
		// ceiling. Writes in flight leave a span after they are done.
		leave := len(in) + b.inFlightWrites + k - w.ceiling[p]
		if leave <= 0 {
			continue
		}
		var at time.Time
		switch {
		case leave <= len(in):
			at = in[leave-1].Add(w.span)
		case len(in) == 0:
			at = now.Add(w.span + w.span*time.Duration(leave-1)/time.Duration(w.ceiling[p]))
		default:
			// Beyond this window: after its last write leaves, the
			// ceiling's worth of writes a span, spread evenly, so that
			// far-off slots are told apart.
			at = in[len(in)-1].Add(w.span + w.span*time.Duration(leave-len(in))/time.Duration(w.ceiling[p]))
		}
		if at.After(next) {
			next = at
		}
	}
	return next
}

// ahead counts the queued writes that go before one of priority p; the
// caller holds b.mu.
func (b *Budget) ahead(p Priority) int {
	n := 0
	for _, w := range b.queue {
		if w.prio <= p {
			n++
		}
	}
	return n
}

// grant gives a slot; the caller holds b.mu.
func (b *Budget) grant(p Priority) {
	b.inFlightWrites++
	budgetWrites.WithLabelValues(b.credential, p.String()).Inc()
	b.notify()
}

// done ends a write given a slot: it counts from now on for a window's span.
func (b *Budget) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.inFlightWrites--
	b.granted = append(b.granted, now)
	horizon := time.Minute
	for _, w := range b.windows {
		horizon = max(horizon, w.span)
	}
	if kept := b.inWindow(horizon, now); len(kept) < len(b.granted) {
		b.granted = append(b.granted[:0], kept...)
	}
	b.notify()
}

// notify wakes whoever waits for a change; the caller holds b.mu.
func (b *Budget) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// NextSlot is when a write of priority p could go, now or later, behind the
// writes already waiting. The zero time for a nil budget.
func (b *Budget) NextSlot(p Priority) time.Time {
	if b == nil {
		return time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	ahead := b.ahead(p)
	if ahead == 0 && b.fits(p, now) {
		return now
	}
	return b.nextFor(p, now, ahead+1)
}

// Promise is when the caller key (a Release, say) should come back for a
// write of priority p: now when a slot is free, else a slot of its own
// after the slots promised to
// the others that wait, so that many callers waiting for the budget come
// back one after another instead of all at the next slot. A caller asking
// again before its time is told the same slot; once its time came, it is
// told now if the slot is free, or a new one. Promises bind nothing:
// Acquire still decides. The zero time for a nil budget.
func (b *Budget) Promise(p Priority, key string) time.Time {
	if b == nil {
		return time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if at, ok := b.promised[key]; ok && at.After(now) {
		return at
	}
	delete(b.promised, key)
	waiting := 0
	for k, at := range b.promised {
		if !at.After(now) {
			delete(b.promised, k) // its time came and went
			continue
		}
		waiting++
	}
	ahead := b.ahead(p)
	if ahead == 0 && b.fits(p, now) {
		return now
	}
	at := b.nextFor(p, now, ahead+waiting+1)
	if b.promised == nil {
		b.promised = map[string]time.Time{}
	}
	b.promised[key] = at
	return at
}

// Acquire takes a slot for a write of priority p, waiting up to maxWait
// behind the writes of the same or a higher priority that wait already.
// When the slot is further away it returns at once an error that says when
// it is (IsWriteBudget). The caller calls done once GitHub answered the
// write (or it was not sent).
func (b *Budget) Acquire(ctx context.Context, p Priority, maxWait time.Duration) (done func(), err error) {
	start := b.clock.Now()
	b.mu.Lock()
	now := b.clock.Now()
	ahead := b.ahead(p)
	if ahead == 0 && b.fits(p, now) {
		b.grant(p)
		b.mu.Unlock()
		budgetWait.WithLabelValues(p.String()).Observe(0)
		return b.done, nil
	}
	if next := b.nextFor(p, now, ahead+1); next.Sub(now) > maxWait {
		b.mu.Unlock()
		return nil, b.refuse(p, next, now)
	}
	w := &waiter{prio: p, seq: b.seq, ready: make(chan struct{})}
	b.seq++
	i, _ := slices.BinarySearchFunc(b.queue, w, func(a, t *waiter) int {
		if a.prio != t.prio {
			return int(a.prio) - int(t.prio)
		}
		return int(a.seq) - int(t.seq)
	})
	b.queue = slices.Insert(b.queue, i, w)
	b.notify()
	if !b.dispatching {
		b.dispatching = true
		go b.dispatch()
	}
	b.mu.Unlock()

	// Higher priorities that come later may push the slot back: give up
	// when the wait allowed is over.
	deadline := b.clock.NewTimer(maxWait)
	defer deadline.Stop()
	select {
	case <-w.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-deadline.C():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.granted {
		budgetWait.WithLabelValues(p.String()).Observe(b.clock.Since(start).Seconds())
		return b.done, nil
	}
	b.queue = slices.DeleteFunc(b.queue, func(q *waiter) bool { return q == w })
	b.notify()
	if err != nil {
		return nil, err
	}
	now = b.clock.Now()
	return nil, b.refuse(p, b.nextFor(p, now, b.ahead(p)+1), now)
}

// refuse counts a write sent away and says when its slot is.
func (b *Budget) refuse(p Priority, next, now time.Time) error {
	budgetRefusals.WithLabelValues(b.credential, p.String(), "budget").Inc()
	wait := next.Sub(now)
	return &Error{Kind: KindRateLimited, Message: ErrWriteBudget.Error() + ", next slot at " + next.UTC().Format(time.RFC3339),
		RetryAfter: max(time.Second, wait.Round(time.Second)+time.Second), NextSlot: next, err: ErrWriteBudget}
}

// dispatch gives the slots to the queued writes, highest priority first,
// as they open. No write overtakes one that waits before it: when the first
// does not fit, nobody behind it does either (its ceiling is no lower).
func (b *Budget) dispatch() {
	for {
		b.mu.Lock()
		now := b.clock.Now()
		for len(b.queue) > 0 && b.fits(b.queue[0].prio, now) {
			w := b.queue[0]
			b.queue = b.queue[1:]
			w.granted = true
			b.grant(w.prio)
			close(w.ready)
		}
		if len(b.queue) == 0 {
			b.dispatching = false
			b.mu.Unlock()
			return
		}
		wait := b.nextFor(b.queue[0].prio, now, 1).Sub(now)
		changed := b.changed
		b.mu.Unlock()
		b.sleep(context.Background(), now, wait, changed)
	}
}

// sleep waits d from now, or until changed is closed or ctx is done. A clock
// that moved on since now (a test's fake clock) is looked at again at once.
func (b *Budget) sleep(ctx context.Context, now time.Time, d time.Duration, changed <-chan struct{}) {
	t := b.clock.NewTimer(max(d, time.Millisecond))
	defer t.Stop()
	if b.clock.Now().After(now) {
		return
	}
	select {
	case <-ctx.Done():
	case <-t.C():
	case <-changed:
	}
}

// AwaitSlot blocks until a write of priority p would get its slot at once.
// It takes no slot: the write that follows does.
func (b *Budget) AwaitSlot(ctx context.Context, p Priority) error {
	if b == nil {
		return nil
	}
	for {
		b.mu.Lock()
		now := b.clock.Now()
		ahead := b.ahead(p)
		if ahead == 0 && b.fits(p, now) {
			b.mu.Unlock()
			return nil
		}
		wait := b.nextFor(p, now, ahead+1).Sub(now)
		changed := b.changed
		b.mu.Unlock()
		b.sleep(ctx, now, wait, changed)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Block stops every write until now+d: GitHub refused one and said how long
// to wait.
func (b *Budget) Block(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.clock.Now().Add(d); until.After(b.blockedUntil) {
		b.blockedUntil = until
		b.notify()
	}
}

// enter counts a request in flight; the returned func ends it.
func (b *Budget) enter(ctx context.Context) (func(), error) {
	select {
	case b.inFlight <- struct{}{}:
		return func() { <-b.inFlight }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// snapshot is the budget's state for metrics: the slots left per window and
// the writes waiting per priority.
func (b *Budget) snapshot() (available map[string]int, waiting [numPriorities]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	available = map[string]int{}
	for _, w := range b.windows {
		name := "hour"
		if w.span == time.Minute {
			name = "minute"
		}
		available[name] = max(0, w.limit-b.used(w.span, now))
	}
	for _, w := range b.queue {
		waiting[w.prio]++
	}
	return available, waiting
}
