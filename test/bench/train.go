package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// The train phase measures what a token carries under GitHub's secondary
// limits, with the real controller: N services (a pipeline each) sharing one
// GitOps repository go dev -> staging -> prod together, against a simulator
// that enforces the limits. Each setting of deployments runs twice, each
// time with a fresh simulator and a fresh manager process:
//
//   - liftoff: the manager as shipped: coalesced commits and the write
//     budget (--github-writes-per-minute=80 --github-writes-per-hour=500).
//   - baseline: one commit per promotion, writes unpaced, a refused write
//     waits what GitHub says (--coalesce-commits=false, both budgets 0).
//
// With deployments, the first service verifies prod with an analysis of a
// metric (a real Prometheus scraping a target the benchmark sets) that turns
// bad once the token's minute is nearly spent; the time from then to the
// revert commit on the branch is the rollback's.

const (
	trainGitOps = "train/gitops"
	trainFrom   = "1.0.0"
	trainTo     = "2.0.0"
	// exhausted is the minute's use of the token (of GitHub's 80) from
	// which the analysis is made to fail.
	exhausted = 60
)

type trainRun struct {
	Mode        string `json:"mode"`
	Deployments bool   `json:"deployments"`
	Promotions  int    `json:"promotions"`
	// Commits are the commits holding promotions (the revert aside).
	Commits int `json:"commits"`
	// CommitsPerStage counts, for each stage, the commits holding
	// promotions into it.
	CommitsPerStage map[string]int `json:"commitsPerStage"`
	// Timeline: the commits of promotions, in the order they landed.
	Timeline            []timedCommit `json:"timeline"`
	PromotionsPerCommit float64       `json:"promotionsPerCommit"`
	// ContentGenerating counts every content-generating request the
	// simulator admitted: commits, deployments and their statuses, the
	// revert.
	ContentGenerating    int     `json:"contentGenerating"`
	ContentPerPromotion  float64 `json:"contentPerPromotion"`
	PromotionsPerContent float64 `json:"promotionsPerContent"`
	// PromotionsPerHourPerToken is what GitHub's 500 content-generating
	// requests an hour carry at this cost; MeasuredPerHour the rate the
	// train went at.
	PromotionsPerHourPerToken float64 `json:"promotionsPerHourPerToken"`
	MeasuredPerHour           float64 `json:"measuredPerHour"`
	SecondaryRefusals         int     `json:"secondaryRefusals"`
	RefusalsAfterFirstMinute  int     `json:"refusalsAfterFirstMinute"`
	// TrainSeconds: from the Releases' creation until every promotion
	// landed (the rolled-back service failed); WallSeconds until every
	// GitHub record was written too.
	TrainSeconds float64 `json:"trainSeconds"`
	// LaunchSeconds: from the Releases' creation until their Launch says
	// Released (the group phase).
	LaunchSeconds     float64 `json:"launchSeconds,omitempty"`
	WallSeconds       float64 `json:"wallSeconds"`
	RollbackSeconds   float64 `json:"rollbackSeconds,omitempty"`
	RollbackMinuteUse int     `json:"rollbackMinuteUse,omitempty"`
	// Deployments written, expected (one per promotion), and those whose
	// statuses are not exactly what the promotion says (success once;
	// in_progress then failure, or the failure alone, for the rolled-back
	// one).
	DeploymentsWritten  int `json:"deploymentsWritten,omitempty"`
	DeploymentsExpected int `json:"deploymentsExpected,omitempty"`
	DeploymentsWrong    int `json:"deploymentsWrong,omitempty"`
	// RecordsOwedMax is the most GitHub records the Releases owed at once.
	RecordsOwedMax             int `json:"recordsOwedMax,omitempty"`
	PromotionsInNoCommit       int `json:"promotionsInNoCommit"`
	PromotionsInSeveralCommits int `json:"promotionsInSeveralCommits"`
	// WritesByOperation counts the requests that were not reads, refused
	// ones included.
	WritesByOperation map[string]int `json:"writesByOperation"`
	Controller        procStats      `json:"controller"`
	// Reconciles by controller and the controller's API-server writes,
	// over the whole run.
	Reconciles map[string]float64 `json:"reconciles"`
	APIWrites  float64            `json:"apiWrites"`
}

type trainResult struct {
	Pipelines int         `json:"pipelines"`
	Stages    int         `json:"stages"`
	Runs      []*trainRun `json:"runs"`
}

