package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// Promotions ready at the same time into one repository and branch go into
// one commit: one GraphQL createCommitOnBranch, one content-generating
// request for any number of promotions and files. A Coalescer per
// credential, repository and branch collects them while it waits for a slot
// in the credential's write budget, so batches grow with the pressure on
// GitHub and cost nothing when GitHub is idle.

// CommitGitHub is what coalesced commits need of GitHub.
type CommitGitHub interface {
	oneFile
	GetFile(ctx context.Context, repo, path, ref string) ([]byte, error)
	CommitOnBranch(ctx context.Context, repo, branch, expectedHead string, files map[string][]byte, headline, body string) (string, error)
	AwaitWriteSlot(ctx context.Context, p github.Priority) error
	CommitParent(ctx context.Context, repo, sha string) (string, error)
}

// Outcome is what became of a coalesced promotion: its Result, or the error
// that stopped it (a *TargetError when its own files cannot take it).
type Outcome struct {
	Result *Result
	Err    error
}

// Coalescers hands out one Coalescer per credential (the GitHub client, which
// the github.Factory shares per credential), repository and branch.
type Coalescers struct {
	ctx    context.Context
	onDone func(*Request)
	// ResultTTL is how long an outcome waits to be read (ten minutes when
	// zero). Outcomes are only a cache: a request enqueued again after it
	// expired, or after a restart, finds its promotion in the files and its
	// commit by its trailers.
	ResultTTL time.Duration
	// Clock dates the outcomes and spaces the commits; the real clock when
	// nil.
	Clock clock.Clock
	// MinInterval spaces the commits to one branch: a batch is taken at
	// least this long after the last commit, and what arrives meanwhile
	// joins it. GitHub advises a second between writes of one user; one
	// second when zero. The first commit after a quiet second goes at once.
	MinInterval time.Duration
	// GroupWait is how long the members of a launch (Request.Group) wait
	// for each other: a batch goes once GroupSize of them are pending, or
	// this long after the first arrived, with those that did (the others
	// follow in the next commit). Five seconds when zero.
	GroupWait time.Duration

	mu    sync.Mutex
	byKey map[coalescerKey]*Coalescer
}

type coalescerKey struct {
	gh           CommitGitHub
	repo, branch string
}

// NewCoalescers returns coalescers whose goroutines stop with ctx. onDone,
// when set, is called (from a coalescer's goroutine, without locks held)
// once a request's outcome can be read with Result.
func NewCoalescers(ctx context.Context, onDone func(*Request)) *Coalescers {
	return &Coalescers{ctx: ctx, onDone: onDone, byKey: map[coalescerKey]*Coalescer{}}
}

// For returns the coalescer of gh's credential, repo and branch.
func (cs *Coalescers) For(gh CommitGitHub, repo, branch string) *Coalescer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	k := coalescerKey{gh: gh, repo: repo, branch: branch}
	c := cs.byKey[k]
	if c == nil {
		ttl := cs.ResultTTL
		if ttl <= 0 {
			ttl = 10 * time.Minute
		}
		var clk clock.Clock = clock.RealClock{}
		if cs.Clock != nil {
			clk = cs.Clock
		}
		interval := cs.MinInterval
		if interval <= 0 {
			interval = time.Second
		}
		groupWait := cs.GroupWait
		if groupWait <= 0 {
			groupWait = 5 * time.Second
		}
		c = &Coalescer{ctx: cs.ctx, gh: gh, repo: repo, branch: branch, onDone: cs.onDone, ttl: ttl, clock: clk, interval: interval,
			groupWait: groupWait, inBatch: map[string]bool{}, outcomes: map[string]dated{}, heldSince: map[string]time.Time{},
			arrived: make(chan struct{}, 1)}
		cs.byKey[k] = c
	}
	return c
}

// Submit is what a reconcile calls for a Commit-strategy promotion: the
// outcome when there is one, else the request is enqueued (once) and done
// is false; onDone says when to look again. It never blocks on GitHub.
func (cs *Coalescers) Submit(gh CommitGitHub, req *Request) (out Outcome, done bool, err error) {
	c := cs.For(gh, req.Target.Repository, req.Target.Branch)
	if out, ok := c.Result(req); ok {
		return out, true, nil
	}
	return Outcome{}, false, c.Enqueue(req)
}

