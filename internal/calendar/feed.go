package calendar

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// instant is how long an entry without an end (a promotion, a due date) lasts
// in the feed, so calendar clients show it.
const instant = 15 * time.Minute

// FeedEvents turns the calendar's upcoming and recent entries into feed events.
func FeedEvents(rc *releasev1.ReleaseCalendar) []Event {
	entries := append(append([]releasev1.CalendarEntry(nil), rc.Status.Recent...), rc.Status.Upcoming...)
	out := make([]Event, 0, len(entries))
	for _, e := range entries {
		end := e.Start.Add(instant)
		if e.End != nil {
			end = e.End.Time
		}
		stages := "all stages"
		if len(e.Stages) > 0 {
			stages = strings.Join(e.Stages, ", ")
		}
		var desc []string
		if e.Detail != "" {
			desc = append(desc, e.Detail)
		}
		summary := e.Title
		switch e.Type {
		case releasev1.EntryFreeze:
			summary = fmt.Sprintf("Freeze: %s (%s)", strings.TrimPrefix(e.Title, "freeze "), stages)
		case releasev1.EntryWindow:
			summary = fmt.Sprintf("Release window: %s (%s)", strings.TrimPrefix(e.Title, "window "), stages)
		case releasev1.EntryPlannedPromotion:
			summary = "Planned: " + e.Title
		case releasev1.EntryPromotion:
			summary = fmt.Sprintf("%s: %s", e.Outcome, e.Title)
			if e.Planned != nil {
				desc = append(desc, "planned "+e.Planned.UTC().Format(time.RFC3339)+", slip "+e.Slip)
			}
		case releasev1.EntryRollback:
			summary = "Rollback: " + e.Title
		case releasev1.EntryMilestoneDue:
			summary = "Due: " + strings.TrimSuffix(strings.TrimPrefix(e.Title, "milestone "), " due")
		case releasev1.EntryLaunchForecast:
			summary = "Forecast: " + e.Title
		}
		uid := fmt.Sprintf("%s-%s-%s-%d@liftoff", rc.Namespace, rc.Name, strings.NewReplacer(" ", "-", ">", "", "/", "-").Replace(string(e.Type)+"-"+e.Title), e.Start.Unix())
		out = append(out, Event{UID: uid, Summary: summary, Description: strings.Join(desc, "\n"),
			Start: e.Start.Time, End: end, Categories: []string{string(e.Type)}})
	}
	return out
}

// ServeICS answers with the calendar's feed (upcoming and recent entries).
func ServeICS(w http.ResponseWriter, rc *releasev1.ReleaseCalendar, now time.Time) {
	body := ICS(rc.Namespace+"/"+rc.Name, FeedEvents(rc), now)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", rc.Name+".ics"))
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(body)
}
