package main

import (
	"context"
	"fmt"
	"time"
)

// idleResult: Releases held by QA check runs that never finish. Once each
// Release has read its checks, the re-polls are conditional requests whose
// 304 answers GitHub does not count.
type idleResult struct {
	Releases         int            `json:"releases"`
	WatchedSeconds   float64        `json:"watchedSeconds"`
	PollInterval     string         `json:"pollInterval"`
	FirstFetchSecs   float64        `json:"firstFetchSeconds"`
	CountedWhole     int            `json:"githubCountedWholePhase"`
	CountedAfter     int            `json:"githubCountedAfterFirstFetch"`
	NotModifiedAfter int            `json:"githubNotModifiedAfterFirstFetch"`
	ByOperationAfter map[string]int `json:"githubByOperationAfterFirstFetch"`
	// APIWritesAfter: the controller's API-server writes while idle.
	APIWritesAfter   float64            `json:"apiWritesAfterFirstFetch"`
	APIByMethodAfter map[string]float64 `json:"apiRequestsByMethodAfterFirstFetch"`
	// CPUSecondsAfter: the controller's CPU while idle.
	CPUSecondsAfter float64   `json:"cpuSecondsAfterFirstFetch"`
	Controller      procStats `json:"controller"`
}

func runIdle(ctx context.Context, w *world, o options) (*idleResult, error) {
	n := o.idleReleases
	progress("idle: %d releases waiting on QA for %s", n, o.idle)
	ns := "bench-idle"
	// One pipeline per Release: a pipeline moves one Release at a time.
	apps, err := w.setupApps(ctx, ns, "id", n, nil, prodTargets{})
	if err != nil {
		return nil, err
	}
	// The Releases name their commit, as discovery's do: the phase measures
	// the checks, not the tag lookup.
	commits := make([]string, n)
	for i, a := range apps {
		sha, err := w.tagRelease(a, 1)
		if err != nil {
			return nil, err
		}
		commits[i] = sha
	}
	wt, err := w.watch(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer wt.stop()
	c, err := w.startController(ctx, o, "idle", 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stopController(context.Background(), c) }()

	w.sim.ResetStats()
	start := time.Now()
	if err := parallel(ctx, n, 16, func(i int) error {
		rel := apps[i].release(1)
		rel.Spec.Commit = commits[i]
		return w.k8s.Create(ctx, rel)
	}); err != nil {
		return nil, err
	}
	for {
		waiting, err := wt.count(ctx, waitingOnQA)
		if err != nil {
			return nil, err
		}
		if waiting == n {
			break
		}
		if time.Since(start) > o.timeout {
			w.failed = true
			return nil, fmt.Errorf("%d of %d releases wait on QA after %s", waiting, n, o.timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	res := &idleResult{Releases: n, PollInterval: o.pollInterval.String(), FirstFetchSecs: time.Since(start).Seconds()}
	first := w.sim.Requests()
	progress("idle: all %d waiting on QA after %.1fs (%d counted requests); watching for %s", n, res.FirstFetchSecs, first.Counted, o.idle)
	w.sim.ResetStats()
	before, err := c.scrape()
	if err != nil {
		return nil, err
	}
	cpu0, err := c.stats()
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.idle):
	}
	after, err := c.scrape()
	if err != nil {
		return nil, err
	}
	cpu1, err := c.stats()
	if err != nil {
		return nil, err
	}
	st := w.sim.Requests()
	res.WatchedSeconds = o.idle.Seconds()
	res.CountedAfter, res.NotModifiedAfter, res.ByOperationAfter = st.Counted, st.NotModified, st.ByOperation
	res.CountedWhole = first.Counted + st.Counted
	res.APIByMethodAfter, res.APIWritesAfter = apiWrites(before, after)
	res.CPUSecondsAfter = cpu1.CPUSeconds - cpu0.CPUSeconds
	if err := w.stopController(ctx, c); err != nil {
		return nil, err
	}
	res.Controller = c.last
	progress("idle: %d counted and %d not-modified requests after the first fetch", res.CountedAfter, res.NotModifiedAfter)
	return res, w.clean(ctx, ns)
}
