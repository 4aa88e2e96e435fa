package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/notify"
)

// snapshot is what a notification reports on, read from the cache.
type snapshot struct {
	input notify.Input
	// selectorErr: spec.pipelines or spec.milestones cannot be used.
	selectorErr error
}

// gather reads the selected pipelines, their Releases, calendars and
// milestones, and the checklists the Releases name.
func (r *ReleaseNotificationReconciler) gather(ctx context.Context, n *releasev1.ReleaseNotification, now time.Time) (*snapshot, error) {
	ns := client.InNamespace(n.Namespace)
	s := &snapshot{input: notify.Input{Now: now, Notification: n}}
	var pipes releasev1.ReleasePipelineList
	if err := r.List(ctx, &pipes, ns); err != nil {
		return nil, err
	}
	pick, err := selects(&n.Spec.Pipelines)
	if err != nil {
		s.selectorErr = fmt.Errorf("spec.pipelines: %v", err)
	}
	names := map[string]bool{}
	for _, p := range pipes.Items {
		if pick(p.Name, p.Labels) {
			s.input.Pipelines = append(s.input.Pipelines, p)
			names[p.Name] = true
		}
	}
	sort.Slice(s.input.Pipelines, func(i, j int) bool { return s.input.Pipelines[i].Name < s.input.Pipelines[j].Name })

	var rels releasev1.ReleaseList
	if err := r.List(ctx, &rels, ns); err != nil {
		return nil, err
	}
	inMilestone, checklists := map[string]bool{}, map[string]bool{}
	releaseNames := map[string]bool{}
	for _, rel := range rels.Items {
		if !names[rel.Spec.Pipeline] {
			continue
		}
		s.input.Releases = append(s.input.Releases, rel)
		releaseNames[rel.Name] = true
		if rel.Spec.Milestone != "" {
			inMilestone[rel.Spec.Milestone] = true
		}
		if rel.Spec.LaunchChecklist != "" {
			checklists[rel.Spec.LaunchChecklist] = true
		}
	}

	seenCal := map[string]bool{}
	for _, p := range s.input.Pipelines {
		ref := p.Spec.CalendarRef
		if ref == nil || seenCal[ref.Name] {
			continue
		}
		seenCal[ref.Name] = true
		rc := &releasev1.ReleaseCalendar{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: ref.Name}, rc); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return nil, err
			}
			continue // the pipeline's own status says the calendar is missing
		}
		s.input.Calendars = append(s.input.Calendars, *rc)
	}

	var mss releasev1.MilestoneList
	if err := r.List(ctx, &mss, ns); err != nil {
		return nil, err
	}
	pickMS := func(string, map[string]string) bool { return false }
	if n.Spec.Milestones != nil {
		if pickMS, err = selects(n.Spec.Milestones); err != nil && s.selectorErr == nil {
			s.selectorErr = fmt.Errorf("spec.milestones: %v", err)
		}
	}
	for _, ms := range mss.Items {
		linked := inMilestone[ms.Name]
		for _, mr := range ms.Status.Releases {
			linked = linked || releaseNames[mr.Name]
		}
		if linked || pickMS(ms.Name, ms.Labels) {
			s.input.Milestones = append(s.input.Milestones, ms)
		}
	}

	if s.input.Launches, err = r.launchesWith(ctx, n.Namespace, releaseNames); err != nil {
		return nil, err
	}

	if len(checklists) > 0 {
		var lcs releasev1.LaunchChecklistList
		if err := r.List(ctx, &lcs, ns); err != nil {
			return nil, err
		}
		for _, lc := range lcs.Items {
			if checklists[lc.Name] {
				s.input.Checklists = append(s.input.Checklists, lc)
			}
		}
	}
	var approvers []string
	asked := false
	s.input.Approvers = func() []string {
		if !asked {
			asked, approvers = true, r.approvers(ctx, n.Namespace)
		}
		return approvers
	}
	return s, nil
}

// selects turns names or a label selector into a predicate.
func selects(sel *releasev1.ObjectSelector) (func(name string, l map[string]string) bool, error) {
	if len(sel.Names) > 0 {
		set := map[string]bool{}
		for _, n := range sel.Names {
			set[n] = true
		}
		return func(name string, _ map[string]string) bool { return set[name] }, nil
	}
	if sel.Selector == nil {
		return func(string, map[string]string) bool { return false }, nil
	}
	ls, err := metav1.LabelSelectorAsSelector(sel.Selector)
	if err != nil {
		return func(string, map[string]string) bool { return false }, err
	}
	return func(_ string, l map[string]string) bool { return ls.Matches(labels.Set(l)) }, nil
}

