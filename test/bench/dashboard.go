package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// dashboardResult: how fast the dashboard shows many Releases, served as
// `kubectl liftoff dashboard` serves it (its own informer cache, from the
// real API server), measured over HTTP.
type dashboardResult struct {
	Releases  int `json:"releases"`
	Pipelines int `json:"pipelines"`
	// StartToFirstViewMs: from starting the dashboard to the first
	// pipelines page served. It serves once the pipelines, calendars,
	// milestones and checklists are listed (ServeMs); FirstViewLoading
	// tells whether that page still said the Releases were loading.
	StartToFirstViewMs float64 `json:"startToFirstViewMs"`
	ServeMs            float64 `json:"serveMs"`
	FirstViewMs        float64 `json:"firstViewMs"`
	FirstViewLoading   bool    `json:"firstViewLoading"`
	PageKiB            float64 `json:"pageKiB"`
	// StartToCompleteViewMs: from starting the dashboard to the pipelines
	// page with every Release, fetched again on the event stream's change
	// as the page's script does; ReleasesListedMs is when the Release
	// informer had listed them.
	StartToCompleteViewMs float64 `json:"startToCompleteViewMs"`
	ReleasesListedMs      float64 `json:"releasesListedMs"`
	CompletePageKiB       float64 `json:"completePageKiB"`
	// ListMs is one plain List of every Release by a client (no cache): what
	// the API server needs to hand them out, the floor of ReleasesListedMs.
	ListMs        float64 `json:"listMs"`
	Requests      int     `json:"requestsPerView"`
	Pipelines50   latency `json:"pipelinesPage"`
	Search        latency `json:"searchPage"`
	Release       latency `json:"releasePage"`
	PipelinesJSON latency `json:"pipelinesJSON"`
}

type latency struct {
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

func runDashboard(ctx context.Context, w *world, o options) (*dashboardResult, error) {
	n, pipelines := o.dashboardReleases, o.dashboardPipelines
	progress("dashboard: %d Releases over %d pipelines", n, pipelines)
	ns := "bench-dashboard"
	apps, err := w.setupApps(ctx, ns, "db", pipelines, nil, prodTargets{})
	if err != nil {
		return nil, err
	}
	per := (n + pipelines - 1) / pipelines
	// Each pipeline: every Release released but its last, which waits in prod.
	err = w.createReleases(ctx, apps, n, func(rel *releasev1.Release, k int) releasev1.ReleaseStatus {
		st := finishedStatus(rel, k)
		if k == per {
			waiting(&st)
		}
		return st
	})
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, pipelines, 16, func(i int) error {
		p := &releasev1.ReleasePipeline{}
		if err := w.k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: apps[i].name}, p); err != nil {
			return err
		}
		now := metav1.Now()
		for _, st := range stageNames {
			p.Status.Stages = append(p.Status.Stages, releasev1.PipelineStageStatus{Name: st, Version: version(per - 1), Release: apps[i].releaseName(per - 1), PromotedAt: &now})
		}
		p.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", LastTransitionTime: now}}
		return w.k8s.Status().Update(ctx, p)
	})
	if err != nil {
		return nil, err
	}

	res := &dashboardResult{Releases: n, Pipelines: pipelines, Requests: 50}
	list := time.Now()
	if err := w.k8s.List(ctx, &releasev1.ReleaseList{}, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	res.ListMs = ms(time.Since(list))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	dashboard.PreferPagedLists() // as kubectl liftoff dashboard does
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	d, err := dashboard.StartLocal(dctx, w.cfg, dashboard.LocalOptions{Listener: ln})
	if err != nil {
		return nil, err
	}
	res.ServeMs = ms(time.Since(start))
	listed := make(chan time.Duration, 1)
	go func() {
		select {
		case <-d.Loaded.Done("release"):
			listed <- time.Since(start)
		case <-dctx.Done():
		}
	}()
	first := time.Now()
	body, err := fetch(d.URL)
	if err != nil {
		return nil, err
	}
	res.FirstViewMs = ms(time.Since(first))
	res.StartToFirstViewMs = ms(time.Since(start))
	res.PageKiB = float64(len(body)) / 1024
	res.FirstViewLoading = loading(body)
	progress("dashboard: first view %.0f ms after start (serving after %.0f ms, page %.0f ms, %.0f KiB, Releases loading: %v)",
		res.StartToFirstViewMs, res.ServeMs, res.FirstViewMs, res.PageKiB, res.FirstViewLoading)
	if body, err = completeView(dctx, d.URL, body); err != nil {
		return nil, err
	}
	res.StartToCompleteViewMs = ms(time.Since(start))
	res.CompletePageKiB = float64(len(body)) / 1024
	res.ReleasesListedMs = ms(<-listed)
	progress("dashboard: complete view %.0f ms after start (Releases listed after %.0f ms, %.0f KiB)",
		res.StartToCompleteViewMs, res.ReleasesListedMs, res.CompletePageKiB)
	for _, m := range []struct {
		url string
		out *latency
	}{
		{d.URL, &res.Pipelines50},
		{d.URL + "?q=" + apps[pipelines/2].name, &res.Search},
		{fmt.Sprintf("%sreleases/%s/%s", d.URL, ns, apps[0].releaseName(per)), &res.Release},
		{d.URL + "api/pipelines", &res.PipelinesJSON},
	} {
		if *m.out, err = measure(m.url, res.Requests); err != nil {
			return nil, err
		}
	}
	stop()
	_ = d.Wait()
	if err := w.clean(ctx, ns); err != nil {
		// The figures stand; a slow delete of 5,000 Releases is not the dashboard's.
		progress("dashboard: cleaning up %s: %v", ns, err)
	}
	return res, nil
}