// Coalescer commits the promotions into one repository branch that are ready
// together as one commit.
type Coalescer struct {
	ctx          context.Context
	gh           CommitGitHub
	repo, branch string
	onDone       func(*Request)
	ttl          time.Duration
	clock        clock.Clock
	interval     time.Duration
	groupWait    time.Duration
	// arrived wakes run when it waits for a launch's members.
	arrived chan struct{}
	// last is when the last batch was committed (run's goroutine only).
	last time.Time

	mu       sync.Mutex
	pending  []*Request
	inBatch  map[string]bool
	outcomes map[string]dated
	running  bool
	// heldSince is when the first pending request of each launch's group
	// arrived.
	heldSince map[string]time.Time
}

type dated struct {
	Outcome
	at    time.Time
	group string
}

// key names a promotion: a Release's version into a stage.
func key(req *Request) string {
	return req.ReleaseKey() + "|" + req.Stage + "|" + req.Version
}

// Enqueue adds a promotion to the next commit; it returns at once. A request
// already enqueued, being committed or with an outcome to read is not added
// again. Rollbacks and pull requests are not coalesced: Promote makes them.
func (c *Coalescer) Enqueue(req *Request) error {
	switch {
	case req.Revert != nil:
		return errors.New("a rollback is never coalesced: make it with Promote, at rollback priority")
	case req.Target.Strategy == releasev1.StrategyPullRequest:
		return errors.New("a pull-request promotion is not coalesced: make it with Promote")
	case req.Target.Repository != c.repo || req.Target.Branch != c.branch:
		return fmt.Errorf("promotion into %s@%s enqueued for %s@%s", req.Target.Repository, req.Target.Branch, c.repo, c.branch)
	}
	k := key(req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	if _, ok := c.outcomes[k]; ok || c.inBatch[k] {
		return nil
	}
	for _, p := range c.pending {
		if key(p) == k {
			return nil
		}
	}
	c.pending = append(c.pending, req)
	if _, ok := c.heldSince[req.Group]; !ok && req.Group != "" {
		c.heldSince[req.Group] = c.clock.Now()
	}
	select {
	case c.arrived <- struct{}{}:
	default:
	}
	if !c.running {
		c.running = true
		go c.run()
	}
	return nil
}

// Result returns the outcome of req once its commit was made or refused.
func (c *Coalescer) Result(req *Request) (Outcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	o, ok := c.outcomes[key(req)]
	return o.Outcome, ok
}

// Forget drops req's outcome once the caller recorded it.
func (c *Coalescer) Forget(req *Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.outcomes, key(req))
}

// expire drops outcomes nobody read in time; the caller holds c.mu.
func (c *Coalescer) expire() {
	now := c.clock.Now()
	for k, o := range c.outcomes {
		if now.Sub(o.at) > c.ttl {
			delete(c.outcomes, k)
		}
	}
}

