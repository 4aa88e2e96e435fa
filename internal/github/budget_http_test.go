package github

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// The budget against the simulator with GitHub's secondary limits on, both on
// one fake clock, so an hour of GitHub's windows passes in seconds.

const simToken = "budget-token"

type limitedGitHub struct {
	clk  *clocktesting.FakeClock
	sim  *githubsim.Server
	c    *Client
	head string
	// sent lists the content-generating requests in the order they reached
	// the simulator.
	mu   sync.Mutex
	sent []string
}

func newLimitedGitHub(t *testing.T) *limitedGitHub {
	t.Helper()
	l := &limitedGitHub{clk: clocktesting.NewFakeClock(t0)}
	l.sim = githubsim.New(githubsim.WithClock(l.clk.Now), githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits))
	t.Cleanup(l.sim.Close)
	l.sim.AddToken(simToken)
	if err := l.sim.CreateRepo("acme/app", "main"); err != nil {
		t.Fatal(err)
	}
	var err error
	if l.head, err = l.sim.CommitFiles("acme/app", "main", map[string]string{"envs/prod.yaml": "tag: 1\n"}, "init"); err != nil {
		t.Fatal(err)
	}
	logging := roundTrip(func(r *http.Request) (*http.Response, error) {
		if contentGenerating(r) {
			l.mu.Lock()
			l.sent = append(l.sent, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	f := &Factory{Clock: l.clk, Transport: logging, WriteBudget: &GitHubWriteBudget}
	if l.c, err = f.For(l.sim.URL(), simToken); err != nil {
		t.Fatal(err)
	}
	return l
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// record writes a deployment record at priority p, waiting as long as it takes.
func (l *limitedGitHub) record(p Priority, name string) error {
	ctx := WithWriteWait(WithPriority(context.Background(), p), 24*time.Hour)
	_, err := l.c.CreateDeployment(ctx, "acme/app", l.head, "prod", name, "1.0.0", name, true)
	return err
}

// drive moves the fake clock on while anything waits on it, until done.
func (l *limitedGitHub) drive(step time.Duration, done <-chan struct{}) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if l.clk.HasWaiters() {
				l.clk.Step(step)
			}
		}
	}
}

func (l *limitedGitHub) waiting(p Priority) func() int {
	return func() int {
		_, w := l.c.WriteBudget().snapshot()
		return w[p]
	}
}

func TestWriteBudgetKeepsConcurrentWritersUnderGitHubsLimits(t *testing.T) {
	g := NewWithT(t)
	l := newLimitedGitHub(t)
	const writers, each = 30, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for i := range writers {
		wg.Go(func() {
			for j := range each {
				if err := l.record(Priority(i%numPriorities), fmt.Sprintf("w%d-%d", i, j)); err != nil {
					errs <- err
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	l.drive(5*time.Second, done)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := l.sim.Requests()
	g.Expect(st.SecondaryRefusals).To(BeZero(), "GitHub refused none of them")
	g.Expect(st.ContentGenerating).To(Equal(writers * each))
	g.Expect(l.sim.Deployments("acme/app")).To(HaveLen(writers * each))
	g.Expect(l.clk.Since(t0)).To(BeNumerically(">", time.Hour), "600 writes need more than GitHub's 500 an hour")
}

func TestRollbackOvertakesQueuedDeploymentRecords(t *testing.T) {
	g := NewWithT(t)
	l := newLimitedGitHub(t)
	// 15 rollbacks, then 30 s later records until the minute holds their
	// share of it (64 of 80).
	for i := range 15 {
		g.Expect(l.record(PriorityRollback, fmt.Sprint("rollback", i))).To(Succeed())
	}
	l.clk.Step(30 * time.Second)
	for i := range 64 - 15 {
		g.Expect(l.record(PriorityRecord, fmt.Sprint("fill", i))).To(Succeed())
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { g.Expect(l.record(PriorityRecord, fmt.Sprint("queued", i))).To(Succeed()) })
	}
	g.Eventually(l.waiting(PriorityRecord)).Should(Equal(50))

	revert := func() string {
		ctx := WithWriteWait(WithPriority(context.Background(), PriorityRollback), time.Hour)
		head, err := l.c.BranchHead(ctx, "acme/app", "main")
		g.Expect(err).NotTo(HaveOccurred())
		sha, err := l.c.CommitOnBranch(ctx, "acme/app", "main", head, map[string][]byte{"envs/prod.yaml": []byte("tag: 1\n# " + head + "\n")}, "Roll back", "")
		g.Expect(err).NotTo(HaveOccurred())
		return sha
	}
	// The reserve: a rollback goes at once, however many records wait.
	at := l.clk.Now()
	g.Expect(revert()).NotTo(BeEmpty())
	g.Expect(l.clk.Now()).To(Equal(at), "no time passed")
	g.Expect(l.sim.Deployments("acme/app")).To(HaveLen(64), "no queued record went")

	// Rollbacks fill the minute: the next one waits, after 50 records, and
	// goes first when the minute slides.
	for i := range 15 {
		g.Expect(l.record(PriorityRollback, fmt.Sprint("more", i))).To(Succeed())
	}
	l.mu.Lock()
	before := len(l.sent)
	l.mu.Unlock()
	landed := make(chan string, 1)
	go func() { landed <- revert() }()
	g.Eventually(l.waiting(PriorityRollback)).Should(Equal(1))
	g.Consistently(landed, 100*time.Millisecond).ShouldNot(Receive())
	l.clk.Step(30 * time.Second)
	g.Eventually(landed).Should(Receive())
	g.Expect(l.sim.Deployments("acme/app")).To(HaveLen(64+15), "the 50 records still wait")
	l.mu.Lock()
	g.Expect(l.sent[before:]).To(Equal([]string{"POST /graphql"}))
	l.mu.Unlock()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	l.drive(2*time.Second, done)
	g.Expect(l.sim.Deployments("acme/app")).To(HaveLen(64 + 15 + 50))
	g.Expect(l.sim.Requests().SecondaryRefusals).To(BeZero())
}

func TestSecondaryRefusalBlocksEveryWriter(t *testing.T) {
	g := NewWithT(t)
	l := newLimitedGitHub(t)
	// Someone else spent the token's minute: GitHub refuses Liftoff's write.
	l.sim.Inject(githubsim.Fault{Method: "POST", Path: "/deployments$", Status: http.StatusForbidden, Secondary: true, RetryAfter: 40 * time.Second, Times: 1})
	err := l.record(PriorityRecord, "refused")
	g.Expect(KindOf(err)).To(Equal(KindRateLimited))
	g.Expect(IsWriteBudget(err)).To(BeFalse(), "GitHub's own refusal")
	for _, p := range []Priority{PriorityRollback, PriorityCommit, PriorityRecord} {
		g.Expect(l.c.WriteBudget().NextSlot(p)).To(Equal(t0.Add(40*time.Second)), p.String())
	}
	ctx := WithPriority(context.Background(), PriorityRollback)
	_, err = l.c.CommitOnBranch(ctx, "acme/app", "main", l.head, map[string][]byte{"x": []byte("y")}, "Roll back", "")
	g.Expect(KindOf(err)).To(Equal(KindRateLimited), "even a rollback waits as long as GitHub said")
	g.Expect(l.sim.Requests().ContentGenerating).To(BeZero(), "nothing more was sent")
}

func TestWriteFurtherThanItMayWaitReturnsAtOnce(t *testing.T) {
	g := NewWithT(t)
	l := newLimitedGitHub(t)
	for i := range 64 {
		g.Expect(l.record(PriorityRecord, fmt.Sprint("fill", i))).To(Succeed())
	}
	// A reconcile's write: it may wait 2 s, the next slot is a minute away.
	_, err := l.c.CreateDeployment(context.Background(), "acme/app", l.head, "prod", "late", "1.0.0", "late", true)
	g.Expect(IsWriteBudget(err)).To(BeTrue(), "%v", err)
	g.Expect(KindOf(err)).To(Equal(KindRateLimited))
	g.Expect(RetryAfterOf(err)).To(Equal(61 * time.Second))
	g.Expect(err.Error()).To(Equal("github: create deployment: waiting for GitHub's write budget, next slot at 2026-03-02T09:01:00Z"))
	g.Expect(l.sim.Requests().ContentGenerating).To(Equal(64), "nothing was sent")
	_, err = l.c.BranchHead(context.Background(), "acme/app", "main")
	g.Expect(err).NotTo(HaveOccurred(), "reads go on")
	g.Expect(l.c.RateLimitedUntil()).To(BeZero(), "the credential is not blocked")
}
