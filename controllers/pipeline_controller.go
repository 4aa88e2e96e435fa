package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// ReleasePipelineReconciler keeps a pipeline's status in step with its spec and
// reports whether its credential can be used. What lives in each stage is
// written by the Release reconciler.
type ReleasePipelineReconciler struct {
	client.Client
	APIReader client.Reader
	GitHub    *github.Factory
}

// SetupWithManager registers the reconciler.
func (r *ReleasePipelineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.ReleasePipeline{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("releasepipeline").
		Complete(r)
}

// Reconcile checks the credential, mirrors the stage list and sets Ready.
func (r *ReleasePipelineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pipe := &releasev1.ReleasePipeline{}
	if err := r.Get(ctx, req.NamespacedName, pipe); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := pipe.DeepCopy()

	stages := make([]releasev1.PipelineStageStatus, 0, len(pipe.Spec.Stages))
	for _, st := range pipe.Spec.Stages {
		if old := pipe.Status.StageStatus(st.Name); old != nil {
			stages = append(stages, *old)
		} else {
			stages = append(stages, releasev1.PipelineStageStatus{Name: st.Name})
		}
	}
	pipe.Status.Stages = stages
	pipe.Status.Live = pipe.LiveSummary()
	pipe.Status.ObservedGeneration = pipe.Generation

	requeue := time.Duration(0)
	cond := metav1.Condition{Type: releasev1.ConditionReady, Status: metav1.ConditionTrue, Reason: releasev1.ReasonReconciled,
		Message: fmt.Sprintf("%d stages: %s", len(pipe.Spec.Stages), stageNames(pipe)), ObservedGeneration: pipe.Generation}
	if _, err := clientFor(ctx, r.APIReader, r.GitHub, pipe); err != nil {
		var ce *credentialError
		if !errors.As(err, &ce) {
			return ctrl.Result{}, err
		}
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ce.reason, ce.Error()
		meta.SetStatusCondition(&pipe.Status.Conditions, metav1.Condition{Type: releasev1.ConditionStalled, Status: metav1.ConditionTrue,
			Reason: ce.reason, Message: ce.Error(), ObservedGeneration: pipe.Generation})
		requeue = retryTerminal // no Secret watch: look again later
	} else {
		meta.RemoveStatusCondition(&pipe.Status.Conditions, releasev1.ConditionStalled)
	}
	meta.SetStatusCondition(&pipe.Status.Conditions, cond)

	if !equality.Semantic.DeepEqual(orig.Status, pipe.Status) {
		if err := r.Status().Patch(ctx, pipe, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: time.Millisecond}, nil
			}
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}
