package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/launch"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/release"
)

// launchIndex indexes Launches by the Releases spec.members names, and
// those with a selector under launchBySelector.
const (
	launchIndex      = "spec.members"
	launchBySelector = "(selector)"
)

// indexLaunches registers launchIndex, which the Launch and the Release
// reconcilers both map Releases with.
func indexLaunches(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &releasev1.Launch{}, launchIndex, func(o client.Object) []string {
		l := o.(*releasev1.Launch)
		if l.Spec.Selector != nil {
			return []string{launchBySelector}
		}
		return l.Spec.Members
	})
}

// launchesOf lists the Launches rel is a member of: those naming it and
// those whose selector matches it.
func launchesOf(ctx context.Context, c client.Reader, rel *releasev1.Release) ([]releasev1.Launch, error) {
	var out []releasev1.Launch
	for _, key := range []string{rel.Name, launchBySelector} {
		var list releasev1.LaunchList
		if err := c.List(ctx, &list, client.InNamespace(rel.Namespace), client.MatchingFields{launchIndex: key}); err != nil {
			return nil, err
		}
		for _, l := range list.Items {
			if l.Includes(rel) {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// LaunchReconciler keeps a Launch's status (members × stages, the group's
// stage and the member that holds it) in step with its Releases.
type LaunchReconciler struct {
	client.Client
	// APIReader reads a member another shard serves.
	APIReader client.Reader
	Shard     Shard
	Clock     clock.PassiveClock
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=launches,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=launches/status,verbs=get;update;patch

// SetupWithManager registers the reconciler: a member's change reaches its
// launches at once.
func (r *LaunchReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.Launch{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, r.Shard.Predicate())).
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.launchesOfRelease)).
		Named("launch").
		Complete(r)
}

// launchesOfRelease maps a Release to its launches.
func (r *LaunchReconciler) launchesOfRelease(ctx context.Context, o client.Object) []reconcile.Request {
	launches, err := launchesOf(ctx, r.Client, o.(*releasev1.Release))
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing launches of release", "release", klog.KObj(o))
	}
	out := make([]reconcile.Request, 0, len(launches))
	for _, l := range launches {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: l.Namespace, Name: l.Name}})
	}
	return out
}

// Reconcile reads the members, decides where the launch stands and writes
// the status once, when it changed.
func (r *LaunchReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *LaunchReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	l := &releasev1.Launch{}
	if err := r.Get(ctx, req.NamespacedName, l); err != nil {
		return lreconcile.Stop(), client.IgnoreNotFound(err)
	}
	if !l.DeletionTimestamp.IsZero() || !r.Shard.Owns(l) {
		return lreconcile.Stop(), nil
	}
	orig := l.DeepCopy()
	members, missing, err := release.LaunchMembers(ctx, r.Client, r.APIReader, l)
	if err != nil {
		return lreconcile.Stop(), err
	}
	d := launch.Decide(members, missing, l.FailurePolicy())
	l.Status.Phase, l.Status.CurrentStage, l.Status.Holder = d.Phase, d.CurrentStage, d.Holder
	l.Status.Stages, l.Status.Members, l.Status.Failure = d.Stages, d.Members, d.Failure
	if l.Status.Forecast, l.Status.CriticalPath, err = r.forecast(ctx, l, members, d.Stages); err != nil {
		return lreconcile.Stop(), err
	}
	summary := conditions.Ready(string(d.Phase), readyMessage(d))
	if d.Missing != "" {
		summary = conditions.NotReady(releasev1.ReasonMemberNotFound, d.Missing)
	}
	conditions.Set(&l.Status.Conditions, l.Generation, summary)
	l.Status.ObservedGeneration = l.Generation
	return writeStatus(ctx, r.Client, orig, l, lreconcile.Stop(), nil)
}

// readyMessage is the holder, or what the launch did once nothing holds it.
func readyMessage(d launch.Decision) string {
	if d.Holder != "" {
		return d.Holder
	}
	return "every member is released"
}

// memberMoved passes a Release update that can change the group gate of
// the other members of its launch: its phase changed, or a stage began, or
// finished (promoted or skipped). Its moves inside a stage (promoting,
// deploying, verifying) change only the words of the others' gates, which
// their next poll brings up to date: with many members, waking all the
// others at every step cost most of a launch's reconciles.
var memberMoved = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*releasev1.Release)
		cur, okNew := e.ObjectNew.(*releasev1.Release)
		if !okOld || !okNew || old.Status.Phase != cur.Status.Phase || len(old.Status.Stages) != len(cur.Status.Stages) {
			return true
		}
		for i := range old.Status.Stages {
			if stageFinished(old.Status.Stages[i].Phase) != stageFinished(cur.Status.Stages[i].Phase) {
				return true
			}
		}
		return false
	},
}

// stageFinished: a member in this phase of a stage does not hold the
// others out of the next one.
func stageFinished(p releasev1.StagePhase) bool {
	return p == releasev1.StagePromoted || p == releasev1.StageSkipped
}

// otherMembersOf maps a member's move to the other members of its
// launches: one promoted in a stage lets the others into the next at once.
func (r *ReleaseReconciler) otherMembersOf(ctx context.Context, o client.Object) []reconcile.Request {
	rel := o.(*releasev1.Release)
	launches, err := launchesOf(ctx, r.Client, rel)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing launches of release", "release", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range launches {
		for _, req := range r.membersOf(ctx, &launches[i]) {
			if req.Name != rel.Name {
				out = append(out, req)
			}
		}
	}
	return out
}

// membersOfLaunch maps a launch's creation or change to its members.
func (r *ReleaseReconciler) membersOfLaunch(ctx context.Context, o client.Object) []reconcile.Request {
	return r.membersOf(ctx, o.(*releasev1.Launch))
}

func (r *ReleaseReconciler) membersOf(ctx context.Context, l *releasev1.Launch) []reconcile.Request {
	members, _, err := release.LaunchMembers(ctx, r.Client, nil, l)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing members of launch", "launch", klog.KObj(l))
		return nil
	}
	out := make([]reconcile.Request, 0, len(members))
	for _, m := range members {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Name}})
	}
	return out
}

// membersOfLaunchesWith maps a change of what launches carry (a milestone,
// a checklist) to the members of the launches of namespace ns that match.
func (r *ReleaseReconciler) membersOfLaunchesWith(ctx context.Context, ns string, match func(*releasev1.Launch) bool) []reconcile.Request {
	var list releasev1.LaunchList
	if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing launches", "namespace", ns)
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if match(&list.Items[i]) {
			out = append(out, r.membersOf(ctx, &list.Items[i])...)
		}
	}
	return out
}
