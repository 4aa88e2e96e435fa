package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// The waves phase measures a stage rolled out in waves: one pipeline whose
// prod has -waves-targets targets in -waves waves, every target's file in
// one GitOps repository, each target deployed by its own Argo CD
// Application (the real CRD; the benchmark plays Argo CD: once a target's
// commit lands, its Application turns Progressing, then Synced and Healthy
// at that commit -waves-agent-delay later). The simulator enforces GitHub's
// secondary limits and the controller runs as shipped (the write budget at
// 80 a minute and 500 an hour). -waves-releases Releases go one after
// another, without gates, soak or verify. It reports the commits holding
// each wave's targets (the goal: one per repository), the time from a wave
// deployed (the last of its Applications Healthy) to the next wave's commit
// on the branch (the goal: under 2 s, plus the soak, here none), and the
// controller's CPU.

const (
	wavesGitOps = "waves/gitops"
	// argoNamespace holds the phase's Argo CD Applications.
	argoNamespace = "bench-argocd"
)

type wavesResult struct {
	Targets      int      `json:"targets"`
	Waves        []string `json:"waves"`
	WaveSizes    []int    `json:"waveSizes"`
	Releases     int      `json:"releases"`
	AgentDelayMs float64  `json:"agentDelayMs"`
	// CommitsPerWave: for each wave, the commits holding its targets'
	// promotions, summed over the Releases.
	CommitsPerWave          []int `json:"commitsPerWave"`
	TargetsInNoCommit       int   `json:"targetsInNoCommit"`
	TargetsInSeveralCommits int   `json:"targetsInSeveralCommits"`
	// DeployedToNextCommitMs: for each Release and each wave but the last,
	// from the wave deployed (its last Application written Healthy) to the
	// next wave's commit on the branch.
	DeployedToNextCommitMs []float64 `json:"deployedToNextCommitMs"`
	DeployedToNextP50Ms    float64   `json:"deployedToNextP50Ms"`
	DeployedToNextMaxMs    float64   `json:"deployedToNextMaxMs"`
	// ReleaseSeconds: each Release from its creation until Released.
	ReleaseSeconds    []float64      `json:"releaseSeconds"`
	ContentGenerating int            `json:"contentGenerating"`
	SecondaryRefusals int            `json:"secondaryRefusals"`
	WritesByOperation map[string]int `json:"writesByOperation"`
	Controller        procStats      `json:"controller"`
}

// wavesRun is the phase's world: its simulator, its application and what
// the benchmark's Argo CD saw and did.
type wavesRun struct {
	w     *world
	o     options
	ctx   context.Context
	sim   *githubsim.Server
	a     app
	agent *agenttest.Agent

	mu sync.Mutex
	// committed, commit and deployed are keyed by "namespace/release
	// target": when the target's commit landed, which it is, when its
	// Application was written Healthy.
	committed map[string]time.Time
	commit    map[string]string
	deployed  map[string]time.Time
	agentErr  error
	rollouts  sync.WaitGroup
}

