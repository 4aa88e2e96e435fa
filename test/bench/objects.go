package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

var stageNames = []string{"dev", "staging", "prod"}

// app is one application: its pipeline, its source repository and its
// files in the phase's shared GitOps repository.
type app struct {
	ns, name string
	source   string // owner/name
	gitops   string
	shard    string
	// prod, when it has targets, makes prod a stage of several targets
	// rolled out in waves.
	prod prodTargets
}

// prodTargets are the targets of a stage rolled out in waves: n of them
// (prod-01, prod-02, ...), in the GitOps repository of the application.
type prodTargets struct {
	n     int
	waves []intstr.IntOrString
}

// targetName is the name of prod's target k (from 0).
func targetName(k int) string { return fmt.Sprintf("prod-%02d", k+1) }

// waveEnds are the ends of prod's waves (see releasev1.Stage.WaveEnds).
func (p prodTargets) waveEnds() ([]int, error) {
	st := releasev1.Stage{Targets: make([]releasev1.StageTarget, p.n), Waves: p.waves}
	return st.WaveEnds()
}

// paths are the files the application's stage writes: one, or one per
// target of prod.
func (a app) paths(stage string) []string {
	if stage != "prod" || a.prod.n == 0 {
		return []string{a.path(stage)}
	}
	out := make([]string, a.prod.n)
	for k := range out {
		out[k] = a.path(targetName(k))
	}
	return out
}

// files are the application's files in the GitOps repository at tag.
func (a app) files(tag string, into map[string]string) {
	for _, st := range stageNames {
		for _, p := range a.paths(st) {
			into[p] = kustomization(a.image(), tag)
		}
	}
}

func (a app) image() string { return "ghcr.io/bench/" + a.name }

func (a app) path(stage string) string { return "envs/" + a.name + "/" + stage + "/kustomization.yaml" }

func kustomization(image, tag string) string {
	return `# Managed by Liftoff: the images entry below is promoted automatically.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../base # shared manifests

images:
  - name: ` + image + `
    newTag: "` + tag + `" # current release
`
}

func (a app) labels() map[string]string {
	if a.shard == "" {
		return nil
	}
	return map[string]string{controllers.ShardLabel: a.shard}
}

// pipeline is three Auto stages committing to the shared GitOps
// repository, each gated by the QA check run on the release commit.
func (a app) pipeline(apiURL string) *releasev1.ReleasePipeline {
	var stages []releasev1.Stage
	target := func(path string) releasev1.Target {
		return releasev1.Target{
			Repository: a.gitops, Branch: "main", Strategy: releasev1.StrategyCommit,
			Files: []releasev1.TargetFile{{Path: path, KustomizeImage: &releasev1.KustomizeImageUpdater{Name: a.image()}}},
		}
	}
	for _, st := range stageNames {
		stage := releasev1.Stage{
			Name:      st,
			Promotion: releasev1.PromotionAuto,
			Gates:     &releasev1.Gates{Checks: &releasev1.ChecksGate{Required: []string{"qa"}}},
		}
		if paths := a.paths(st); st == "prod" && a.prod.n > 0 {
			for k, p := range paths {
				stage.Targets = append(stage.Targets, releasev1.StageTarget{Name: targetName(k), Target: target(p)})
			}
			stage.Waves = a.prod.waves
		} else {
			stage.Target = target(paths[0])
		}
		stages = append(stages, stage)
	}
	return &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: a.ns, Labels: a.labels()},
		Spec: releasev1.ReleasePipelineSpec{
			GitHub: releasev1.GitHubSpec{APIURL: apiURL, SecretRef: &releasev1.LocalObjectReference{Name: "github"}},
			Source: releasev1.SourceSpec{Repository: a.source},
			Stages: stages,
		},
	}
}

func (a app) releaseName(k int) string { return fmt.Sprintf("%s-%d", a.name, k) }

func version(k int) string { return fmt.Sprintf("1.%d.0", k) }

func (a app) release(k int) *releasev1.Release {
	return &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: a.releaseName(k), Namespace: a.ns, Labels: a.labels()},
		Spec: releasev1.ReleaseSpec{Pipeline: a.name, Version: version(k),
			Artifacts: []releasev1.Artifact{{Name: a.name, Image: a.image()}}},
	}
}

// setupApps creates the phase's namespace, GitOps repository (one commit
// holding every application's files at version 1.0.0), the source
// repositories and the pipelines.
// prod gives prod targets (none: one target).
func (w *world) setupApps(ctx context.Context, ns, prefix string, n int, shard func(i int) string, prod prodTargets) ([]app, error) {
	if err := w.namespace(ctx, ns); err != nil {
		return nil, err
	}
	gitops := "bench/" + prefix + "-gitops"
	if err := w.sim.CreateRepo(gitops, "main"); err != nil {
		return nil, err
	}
	apps := make([]app, n)
	files := map[string]string{}
	for i := range apps {
		a := app{ns: ns, name: fmt.Sprintf("%s-%04d", prefix, i), gitops: gitops, prod: prod}
		a.source = "bench/" + a.name
		if shard != nil {
			a.shard = shard(i)
		}
		a.files("1.0.0", files)
		if err := w.sim.CreateRepo(a.source, "main"); err != nil {
			return nil, err
		}
		if _, err := w.sim.CommitFiles(a.source, "main", map[string]string{"VERSION": "1.0.0\n"}, "Initial commit"); err != nil {
			return nil, err
		}
		apps[i] = a
	}
	if _, err := w.sim.CommitFiles(gitops, "main", files, "Initial environments"); err != nil {
		return nil, err
	}
	err := parallel(ctx, n, 16, func(i int) error {
		p := apps[i].pipeline(w.sim.URL() + "/")
		p.Spec.GitHub.Deployments = w.deployments
		return w.k8s.Create(ctx, p)
	})
	return apps, err
}

