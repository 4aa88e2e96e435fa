package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// throughputSpec is one run of the throughput workload.
type throughputSpec struct {
	phase, ns           string
	pipelines, releases int
	// shards splits the pipelines between the default shard and shard b,
	// each served by its own controller.
	shards bool
	// prod, when it has targets, rolls prod out in waves.
	prod prodTargets
}

type throughputResult struct {
	Pipelines           int `json:"pipelines"`
	ReleasesPerPipeline int `json:"releasesPerPipeline"`
	Promotions          int `json:"promotions"`
	// ProdTargets and Waves: prod's targets and waves, when it has several
	// targets; TargetWrites counts the targets written (a stage with one
	// target is one).
	ProdTargets         int      `json:"prodTargets,omitempty"`
	Waves               []string `json:"waves,omitempty"`
	TargetWrites        int      `json:"targetWrites,omitempty"`
	WallSeconds         float64  `json:"wallSeconds"`
	PromotionsPerSecond float64  `json:"promotionsPerSecond"`
	// GitHub requests while the Releases moved.
	GitHubRequests             int            `json:"githubRequests"`
	GitHubNotModified          int            `json:"githubNotModified"`
	GitHubRequestsPerPromotion float64        `json:"githubRequestsPerPromotion"`
	GitHubByOperation          map[string]int `json:"githubByOperation"`
	GitHubByStatus             map[int]int    `json:"githubByStatus"`
	// API-server requests of the controllers by method, and the non-GET ones.
	APIRequestsByMethod   map[string]float64 `json:"apiRequestsByMethod"`
	APIWrites             float64            `json:"apiWrites"`
	APIWritesPerPromotion float64            `json:"apiWritesPerPromotion"`
	// GateToCommit: from the QA check turning green to the dev commit.
	GateToCommitP50Ms float64 `json:"gateToCommitP50Ms"`
	GateToCommitP99Ms float64 `json:"gateToCommitP99Ms"`
	GateToCommitMaxMs float64 `json:"gateToCommitMaxMs"`
	// GateToCommitOver1s counts the dev commits that came more than a
	// second after the QA check turned green (a missed webhook waits for
	// the next poll).
	GateToCommitOver1s int                    `json:"gateToCommitOver1s"`
	Controllers        map[string]processFigs `json:"controllers"`
}

// processFigs are a controller process's figures at the end of a phase.
type processFigs struct {
	procStats
	Pipelines int `json:"pipelines,omitempty"`
}

