package github

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// A budget of 10 a minute and 30 an hour keeps 1 slot a minute and 3 an hour
// for rollbacks, as many again for rollbacks and commits: records fill 8 a
// minute and 24 an hour, commits 9 and 27, rollbacks all of it.
func smallBudget(clk *clocktesting.FakeClock) *Budget {
	return NewBudget(WriteBudget{PerMinute: 10, PerHour: 30}, clk, "test")
}

// write takes a slot and answers at once.
func write(b *Budget, p Priority, maxWait time.Duration) error {
	done, err := b.Acquire(context.Background(), p, maxWait)
	if err == nil {
		done()
	}
	return err
}

func TestBudgetPacesByPriority(t *testing.T) {
	type step struct {
		advance time.Duration
		prio    Priority
		n       int // writes that must go at once
		// next is when the write after them may go, from t0.
		next time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"records fill the minute but its reserve", []step{{prio: PriorityRecord, n: 8, next: time.Minute}}},
		{"commits may use the records' reserve", []step{{prio: PriorityRecord, n: 8, next: time.Minute}, {prio: PriorityCommit, n: 1, next: time.Minute}}},
		{"rollbacks may use the whole minute", []step{{prio: PriorityRecord, n: 8}, {prio: PriorityCommit, n: 1}, {prio: PriorityRollback, n: 1, next: time.Minute}}},
		{"merges wait like records", []step{{prio: PriorityRecord, n: 8}, {prio: PriorityMerge, n: 0, next: time.Minute}}},
		{"the minute slides", []step{{prio: PriorityRecord, n: 8}, {advance: 30 * time.Second, prio: PriorityRecord, n: 0, next: time.Minute}, {advance: 30 * time.Second, prio: PriorityRecord, n: 8, next: 2 * time.Minute}}},
		{"records fill the hour but its reserve", []step{
			{prio: PriorityRecord, n: 8}, {advance: time.Minute, prio: PriorityRecord, n: 8}, {advance: time.Minute, prio: PriorityRecord, n: 8, next: time.Hour},
			{advance: time.Minute, prio: PriorityRecord, n: 0, next: time.Hour},
			{prio: PriorityCommit, n: 3, next: time.Hour}, {prio: PriorityRollback, n: 3, next: time.Hour},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			b := smallBudget(clk)
			for i, s := range tc.steps {
				clk.Step(s.advance)
				for w := range s.n {
					if err := write(b, s.prio, 0); err != nil {
						t.Fatalf("step %d: %s write %d: %v", i, s.prio, w+1, err)
					}
				}
				if s.next == 0 {
					continue
				}
				if got := b.NextSlot(s.prio).Sub(t0); got != s.next {
					t.Fatalf("step %d: next %s slot at t0+%s, want t0+%s", i, s.prio, got, s.next)
				}
				err := write(b, s.prio, 0)
				if !IsWriteBudget(err) || KindOf(err) != KindRateLimited || RetryAfterOf(err) < s.next-clk.Since(t0) {
					t.Fatalf("step %d: one more %s write: %v", i, s.prio, err)
				}
			}
		})
	}
}