// train is one run's world.
type train struct {
	w  *world
	o  options
	ns string
	// phase names the run in progress lines and the controller's name:
	// train, or group (the group phase's runs are trains too).
	phase string
	// services is the number of services (pipelines).
	services    int
	liftoff     bool
	deployments bool
	// launch: the Releases are the members of one Launch (the group phase);
	// group: the run is the group phase's, with or without the Launch.
	launch, group bool
	sim           *githubsim.Server
	api           *httptest.Server
	apps          []app
	target        *promtest.Target
	start         time.Time

	mu        sync.Mutex
	revertAt  time.Time
	timeline  []timedCommit
	refusedAt []time.Time
}

func runTrain(ctx context.Context, w *world, o options) (*trainResult, error) {
	res := &trainResult{Pipelines: o.trainPipelines, Stages: len(stageNames)}
	target := promtest.NewTarget(trainTo)
	defer target.Close()
	bin, err := prometheusBinary(ctx)
	if err != nil {
		return nil, err
	}
	prom, err := promtest.Run(bin, filepath.Join(w.dir, "prometheus"), "127.0.0.1:0", 100*time.Millisecond, target.Addr())
	if err != nil {
		return nil, err
	}
	defer prom.Stop()
	k := 0
	for _, deployments := range []bool{false, true} {
		for _, liftoff := range []bool{true, false} {
			k++
			target.Set(trainTo, 0.01)
			t := &train{w: w, o: o, ns: fmt.Sprintf("bench-train-%d", k), phase: "train", services: o.trainPipelines, liftoff: liftoff, deployments: deployments, target: target}
			r, err := t.run(ctx, prom.URL)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, r)
		}
	}
	return res, nil
}

// prometheusBinary is LIFTOFF_PROMETHEUS, or what hack/build-prometheus.sh
// builds (once; it is cached).
func prometheusBinary(ctx context.Context) (string, error) {
	if p := os.Getenv("LIFTOFF_PROMETHEUS"); p != "" {
		return p, nil
	}
	progress("train: building Prometheus (hack/build-prometheus.sh, cached)")
	out, err := exec.CommandContext(ctx, "hack/build-prometheus.sh").Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-prometheus.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (t *train) mode() string {
	switch {
	case t.launch:
		return "launch"
	case t.group:
		return "independent"
	case t.liftoff:
		return "liftoff"
	}
	return "baseline"
}

func (t *train) run(ctx context.Context, promURL string) (*trainRun, error) {
	o := t.o
	run := &trainRun{Mode: t.mode(), Deployments: t.deployments, Promotions: t.services * len(stageNames)}
	progress("%s: %s, deployments %v: %d services x %d stages under GitHub's secondary limits", t.phase, run.Mode, t.deployments, t.services, len(stageNames))
	t.sim = githubsim.New(githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits), githubsim.WithLatency(o.latency), githubsim.WithBranchHook(t.branchMoved))
	defer t.sim.Close()
	// The controller reaches the simulator through this server, which notes
	// when a request is refused for a secondary limit.
	t.api = httptest.NewServer(t.countRefusals(t.sim.Handler()))
	defer t.api.Close()
	t.sim.AddToken(token)
	if err := t.setup(ctx, promURL); err != nil {
		return nil, err
	}
	defer func() { _ = t.w.clean(context.Background(), t.ns) }()

	flags := []string{"--github-writes-per-minute=80", "--github-writes-per-hour=500"}
	if !t.liftoff {
		flags = []string{"--coalesce-commits=false"}
	}
	c, err := t.w.startController(ctx, o, t.phase+"-"+run.Mode, 2, flags...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = t.w.stopController(context.Background(), c) }()
	wt, err := t.w.watch(ctx, t.ns)
	if err != nil {
		return nil, err
	}
	defer wt.stop()
	if t.launch {
		l := t.launchOf()
		if err := t.w.k8s.Create(ctx, l); err != nil {
			return nil, err
		}
		defer func() { _ = t.w.k8s.Delete(context.Background(), l) }()
	}

	t.start = time.Now()
	rollback := make(chan error, 1)
	if t.deployments {
		go func() { rollback <- t.rollback(ctx, wt, run) }()
	} else {
		rollback <- nil
	}
	owed := make(chan int, 1)
	stopCounting := t.countOwed(ctx, wt, owed)
	err = parallel(ctx, len(t.apps), 16, func(i int) error {
		return t.w.k8s.Create(ctx, t.release(t.apps[i]))
	})
	if err == nil {
		err = parallel(ctx, len(t.apps), len(t.apps), func(i int) error {
			_, err := wt.wait(ctx, t.apps[i], t.apps[i].releaseName(1), o.timeout, t.arrived(i), t.stuck(i))
			return err
		})
	}
	if err != nil {
		stopCounting()
		t.w.failed = true
		return nil, err
	}
	run.TrainSeconds = time.Since(t.start).Seconds()
	if t.launch {
		if err := t.launchReleased(ctx, run); err != nil {
			stopCounting()
			t.w.failed = true
			return nil, err
		}
	}
	if err := <-rollback; err != nil {
		stopCounting()
		t.w.failed = true
		return nil, fmt.Errorf("rollback: %w", err)
	}
	// Every record owed is written in the end.
	for {
		n, err := wt.count(ctx, func(r *releasev1.Release) bool { return len(r.Status.PendingRecords) > 0 })
		if err != nil {
			stopCounting()
			return nil, err
		}
		if n == 0 {
			break
		}
		if time.Since(t.start) > o.timeout {
			stopCounting()
			t.w.failed = true
			return nil, fmt.Errorf("%d Releases still owe GitHub records after %s", n, o.timeout)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			stopCounting()
			return nil, err
		}
	}
	run.WallSeconds = time.Since(t.start).Seconds()
	stopCounting()
	run.RecordsOwedMax = <-owed
	if m, err := c.scrape(); err == nil {
		run.Reconciles = m.by("controller_runtime_reconcile_total", "controller")
		_, run.APIWrites = apiWrites(nil, m)
	}
	if err := t.w.stopController(ctx, c); err != nil {
		return nil, err
	}
	run.Controller = c.last
	t.measure(run)
	progress("%s: %s, deployments %v: %d promotions in %d commits, %d content-generating requests (%.2f per promotion), %d refused, train %.1f s, all records %.1f s",
		t.phase, run.Mode, t.deployments, run.Promotions, run.Commits, run.ContentGenerating, run.ContentPerPromotion, run.SecondaryRefusals, run.TrainSeconds, run.WallSeconds)
	return run, nil
}

