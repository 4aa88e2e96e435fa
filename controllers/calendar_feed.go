package controllers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// CalendarFeedPath is where the feeds are served: /calendars/NAMESPACE/NAME.ics.
const CalendarFeedPath = "/calendars/"

// CalendarFeed serves a ReleaseCalendar's status as an iCalendar feed that
// Google Calendar or Outlook can subscribe to: the upcoming windows, freezes,
// planned promotions and milestone due dates, and the recent promotions.
type CalendarFeed struct {
	Client client.Reader
	Clock  clock.PassiveClock
}

// instant is how long an entry without an end (a promotion, a due date) lasts
// in the feed, so calendar clients show it.
const instant = 15 * time.Minute

func (f *CalendarFeed) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(req.URL.Path, CalendarFeedPath)
	ns, file, ok := strings.Cut(rest, "/")
	name, isICS := strings.CutSuffix(file, ".ics")
	if !ok || !isICS || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		http.Error(w, "not found: feeds are at /calendars/NAMESPACE/NAME.ics", http.StatusNotFound)
		return
	}
	rc := &releasev1.ReleaseCalendar{}
	if err := f.Client.Get(req.Context(), types.NamespacedName{Namespace: ns, Name: name}, rc); err != nil {
		if apierrors.IsNotFound(err) {
			http.Error(w, fmt.Sprintf("ReleaseCalendar %s/%s not found", ns, name), http.StatusNotFound)
			return
		}
		http.Error(w, "reading the calendar failed; try again", http.StatusServiceUnavailable)
		return
	}
	body := calendar.ICS(ns+"/"+name, FeedEvents(rc), f.Clock.Now())
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", name+".ics"))
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(body)
}

// FeedEvents turns the calendar's upcoming and recent entries into feed events.
func FeedEvents(rc *releasev1.ReleaseCalendar) []calendar.Event {
	entries := append(append([]releasev1.CalendarEntry(nil), rc.Status.Recent...), rc.Status.Upcoming...)
	out := make([]calendar.Event, 0, len(entries))
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
		case releasev1.EntryMilestoneDue:
			summary = "Due: " + strings.TrimSuffix(strings.TrimPrefix(e.Title, "milestone "), " due")
		}
		uid := fmt.Sprintf("%s-%s-%s-%d@liftoff", rc.Namespace, rc.Name, strings.NewReplacer(" ", "-", ">", "", "/", "-").Replace(string(e.Type)+"-"+e.Title), e.Start.Unix())
		out = append(out, calendar.Event{UID: uid, Summary: summary, Description: strings.Join(desc, "\n"),
			Start: e.Start.Time, End: end, Categories: []string{string(e.Type)}})
	}
	return out
}