func TestBudgetServesWaitersByPriorityWithoutOvertaking(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(t0)
	// 4 a minute, 1 reserved: rollbacks 4, commits 3, merges and records 2.
	b := NewBudget(WriteBudget{PerMinute: 4}, clk, "test")
	for range 4 {
		g.Expect(write(b, PriorityRollback, 0)).To(Succeed())
	}
	var mu sync.Mutex
	var served []string
	writers := []struct {
		name string
		prio Priority
	}{{"record A", PriorityRecord}, {"record B", PriorityRecord}, {"merge C", PriorityMerge}, {"commit D", PriorityCommit}, {"rollback E", PriorityRollback}}
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Go(func() {
			if err := write(b, w.prio, 10*time.Minute); err != nil {
				t.Errorf("%s: %v", w.name, err)
				return
			}
			mu.Lock()
			served = append(served, w.name)
			mu.Unlock()
		})
		// Queued in this order.
		g.Eventually(func() int { _, waiting := b.snapshot(); return sum(waiting[:]) }).Should(Equal(i + 1))
	}
	servedNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := append([]string(nil), served...)
		sort.Strings(out)
		return out
	}
	// Each minute frees the slots of the minute before.
	clk.Step(time.Minute)
	g.Eventually(servedNow).Should(Equal([]string{"commit D", "rollback E"}))
	g.Consistently(servedNow, 100*time.Millisecond).Should(HaveLen(2), "the merge waits for its ceiling, and nobody overtakes it")
	clk.Step(time.Minute)
	g.Eventually(servedNow).Should(Equal([]string{"commit D", "merge C", "record A", "rollback E"}))
	clk.Step(time.Minute)
	g.Eventually(servedNow).Should(HaveLen(5))
	wg.Wait()
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func TestBudgetBlocksEveryWriteAsLongAsGitHubSays(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(t0)
	b := smallBudget(clk)
	b.Block(30 * time.Second)
	for _, p := range []Priority{PriorityRollback, PriorityCommit, PriorityRecord} {
		g.Expect(b.NextSlot(p)).To(Equal(t0.Add(30*time.Second)), p.String())
		err := write(b, p, time.Second)
		g.Expect(IsWriteBudget(err)).To(BeTrue(), p.String())
		g.Expect(err.Error()).To(ContainSubstring("waiting for GitHub's write budget, next slot at 2026-03-02T09:00:30Z"))
	}
	done := make(chan error, 1)
	go func() { done <- write(b, PriorityRollback, time.Minute) }()
	g.Eventually(func() int { _, w := b.snapshot(); return w[PriorityRollback] }).Should(Equal(1))
	clk.Step(29 * time.Second)
	g.Consistently(done, 100*time.Millisecond).ShouldNot(Receive())
	clk.Step(time.Second)
	g.Eventually(done).Should(Receive(BeNil()))
}

func TestAwaitSlotTakesNoSlot(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(t0)
	b := smallBudget(clk)
	for range 9 {
		g.Expect(write(b, PriorityCommit, 0)).To(Succeed())
	}
	done := make(chan error, 1)
	go func() { done <- b.AwaitSlot(context.Background(), PriorityCommit) }()
	g.Consistently(done, 100*time.Millisecond).ShouldNot(Receive())
	g.Eventually(clk.HasWaiters).Should(BeTrue())
	clk.Step(time.Minute)
	g.Eventually(done).Should(Receive(BeNil()))
	available, _ := b.snapshot()
	g.Expect(available).To(Equal(map[string]int{"minute": 10, "hour": 21}))
	var nilBudget *Budget
	g.Expect(nilBudget.AwaitSlot(context.Background(), PriorityRecord)).To(Succeed())
	g.Expect(nilBudget.NextSlot(PriorityRecord)).To(BeZero())
}

func TestPriorityFromContext(t *testing.T) {
	ctx := context.Background()
	if PriorityFrom(ctx) != PriorityRecord {
		t.Fatal("an unmarked write is a record")
	}
	if PriorityFrom(WithPriority(ctx, PriorityRollback)) != PriorityRollback {
		t.Fatal("marked rollback")
	}
}

// Callers waiting for the budget together are each told a slot of their
// own, one after another, not all the next one; asking again before its
// time changes nothing, and once its time came a caller is told now.
func TestPromiseSpreadsTheCallersThatWait(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(t0)
	b := smallBudget(clk) // records may fill 8 of the minute's 10
	for i := range 8 {
		if i > 0 {
			clk.Step(5 * time.Second)
		}
		g.Expect(write(b, PriorityRecord, 0)).To(Succeed())
	}
	g.Expect(b.Promise(PriorityRecord, "a")).To(Equal(t0.Add(60 * time.Second)))
	g.Expect(b.Promise(PriorityRecord, "b")).To(Equal(t0.Add(65 * time.Second)))
	g.Expect(b.Promise(PriorityRecord, "a")).To(Equal(t0.Add(60*time.Second)), "the same slot when asked again")
	var told []time.Time
	for i := range 10 {
		told = append(told, b.Promise(PriorityRecord, fmt.Sprint("k", i)))
	}
	for i := 1; i < len(told); i++ {
		g.Expect(told[i]).To(BeTemporally(">", told[i-1]), "each caller a later slot, beyond the window too")
	}
	clk.SetTime(t0.Add(60 * time.Second))
	g.Expect(b.Promise(PriorityRecord, "a")).To(Equal(clk.Now()), "its time came and the slot is free")
	g.Expect(b.Promise(PriorityRecord, "b")).To(Equal(t0.Add(65 * time.Second)))
	var nilBudget *Budget
	g.Expect(nilBudget.Promise(PriorityRecord, "a")).To(BeZero())
}