// approvers asks RBAC who may approve the namespace's Releases. It reads
// roles and bindings live, only for a Release held by its approvals gate; when
// it may not, the message names the verb instead.
func (r *ReleaseNotificationReconciler) approvers(ctx context.Context, namespace string) []string {
	var roles rbacv1.RoleList
	var croles rbacv1.ClusterRoleList
	var bindings rbacv1.RoleBindingList
	var cbindings rbacv1.ClusterRoleBindingList
	for _, l := range []struct {
		list client.ObjectList
		opts []client.ListOption
	}{{&roles, []client.ListOption{client.InNamespace(namespace)}}, {&croles, nil}, {&bindings, []client.ListOption{client.InNamespace(namespace)}}, {&cbindings, nil}} {
		if err := r.APIReader.List(ctx, l.list, l.opts...); err != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Cannot read RBAC to name the approvers", "error", err.Error())
			return nil
		}
	}
	return notify.Approvers(roles.Items, croles.Items, bindings.Items, cbindings.Items)
}

// report writes the release report when an occurrence of the schedule has
// come that has no report yet (only the latest, after a long outage), and
// returns it as an event to send, when the next one is due, or why the
// schedule cannot be used.
func (r *ReleaseNotificationReconciler) report(n *releasev1.ReleaseNotification, s *snapshot, now time.Time) (*notify.Event, time.Time, error) {
	spec := n.Spec.Report
	if spec == nil {
		n.Status.NextReport = nil
		return nil, time.Time{}, nil
	}
	tz := spec.TimeZone
	if tz == "" {
		tz = calendarZone(s.input.Pipelines, s.input.Calendars)
	}
	sched, err := calendar.NewSchedule(tz, spec.RRule, spec.Start)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("spec.report: %v: fix the schedule", err)
	}
	var wake time.Time
	n.Status.NextReport = nil
	if next, ok := sched.Next(now); ok {
		wake = next
		t := metav1.NewTime(next)
		n.Status.NextReport = &t
	}
	o, ok := sched.Last(now)
	since := n.Status.Since
	due := ok && !o.Before(since.Time) && (n.Status.Report == nil || o.After(n.Status.Report.Occurrence.Time))
	request, key := "", fmt.Sprintf("report/%d", o.Unix())
	if n.Status.Report != nil {
		request = n.Status.Report.Request
	}
	if asked := n.Annotations[ReportAnnotation]; asked != "" && asked != request {
		// Asked for now: this report stands for the schedule's until the next occurrence.
		due, o, request, key = true, now.Truncate(time.Second), asked, "report/request/"+asked
	}
	if !due {
		return nil, wake, nil
	}
	start := since.Time
	if n.Status.Report != nil {
		start = n.Status.Report.Occurrence.Time
	} else if prev, ok := sched.Last(o.Add(-time.Second)); ok && prev.After(start) {
		start = prev
	}
	in := notify.ReportInput{Now: now, PeriodStart: start, Occurrence: o, Loc: sched.Location(),
		Pipelines: s.input.Pipelines, Releases: s.input.Releases, Calendars: s.input.Calendars, Milestones: s.input.Milestones, Launches: s.input.Launches}
	if spec.Lookahead != nil {
		in.Lookahead = spec.Lookahead.Duration
	}
	md, truncated := notify.BuildReport(in)
	n.Status.Report = &releasev1.ReportStatus{Occurrence: metav1.NewTime(o), GeneratedAt: metav1.NewTime(now), PeriodStart: metav1.NewTime(start),
		Markdown: md, Truncated: truncated, Request: request}
	e := &notify.Event{ID: notify.Key(key), Type: notify.TypeReport, Severity: notify.SeverityInfo, At: o,
		Title: "Release report, " + notify.FormatTime(o, sched.Location()), Namespace: n.Namespace, Notification: n.Name,
		Report: &notify.Report{PeriodStart: start, Occurrence: o, Markdown: md}}
	return e, wake, nil
}

// calendarZone is the time zone of the first pipeline's calendar, or UTC.
func calendarZone(pipes []releasev1.ReleasePipeline, cals []releasev1.ReleaseCalendar) string {
	for _, p := range pipes {
		if p.Spec.CalendarRef == nil {
			continue
		}
		for _, c := range cals {
			if c.Name == p.Spec.CalendarRef.Name {
				return c.Spec.TimeZone
			}
		}
	}
	return ""
}

// launchesWith lists the launches of namespace ns with a member among
// releases (names), by name.
func (r *ReleaseNotificationReconciler) launchesWith(ctx context.Context, ns string, releases map[string]bool) ([]releasev1.Launch, error) {
	var list releasev1.LaunchList
	if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var out []releasev1.Launch
	for _, l := range list.Items {
		if slices.ContainsFunc(l.Status.Members, func(m releasev1.LaunchMember) bool { return releases[m.Name] }) {
			out = append(out, l)
		}
	}
	return out, nil
}
