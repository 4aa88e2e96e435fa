package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/milestone"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// defaultMilestonePoll is how often a GitHub milestone is read when
// spec.pollInterval is unset. Reads are conditional (ETags): an unchanged
// milestone costs no rate limit.
const defaultMilestonePoll = 5 * time.Minute

// MilestoneReconciler keeps a Milestone's progress, blockers, forecast and
// health in step with its GitHub milestone and its Releases.
type MilestoneReconciler struct {
	client.Client
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	// Credentials gives the GitHub client of spec.github or of a Release's pipeline.
	Credentials *credentials.Store
	Recorder    events.EventRecorder
	Clock       clock.PassiveClock
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=milestones,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=milestones/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases;releasepipelines;launches,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler. Release changes (a stage
// reached, a label or spec.milestone changed) reach their milestones at once.
func (r *MilestoneReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.Milestone{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, r.Shard.Predicate())).
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.milestonesOfRelease)).
		// A launch that tracks a milestone: its forecast counts.
		Watches(&releasev1.Launch{}, handler.EnqueueRequestsFromMapFunc(milestoneOfLaunch)).
		Named("milestone").
		Complete(r)
}

// milestonesOfRelease maps a Release to the milestone its spec.milestone
// names and to every milestone whose selector matches its labels. Updates are
// mapped for the old and the new object, so a Release leaving a milestone
// updates it too.
func (r *MilestoneReconciler) milestonesOfRelease(ctx context.Context, o client.Object) []reconcile.Request {
	rel, ok := o.(*releasev1.Release)
	if !ok {
		return nil
	}
	names := map[string]bool{}
	if rel.Spec.Milestone != "" {
		names[rel.Spec.Milestone] = true
	}
	var list releasev1.MilestoneList
	if err := r.List(ctx, &list, client.InNamespace(rel.Namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing milestones of release", "release", klog.KObj(rel))
	}
	for i := range list.Items {
		if sel, err := selectorOf(&list.Items[i]); err == nil && sel != nil && sel.Matches(labels.Set(rel.Labels)) {
			names[list.Items[i].Name] = true
		}
	}
	out := make([]reconcile.Request, 0, len(names))
	for name := range names {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: rel.Namespace, Name: name}})
	}
	return out
}

func selectorOf(ms *releasev1.Milestone) (labels.Selector, error) {
	if ms.Spec.Selector == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(ms.Spec.Selector)
}

// Reconcile reads the Releases and, when due, the GitHub milestone, decides
// health and writes the status once, only when it changed.
func (r *MilestoneReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *MilestoneReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	ms := &releasev1.Milestone{}
	if err := r.Get(ctx, req.NamespacedName, ms); err != nil {
		return lreconcile.Stop(), client.IgnoreNotFound(err)
	}
	if !ms.DeletionTimestamp.IsZero() || !r.Shard.Owns(ms) {
		return lreconcile.Stop(), nil
	}
	orig := ms.DeepCopy()
	s := &milestoneSync{r: r, ms: ms, now: r.Clock.Now()}
	out, failure := s.run(ctx)
	out, err := writeStatus(ctx, r.Client, orig, ms, out, failure)
	if err == nil || err == failure {
		if !out.Requeues() {
			r.emitHealthEvent(orig, ms)
		}
	}
	return out, err
}

// milestoneSync is one reconcile of one Milestone.
type milestoneSync struct {
	r   *MilestoneReconciler
	ms  *releasev1.Milestone
	now time.Time
	// secretRef is the Secret of the GitHub credential in use, forgotten
	// when GitHub refuses it.
	secretRef *releasev1.LocalObjectReference
}