func runWaves(ctx context.Context, w *world, o options) (*wavesResult, error) {
	prod := prodTargets{n: o.wavesTargets, waves: o.prodWaves}
	ends, err := prod.waveEnds()
	if err != nil {
		return nil, fmt.Errorf("-waves-targets %d -waves %s: %w", o.wavesTargets, o.waves, err)
	}
	res := &wavesResult{Targets: prod.n, Releases: o.wavesReleases, AgentDelayMs: float64(o.agentDelay) / float64(time.Millisecond)}
	for j, end := range ends {
		if j < len(prod.waves) {
			res.Waves = append(res.Waves, prod.waves[j].String())
		}
		res.WaveSizes = append(res.WaveSizes, end-prevEnd(ends, j))
	}
	progress("waves: prod of %d targets in waves %s (%v targets), %d releases, under GitHub's secondary limits", prod.n, o.waves, res.WaveSizes, o.wavesReleases)

	crds, err := agenttest.CRDDirectory(".")
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(w.cfg, envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true}); err != nil {
		return nil, fmt.Errorf("installing the Argo CD and Flux CRDs from %s: %w", crds, err)
	}
	r := &wavesRun{w: w, o: o, ctx: ctx, agent: &agenttest.Agent{Client: w.k8s},
		committed: map[string]time.Time{}, commit: map[string]string{}, deployed: map[string]time.Time{}}
	r.sim = githubsim.New(githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits), githubsim.WithLatency(o.latency), githubsim.WithBranchHook(r.branchMoved))
	defer r.sim.Close()
	api := httptest.NewServer(r.sim.Handler())
	defer api.Close()
	r.sim.AddToken(token)

	ns := "bench-waves"
	r.a = wavesApp(ns, o)
	if err := r.setup(ctx, api.URL+"/"); err != nil {
		return nil, err
	}
	defer func() { _ = w.clean(context.Background(), ns) }()
	c, err := w.startController(ctx, o, "waves", 3, "--github-writes-per-minute=80", "--github-writes-per-hour=500")
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.stopController(context.Background(), c) }()
	wt, err := w.watch(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer wt.stop()

	var names []string
	for k := 1; k <= o.wavesReleases; k++ {
		sha, err := r.sim.CommitFiles(r.a.source, "main", map[string]string{"VERSION": version(k) + "\n"}, "Release "+version(k))
		if err != nil {
			return nil, err
		}
		rel := r.a.release(k)
		rel.Spec.Commit = sha
		start := time.Now()
		if err := w.k8s.Create(ctx, rel); err != nil {
			return nil, err
		}
		if _, err := wt.wait(ctx, r.a, rel.Name, o.timeout, released, finished); err != nil {
			w.failed = true
			return nil, err
		}
		res.ReleaseSeconds = append(res.ReleaseSeconds, time.Since(start).Seconds())
		names = append(names, ns+"/"+rel.Name)
		progress("waves: %s released in %.1f s", rel.Name, time.Since(start).Seconds())
	}
	r.rollouts.Wait()
	if err := w.stopController(ctx, c); err != nil {
		return nil, err
	}
	res.Controller = c.last
	if r.agentErr != nil {
		return nil, fmt.Errorf("the benchmark's Argo CD: %w", r.agentErr)
	}

	r.mu.Lock()
	fig := waveFigures(ends, names, r.committed, r.deployed, r.commit)
	r.mu.Unlock()
	res.CommitsPerWave, res.TargetsInNoCommit, res.DeployedToNextCommitMs = fig.commits, fig.missing, fig.gapsMs
	res.DeployedToNextP50Ms, res.DeployedToNextMaxMs = quantile(fig.gapsMs, 0.5), quantile(fig.gapsMs, 1)
	res.TargetsInSeveralCommits = severalCommits(r.sim.Commits(wavesGitOps, "main"))
	st := r.sim.Requests()
	res.ContentGenerating, res.SecondaryRefusals = st.ContentGenerating, st.SecondaryRefusals
	res.WritesByOperation = writeOps(st.ByOperation)
	progress("waves: commits per wave %v, wave deployed -> next wave committed p50 %.0f ms, max %.0f ms, controller CPU %.1f s",
		res.CommitsPerWave, res.DeployedToNextP50Ms, res.DeployedToNextMaxMs, res.Controller.CPUSeconds)
	return res, nil
}

func prevEnd(ends []int, j int) int {
	if j == 0 {
		return 0
	}
	return ends[j-1]
}

// setup creates the repositories (every file at 1.0.0), the namespaces,
// the Applications and the pipeline: dev and staging one target each, prod
// the targets, each deployed by its Application; no gates.
func (r *wavesRun) setup(ctx context.Context, apiURL string) error {
	if err := r.w.namespace(ctx, r.a.ns); err != nil {
		return err
	}
	if err := r.w.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: argoNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, repo := range []string{r.a.source, r.a.gitops} {
		if err := r.sim.CreateRepo(repo, "main"); err != nil {
			return err
		}
	}
	if _, err := r.sim.CommitFiles(r.a.source, "main", map[string]string{"VERSION": "1.0.0\n"}, "Initial commit"); err != nil {
		return err
	}
	files := map[string]string{}
	r.a.files("1.0.0", files)
	if _, err := r.sim.CommitFiles(r.a.gitops, "main", files, "Initial environments"); err != nil {
		return err
	}
	for k, path := range r.a.paths("prod") {
		key := types.NamespacedName{Namespace: argoNamespace, Name: r.a.name + "-" + targetName(k)}
		if err := r.agent.CreateApplication(ctx, key, nil, "https://github.com/"+r.a.gitops, "main", strings.TrimSuffix(path, "/kustomization.yaml")); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return r.createPipeline(ctx, apiURL)
}

// wavesApp is the phase's application in namespace ns.
func wavesApp(ns string, o options) app {
	return app{ns: ns, name: "checkout", source: "waves/checkout", gitops: wavesGitOps, prod: prodTargets{n: o.wavesTargets, waves: o.prodWaves}}
}

// createPipeline creates the application's pipeline: no gates, each prod
// target deployed by its Application.
func (r *wavesRun) createPipeline(ctx context.Context, apiURL string, opts ...client.CreateOption) error {
	p := r.a.pipeline(apiURL)
	p.Spec.GitHub.Deployments = r.w.deployments
	for s := range p.Spec.Stages {
		st := &p.Spec.Stages[s]
		st.Gates = nil
		for k := range st.Targets {
			st.Targets[k].Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{
				Name: r.a.name + "-" + st.Targets[k].Name, Namespace: argoNamespace}}
		}
	}
	if err := r.w.k8s.Create(ctx, p, opts...); err != nil {
		return fmt.Errorf("the pipeline of %d prod targets is refused (run with fewer: -waves-targets): %w", r.a.prod.n, err)
	}
	return nil
}

