// Package controllers holds one reconciler per Liftoff kind.
package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/release"
)

// pipelineIndex indexes Releases by spec.pipeline.
const pipelineIndex = "spec.pipeline"

// ReleaseReconciler adapts the release engine (internal/release) to
// controller-runtime: it fetches a Release, runs the engine's steps, writes
// the status each step computed with optimistic locking, and announces what
// changed in events and metrics.
type ReleaseReconciler struct {
	client.Client
	// Engine runs the Release's steps.
	Engine   *release.Engine
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	// MaxConcurrentReconciles bounds parallel reconciles.
	MaxConcurrentReconciles int
	// metrics records the Release's phase, gates and promotions.
	metrics *releaseMetrics
	// replaced remembers, per Release, the resourceVersions its status
	// writes replaced since the cache last showed a later one: a cached copy
	// at any of them is older than what this controller wrote, and acting on
	// it would redo a step (and its GitHub requests, a deployment status
	// among them) only to lose the write to a conflict.
	replaced writtenOver
	// Coalesced wakes a Release whose coalesced commit was made (the
	// engine's coalescers send to it).
	Coalesced <-chan event.GenericEvent
	// Deployments wakes the Releases waiting on a GitOps agent's object
	// when it changes (agents.Watcher.Source).
	Deployments source.Source
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases;releasepipelines,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases/status;releasepipelines/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasecalendars;milestones;launchchecklists;launches,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler.
func (r *ReleaseReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &releasev1.Release{}, pipelineIndex, func(o client.Object) []string {
		return []string{o.(*releasev1.Release).Spec.Pipeline}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &releasev1.ReleasePipeline{}, calendarIndex, func(o client.Object) []string {
		if ref := o.(*releasev1.ReleasePipeline).Spec.CalendarRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &releasev1.Release{}, checklistIndex, func(o client.Object) []string {
		if n := o.(*releasev1.Release).Spec.LaunchChecklist; n != "" {
			return []string{n}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, o := range []client.Object{&releasev1.Release{}, &releasev1.ReleasePipeline{}} {
		if err := mgr.GetFieldIndexer().IndexField(ctx, o, requiresIndex, requiredPipelines); err != nil {
			return err
		}
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.metrics == nil {
		r.metrics = newReleaseMetrics(metrics.Registry)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.Release{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}), r.Shard.Predicate())).
		Watches(&releasev1.ReleasePipeline{}, r.pipelineEvents()).
		// What a pipeline runs wakes the Releases that require it.
		Watches(&releasev1.ReleasePipeline{}, handler.EnqueueRequestsFromMapFunc(r.releasesRequiring), builder.WithPredicates(liveChanged)).
		// Where a Release stands is what those waiting on its pipeline say of it.
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.releasesRequiringPipelineOf), builder.WithPredicates(standingChanged)).
		// A member's move wakes the other members of its launch.
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.otherMembersOf), builder.WithPredicates(memberMoved)).
		Watches(&releasev1.Launch{}, handler.EnqueueRequestsFromMapFunc(r.membersOfLaunch), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&releasev1.ReleaseCalendar{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfCalendar), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A milestone writes its status at every poll; only its spec and its
		// blockers matter to the gates.
		Watches(&releasev1.Milestone{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfMilestone),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, blockersChanged))).
		Watches(&releasev1.LaunchChecklist{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfChecklist)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.MaxConcurrentReconciles)}).
		Named("release")
	if r.Coalesced != nil {
		b = b.WatchesRawSource(source.Channel(r.Coalesced, &handler.EnqueueRequestForObject{}))
	}
	if r.Deployments != nil {
		b = b.WatchesRawSource(r.Deployments)
	}
	return b.Complete(r)
}

// pipelineEvents maps a pipeline change to its Releases. A new, deleted or
// respecified pipeline concerns all of them. A status change (a stage taken,
// landed in or freed) concerns only those that may still act on it: a Failed
// or Superseded Release never moves again, and a pipeline collects many of
// them over time, so they are left alone.
func (r *ReleaseReconciler) pipelineEvents() handler.EventHandler {
	all := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		r.enqueueReleasesOf(ctx, o, true, q)
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() {
				all(ctx, e.ObjectNew, q)
				return
			}
			writers := pipelineWriters(e.ObjectOld, e.ObjectNew)
			for _, req := range r.releasesOf(ctx, e.ObjectNew, false) {
				if !writers[req.Name] {
					q.Add(req)
				}
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, e.Object, q)
		},
	}
}

