package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/github/simulator"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// The train phase measures what a token carries under GitHub's secondary
// limits: N services sharing one GitOps repository go dev -> staging -> prod
// together, against a simulator that enforces the limits. It runs without a
// controller, the promotion engine's own code driven directly, twice per
// setting of deployments:
//
//   - liftoff: promotions ready together go through the coalescer (one
//     GraphQL commit per batch), every write through the credential's write
//     budget; GitHub deployment records are queued and written as the
//     budget allows, all of them.
//   - baseline: one commit per promotion through the contents API, as a
//     promotion makes it today, no budget: a refused write waits what GitHub
//     says (reactive back-off); a deployment write refused is dropped, as
//     the controller does today.
//
// With deployments, one service's analysis fails in prod once the token's
// minute is nearly spent: its rollback (a revert commit at rollback
// priority, never coalesced) is timed from the failure to the revert on the
// branch.

const (
	trainToken  = "train-token"
	trainGitOps = "train/gitops"
	trainFrom   = "1.0.0"
	trainTo     = "2.0.0"
	// exhausted is the minute's use of the token (of GitHub's 80) from
	// which the failing analysis is declared.
	exhausted = 60
)

type trainRun struct {
	Mode        string `json:"mode"`
	Deployments bool   `json:"deployments"`
	Promotions  int    `json:"promotions"`
	// Commits are the commits holding promotions (the revert aside).
	Commits             int     `json:"commits"`
	PromotionsPerCommit float64 `json:"promotionsPerCommit"`
	// ContentGenerating counts every content-generating request the
	// simulator admitted: commits, deployments and their statuses, the
	// revert.
	ContentGenerating          int     `json:"contentGenerating"`
	ContentPerPromotion        float64 `json:"contentPerPromotion"`
	PromotionsPerHourPerToken  float64 `json:"promotionsPerHourPerToken"`
	SecondaryRefusals          int     `json:"secondaryRefusals"`
	RefusalsAfterFirstMinute   int     `json:"refusalsAfterFirstMinute"`
	DeploymentRecordsWritten   int     `json:"deploymentRecordsWritten,omitempty"`
	DeploymentRecordsExpected  int     `json:"deploymentRecordsExpected,omitempty"`
	WallSeconds                float64 `json:"wallSeconds"`
	TrainSeconds               float64 `json:"trainSeconds"`
	RollbackSeconds            float64 `json:"rollbackSeconds,omitempty"`
	RollbackMinuteUse          int     `json:"rollbackMinuteUse,omitempty"`
	PromotionsInNoCommit       int     `json:"promotionsInNoCommit"`
	PromotionsInSeveralCommits int     `json:"promotionsInSeveralCommits"`
	// WritesByOperation counts the requests that were not reads, refused
	// ones included.
	WritesByOperation map[string]int `json:"writesByOperation"`
}

type trainResult struct {
	Pipelines int         `json:"pipelines"`
	Stages    int         `json:"stages"`
	JitterMs  float64     `json:"jitterMs"`
	Runs      []*trainRun `json:"runs"`
}

func runTrain(ctx context.Context, o options) (*trainResult, error) {
	res := &trainResult{Pipelines: o.trainPipelines, Stages: len(stageNames), JitterMs: float64(o.trainJitter) / float64(time.Millisecond)}
	for _, deployments := range []bool{false, true} {
		for _, liftoff := range []bool{true, false} {
			r, err := trainOnce(ctx, o, liftoff, deployments)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, r)
		}
	}
	return res, nil
}

// train is one run's world.
type train struct {
	o           options
	liftoff     bool
	deployments bool
	sim         *simulator.Server
	gh          *github.Client
	cs          *promotion.Coalescers
	start       time.Time

	mu        sync.Mutex
	notify    map[string]chan struct{}
	deployIDs map[string]int64
	revertAt  time.Time
	refusedAt []time.Time
	records   atomic.Int64
	recordsWG sync.WaitGroup
}

func trainService(i int) string { return fmt.Sprintf("svc-%03d", i) }

func trainPath(svc, stage string) string { return "envs/" + svc + "/" + stage + "/kustomization.yaml" }

func trainImage(svc string) string { return "ghcr.io/train/" + svc }

