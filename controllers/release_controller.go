// Package controllers holds one reconciler per Liftoff kind.
package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/hooks"
)

// pipelineIndex indexes Releases by spec.pipeline.
const pipelineIndex = "spec.pipeline"

// ReleaseReconciler promotes Releases through their pipeline's stages.
type ReleaseReconciler struct {
	client.Client
	// APIReader reads without the cache: Secrets (no cluster-wide Secret
	// watch) and the pipeline's stage locks (must be fresh).
	APIReader client.Reader
	Recorder  events.EventRecorder
	GitHub    *github.Factory
	Clock     clock.PassiveClock
	// PollInterval is how often pending QA checks and pull requests are
	// re-read (conditional requests: a 304 costs no rate limit).
	PollInterval time.Duration
	// StaleLockAfter is how long a stage lock may be held by a Release that
	// is not promoting before another Release may take it.
	StaleLockAfter time.Duration
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	// MaxConcurrentReconciles bounds parallel reconciles.
	MaxConcurrentReconciles int
	// Recheck triggers a re-evaluation of the gates of the Releases of a
	// commit at once (the webhook receiver sends to it on QA results).
	Recheck <-chan event.TypedGenericEvent[hooks.Event]
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases;releasepipelines,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases/status;releasepipelines/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasecalendars;milestones;launchchecklists,verbs=get;list;watch
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
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.PollInterval == 0 {
		r.PollInterval = 30 * time.Second
	}
	if r.StaleLockAfter == 0 {
		r.StaleLockAfter = time.Minute
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.Release{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}), r.Shard.predicate())).
		Watches(&releasev1.ReleasePipeline{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfPipeline)).
		Watches(&releasev1.ReleaseCalendar{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfCalendar), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&releasev1.Milestone{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfMilestone)).
		Watches(&releasev1.LaunchChecklist{}, handler.EnqueueRequestsFromMapFunc(r.releasesOfChecklist)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.MaxConcurrentReconciles)}).
		Named("release")
	if r.Recheck != nil {
		b = b.WatchesRawSource(source.Channel(r.Recheck, handler.TypedEnqueueRequestsFromMapFunc(r.recheckRequests)))
	}
	return b.Complete(r)
}

// releasesOfPipeline maps a pipeline change (spec, or a stage's live version
// and lock) to every Release of the pipeline.
func (r *ReleaseReconciler) releasesOfPipeline(ctx context.Context, o client.Object) []reconcile.Request {
	var list releasev1.ReleaseList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{pipelineIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing releases of pipeline", "pipeline", klog.KObj(o))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, rel := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}})
	}
	return out
}

// Reconcile fetches the Release, runs one step of its promotion and writes the
// status once, with optimistic locking, whatever the step returned.
func (r *ReleaseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	rel := &releasev1.Release{}
	if err := r.Get(ctx, req.NamespacedName, rel); err != nil {
		if apierrors.IsNotFound(err) {
			forgetRelease(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !rel.DeletionTimestamp.IsZero() || !r.Shard.Owns(rel) {
		return ctrl.Result{}, nil
	}
	orig := rel.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(orig.Status, rel.Status) {
			return
		}
		if conflict, err := patchStatus(ctx, r.Client, orig, rel); conflict || err != nil {
			if conflict {
				// Someone changed the Release meanwhile: start over from it.
				res, retErr = requeueNow, nil
			} else if retErr == nil {
				retErr = err
			}
			return
		}
		// Only what was recorded is announced: a lost write is redone, not told twice.
		r.emitEvents(orig, rel)
		recordMetrics(orig, rel)
	}()
	st := &step{r: r, rel: rel, now: r.Clock.Now()}
	return st.run(ctx)
}
