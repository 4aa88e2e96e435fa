package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// ReleasePipelineReconciler keeps a pipeline's status in step with its spec and
// reports whether its credential can be used. What lives in each stage is
// written by the Release reconciler.
type ReleasePipelineReconciler struct {
	client.Client
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	// APIReader reads a Release that exists under a discovered name.
	APIReader client.Reader
	// Credentials gives the pipeline's GitHub client.
	Credentials *credentials.Store
	// Artifacts reads the pipeline's artifacts in their registries.
	Artifacts *artifacts.Resolver
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
}

// SetupWithManager registers the reconciler. Status changes do not trigger
// it: discovery polls at spec.source.interval, or at once when a GitHub
// webhook delivery is stamped on the pipeline (AnnotationGitHubDelivery).
func (r *ReleasePipelineReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.ReleasePipeline{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deliveryStamped), r.Shard.Predicate())).
		Named("releasepipeline").
		Complete(r)
}

// Reconcile checks the credential, mirrors the stage list and sets Ready.
func (r *ReleasePipelineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *ReleasePipelineReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	pipe := &releasev1.ReleasePipeline{}
	if err := r.Get(ctx, req.NamespacedName, pipe); err != nil {
		return lreconcile.Stop(), client.IgnoreNotFound(err)
	}
	if !r.Shard.Owns(pipe) {
		return lreconcile.Stop(), nil
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

	requeue := time.Duration(0)
	var problem *conditions.Summary
	var discoverErr error
	gh, err := r.Credentials.ForPipeline(ctx, pipe)
	if err != nil {
		var ce *credentials.Error
		if !errors.As(err, &ce) {
			return lreconcile.Stop(), err
		}
		problem = stalled(ce.Reason, ce.Error())
		requeue = conditions.RetryStalled // no Secret watch: look again later
	} else {
		if pipe.Status.ObservedGeneration != pipe.Generation {
			r.readRunning(ctx, pipe, gh)
		}
		if pipe.Spec.Source.From != "" {
			requeue, problem, discoverErr = r.discover(ctx, pipe, gh)
		} else {
			pipe.Status.Discovery = nil
		}
	}
	summary := conditions.Ready(releasev1.ReasonReconciled, fmt.Sprintf("%d stages: %s", len(pipe.Spec.Stages), pipe.StageNames()))
	if problem != nil {
		summary = *problem
	}
	if msg := pipe.Spec.GraphError(); msg != "" {
		// Admission refuses it; one that exists anyway (the webhook was
		// off) promotes nothing until a person fixes it.
		summary = *stalled(releasev1.ReasonInvalidStageGraph, msg)
	}
	if msg := pipe.Spec.TargetsError(); msg != "" {
		summary = *stalled(releasev1.ReasonInvalidSpec, msg)
	}
	conditions.Set(&pipe.Status.Conditions, pipe.Generation, summary)
	// Observed: the credential was read, discovery ran, the conditions say
	// what came of this generation.
	pipe.Status.ObservedGeneration = pipe.Generation
	return writeStatus(ctx, r.Client, orig, pipe, lreconcile.Poll(requeue), discoverErr)
}

// readRunning records, for each stage Liftoff never promoted into, the
// version its GitOps files hold (live.origin GitOpsFiles), so that LIVE, the
// report and the dashboard say what runs there before Liftoff's first
// promotion rather than nothing. It reads once per generation of the
// pipeline; a file that cannot be read is left to the first promotion,
// which reads it again.
func (r *ReleasePipelineReconciler) readRunning(ctx context.Context, pipe *releasev1.ReleasePipeline, gh promotion.FileGetter) {
	for i := range pipe.Status.Stages {
		ps := &pipe.Status.Stages[i]
		k := pipe.StageIndex(ps.Name)
		if k < 0 || ps.Live != nil || ps.Version != "" || len(ps.History) > 0 {
			continue
		}
		v, err := promotion.Running(ctx, gh, pipe.Spec.Stages[k].Target)
		if err != nil {
			log.FromContext(ctx).Info("cannot read what the stage's GitOps files hold", "stage", ps.Name, "error", err.Error())
			continue
		}
		if v != "" {
			ps.Live = &releasev1.LiveVersion{Version: v, DeployedAt: metav1.NewTime(r.Clock.Now()), Origin: releasev1.LiveFromGitOpsFiles}
		}
	}
	pipe.Status.Live = pipe.LiveSummary()
}