func trainOnce(ctx context.Context, o options, liftoff, deployments bool) (*trainRun, error) {
	run := &trainRun{Mode: "baseline", Deployments: deployments, Promotions: o.trainPipelines * len(stageNames)}
	if liftoff {
		run.Mode = "liftoff"
	}
	progress("train: %s, deployments %v: %d services x %d stages under GitHub's secondary limits", run.Mode, deployments, o.trainPipelines, len(stageNames))
	t := &train{o: o, liftoff: liftoff, deployments: deployments, notify: map[string]chan struct{}{}, deployIDs: map[string]int64{}}
	t.sim = simulator.New(simulator.WithSecondaryLimits(simulator.GitHubSecondaryLimits), simulator.WithLatency(o.latency), simulator.WithBranchHook(t.branchMoved))
	defer t.sim.Close()
	t.sim.AddToken(trainToken)
	files := map[string]string{}
	for i := range o.trainPipelines {
		svc := trainService(i)
		for _, st := range stageNames {
			files[trainPath(svc, st)] = kustomization(trainImage(svc), trainFrom)
		}
		if err := t.sim.CreateRepo("train/"+svc, "main"); err != nil {
			return nil, err
		}
		if _, err := t.sim.CommitFiles("train/"+svc, "main", map[string]string{"VERSION": trainTo + "\n"}, "Release "+trainTo); err != nil {
			return nil, err
		}
	}
	if err := t.sim.CreateRepo(trainGitOps, "main"); err != nil {
		return nil, err
	}
	if _, err := t.sim.CommitFiles(trainGitOps, "main", files, "Initial environments"); err != nil {
		return nil, err
	}
	f := &github.Factory{Transport: t.countRefusals(http.DefaultTransport)}
	if liftoff {
		f.WriteBudget = &github.GitHubWriteBudget
	}
	var err error
	if t.gh, err = f.For(t.sim.URL(), trainToken); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.cs = promotion.NewCoalescers(cctx, t.wake)

	t.start = time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := make([][]time.Duration, o.trainPipelines)
	for i := range jitter {
		for range stageNames {
			jitter[i] = append(jitter[i], time.Duration(rng.Int64N(int64(o.trainJitter)+1)))
		}
	}
	var (
		prodLanded = make(chan struct{})
		rollback   = make(chan error, 1)
	)
	if deployments {
		go func() { rollback <- t.rollback(ctx, run, prodLanded) }()
	} else {
		rollback <- nil
	}
	err = parallel(ctx, o.trainPipelines, o.trainPipelines, func(i int) error {
		svc := trainService(i)
		for s, stage := range stageNames {
			if err := sleepCtx(ctx, jitter[i][s]); err != nil {
				return err
			}
			if err := t.promote(ctx, t.request(svc, stage)); err != nil {
				return fmt.Errorf("%s into %s: %w", svc, stage, err)
			}
			failing := i == 0 && s == len(stageNames)-1
			if deployments {
				t.record(ctx, svc, stage, failing)
			}
			if failing {
				close(prodLanded)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	run.TrainSeconds = time.Since(t.start).Seconds()
	if err := <-rollback; err != nil {
		return nil, fmt.Errorf("rollback: %w", err)
	}
	t.recordsWG.Wait()
	run.WallSeconds = time.Since(t.start).Seconds()
	t.measure(run)
	progress("train: %s, deployments %v: %d promotions in %d commits, %d content-generating requests (%.2f per promotion), %d refused, %.1f s",
		run.Mode, deployments, run.Promotions, run.Commits, run.ContentGenerating, run.ContentPerPromotion, run.SecondaryRefusals, run.WallSeconds)
	return run, nil
}

func (t *train) request(svc, stage string) *promotion.Request {
	return &promotion.Request{
		Namespace: "train", Release: svc + "-2-0-0", Application: svc, Stage: stage, Version: trainTo,
		Artifacts: []releasev1.Artifact{{Name: svc, Image: trainImage(svc)}},
		Target: releasev1.Target{Repository: trainGitOps, Branch: "main", Strategy: releasev1.StrategyCommit,
			Files: []releasev1.TargetFile{{Path: trainPath(svc, stage), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: trainImage(svc)}}}},
		Since: t.start,
	}
}

func notifyKey(req *promotion.Request) string { return req.ReleaseKey() + " " + req.Stage }

func (t *train) wake(req *promotion.Request) {
	t.mu.Lock()
	ch := t.notify[notifyKey(req)]
	t.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// promote lands one promotion: through the coalescer (liftoff) or as its
// own commit (baseline). A promotion told to wait, by the budget or by
// GitHub, comes back when told, as a reconcile requeued does.
func (t *train) promote(ctx context.Context, req *promotion.Request) error {
	ch := make(chan struct{}, 1)
	t.mu.Lock()
	t.notify[notifyKey(req)] = ch
	t.mu.Unlock()
	for {
		var err error
		if t.liftoff {
			out, done, serr := t.cs.Submit(t.gh, req)
			if serr != nil {
				return serr
			}
			if !done {
				select {
				case <-ch:
				case <-ctx.Done():
					return ctx.Err()
				}
				continue
			}
			t.cs.For(t.gh, trainGitOps, "main").Forget(req)
			err = out.Err
		} else {
			_, err = promotion.Promote(ctx, t.gh, req)
		}
		if err == nil || !retryable(err) {
			return err
		}
		if err := sleepCtx(ctx, max(github.RetryAfterOf(err), 100*time.Millisecond)); err != nil {
			return err
		}
	}
}

// retryable: told to wait (by the budget or GitHub), or a lost race.
func retryable(err error) bool {
	return github.KindOf(err) == github.KindRateLimited || github.IsConflict(err)
}

// record writes the GitHub deployment of a promotion and its first status
// (in progress while it is verified). The baseline tries each write once, as
// the controller does today; liftoff queues them at record priority and
// writes every one, late if the budget says so.
func (t *train) record(ctx context.Context, svc, stage string, verifying bool) {
	state := github.DeploymentSuccess
	if verifying {
		state = github.DeploymentInProgress
	}
	t.recordWrite(ctx, func(ctx context.Context) error {
		id, err := t.deployment(svc, stage)
		if id == 0 {
			if id, err = t.gh.CreateDeployment(ctx, "train/"+svc, "main", stage, "train/"+svc+"-2-0-0", trainTo, "Liftoff promotes "+svc, stage == "prod"); err != nil {
				return err
			}
			t.records.Add(1)
			t.mu.Lock()
			t.deployIDs[svc+" "+stage] = id
			t.mu.Unlock()
		}
		if err := t.gh.SetDeploymentStatus(ctx, "train/"+svc, id, state, stage, ""); err != nil {
			return err
		}
		t.records.Add(1)
		return nil
	})
}

// fail writes the failure status of a rolled-back deployment, once the
// deployment exists (liftoff writes it late; the baseline may have lost it).
func (t *train) fail(ctx context.Context, svc, stage string) {
	t.recordWrite(ctx, func(ctx context.Context) error {
		id, err := t.deployment(svc, stage)
		if id == 0 {
			return err
		}
		if err := t.gh.SetDeploymentStatus(ctx, "train/"+svc, id, github.DeploymentFailure, "rolled back", ""); err != nil {
			return err
		}
		t.records.Add(1)
		return nil
	})
}

// errNoDeployment: the deployment a status goes to is not written yet.
var errNoDeployment = errors.New("deployment not written yet")

func (t *train) deployment(svc, stage string) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id := t.deployIDs[svc+" "+stage]; id != 0 {
		return id, nil
	}
	return 0, errNoDeployment
}

func (t *train) recordWrite(ctx context.Context, write func(context.Context) error) {
	if !t.liftoff {
		// Refused (or without its deployment, refused before): dropped.
		_ = write(ctx)
		return
	}
	t.recordsWG.Go(func() {
		wctx := github.WithWriteWait(github.WithPriority(ctx, github.PriorityRecord), time.Hour)
		for write(wctx) != nil && ctx.Err() == nil {
			_ = sleepCtx(ctx, 100*time.Millisecond)
		}
	})
}

// rollback waits for the failing service's prod promotion, then for the
// token's minute to be nearly spent (two minutes at most), and rolls it back.
func (t *train) rollback(ctx context.Context, run *trainRun, prodLanded <-chan struct{}) error {
	select {
	case <-prodLanded:
	case <-ctx.Done():
		return ctx.Err()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for t.sim.Usage(trainToken).ContentLastMinute < exhausted && time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	failed := time.Now()
	run.RollbackMinuteUse = t.sim.Usage(trainToken).ContentLastMinute
	svc := trainService(0)
	var from string
	for _, c := range t.sim.Commits(trainGitOps, "main") {
		for _, g := range promotion.TrailerGroups(c.Message) {
			if g[promotion.TrailerRelease] == "train/"+svc+"-2-0-0" && g[promotion.TrailerStage] == "prod" && g[promotion.TrailerAction] == "" {
				from = c.SHA
			}
		}
	}
	if from == "" {
		return errors.New("the failing service's prod commit is not on the branch")
	}
	req := t.request(svc, "prod")
	req.Version = trainFrom
	req.Revert = &promotion.Revert{FromCommit: from, BadVersion: trainTo, Reason: "analysis failed"}
	for {
		_, err := promotion.Promote(ctx, t.gh, req)
		if err == nil {
			break
		}
		if !retryable(err) {
			return err
		}
		if err := sleepCtx(ctx, max(github.RetryAfterOf(err), 100*time.Millisecond)); err != nil {
			return err
		}
	}
	t.mu.Lock()
	run.RollbackSeconds = t.revertAt.Sub(failed).Seconds()
	t.mu.Unlock()
	t.fail(ctx, svc, "prod")
	return nil
}

func (t *train) branchMoved(u simulator.BranchUpdate) {
	if u.Repo != trainGitOps {
		return
	}
	for _, g := range promotion.TrailerGroups(u.Message) {
		if g[promotion.TrailerAction] == promotion.ActionRollback {
			t.mu.Lock()
			if t.revertAt.IsZero() {
				t.revertAt = time.Now()
			}
			t.mu.Unlock()
		}
	}
}

// countRefusals notes when GitHub refused a request for a secondary limit.
func (t *train) countRefusals(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err == nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) {
			t.mu.Lock()
			t.refusedAt = append(t.refusedAt, time.Now())
			t.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// measure reads the run's figures from the simulator: the commits on the
// branch and the promotions each holds, the requests it admitted.
func (t *train) measure(run *trainRun) {
	seen := map[string]int{}
	for _, c := range t.sim.Commits(trainGitOps, "main") {
		promotions := 0
		for _, g := range promotion.TrailerGroups(c.Message) {
			if g[promotion.TrailerRelease] != "" && g[promotion.TrailerAction] == "" {
				seen[g[promotion.TrailerRelease]+" "+g[promotion.TrailerStage]]++
				promotions++
			}
		}
		if promotions > 0 {
			run.Commits++
		}
	}
	for i := range t.o.trainPipelines {
		for _, st := range stageNames {
			switch n := seen["train/"+trainService(i)+"-2-0-0 "+st]; {
			case n == 0:
				run.PromotionsInNoCommit++
			case n > 1:
				run.PromotionsInSeveralCommits++
			}
		}
	}
	st := t.sim.Requests()
	run.ContentGenerating, run.SecondaryRefusals = st.ContentGenerating, st.SecondaryRefusals
	run.WritesByOperation = map[string]int{}
	for op, n := range st.ByOperation {
		if !strings.HasPrefix(op, "GET ") {
			run.WritesByOperation[op] = n
		}
	}
	run.PromotionsPerCommit = float64(run.Promotions) / float64(max(1, run.Commits))
	run.ContentPerPromotion = float64(run.ContentGenerating) / float64(run.Promotions)
	// GitHub allows 500 content-generating requests an hour.
	run.PromotionsPerHourPerToken = 500 / run.ContentPerPromotion
	t.mu.Lock()
	for _, at := range t.refusedAt {
		if at.Sub(t.start) > time.Minute {
			run.RefusalsAfterFirstMinute++
		}
	}
	t.mu.Unlock()
	if t.deployments {
		run.DeploymentRecordsWritten = int(t.records.Load())
		run.DeploymentRecordsExpected = 2*run.Promotions + 1
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
