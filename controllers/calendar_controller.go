package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/github"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// Calendar horizons and bounds.
const (
	calendarHorizon = 30 * 24 * time.Hour
	maxUpcoming     = 200
	maxRecent       = 100
	// calendarRefresh bounds how stale upcoming[] gets between changes.
	calendarRefresh = time.Hour
)

// ReleaseCalendarReconciler writes a calendar's status: each stage open or
// closed now, active freezes, the next change, what comes in the next 30 days
// and what happened in the last 30.
type ReleaseCalendarReconciler struct {
	client.Client
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	Clock clock.PassiveClock
	// calendars keeps the calendars compiled; Setup shares it with the
	// Release engine.
	calendars *calendars
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasecalendars,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=launches,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasecalendars/status,verbs=get;update;patch

// SetupWithManager registers the reconciler.
func (r *ReleaseCalendarReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.calendars == nil {
		r.calendars = newCalendars()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.ReleaseCalendar{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, r.Shard.Predicate())).
		Watches(&releasev1.ReleasePipeline{}, handler.EnqueueRequestsFromMapFunc(calendarOfPipeline)).
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.calendarOfRelease)).
		Watches(&releasev1.Milestone{}, handler.EnqueueRequestsFromMapFunc(r.calendarsInNamespace), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A launch's plan and forecast are on the calendars of its members.
		Watches(&releasev1.Launch{}, handler.EnqueueRequestsFromMapFunc(r.calendarsInNamespace)).
		Named("releasecalendar").
		Complete(r)
}

func calendarOfPipeline(_ context.Context, o client.Object) []reconcile.Request {
	if ref := o.(*releasev1.ReleasePipeline).Spec.CalendarRef; ref != nil {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: ref.Name}}}
	}
	return nil
}

func (r *ReleaseCalendarReconciler) calendarOfRelease(ctx context.Context, o client.Object) []reconcile.Request {
	pipe := &releasev1.ReleasePipeline{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: o.GetNamespace(), Name: o.(*releasev1.Release).Spec.Pipeline}, pipe); err != nil {
		return nil
	}
	return calendarOfPipeline(ctx, pipe)
}

func (r *ReleaseCalendarReconciler) calendarsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list releasev1.ReleaseCalendarList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing calendars", "namespace", o.GetNamespace())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
	}
	return out
}

// Reconcile computes the calendar's status and writes it when it changed.
func (r *ReleaseCalendarReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *ReleaseCalendarReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	rc := &releasev1.ReleaseCalendar{}
	if err := r.Get(ctx, req.NamespacedName, rc); err != nil {
		if apierrors.IsNotFound(err) {
			r.calendars.forget(req.NamespacedName)
			return lreconcile.Stop(), nil
		}
		return lreconcile.Stop(), err
	}
	if !r.Shard.Owns(rc) {
		return lreconcile.Stop(), nil
	}
	orig := rc.DeepCopy()
	now := r.Clock.Now()
	out, err := r.compute(ctx, rc, now)
	if err != nil {
		return lreconcile.Stop(), err
	}
	rc.Status.ObservedGeneration = rc.Generation
	return writeStatus(ctx, r.Client, orig, rc, out, nil)
}

