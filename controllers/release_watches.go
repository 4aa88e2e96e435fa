package controllers

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Indexes for the Release's watches.
const (
	calendarIndex = "spec.calendarRef"
	// requiresIndex indexes Releases and pipelines by the pipelines their
	// spec.requires names.
	requiresIndex = "spec.requires.pipeline"
)

// requiredPipelines is the requiresIndex of a Release or a pipeline.
func requiredPipelines(o client.Object) []string {
	var reqs []releasev1.Requirement
	switch o := o.(type) {
	case *releasev1.Release:
		reqs = o.Spec.Requires
	case *releasev1.ReleasePipeline:
		reqs = o.Spec.Requires
	}
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.Pipeline)
	}
	return out
}

// liveChanged passes a pipeline's creation, deletion, and an update that
// changed what runs (or was committed) in a stage: what the Releases that
// require it wait for.
var liveChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	old, okOld := e.ObjectOld.(*releasev1.ReleasePipeline)
	cur, okNew := e.ObjectNew.(*releasev1.ReleasePipeline)
	return !okOld || !okNew || old.LiveSummary() != cur.LiveSummary()
}}

// standingChanged passes a Release update that changed where it stands
// (phase or current stage): what the Releases that require its pipeline say
// of it.
var standingChanged = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*releasev1.Release)
		cur, okNew := e.ObjectNew.(*releasev1.Release)
		return !okOld || !okNew || old.Status.Phase != cur.Status.Phase || old.Status.CurrentStage != cur.Status.CurrentStage
	},
}

// releasesRequiringPipelineOf maps a Release's change to the Releases that
// require its pipeline.
func (r *ReleaseReconciler) releasesRequiringPipelineOf(ctx context.Context, o client.Object) []reconcile.Request {
	rel := o.(*releasev1.Release)
	return r.releasesRequiring(ctx, &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}})
}

// releasesRequiring maps a change of what a pipeline runs to the Releases
// that require it, themselves or through their pipeline, and may still
// move: a Release waiting on it goes on at once, not at its next poll. The
// cache holds the shard's pipelines only: one of another shard wakes them
// at their poll (the dependencies gate reads it from the API server).
func (r *ReleaseReconciler) releasesRequiring(ctx context.Context, o client.Object) []reconcile.Request {
	var rels releasev1.ReleaseList
	if err := r.List(ctx, &rels, client.InNamespace(o.GetNamespace()), client.MatchingFields{requiresIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing releases requiring pipeline", "pipeline", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for _, rel := range rels.Items {
		if rel.Status.Phase != releasev1.PhaseFailed && rel.Status.Phase != releasev1.PhaseSuperseded {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}})
		}
	}
	viaPipelines, err := r.releasesOfPipelinesWith(ctx, o.GetNamespace(), requiresIndex, o.GetName())
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing pipelines requiring pipeline", "pipeline", klog.KObj(o))
	}
	return append(out, viaPipelines...)
}

// releasesOfPipelinesWith lists the Releases that may still move of the
// pipelines whose field index has value.
func (r *ReleaseReconciler) releasesOfPipelinesWith(ctx context.Context, namespace, field, value string) ([]reconcile.Request, error) {
	var pipes releasev1.ReleasePipelineList
	if err := r.List(ctx, &pipes, client.InNamespace(namespace), client.MatchingFields{field: value}); err != nil {
		return nil, err
	}
	var out []reconcile.Request
	for i := range pipes.Items {
		out = append(out, r.releasesOf(ctx, &pipes.Items[i], false)...)
	}
	return out, nil
}

// releasesOfCalendar maps a calendar change to the Releases of every pipeline
// that uses it and may still move: a window that opens lets them go at once.
func (r *ReleaseReconciler) releasesOfCalendar(ctx context.Context, o client.Object) []reconcile.Request {
	out, err := r.releasesOfPipelinesWith(ctx, o.GetNamespace(), calendarIndex, o.GetName())
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing pipelines of calendar", "calendar", klog.KObj(o))
	}
	return out
}

// releasesOfMilestone maps a milestone change (its blockers) to its Releases.
func (r *ReleaseReconciler) releasesOfMilestone(ctx context.Context, o client.Object) []reconcile.Request {
	m := o.(*releasev1.Milestone)
	var list releasev1.ReleaseList
	if err := r.List(ctx, &list, client.InNamespace(m.Namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing releases of milestone", "milestone", klog.KObj(o))
		return nil
	}
	var sel labels.Selector
	if m.Spec.Selector != nil {
		sel, _ = metav1.LabelSelectorAsSelector(m.Spec.Selector)
	}
	var out []reconcile.Request
	for _, rel := range list.Items {
		if rel.Spec.Milestone == m.Name || sel != nil && sel.Matches(labels.Set(rel.Labels)) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}})
		}
	}
	return append(out, r.membersOfLaunchesWith(ctx, m.Namespace, func(l *releasev1.Launch) bool { return l.Spec.Milestone == m.Name })...)
}

// releasesOfChecklist maps a checklist change to the Releases that use it.
func (r *ReleaseReconciler) releasesOfChecklist(ctx context.Context, o client.Object) []reconcile.Request {
	var list releasev1.ReleaseList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{checklistIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing releases of checklist", "checklist", klog.KObj(o))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, rel := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}})
	}
	return append(out, r.membersOfLaunchesWith(ctx, o.GetNamespace(), func(l *releasev1.Launch) bool { return l.Spec.LaunchChecklist == o.GetName() })...)
}