// loading tells whether a page says that the Releases are still loading.
func loading(page []byte) bool { return bytes.Contains(page, []byte("data-loading=")) }

// completeView waits for the pipelines page at url to have every Release,
// as the page's script does: it follows the event stream, fetching the page
// when the stream opens and on each change, until the page no longer says
// that the Releases are loading.
func completeView(ctx context.Context, url string, page []byte) ([]byte, error) {
	if !loading(page) {
		return page, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"events", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the defer below; the linter loses it in the goroutine
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	changes := make(chan struct{}, 1)
	go func() {
		defer close(changes)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				select {
				case changes <- struct{}{}:
				default: // a fetch is due already
				}
			}
		}
	}()
	for {
		if page, err = fetch(url); err != nil || !loading(page) {
			return page, err
		}
		if _, ok := <-changes; !ok {
			return nil, fmt.Errorf("the event stream ended with the Releases still loading: %w", ctx.Err())
		}
	}
}

// waiting turns a finished status into one waiting for an approval into prod.
func waiting(st *releasev1.ReleaseStatus) {
	st.Phase, st.CurrentStage = releasev1.PhaseBlocked, "prod"
	prod := &st.Stages[len(st.Stages)-1]
	prod.Phase, prod.Promotion = releasev1.StageWaiting, nil
	prod.Gates = append(prod.Gates, releasev1.GateStatus{Name: gates.NameApprovals, Status: releasev1.GatePending, Reason: "AwaitingApproval", Message: "0 of 1 approvals"})
}

func fetch(url string) ([]byte, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return b, err
}

func measure(url string, n int) (latency, error) {
	var ds []float64
	for i := 0; i < n; i++ {
		t := time.Now()
		if _, err := fetch(url); err != nil {
			return latency{}, err
		}
		ds = append(ds, ms(time.Since(t)))
	}
	sort.Float64s(ds)
	return latency{P50Ms: ds[len(ds)/2], P99Ms: ds[(len(ds)*99)/100], MaxMs: ds[len(ds)-1]}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *report) dashboard(x *dashboardResult) {
	r.Phases.Dashboard = x
	r.add("dashboard", "releases", "%d over %d pipelines", x.Releases, x.Pipelines)
	with := "the whole page: the Releases were listed first"
	if x.FirstViewLoading {
		with = "the pipelines' stages, saying the Releases are loading"
	}
	r.add("dashboard", "start to first view", "%.0f ms (serving after %.0f ms, then the page %.0f ms, %.0f KiB: %s)", x.StartToFirstViewMs, x.ServeMs, x.FirstViewMs, x.PageKiB, with)
	r.add("dashboard", "start to complete view", "%.0f ms (Releases listed after %.0f ms, the page fetched on the event stream's change, %.0f KiB)", x.StartToCompleteViewMs, x.ReleasesListedMs, x.CompletePageKiB)
	r.add("dashboard", "one List of every Release", "%.0f ms (a plain client, no cache: the API server's part)", x.ListMs)
	for _, l := range []struct {
		name string
		v    latency
	}{{"pipelines page (25 of them)", x.Pipelines50}, {"search page", x.Search}, {"release page", x.Release}, {"pipelines JSON", x.PipelinesJSON}} {
		r.add("dashboard", l.name, "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d requests)", l.v.P50Ms, l.v.P99Ms, l.v.MaxMs, x.Requests)
	}
}