func runThroughput(ctx context.Context, w *world, o options, spec throughputSpec) (*throughputResult, error) {
	progress("%s: %d pipelines x %d releases x 3 stages", spec.phase, spec.pipelines, spec.releases)
	var shard func(int) string
	if spec.shards {
		shard = func(i int) string {
			if i%2 == 1 {
				return "b"
			}
			return ""
		}
	}
	apps, err := w.setupApps(ctx, spec.ns, spec.phase[:2], spec.pipelines, shard, spec.prod)
	if err != nil {
		return nil, err
	}
	wt, err := w.watch(ctx, spec.ns)
	if err != nil {
		return nil, err
	}
	defer wt.stop()

	ctrls := []*controller{}
	defer func() {
		for _, c := range ctrls {
			_ = w.stopController(context.Background(), c)
		}
	}()
	c, err := w.startController(ctx, o, spec.phase+"-default", 0)
	if err != nil {
		return nil, err
	}
	ctrls = append(ctrls, c)
	if spec.shards {
		c, err := w.startController(ctx, o, spec.phase+"-b", 1, "--shard=b")
		if err != nil {
			return nil, err
		}
		ctrls = append(ctrls, c)
	}
	// Let the pipelines settle before counting.
	time.Sleep(2 * time.Second)
	before := make([]metrics, len(ctrls))
	for i, c := range ctrls {
		if before[i], err = c.scrape(); err != nil {
			return nil, err
		}
	}
	w.sim.ResetStats()

	total := spec.pipelines * spec.releases
	run := &releaseRun{green: map[string]time.Time{}}
	start := time.Now()
	stopProgress := run.report(spec.phase, total, start)
	err = parallel(ctx, len(apps), len(apps), func(i int) error {
		return run.releaseOneByOne(ctx, w, wt, apps[i], o, spec.releases)
	})
	stopProgress()
	wall := time.Since(start)
	green := run.green
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.failed = true
		}
		return nil, err
	}

	res := &throughputResult{
		Pipelines: spec.pipelines, ReleasesPerPipeline: spec.releases, Promotions: total * len(stageNames),
		WallSeconds: wall.Seconds(), Controllers: map[string]processFigs{},
	}
	res.PromotionsPerSecond = float64(res.Promotions) / wall.Seconds()
	if spec.prod.n > 0 {
		res.ProdTargets, res.TargetWrites = spec.prod.n, total*(len(stageNames)-1+spec.prod.n)
		for _, wv := range spec.prod.waves {
			res.Waves = append(res.Waves, wv.String())
		}
	}
	st := w.sim.Requests()
	res.GitHubRequests, res.GitHubNotModified = st.Counted, st.NotModified
	res.GitHubByOperation, res.GitHubByStatus = st.ByOperation, st.ByStatus
	res.GitHubRequestsPerPromotion = float64(st.Counted) / float64(res.Promotions)
	res.APIRequestsByMethod = map[string]float64{}
	for i, c := range ctrls {
		after, err := c.scrape()
		if err != nil {
			return nil, err
		}
		byMethod, writes := apiWrites(before[i], after)
		for m, v := range byMethod {
			res.APIRequestsByMethod[m] += v
		}
		res.APIWrites += writes
	}
	res.APIWritesPerPromotion = res.APIWrites / float64(res.Promotions)

	var lat []float64
	for key, g := range green {
		if at, ok := w.commits.get(key, stageNames[0]); ok {
			lat = append(lat, float64(at.Sub(g))/float64(time.Millisecond))
			if at.Sub(g) > time.Second {
				res.GateToCommitOver1s++
			}
		}
	}
	if len(lat) != total {
		progress("%s: %d of %d dev commits seen by the branch hook", spec.phase, len(lat), total)
	}
	res.GateToCommitP50Ms, res.GateToCommitP99Ms, res.GateToCommitMaxMs = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)

	for _, c := range ctrls {
		if err := w.stopController(ctx, c); err != nil {
			return nil, err
		}
		n := 0
		for _, a := range apps {
			if (a.shard == "b") == (c.name == spec.phase+"-b") {
				n++
			}
		}
		res.Controllers[c.name] = processFigs{procStats: c.last, Pipelines: n}
	}
	ctrls = nil
	progress("%s: %d promotions in %s (%.1f/s), %.1f GitHub requests and %.1f API writes per promotion",
		spec.phase, res.Promotions, wall.Round(time.Millisecond), res.PromotionsPerSecond, res.GitHubRequestsPerPromotion, res.APIWritesPerPromotion)
	return res, w.clean(ctx, spec.ns)
}

// quantile of values (nearest rank); 0 when empty.
func quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// releaseRun is what the releases of a throughput run share: when each
// Release's QA turned green, and how many are released.
type releaseRun struct {
	mu    sync.Mutex
	green map[string]time.Time
	done  int
}

// report prints the run's progress every 10 s until the returned func is
// called.
func (r *releaseRun) report(phase string, total int, start time.Time) (stop func()) {
	stopTicker := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopTicker:
				return
			case <-t.C:
				r.mu.Lock()
				n := r.done
				r.mu.Unlock()
				progress("%s: %d/%d releases released after %s", phase, n, total, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(stopTicker) }
}

// releaseOneByOne releases app a's releases one after another: each waits
// on QA, which then turns green, until it is released.
func (r *releaseRun) releaseOneByOne(ctx context.Context, w *world, wt *watcher, a app, o options, releases int) error {
	for k := 1; k <= releases; k++ {
		if _, err := w.tagRelease(a, k); err != nil {
			return err
		}
		rel := a.release(k)
		if err := w.k8s.Create(ctx, rel); err != nil {
			return err
		}
		rs, err := wt.wait(ctx, a, rel.Name, o.timeout, waitingOnQA, func(r *releasev1.Release) bool { return finished(r) || released(r) })
		if err != nil {
			return err
		}
		sha := rs.Status.Commit
		if sha == "" {
			return fmt.Errorf("release %s waits on QA without a resolved commit", rel.Name)
		}
		if o.qaDelay > 0 {
			time.Sleep(o.qaDelay)
		}
		r.mu.Lock()
		r.green[a.ns+"/"+rel.Name] = time.Now()
		r.mu.Unlock()
		w.sim.SetCheckRun(a.source, sha, "qa", "completed", "success")
		if _, err := wt.wait(ctx, a, rel.Name, o.timeout, released, finished); err != nil {
			return err
		}
		r.mu.Lock()
		r.done++
		r.mu.Unlock()
	}
	return nil
}