// setup creates the GitOps repository (every service's files at 1.0.0),
// each service's source repository with its release commit, the namespace
// and the pipelines.
func (t *train) setup(ctx context.Context, promURL string) error {
	if err := t.w.namespace(ctx, t.ns); err != nil {
		return err
	}
	if err := t.sim.CreateRepo(trainGitOps, "main"); err != nil {
		return err
	}
	files := map[string]string{}
	for i := range t.services {
		a := app{ns: t.ns, name: fmt.Sprintf("svc-%03d", i), gitops: trainGitOps}
		a.source = "train/" + a.name
		for _, st := range stageNames {
			files[a.path(st)] = kustomization(a.image(), trainFrom)
		}
		if err := t.sim.CreateRepo(a.source, "main"); err != nil {
			return err
		}
		if _, err := t.sim.CommitFiles(a.source, "main", map[string]string{"VERSION": trainTo + "\n"}, "Release "+trainTo); err != nil {
			return err
		}
		t.apps = append(t.apps, a)
	}
	if _, err := t.sim.CommitFiles(trainGitOps, "main", files, "Initial environments"); err != nil {
		return err
	}
	return parallel(ctx, len(t.apps), 16, func(i int) error {
		return t.w.k8s.Create(ctx, t.pipeline(i, promURL))
	})
}

// pipeline is app i's: three stages without gates; with deployments, the
// first service verifies prod until its metric turns bad.
func (t *train) pipeline(i int, promURL string) *releasev1.ReleasePipeline {
	a := t.apps[i]
	p := a.pipeline(t.api.URL + "/")
	p.Spec.GitHub.Deployments = releasev1.DeploymentsDisabled
	for s := range p.Spec.Stages {
		p.Spec.Stages[s].Gates = nil
	}
	if t.deployments {
		p.Spec.GitHub.Deployments = releasev1.DeploymentsEnabled
		if i == 0 {
			prod := &p.Spec.Stages[len(p.Spec.Stages)-1]
			prod.OnFailure = releasev1.FailureRollback
			prod.Verify = &releasev1.Verify{Analysis: releasev1.AnalysisSpec{
				InitialDelay: &metav1.Duration{}, Interval: &metav1.Duration{Duration: time.Second}, Count: 1000, ConsecutiveErrorLimit: 10,
				Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: `max(demo_error_ratio{version="{{ .Version }}"})`,
					SuccessCondition: "result < 0.05", NoData: "Inconclusive"}},
			}}
			p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: promURL}
		}
	}
	return p
}

