package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
)

// registryResult: pipelines discovering their versions from an OCI
// registry (source.from Registry), each repository holding many tags, read
// every interval once the newest version became a Release. Nothing changes
// while watched: the goal is no full re-listing then.
type registryResult struct {
	Repositories   int     `json:"repositories"`
	Tags           int     `json:"tagsPerRepository"`
	Interval       string  `json:"interval"`
	SetupSeconds   float64 `json:"pushSeconds"`
	FirstSeconds   float64 `json:"untilEveryReleaseSeconds"`
	WatchedSeconds float64 `json:"watchedSeconds"`
	// Polls is how many discoveries the interval makes in the watch.
	Polls float64 `json:"polls"`
	// Requests by kind ("GET tags", "HEAD manifest", "GET ping") while watched.
	Requests        map[string]int64 `json:"registryRequestsWatched"`
	NotModified     int64            `json:"notModifiedWatched"`
	RequestsPerPoll float64          `json:"registryRequestsPerPoll"`
	CPUSeconds      float64          `json:"cpuSecondsWatched"`
	Controller      procStats        `json:"controller"`
}

func runRegistry(ctx context.Context, w *world, o options) (*registryResult, error) {
	n, tags := o.registryRepos, o.registryTags
	progress("registry: %d repositories of %d tags, discovery every %s, watched %s", n, tags, o.registryInterval, o.registryWatch)
	reg := registrytest.New()
	defer reg.Close()
	reg.ServeETags(true)
	ns := "bench-registry"
	apps, err := w.setupApps(ctx, ns, "rg", n, nil, prodTargets{})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := parallel(ctx, n, 8, func(i int) error {
		repo := "bench/" + apps[i].name
		if _, err := reg.PushImage(repo, version(1)); err != nil {
			return err
		}
		for k := 2; k <= tags; k++ {
			if err := reg.Tag(repo, version(1), version(k)); err != nil {
				return err
			}
		}
		// The newest version's release commit, so its Release waits on QA.
		_, err := w.tagRelease(apps[i], tags)
		return err
	}); err != nil {
		return nil, err
	}
	res := &registryResult{Repositories: n, Tags: tags, Interval: o.registryInterval.String(), SetupSeconds: time.Since(start).Seconds()}
	progress("registry: pushed in %.1fs", res.SetupSeconds)
	if err := parallel(ctx, n, 16, func(i int) error {
		p := &releasev1.ReleasePipeline{}
		if err := w.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: apps[i].name}, p); err != nil {
			return err
		}
		p.Spec.Source.From = releasev1.DiscoverRegistry
		p.Spec.Source.Interval = &metav1.Duration{Duration: o.registryInterval}
		p.Spec.Artifacts = []releasev1.PipelineArtifact{{Name: "app", Image: reg.Ref("bench/" + apps[i].name)}}
		return w.k8s.Update(ctx, p)
	}); err != nil {
		return nil, err
	}
	c, err := w.startController(ctx, o, "registry", 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stopController(context.Background(), c) }()
	start = time.Now()
	for {
		var list releasev1.ReleaseList
		if err := w.k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		if len(list.Items) >= n {
			break
		}
		if time.Since(start) > o.timeout {
			w.failed = true
			return nil, fmt.Errorf("%d of %d Releases discovered after %s", len(list.Items), n, o.timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	res.FirstSeconds = time.Since(start).Seconds()
	progress("registry: %d Releases discovered after %.1fs; watching for %s", n, res.FirstSeconds, o.registryWatch)
	reg.ResetCounts()
	cpu0, err := c.stats()
	if err == nil {
		err = sleepCtx(ctx, o.registryWatch)
	}
	if err != nil {
		return nil, err
	}
	cpu1, err := c.stats()
	if err != nil {
		return nil, err
	}
	res.WatchedSeconds = o.registryWatch.Seconds()
	res.Requests, res.NotModified = reg.Counts(), reg.NotModified()
	res.Polls = float64(n) * o.registryWatch.Seconds() / o.registryInterval.Seconds()
	res.RequestsPerPoll = float64(reg.Requests()) / res.Polls
	res.CPUSeconds = cpu1.CPUSeconds - cpu0.CPUSeconds
	if err := w.stopController(ctx, c); err != nil {
		return nil, err
	}
	res.Controller = c.last
	return res, w.clean(ctx, ns)
}