// run commits batches until nothing is pending. It waits for a slot of the
// write budget before it takes the batch: what arrives meanwhile joins it.
func (c *Coalescer) run() {
	ctx := github.WithWriteWait(github.WithPriority(c.ctx, github.PriorityCommit), 24*time.Hour)
	for {
		var err error
		if wait := c.interval - c.clock.Since(c.last); wait > 0 {
			select {
			case <-c.clock.After(wait):
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err == nil {
			err = c.gh.AwaitWriteSlot(ctx, github.PriorityCommit)
		}
		c.mu.Lock()
		if len(c.pending) == 0 || err != nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch, until := c.take(c.clock.Now())
		if len(batch) == 0 {
			// Only members of launches whose others are still to come:
			// wait for one to arrive, or for the first of their waits to
			// end.
			c.mu.Unlock()
			select {
			case <-c.arrived:
			case <-c.clock.After(until.Sub(c.clock.Now())):
			case <-ctx.Done():
			}
			continue
		}
		for _, r := range batch {
			c.inBatch[key(r)] = true
		}
		c.mu.Unlock()

		outcomes := c.commit(ctx, batch)
		c.last = c.clock.Now()

		c.mu.Lock()
		now := c.clock.Now()
		for _, r := range batch {
			delete(c.inBatch, key(r))
			c.outcomes[key(r)] = dated{Outcome: outcomes[r], at: now, group: r.Group}
		}
		c.mu.Unlock()
		if c.onDone != nil {
			for _, r := range batch {
				c.onDone(r)
			}
		}
	}
}

// take removes from pending what goes into the next commit: every request
// but the members of a launch's group while fewer of them arrived than
// their GroupSize and their wait is not over. A member whose promotion was
// committed already and whose outcome is still to be read counts as
// arrived (one that came late finds the others landed). until is when the
// first wait of the groups held ends. The caller holds c.mu.
func (c *Coalescer) take(now time.Time) (batch []*Request, until time.Time) {
	arrived, want := map[string]int{}, map[string]int{}
	for _, r := range c.pending {
		if r.Group != "" {
			arrived[r.Group]++
			want[r.Group] = max(want[r.Group], r.GroupSize)
		}
	}
	for _, o := range c.outcomes {
		if _, ok := want[o.group]; ok {
			arrived[o.group]++
		}
	}
	held := map[string]bool{}
	for g, n := range want {
		end := c.heldSince[g].Add(c.groupWait)
		if arrived[g] >= n || !now.Before(end) {
			delete(c.heldSince, g)
			continue
		}
		held[g] = true
		if until.IsZero() || end.Before(until) {
			until = end
		}
	}
	var keep []*Request
	for _, r := range c.pending {
		if held[r.Group] {
			keep = append(keep, r)
		} else {
			batch = append(batch, r)
		}
	}
	c.pending = keep
	return batch, until
}

// planned is a request whose files change in the batch's commit.
type planned struct {
	req      *Request
	previous string
}

// commit lands the batch: one commit for every request whose files take the
// version (a promotion of one file alone goes through the contents API). A request whose file or image entry is missing gets its own
// TargetError and takes no part; one whose files hold the version already
// finds its earlier commit. When someone else moves the branch between the
// read and the commit, it reads again and retries.
func (c *Coalescer) commit(ctx context.Context, batch []*Request) map[*Request]Outcome {
	out := map[*Request]Outcome{}
	if len(batch) == 1 && len(batch[0].Target.Files) == 1 && batch[0].Revert == nil {
		// Alone, and one file: the contents API writes it in one request
		// too, and needs no read of the branch head.
		res, err := promoteOneFile(ctx, c.gh, batch[0])
		if err == nil && !res.Resumed {
			coalescedCommits.Observe(1)
		}
		out[batch[0]] = Outcome{Result: res, Err: err}
		return out
	}
	failAll := func(reqs []*Request, err error) map[*Request]Outcome {
		for _, r := range reqs {
			out[r] = Outcome{Err: err}
		}
		return out
	}
	for attempt := 0; ; attempt++ {
		head, err := c.gh.BranchHead(ctx, c.repo, c.branch)
		if err != nil {
			return failAll(batch, err)
		}
		files, included, landed, err := c.plan(ctx, batch, head, out)
		if err != nil {
			return failAll(batch, err)
		}
		for _, p := range landed {
			res, err := landedBefore(ctx, c.gh, p.req, head, p.previous)
			out[p.req] = Outcome{Result: res, Err: err}
		}
		if len(included) == 0 {
			return out
		}
		headline, body := splitMessage(batchMessage(included))
		sha, err := c.gh.CommitOnBranch(ctx, c.repo, c.branch, head, files, headline, body)
		if err == nil {
			coalescedCommits.Observe(float64(len(included)))
			for _, p := range included {
				out[p.req] = Outcome{Result: &Result{Landed: true, Commit: sha, PreviousVersion: p.previous}}
			}
			return out
		}
		batch = make([]*Request, 0, len(included))
		for _, p := range included {
			batch = append(batch, p.req)
		}
		if !github.IsConflict(err) || attempt+1 >= maxRaces {
			return failAll(batch, err)
		}
		// The branch moved: read the files again from the new head.
	}
}

// plan reads each file of the batch once at head and applies the requests'
// updaters in order. It returns the files that change, the requests they
// carry, and the requests whose files held their version already. Requests
// that cannot be applied get their outcome in out.
func (c *Coalescer) plan(ctx context.Context, batch []*Request, head string, out map[*Request]Outcome) (map[string][]byte, []planned, []planned, error) {
	atHead := map[string][]byte{}
	missing := map[string]bool{}
	for _, r := range batch {
		for _, f := range r.Target.Files {
			if _, ok := atHead[f.Path]; ok || missing[f.Path] {
				continue
			}
			content, err := c.gh.GetFile(ctx, c.repo, f.Path, head)
			switch {
			case github.IsNotFound(err):
				missing[f.Path] = true
			case err != nil:
				return nil, nil, nil, err
			default:
				atHead[f.Path] = content
			}
		}
	}
	working := map[string][]byte{}
	for p, b := range atHead {
		working[p] = b
	}
	var included, landed []planned
	for _, r := range batch {
		next, previous, changed, err := applyAll(r, working, missing, c.repo, c.branch)
		if r.Revert != nil {
			next, previous, changed, err = c.restore(ctx, r, working)
		}
		if err != nil {
			out[r] = Outcome{Err: err}
			continue
		}
		if !changed {
			landed = append(landed, planned{req: r, previous: previous})
			continue
		}
		if err := r.beforeWrite(ctx); err != nil {
			out[r] = Outcome{Err: err}
			continue
		}
		for p, b := range next {
			working[p] = b
		}
		included = append(included, planned{req: r, previous: previous})
	}
	files := map[string][]byte{}
	for p, b := range working {
		if string(b) != string(atHead[p]) {
			files[p] = b
		}
	}
	return files, included, landed, nil
}

// applyAll applies one request's updaters to the working contents, without
// changing them: all of its files or none. It returns the request's new
// contents, the version its first file held, and whether anything changed.
func applyAll(r *Request, working map[string][]byte, missing map[string]bool, repo, branch string) (map[string][]byte, string, bool, error) {
	next := map[string][]byte{}
	previous, changed := "", false
	for _, f := range r.Target.Files {
		content, ok := next[f.Path]
		if !ok {
			content, ok = working[f.Path]
		}
		if !ok || missing[f.Path] {
			return nil, "", false, &TargetError{Path: f.Path, Err: fmt.Errorf("file not found on %s of %s", branch, repo)}
		}
		updated, prev, didChange, err := apply(f, content, r)
		if err != nil {
			return nil, "", false, err
		}
		if previous == "" {
			previous = prev
		}
		changed = changed || didChange
		next[f.Path] = updated
	}
	return next, previous, changed, nil
}

// restore is what a rollback writes back: each of its files as it was at
// the revert's restore point, the bad version as the one it held, and
// whether anything changes.
func (c *Coalescer) restore(ctx context.Context, r *Request, working map[string][]byte) (map[string][]byte, string, bool, error) {
	before, err := r.Revert.restorePoint(ctx, c.gh, c.repo)
	if err != nil {
		return nil, "", false, err
	}
	next := map[string][]byte{}
	changed := false
	for _, f := range r.Target.Files {
		old, err := c.gh.GetFile(ctx, c.repo, f.Path, before)
		if err != nil {
			return nil, "", false, err
		}
		next[f.Path] = old
		changed = changed || string(old) != string(working[f.Path])
	}
	return next, r.Revert.BadVersion, changed, nil
}

// splitMessage cuts a commit message into its headline and its body.
func splitMessage(msg string) (string, string) {
	headline, body, _ := strings.Cut(strings.TrimRight(msg, "\n"), "\n\n")
	return headline, body
}

// CommitTogether writes the requests into repo@branch in one commit, at
// once, and returns each request's outcome: what a wave of a stage's
// targets needs (the targets that share a repository and branch change
// together), without waiting for a coalescer's batch. A request whose
// files hold its version already finds its earlier commit by its trailers,
// so a wave retried after a crash writes each target once. The requests are
// all promotions or all rollbacks (Revert), of the Commit strategy.
func CommitTogether(ctx context.Context, gh CommitGitHub, repo, branch string, reqs []*Request) map[*Request]Outcome {
	p := github.PriorityCommit
	if len(reqs) > 0 && reqs[0].Revert != nil {
		p = github.PriorityRollback
	}
	c := &Coalescer{gh: gh, repo: repo, branch: branch}
	return c.commit(github.WithPriority(ctx, p), reqs)
}