// pipelineWriters names the Releases that made a pipeline status change: the
// one that took a stage, and the one that landed in the stage it held. They
// go on in their own reconcile; waking them again would only repeat it.
func pipelineWriters(oldObj, newObj client.Object) map[string]bool {
	old, okOld := oldObj.(*releasev1.ReleasePipeline)
	cur, okNew := newObj.(*releasev1.ReleasePipeline)
	writers := map[string]bool{}
	if !okOld || !okNew {
		return writers
	}
	for _, ps := range cur.Status.Stages {
		was := old.Status.StageStatus(ps.Name)
		if ps.InFlight != nil && (was == nil || was.InFlight == nil || was.InFlight.Release != ps.InFlight.Release) {
			writers[ps.InFlight.Release] = true
		}
		if was != nil && was.InFlight != nil && was.InFlight.Release == ps.Release && was.Release != ps.Release {
			writers[ps.Release] = true
		}
	}
	return writers
}

func (r *ReleaseReconciler) enqueueReleasesOf(ctx context.Context, pipe client.Object, all bool, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for _, req := range r.releasesOf(ctx, pipe, all) {
		q.Add(req)
	}
}

// releasesOf lists the Releases of a pipeline: all of them, or only those
// that may still act (neither Failed nor Superseded).
func (r *ReleaseReconciler) releasesOf(ctx context.Context, pipe client.Object, all bool) []reconcile.Request {
	var list releasev1.ReleaseList
	if err := r.List(ctx, &list, client.InNamespace(pipe.GetNamespace()), client.MatchingFields{pipelineIndex: pipe.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing releases of pipeline", "pipeline", klog.KObj(pipe))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		rel := &list.Items[i]
		if !all && (rel.Status.Phase == releasev1.PhaseFailed || rel.Status.Phase == releasev1.PhaseSuperseded) {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}})
	}
	return out
}

// cacheLag is how long a reconcile that read an older copy than the
// controller wrote waits for the cache to catch up.
const cacheLag = 5 * time.Millisecond

// writtenOver remembers, per object, the resourceVersions this controller's
// writes replaced since the cache last showed a later copy. One reconcile
// may write a Release several times (a step that goes on from what it
// wrote): a cache that lags behind all of those writes still holds the
// first one's old version, not only the last one's, and that copy is as
// stale. An object's versions follow one another, and every write replaces
// the one before it (optimistic locking), so a copy at none of them is at
// least as new as the last write, or someone else's later one.
type writtenOver struct {
	mu   sync.Mutex
	objs map[types.NamespacedName]map[string]bool
}

// wrote records that a write replaced version rv of key.
func (w *writtenOver) wrote(key types.NamespacedName, rv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.objs == nil {
		w.objs = map[types.NamespacedName]map[string]bool{}
	}
	if w.objs[key] == nil {
		w.objs[key] = map[string]bool{}
	}
	w.objs[key][rv] = true
}

// stale reports whether a copy of key at version rv is older than a write
// of this controller; a copy that is not forgets the versions written over.
func (w *writtenOver) stale(key types.NamespacedName, rv string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.objs[key][rv] {
		return true
	}
	delete(w.objs, key)
	return false
}

// forget drops what was remembered of key (deleted).
func (w *writtenOver) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.objs, key)
}

// blockersChanged passes a Milestone update whose open blockers changed.
var blockersChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	old, okOld := e.ObjectOld.(*releasev1.Milestone)
	cur, okNew := e.ObjectNew.(*releasev1.Milestone)
	return !okOld || !okNew || old.Status.BlockerCount != cur.Status.BlockerCount ||
		!equality.Semantic.DeepEqual(old.Status.Blockers, cur.Status.Blockers)
}}

// Reconcile fetches the Release and lets the engine run its steps; it writes
// the status after each step that asks for it, with optimistic locking,
// whatever the step returned, then announces what was recorded.
func (r *ReleaseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rel := &releasev1.Release{}
	if err := r.Get(ctx, req.NamespacedName, rel); err != nil {
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.Namespace, req.Name)
			r.replaced.forget(req.NamespacedName)
			r.Engine.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !rel.DeletionTimestamp.IsZero() || !r.Shard.Owns(rel) {
		return ctrl.Result{}, nil
	}
	if r.replaced.stale(req.NamespacedName, rel.ResourceVersion) {
		return lreconcile.WaitFor(cacheLag, lreconcile.WaitCache).Result(r.Clock.Now()), nil
	}
	out, err := r.Engine.Reconcile(ctx, rel, func(ctx context.Context, before, after *releasev1.Release) (bool, error) {
		conflict, err := patchStatus(ctx, r.Client, before, after)
		if conflict || err != nil {
			return conflict, err
		}
		r.replaced.wrote(req.NamespacedName, before.ResourceVersion)
		// Only what was recorded is announced: a lost write is redone, not told twice.
		r.emitEvents(before, after)
		r.metrics.recorded(before, after)
		return false, nil
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	return out.Result(r.Clock.Now()), nil
}
