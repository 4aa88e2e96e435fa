package controllers

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Indexes for the Release's watches.
const (
	calendarIndex = "spec.calendarRef"
)

// releasesOfCalendar maps a calendar change to the Releases of every pipeline
// that uses it and may still move: a window that opens lets them go at once.
func (r *ReleaseReconciler) releasesOfCalendar(ctx context.Context, o client.Object) []reconcile.Request {
	var pipes releasev1.ReleasePipelineList
	if err := r.List(ctx, &pipes, client.InNamespace(o.GetNamespace()), client.MatchingFields{calendarIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing pipelines of calendar", "calendar", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range pipes.Items {
		out = append(out, r.releasesOf(ctx, &pipes.Items[i], false)...)
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
	return out
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
	return out
}