// tagRelease makes the release commit of version k, tags it and starts its
// QA check run; it returns the commit.
func (w *world) tagRelease(a app, k int) (string, error) {
	sha, err := w.sim.CommitFiles(a.source, "main", map[string]string{"VERSION": version(k) + "\n"}, "Release "+version(k))
	if err != nil {
		return "", err
	}
	if err := w.sim.CreateTag(a.source, "v"+version(k), sha); err != nil {
		return "", err
	}
	w.sim.SetCheckRun(a.source, sha, "qa", "in_progress", "")
	return sha, nil
}

// watcher follows the Releases of a namespace through an informer and
// wakes whoever waits on a pipeline's Releases when one changes.
type watcher struct {
	cache  cache.Cache
	cancel context.CancelFunc
	mu     sync.Mutex
	subs   map[string]chan struct{}
}

func (w *world) watch(ctx context.Context, ns string) (*watcher, error) {
	c, err := cache.New(w.cfg, cache.Options{Scheme: w.scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, err
	}
	wt := &watcher{cache: c, subs: map[string]chan struct{}{}}
	inf, err := c.GetInformer(ctx, &releasev1.Release{})
	if err != nil {
		return nil, err
	}
	notify := func(obj any) {
		if r, ok := obj.(*releasev1.Release); ok {
			select {
			case wt.sub(r.Spec.Pipeline) <- struct{}{}:
			default:
			}
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
	}); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	wt.cancel = cancel
	go func() { _ = c.Start(runCtx) }()
	if !c.WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("release informer of %s does not sync", ns)
	}
	return wt, nil
}

func (wt *watcher) sub(pipeline string) chan struct{} {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	ch := wt.subs[pipeline]
	if ch == nil {
		ch = make(chan struct{}, 1)
		wt.subs[pipeline] = ch
	}
	return ch
}

func (wt *watcher) stop() { wt.cancel() }

// errStuck is a Release that ended where it cannot reach the awaited state.
type errStuck struct{ msg string }

func (e errStuck) Error() string { return e.msg }

// wait returns once the Release satisfies done; it fails when stuck says
// the Release can no longer get there, or after timeout.
func (wt *watcher) wait(ctx context.Context, a app, name string, timeout time.Duration, done, stuck func(*releasev1.Release) bool) (*releasev1.Release, error) {
	ch := wt.sub(a.name)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	r := &releasev1.Release{}
	for {
		err := wt.cache.Get(ctx, types.NamespacedName{Namespace: a.ns, Name: name}, r)
		if err == nil && done(r) {
			return r, nil
		}
		if err == nil && stuck != nil && stuck(r) {
			return r, errStuck{fmt.Sprintf("release %s/%s is %s (%s)", a.ns, name, r.Status.Phase, readyMessage(r))}
		}
		if err != nil && client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return r, fmt.Errorf("release %s/%s: still %s at stage %s after %s (%s)", a.ns, name, r.Status.Phase, r.Status.CurrentStage, timeout, readyMessage(r))
		case <-ch:
		case <-time.After(2 * time.Second):
		}
	}
}

// count counts the cached Releases that satisfy pred.
func (wt *watcher) count(ctx context.Context, pred func(*releasev1.Release) bool) (int, error) {
	var list releasev1.ReleaseList
	if err := wt.cache.List(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if pred(&list.Items[i]) {
			n++
		}
	}
	return n, nil
}

func readyMessage(r *releasev1.Release) string {
	for _, c := range r.Status.Conditions {
		if c.Type == "Ready" {
			return c.Reason + ": " + c.Message
		}
	}
	return "no Ready condition"
}

// waitingOnQA: the first stage holds on its checks gate.
func waitingOnQA(r *releasev1.Release) bool {
	if len(r.Status.Stages) == 0 || r.Status.Stages[0].Phase != releasev1.StageWaiting {
		return false
	}
	for _, g := range r.Status.Stages[0].Gates {
		if g.Name == gates.NameChecks {
			return g.Status == releasev1.GatePending
		}
	}
	return false
}

func released(r *releasev1.Release) bool { return r.Status.Phase == releasev1.PhaseReleased }

// finished: a phase from which the Release will not be Released.
func finished(r *releasev1.Release) bool {
	switch r.Status.Phase {
	case releasev1.PhaseFailed, releasev1.PhaseSuperseded:
		return true
	}
	return false
}

// createReleases creates n Releases spread over apps (Release k of each in
// turn) and writes the status that status gives each.
func (w *world) createReleases(ctx context.Context, apps []app, n int, status func(rel *releasev1.Release, k int) releasev1.ReleaseStatus) error {
	return parallel(ctx, n, 32, func(j int) error {
		a, k := apps[j%len(apps)], j/len(apps)+1
		rel := a.release(k)
		if err := w.k8s.Create(ctx, rel); err != nil {
			return err
		}
		rel.Status = status(rel, k)
		return w.k8s.Status().Update(ctx, rel)
	})
}