func (s *milestoneSync) run(ctx context.Context) (lreconcile.Outcome, error) {
	ms := s.ms
	sel, err := selectorOf(ms)
	if err != nil {
		s.stall(releasev1.ReasonInvalidSpec, fmt.Sprintf("spec.selector is invalid: %v", err))
		return lreconcile.Stop(), nil
	}
	releases, err := s.releases(ctx, sel)
	if err != nil {
		return lreconcile.Stop(), err
	}
	launches, releases, err := s.launches(ctx, releases)
	if err != nil {
		return lreconcile.Stop(), err
	}

	// The GitHub part: read when due, else decide on what status holds.
	var stats *milestone.IssueStats
	var failure *syncFailure
	if ms.Spec.GitHub != nil {
		if s.githubDue() {
			stats, failure = s.readGitHub(ctx, releases)
			if failure == nil {
				applyStats(ms, stats)
				t := metav1.NewTime(s.now.Truncate(time.Second))
				ms.Status.LastSynced = &t
			}
		}
		if stats == nil && ms.Status.LastSynced != nil {
			stats = statsFromStatus(&ms.Status)
		}
	}

	target := ms.Spec.TargetStage
	ms.Status.Releases = nil
	for i := range releases {
		rel := &releases[i]
		ms.Status.Releases = append(ms.Status.Releases, milestone.ReleaseStatus(milestone.Release{
			Name: rel.Name, Version: rel.Spec.Version, Phase: rel.Status.Phase, CurrentStage: rel.Status.CurrentStage,
			SpecTarget: rel.Spec.TargetStage, Stages: rel.Status.Stages,
		}, target))
	}
	ms.Status.DaysRemaining = milestone.DaysRemaining(s.now, ms.Spec.DueDate.Time)

	// Health needs the issues when there is a GitHub part: never decided on none.
	if ms.Spec.GitHub == nil || stats != nil {
		in := milestone.Input{Now: s.now, Due: ms.Spec.DueDate.Time, GitHub: stats, Releases: ms.Status.Releases, Launches: launches}
		if ms.Status.CompletedAt != nil {
			t := ms.Status.CompletedAt.Time
			in.CompletedAt = &t
		}
		d := milestone.Decide(in)
		if ms.Status.Health != d.Health {
			t := metav1.NewTime(s.now.Truncate(time.Second))
			ms.Status.HealthSince = &t
		}
		ms.Status.Health = d.Health
		if d.CompletedAt != nil && ms.Status.CompletedAt == nil {
			t := metav1.NewTime(*d.CompletedAt)
			ms.Status.CompletedAt = &t
		}
		if failure == nil {
			s.ready(string(d.Health), d.Message)
		}
	}
	if failure != nil {
		return s.failed(failure)
	}
	ms.Status.ObservedGeneration = ms.Generation
	return lreconcile.Poll(s.requeueAfter()), nil
}

// releases lists the milestone's Releases, by spec.milestone and by selector, sorted by name.
func (s *milestoneSync) releases(ctx context.Context, sel labels.Selector) ([]releasev1.Release, error) {
	var list releasev1.ReleaseList
	if err := s.r.List(ctx, &list, client.InNamespace(s.ms.Namespace)); err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	var out []releasev1.Release
	for _, rel := range list.Items {
		if rel.Spec.Milestone == s.ms.Name || sel != nil && sel.Matches(labels.Set(rel.Labels)) {
			out = append(out, rel)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *milestoneSync) pollInterval() time.Duration {
	if p := s.ms.Spec.PollInterval; p != nil && p.Duration > 0 {
		return p.Duration
	}
	return defaultMilestonePoll
}

// githubDue: GitHub is read on a spec change, after a failed read, and once
// per poll interval.
func (s *milestoneSync) githubDue() bool {
	st := &s.ms.Status
	if st.LastSynced == nil || st.ObservedGeneration != s.ms.Generation {
		return true
	}
	if c := readyCondition(st); c == nil || c.Status != metav1.ConditionTrue {
		return true
	}
	return !s.now.Before(st.LastSynced.Add(s.pollInterval()))
}

// requeueAfter: the next GitHub read, the due date, or the next change of
// daysRemaining, whichever comes first.
func (s *milestoneSync) requeueAfter() time.Duration {
	due := s.ms.Spec.DueDate.Time
	next := due.Sub(s.now) % (24 * time.Hour)
	if next <= 0 {
		next += 24 * time.Hour
	}
	if d := due.Sub(s.now); d > 0 && d < next {
		next = d
	}
	if s.ms.Spec.GitHub != nil && s.ms.Status.LastSynced != nil {
		if d := s.ms.Status.LastSynced.Add(s.pollInterval()).Sub(s.now); d < next {
			next = d
		}
	}
	return max(next, time.Second)
}