// checkWaves asks the API server, before any phase runs, whether it takes
// the waves phase's pipeline (a dry run): a refusal then costs seconds, not
// the phases before it.
func checkWaves(ctx context.Context, w *world, o options) error {
	r := &wavesRun{w: w, o: o, a: wavesApp("default", o)}
	return r.createPipeline(ctx, "http://127.0.0.1/", client.DryRunAll)
}

// branchMoved plays Argo CD: each prod target the commit promotes is
// rolled out at that commit.
func (r *wavesRun) branchMoved(u githubsim.BranchUpdate) {
	if u.Repo != wavesGitOps {
		return
	}
	now := time.Now()
	for _, g := range promotion.TrailerGroups(u.Message) {
		stage, target, ok := strings.Cut(g[promotion.TrailerStage], "/")
		if !ok || stage != "prod" || g[promotion.TrailerAction] != "" || g[promotion.TrailerRelease] == "" {
			continue
		}
		key := g[promotion.TrailerRelease] + " " + target
		r.mu.Lock()
		if _, seen := r.committed[key]; !seen {
			r.committed[key], r.commit[key] = now, u.SHA
		}
		r.mu.Unlock()
		r.rollouts.Add(1)
		go r.rollout(key, target, u.SHA)
	}
}

func (r *wavesRun) rollout(key, target, sha string) {
	defer r.rollouts.Done()
	app := types.NamespacedName{Namespace: argoNamespace, Name: r.a.name + "-" + target}
	err := r.agent.Rollout(r.ctx, agents.ApplicationKind.Kind, app, "main", sha, r.o.agentDelay)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.agentErr == nil && !errors.Is(err, context.Canceled) {
			r.agentErr = fmt.Errorf("rolling %s out at %s: %w", app.Name, sha, err)
		}
		return
	}
	if _, seen := r.deployed[key]; !seen {
		r.deployed[key] = time.Now()
	}
}

// waveFigs are the figures of the waves of several Releases.
type waveFigs struct {
	commits []int     // per wave, the commits holding its targets
	missing int       // targets no commit holds
	gapsMs  []float64 // wave deployed -> next wave committed
}

// waveFigures reads, for each Release (namespace/name) and each wave (ends
// as Stage.WaveEnds), the commits that hold its targets and the time from
// its last target deployed to the first commit of the next wave. The maps
// are keyed by "release target".
func waveFigures(ends []int, releases []string, committed, deployed map[string]time.Time, commit map[string]string) waveFigs {
	fig := waveFigs{commits: make([]int, len(ends))}
	for _, rel := range releases {
		var lastDeployed time.Time
		for j, end := range ends {
			shas := map[string]bool{}
			var firstCommitted, wavesLast time.Time
			for k := prevEnd(ends, j); k < end; k++ {
				key := rel + " " + targetName(k)
				sha, ok := commit[key]
				if !ok {
					fig.missing++
					continue
				}
				shas[sha] = true
				if at := committed[key]; firstCommitted.IsZero() || at.Before(firstCommitted) {
					firstCommitted = at
				}
				if at := deployed[key]; at.After(wavesLast) {
					wavesLast = at
				}
			}
			fig.commits[j] += len(shas)
			if j > 0 && !lastDeployed.IsZero() && !firstCommitted.IsZero() {
				fig.gapsMs = append(fig.gapsMs, float64(firstCommitted.Sub(lastDeployed))/float64(time.Millisecond))
			}
			lastDeployed = wavesLast
		}
	}
	return fig
}

// severalCommits counts the prod targets whose promotion (one Release's)
// is in more than one commit.
func severalCommits(commits []githubsim.Commit) int {
	seen := map[string]int{}
	for _, c := range commits {
		for _, g := range promotion.TrailerGroups(c.Message) {
			if strings.HasPrefix(g[promotion.TrailerStage], "prod/") && g[promotion.TrailerAction] == "" {
				seen[g[promotion.TrailerRelease]+" "+g[promotion.TrailerStage]]++
			}
		}
	}
	n := 0
	for _, v := range seen {
		if v > 1 {
			n++
		}
	}
	return n
}
