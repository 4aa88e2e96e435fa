package promotion_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// launchEnv is an env whose coalescers keep the fake clock.
func launchEnv(t *testing.T) *env {
	e := newEnv(t, 4)
	e.cs.Clock = e.clk
	return e
}

// member is service i's promotion into dev as one of size members of a
// launch promoted together.
func (e *env) member(i, size int) *promotion.Request {
	r := e.request(service(i), "dev", "2.0.0")
	r.Group, r.GroupSize = "team/checkout-launch|dev", size
	return r
}

// submit enqueues reqs; none has an outcome yet.
func (e *env) submit(g Gomega, reqs ...*promotion.Request) {
	for _, r := range reqs {
		_, done, err := e.cs.Submit(e.gh, r)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeFalse())
	}
}

// parked waits until the coalescer waits on the clock: whatever it holds
// is not committed before the clock moves or another request arrives.
func (e *env) parked(g Gomega) {
	g.Eventually(e.clk.HasWaiters).Should(BeTrue())
}

// outcomes waits for n outcomes, moving the clock a second at a time
// whenever the coalescer waits on it when tick is set.
func (e *env) outcomes(g Gomega, n int, tick bool) {
	got := 0
	g.Eventually(func() int {
		for {
			select {
			case <-e.done:
				got++
				continue
			default:
			}
			break
		}
		if tick && got < n && e.clk.HasWaiters() {
			e.clk.Step(time.Second)
		}
		return got
	}).Should(Equal(n))
}

// releasesPerCommit is how many promotions each Liftoff commit carries,
// oldest first.
func (e *env) releasesPerCommit() []int {
	var out []int
	for _, c := range e.liftoffCommits() {
		out = append([]int{strings.Count(c.Message, promotion.TrailerRelease+":")}, out...)
	}
	return out
}

// The members of a launch that become ready for a stage together land in
// one commit however far apart they arrive, and a member that does not
// come holds the others only for GroupWait.
func TestALaunchsMembersWaitForEachOther(t *testing.T) {
	t.Run("every member arrives", func(t *testing.T) {
		g := NewWithT(t)
		e := launchEnv(t)
		e.submit(g, e.member(0, 3))
		e.parked(g)
		g.Expect(e.liftoffCommits()).To(BeEmpty(), "the first member waits for the others")
		e.submit(g, e.member(1, 3))
		e.parked(g)
		g.Expect(e.liftoffCommits()).To(BeEmpty())
		e.submit(g, e.member(2, 3))
		e.outcomes(g, 3, false)
		g.Expect(e.releasesPerCommit()).To(Equal([]int{3}), "one commit for the launch's three members, without the clock moving")
	})
	t.Run("a member never comes", func(t *testing.T) {
		g := NewWithT(t)
		e := launchEnv(t)
		e.submit(g, e.member(0, 3), e.member(1, 3))
		e.parked(g)
		e.clk.Step(5 * time.Second)
		e.outcomes(g, 2, false)
		g.Expect(e.releasesPerCommit()).To(Equal([]int{2}), "those that came go together once the wait is over")
		// The late one finds the others committed: it goes at once, alone.
		e.submit(g, e.member(2, 3))
		e.outcomes(g, 1, true)
		g.Expect(e.releasesPerCommit()).To(Equal([]int{2, 1}))
	})
	t.Run("others are not held", func(t *testing.T) {
		g := NewWithT(t)
		e := launchEnv(t)
		e.submit(g, e.member(0, 2), e.request(service(3), "dev", "2.0.0"))
		e.outcomes(g, 1, false)
		g.Expect(e.releasesPerCommit()).To(Equal([]int{1}), "a Release in no launch goes at once")
		e.submit(g, e.member(1, 2))
		e.outcomes(g, 2, true)
		g.Expect(e.releasesPerCommit()).To(Equal([]int{1, 2}))
	})
}
