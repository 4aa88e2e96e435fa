package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// addLaunches adds to the calendar's upcoming entries the launches with a
// member among releases (the Releases of the calendar's pipelines): the
// launch's planned promotions and when it is forecast to reach each stage
// it has not reached, in the next 30 days.
func (r *ReleaseCalendarReconciler) addLaunches(ctx context.Context, rc *releasev1.ReleaseCalendar, releases []releasev1.Release, now time.Time) error {
	var list releasev1.LaunchList
	if err := r.List(ctx, &list, client.InNamespace(rc.Namespace)); err != nil {
		return err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	ours := map[string]bool{}
	for _, rel := range releases {
		ours[rel.Name] = true
	}
	out := rc.Status.Upcoming
	for i := range list.Items {
		l := &list.Items[i]
		if l.Done() || !slices.ContainsFunc(l.Status.Members, func(m releasev1.LaunchMember) bool { return ours[m.Name] }) {
			continue
		}
		out = append(out, launchEntries(l, now)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(&out[j].Start) })
	if len(out) > maxUpcoming {
		out = out[:maxUpcoming]
	}
	rc.Status.Upcoming = out
	return nil
}

// launchEntries are a launch's planned promotions not reached yet and its
// forecasts within the calendar's horizon.
func launchEntries(l *releasev1.Launch, now time.Time) []releasev1.CalendarEntry {
	end := now.Add(calendarHorizon)
	reached := map[string]bool{}
	for _, f := range l.Status.Forecast {
		reached[f.Stage] = f.Reached
	}
	var out []releasev1.CalendarEntry
	for _, p := range l.Spec.Plan {
		if reached[p.Stage] || p.At.Time.Before(now.Add(-calendarRefresh)) || p.At.After(end) {
			continue
		}
		out = append(out, releasev1.CalendarEntry{Type: releasev1.EntryPlannedPromotion, Title: fmt.Sprintf("launch %s -> %s", l.Name, p.Stage),
			Start: p.At, Stages: []string{p.Stage}, Detail: fmt.Sprintf("%d members", len(l.Status.Members))})
	}
	for _, f := range l.Status.Forecast {
		if f.Reached || f.At.After(end) {
			continue
		}
		out = append(out, releasev1.CalendarEntry{Type: releasev1.EntryLaunchForecast, Title: fmt.Sprintf("launch %s reaches %s", l.Name, f.Stage),
			Start: metav1.NewTime(f.At.Time), Stages: []string{f.Stage}, Detail: "critical path: " + f.Member})
	}
	return out
}