func (r *ReleaseCalendarReconciler) compute(ctx context.Context, rc *releasev1.ReleaseCalendar, now time.Time) (lreconcile.Outcome, error) {
	cal, err := r.calendars.compile(rc)
	if err != nil {
		conditions.Set(&rc.Status.Conditions, rc.Generation, conditions.Stalled(releasev1.ReasonInvalidSpec, err.Error()+": fix the calendar's spec"))
		rc.Status.Stages, rc.Status.ActiveFreezes, rc.Status.NextChange, rc.Status.Upcoming = nil, nil, nil, nil
		return lreconcile.Stop(), nil
	}
	var pipes releasev1.ReleasePipelineList
	if err := r.List(ctx, &pipes, client.InNamespace(rc.Namespace), client.MatchingFields{calendarIndex: rc.Name}); err != nil {
		return lreconcile.Stop(), err
	}
	var releases []releasev1.Release
	for _, p := range pipes.Items {
		var list releasev1.ReleaseList
		if err := r.List(ctx, &list, client.InNamespace(rc.Namespace), client.MatchingFields{pipelineIndex: p.Name}); err != nil {
			return lreconcile.Stop(), err
		}
		releases = append(releases, list.Items...)
	}
	var milestones releasev1.MilestoneList
	if err := r.List(ctx, &milestones, client.InNamespace(rc.Namespace)); err != nil {
		return lreconcile.Stop(), err
	}

	// Now: each stage, the freezes in force, the next change.
	rc.Status.Stages = nil
	var next *metav1.Time
	for _, name := range calendarStages(rc, pipes.Items) {
		st := cal.At(name, now)
		cs := releasev1.CalendarStageStatus{Name: name, Open: st.Open, Reason: st.Reason}
		if t, _, ok := cal.NextChange(name, now); ok {
			mt := metav1.NewTime(t)
			cs.NextChange = &mt
			if next == nil || t.Before(next.Time) {
				next = &mt
			}
		}
		rc.Status.Stages = append(rc.Status.Stages, cs)
	}
	rc.Status.NextChange = next
	rc.Status.ActiveFreezes = nil
	for _, o := range cal.Occurrences(now, now.Add(time.Second)) {
		if o.Kind == calendar.Deny && !now.Before(o.Start) {
			rc.Status.ActiveFreezes = append(rc.Status.ActiveFreezes, releasev1.ActiveFreeze{
				Window: o.Window, Reason: o.Reason, Stages: o.Stages, Until: metav1.NewTime(o.End)})
		}
	}
	rc.Status.Upcoming = upcoming(cal, releases, milestones.Items, now)
	if err := r.addLaunches(ctx, rc, releases, now); err != nil {
		return lreconcile.Stop(), err
	}
	rc.Status.Recent = recent(cal, releases, now)
	conditions.Set(&rc.Status.Conditions, rc.Generation, conditions.Ready(releasev1.ReasonReconciled,
		fmt.Sprintf("%d window(s); %d freeze(s) in force", len(rc.Spec.Windows), len(rc.Status.ActiveFreezes))))

	wait := calendarRefresh
	if next != nil && next.Sub(now) < wait {
		wait = next.Sub(now) + time.Second
	}
	return lreconcile.WaitFor(wait, lreconcile.WaitPoll), nil
}

// calendarStages lists the stages of the pipelines using the calendar, in
// pipeline order, then stages only windows name; "*" when there are none.
func calendarStages(rc *releasev1.ReleaseCalendar, pipes []releasev1.ReleasePipeline) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(pipes, func(i, j int) bool { return pipes[i].Name < pipes[j].Name })
	for _, p := range pipes {
		for _, st := range p.Spec.Stages {
			add(st.Name)
		}
	}
	for _, w := range rc.Spec.Windows {
		for _, s := range w.Stages {
			add(s)
		}
	}
	if len(out) == 0 {
		out = []string{"*"}
	}
	return out
}

// upcoming lists window occurrences, planned promotions and milestone due
// dates of the next 30 days, by start.
func upcoming(cal *calendar.Calendar, releases []releasev1.Release, milestones []releasev1.Milestone, now time.Time) []releasev1.CalendarEntry {
	end := now.Add(calendarHorizon)
	var out []releasev1.CalendarEntry
	for _, o := range cal.Occurrences(now, end) {
		e := releasev1.CalendarEntry{Type: releasev1.EntryWindow, Title: "window " + o.Window, Start: metav1.NewTime(o.Start),
			Stages: o.Stages, Detail: o.Reason}
		if o.Kind == calendar.Deny {
			e.Type, e.Title = releasev1.EntryFreeze, "freeze "+o.Window
		}
		t := metav1.NewTime(o.End)
		e.End = &t
		out = append(out, e)
	}
	for _, rel := range releases {
		for _, p := range rel.Spec.Plan {
			if p.At.Time.Before(now.Add(-calendarRefresh)) || p.At.After(end) {
				continue
			}
			if ss := rel.Status.StageStatus(p.Stage); ss != nil && ss.Promotion != nil && ss.Promotion.CompletedAt != nil {
				continue // done: it is in recent[]
			}
			switch rel.Status.Phase {
			case releasev1.PhaseFailed, releasev1.PhaseSuperseded:
				continue
			}
			out = append(out, releasev1.CalendarEntry{Type: releasev1.EntryPlannedPromotion,
				Title: fmt.Sprintf("%s %s -> %s", rel.Spec.Pipeline, rel.Spec.Version, p.Stage), Start: p.At,
				Stages: []string{p.Stage}, Release: rel.Name, Version: rel.Spec.Version})
		}
	}
	for _, m := range milestones {
		if m.Spec.DueDate.Time.Before(now) || m.Spec.DueDate.After(end) {
			continue
		}
		detail := strings.TrimSpace(strings.Join([]string{string(m.Status.Health), m.Status.Progress}, " "))
		out = append(out, releasev1.CalendarEntry{Type: releasev1.EntryMilestoneDue, Title: "milestone " + m.Name + " due",
			Start: m.Spec.DueDate, Detail: detail})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(&out[j].Start) })
	if len(out) > maxUpcoming {
		out = out[:maxUpcoming]
	}
	return out
}