// launchOf is the Launch whose members are every service's Release.
func (t *train) launchOf() *releasev1.Launch {
	l := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: t.ns}}
	for _, a := range t.apps {
		l.Spec.Members = append(l.Spec.Members, a.releaseName(1))
	}
	return l
}

// launchReleased waits until the Launch says its members are released.
func (t *train) launchReleased(ctx context.Context, run *trainRun) error {
	l := &releasev1.Launch{}
	for {
		if err := t.w.k8s.Get(ctx, types.NamespacedName{Namespace: t.ns, Name: "bench"}, l); err != nil {
			return err
		}
		if l.Status.Phase == releasev1.LaunchReleased {
			run.LaunchSeconds = time.Since(t.start).Seconds()
			return nil
		}
		if time.Since(t.start) > t.o.timeout {
			return fmt.Errorf("launch %s/bench is %s after %s (%s)", t.ns, l.Status.Phase, t.o.timeout, l.Status.Holder)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func (t *train) release(a app) *releasev1.Release {
	rel := a.release(1)
	rel.Spec.Version = trainTo
	sha, _ := t.sim.BranchHead(a.source, "main")
	rel.Spec.Commit = sha
	return rel
}

// arrived: app i's Release is where the train takes it: released, or, for
// the service rolled back, failed.
func (t *train) arrived(i int) func(*releasev1.Release) bool {
	if t.deployments && i == 0 {
		return func(r *releasev1.Release) bool { return r.Status.Phase == releasev1.PhaseFailed }
	}
	return released
}

func (t *train) stuck(i int) func(*releasev1.Release) bool {
	if t.deployments && i == 0 {
		return func(r *releasev1.Release) bool { return r.Status.Phase == releasev1.PhaseReleased }
	}
	return finished
}

// countOwed samples the records the Releases owe until stopped, and sends
// the most seen.
func (t *train) countOwed(ctx context.Context, wt *watcher, out chan<- int) (stop func()) {
	done := make(chan struct{})
	go func() {
		most := 0
		defer func() { out <- most }()
		for {
			var list releasev1.ReleaseList
			if err := wt.cache.List(ctx, &list); err == nil {
				n := 0
				for _, r := range list.Items {
					n += len(r.Status.PendingRecords)
				}
				most = max(most, n)
			}
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// rollback waits for the first service to verify prod, then for the token's
// minute to be nearly spent (two minutes at most), and turns its metric bad:
// the rollback is timed from then to its revert commit on the branch.
func (t *train) rollback(ctx context.Context, wt *watcher, run *trainRun) error {
	a := t.apps[0]
	verifying := func(r *releasev1.Release) bool {
		ss := r.Status.StageStatus("prod")
		return ss != nil && ss.Phase == releasev1.StageVerifying
	}
	if _, err := wt.wait(ctx, a, a.releaseName(1), t.o.timeout, verifying, finished); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for t.sim.Usage(token).ContentLastMinute < exhausted && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	run.RollbackMinuteUse = t.sim.Usage(token).ContentLastMinute
	failed := time.Now()
	t.target.Set(trainTo, 0.30)
	for {
		t.mu.Lock()
		at := t.revertAt
		t.mu.Unlock()
		if !at.IsZero() {
			run.RollbackSeconds = at.Sub(failed).Seconds()
			return nil
		}
		if time.Since(failed) > t.o.timeout {
			return errors.New("no revert commit")
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func (t *train) branchMoved(u githubsim.BranchUpdate) {
	if u.Repo != trainGitOps {
		return
	}
	now := time.Now()
	landed := timedCommit{Promotions: map[string]int{}}
	for _, g := range promotion.TrailerGroups(u.Message) {
		if g[promotion.TrailerAction] == promotion.ActionRollback {
			t.mu.Lock()
			if t.revertAt.IsZero() {
				t.revertAt = now
			}
			t.mu.Unlock()
		}
		if g[promotion.TrailerRelease] != "" && g[promotion.TrailerAction] == "" {
			landed.Promotions[g[promotion.TrailerStage]]++
		}
	}
	if len(landed.Promotions) > 0 {
		t.mu.Lock()
		landed.AtSeconds = now.Sub(t.start).Seconds()
		t.timeline = append(t.timeline, landed)
		t.mu.Unlock()
	}
}

// timedCommit is a commit of promotions: when it landed, from the Releases'
// creation, and how many promotions into each stage it holds.
type timedCommit struct {
	AtSeconds  float64        `json:"atSeconds"`
	Promotions map[string]int `json:"promotions"`
}

// String is "1.52 s dev 19".
func (c timedCommit) String() string {
	parts := []string{strconv.FormatFloat(c.AtSeconds, 'f', 2, 64) + " s"}
	for _, st := range sortedKeys(c.Promotions) {
		parts = append(parts, fmt.Sprintf("%s %d", st, c.Promotions[st]))
	}
	return strings.Join(parts, " ")
}

// countRefusals notes when the simulator refused a request for a secondary
// limit.
func (t *train) countRefusals(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusForbidden || rec.status == http.StatusTooManyRequests {
			t.mu.Lock()
			t.refusedAt = append(t.refusedAt, time.Now())
			t.mu.Unlock()
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// measure reads the run's figures from the simulator: the commits on the
// branch and the promotions each holds, the requests it admitted, the
// deployments and their statuses.
func (t *train) measure(run *trainRun) {
	seen := map[string]int{}
	run.CommitsPerStage = map[string]int{}
	for _, c := range t.sim.Commits(trainGitOps, "main") {
		promotions := 0
		stages := map[string]bool{}
		for _, g := range promotion.TrailerGroups(c.Message) {
			if g[promotion.TrailerRelease] != "" && g[promotion.TrailerAction] == "" {
				seen[g[promotion.TrailerRelease]+" "+g[promotion.TrailerStage]]++
				stages[g[promotion.TrailerStage]] = true
				promotions++
			}
		}
		if promotions > 0 {
			run.Commits++
		}
		for st := range stages {
			run.CommitsPerStage[st]++
		}
	}
	for _, a := range t.apps {
		for _, st := range stageNames {
			switch n := seen[a.ns+"/"+a.releaseName(1)+" "+st]; {
			case n == 0:
				run.PromotionsInNoCommit++
			case n > 1:
				run.PromotionsInSeveralCommits++
			}
		}
	}
	st := t.sim.Requests()
	run.ContentGenerating, run.SecondaryRefusals = st.ContentGenerating, st.SecondaryRefusals
	run.WritesByOperation = writeOps(st.ByOperation)
	run.PromotionsPerCommit = float64(run.Promotions) / float64(max(1, run.Commits))
	run.ContentPerPromotion = float64(run.ContentGenerating) / float64(run.Promotions)
	run.PromotionsPerContent = float64(run.Promotions) / float64(max(1, run.ContentGenerating))
	// GitHub allows 500 content-generating requests an hour.
	run.PromotionsPerHourPerToken = 500 / run.ContentPerPromotion
	run.MeasuredPerHour = float64(run.Promotions) / run.TrainSeconds * 3600
	t.mu.Lock()
	run.Timeline = append([]timedCommit(nil), t.timeline...)
	for _, at := range t.refusedAt {
		if at.Sub(t.start) > time.Minute {
			run.RefusalsAfterFirstMinute++
		}
	}
	t.mu.Unlock()
	if !t.deployments {
		return
	}
	run.DeploymentsExpected = run.Promotions
	for i, a := range t.apps {
		for _, d := range t.sim.Deployments(a.source) {
			run.DeploymentsWritten++
			var states []string
			for _, s := range d.Statuses {
				states = append(states, s.State)
			}
			got, ok := strings.Join(states, ">"), false
			if i == 0 && d.Environment == "prod" {
				// The rolled-back one: its in_progress may still be owed
				// when the failure comes, which replaces it (GitHub shows a
				// deployment's latest status).
				ok = got == "in_progress>failure" || got == "failure"
			} else {
				ok = got == "success"
			}
			if !ok {
				run.DeploymentsWrong++
				progress("train: deployment %d (%s, %s) has the statuses %q", d.ID, a.name, d.Environment, got)
			}
		}
	}
}

// writeOps are the operations of ops that are not reads.
func writeOps(ops map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range ops {
		if !strings.HasPrefix(op, "GET ") {
			out[op] = n
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