// recent lists the promotions of the last 30 days, newest first, with their
// outcome and slip against plan (a stage with targets: each of its waves),
// and the rollbacks on demand. A promotion
// counts from when it was deployed (its GitOps agent said so; for a stage
// without deployment, the commit); one still deploying is listed at its
// commit, as Deploying.
func recent(cal *calendar.Calendar, releases []releasev1.Release, now time.Time) []releasev1.CalendarEntry {
	from := now.Add(-calendarHorizon)
	var out []releasev1.CalendarEntry
	for _, rel := range releases {
		for _, ss := range rel.Status.Stages {
			if rb := onDemandRollback(cal, &rel, &ss, from); rb != nil {
				out = append(out, *rb)
			}
			if len(ss.Targets) > 0 {
				out = append(out, waveEntries(&rel, &ss, from)...)
				continue
			}
			p := ss.Promotion
			if p == nil || p.CompletedAt == nil {
				continue
			}
			start := *p.CompletedAt
			if ss.DeployedAt != nil {
				start = *ss.DeployedAt
			}
			if start.Time.Before(from) {
				continue
			}
			e := releasev1.CalendarEntry{Type: releasev1.EntryPromotion,
				Title: fmt.Sprintf("%s %s -> %s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name), Start: start,
				Stages: []string{ss.Name}, Release: rel.Name, Version: rel.Spec.Version, Outcome: string(ss.Phase),
				Planned: ss.PlannedAt}
			if ss.Slip != nil {
				e.Slip = ss.Slip.Duration.String()
			}
			if p.Commit != "" {
				e.Detail = "commit " + github.ShortSHA(p.Commit)
				if ss.Deployment != nil && ss.DeployedAt != nil {
					e.Detail += ", deployed"
				}
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(&out[j].Start) {
			return out[j].Start.Before(&out[i].Start)
		}
		return out[i].Title < out[j].Title
	})
	if len(out) > maxRecent {
		out = out[:maxRecent]
	}
	return out
}

// onDemandRollback is the calendar entry of the rollback on demand of rel in
// stage ss since from, or nil. A rollback is never held by the calendar: one
// made while the stage was closed says so.
func onDemandRollback(cal *calendar.Calendar, rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, from time.Time) *releasev1.CalendarEntry {
	rb := ss.Rollback
	if rb == nil || rb.Request == nil || rb.At == nil || rb.At.Time.Before(from) {
		return nil
	}
	detail := fmt.Sprintf("on demand by %s: %s; commit %s", rb.RequestedBy, rb.Reason, github.ShortSHA(rb.Commit))
	if st := cal.At(ss.Name, rb.At.Time); !st.Open {
		detail += fmt.Sprintf("; during %s (a freeze does not hold a rollback)", st.Reason)
	}
	return &releasev1.CalendarEntry{Type: releasev1.EntryRollback,
		Title: fmt.Sprintf("%s %s rolled back in %s to %s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name, rb.Version), Start: *rb.At,
		Stages: []string{ss.Name}, Release: rel.Name, Version: rel.Spec.Version, Outcome: string(releasev1.StageRolledBack), Detail: detail}
}
