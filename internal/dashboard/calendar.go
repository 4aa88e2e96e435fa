package dashboard

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// CalendarView is a calendar's month or week, in the dashboard's time zone
// (TimeZone); the calendar's windows are written in its own (CalendarZone).
type CalendarView struct {
	Namespace    string      `json:"namespace"`
	Name         string      `json:"name"`
	TimeZone     string      `json:"timeZone"`
	CalendarZone string      `json:"calendarTimeZone"`
	Mode         string      `json:"view"`
	Title        string      `json:"title"`
	Date         string      `json:"date"`
	Prev         string      `json:"prev"`
	Next         string      `json:"next"`
	Today        string      `json:"today"`
	Weeks        [][]Day     `json:"weeks"`
	Stages       []CalStage  `json:"stages,omitempty"`
	Freezes      []string    `json:"activeFreezes,omitempty"`
	Problem      string      `json:"problem,omitempty"`
	ICS          string      `json:"ics"`
	Others       []ObjectRef `json:"calendars,omitempty"`
}

// ObjectRef names an object.
type ObjectRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Day is one day of the grid.
type Day struct {
	Date    string     `json:"date"`
	Label   string     `json:"label"`
	Num     int        `json:"day"`
	InRange bool       `json:"inRange"`
	Today   bool       `json:"today,omitempty"`
	Entries []DayEntry `json:"entries,omitempty"`
}

// DayEntry is what happens on a day: a window, a freeze, a planned or done
// promotion, a milestone due date.
type DayEntry struct {
	Type    string `json:"type"`
	Class   string `json:"class"`
	Title   string `json:"title"`
	Time    string `json:"time"`
	Stages  string `json:"stages,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Slip    string `json:"slip,omitempty"`
	Release string `json:"release,omitempty"`
	start   time.Time
}

// CalStage is whether a stage is open now.
type CalStage struct {
	Name   string `json:"name"`
	Open   bool   `json:"open"`
	Reason string `json:"reason,omitempty"`
	Next   string `json:"nextChange,omitempty"`
}

const dateLayout = "2006-01-02"

// buildCalendar renders the month (mode "month") or the week (mode "week")
// that holds date (today when empty). Windows and freezes are expanded from
// the spec for any range; planned and done promotions and milestone due
// dates come from the status (30 days back and ahead).
func buildCalendar(ctx context.Context, s Store, key types.NamespacedName, mode, date string, now time.Time, loc *time.Location) (*CalendarView, error) {
	rc := &releasev1.ReleaseCalendar{}
	if err := s.Get(ctx, key, rc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errNotFound
		}
		return nil, err
	}
	v := &CalendarView{Namespace: rc.Namespace, Name: rc.Name, TimeZone: zoneName(loc), CalendarZone: rc.Spec.TimeZone, Mode: mode,
		ICS: fmt.Sprintf("/calendars/%s/%s.ics", rc.Namespace, rc.Name)}
	if v.CalendarZone == "" {
		v.CalendarZone = "UTC"
	}
	cal, err := calendar.Of(rc)
	if err != nil {
		v.Problem = err.Error()
	}
	today := now.In(loc)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	if d, err := time.ParseInLocation(dateLayout, date, loc); err == nil {
		day = d
	}
	var from, to, first time.Time // grid [from, to); first day of the range shown
	switch mode {
	case "week":
		from = day.AddDate(0, 0, -mondayOffset(day))
		to = from.AddDate(0, 0, 7)
		first = from
		v.Title = fmt.Sprintf("Week of %s", from.Format("Monday 2 January 2006"))
		v.Prev, v.Next = from.AddDate(0, 0, -7).Format(dateLayout), to.Format(dateLayout)
	default:
		v.Mode = "month"
		first = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
		from = first.AddDate(0, 0, -mondayOffset(first))
		last := first.AddDate(0, 1, 0)
		to = last.AddDate(0, 0, (7-mondayOffset(last))%7)
		v.Title = first.Format("January 2006")
		v.Prev, v.Next = first.AddDate(0, -1, 0).Format(dateLayout), last.Format(dateLayout)
	}
	v.Date = day.Format(dateLayout)
	v.Today = today.Format(dateLayout)

	entries := calendarEntries(rc, cal, from, to, loc)
	var week []Day
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		dv := Day{Date: d.Format(dateLayout), Label: d.Format("Monday 2 January"), Num: d.Day(),
			InRange: mode == "week" || d.Month() == first.Month(), Today: d.Format(dateLayout) == v.Today}
		for _, e := range entries {
			if overlaps(e, d, next) {
				dv.Entries = append(dv.Entries, onDay(e, d, next, loc))
			}
		}
		week = append(week, dv)
		if len(week) == 7 {
			v.Weeks = append(v.Weeks, week)
			week = nil
		}
	}
	for _, st := range rc.Status.Stages {
		cs := CalStage{Name: st.Name, Open: st.Open, Reason: st.Reason}
		if st.NextChange != nil {
			cs.Next = stamp(st.NextChange.Time, loc)
		}
		v.Stages = append(v.Stages, cs)
	}
	for _, f := range rc.Status.ActiveFreezes {
		stages := "all stages"
		if len(f.Stages) > 0 {
			stages = strings.Join(f.Stages, ", ")
		}
		v.Freezes = append(v.Freezes, fmt.Sprintf("%s (%s) until %s: %s", f.Window, stages, stamp(f.Until.Time, loc), f.Reason))
	}
	others, err := s.Calendars(ctx, "")
	if err != nil {
		return nil, err
	}
	sortByKey(others)
	for _, o := range others {
		v.Others = append(v.Others, ObjectRef{Namespace: o.Namespace, Name: o.Name})
	}
	return v, nil
}

// calEntry is an entry with its span, before it is cut into days.
type calEntry struct {
	DayEntry
	end time.Time
}

func calendarEntries(rc *releasev1.ReleaseCalendar, cal *calendar.Calendar, from, to time.Time, loc *time.Location) []calEntry {
	var out []calEntry
	if cal != nil {
		for _, o := range cal.Occurrences(from, to) {
			e := calEntry{DayEntry: DayEntry{Type: "Window", Class: "window", Title: "window " + o.Window, Stages: stagesText(o.Stages), Detail: o.Reason, start: o.Start}, end: o.End}
			if o.Kind == calendar.Deny {
				e.Type, e.Class, e.Title = "Freeze", "freeze", "freeze "+o.Window
			}
			out = append(out, e)
		}
	}
	for _, list := range [][]releasev1.CalendarEntry{rc.Status.Upcoming, rc.Status.Recent} {
		for _, ce := range list {
			if ce.Type == releasev1.EntryWindow || ce.Type == releasev1.EntryFreeze {
				continue // expanded from the spec above, for any range
			}
			e := calEntry{DayEntry: DayEntry{Type: string(ce.Type), Title: ce.Title, Stages: stagesText(ce.Stages),
				Detail: ce.Detail, Outcome: ce.Outcome, Slip: ce.Slip, Release: ce.Release, start: ce.Start.Time}, end: ce.Start.Time}
			if ce.End != nil {
				e.end = ce.End.Time
			}
			switch ce.Type {
			case releasev1.EntryPlannedPromotion:
				e.Class = "planned"
			case releasev1.EntryMilestoneDue:
				e.Class = "milestone"
			case releasev1.EntryPromotion:
				e.Class = "outcome-" + strings.ToLower(ce.Outcome)
			default:
				e.Class = "other"
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

func stagesText(stages []string) string {
	if len(stages) == 0 {
		return "all stages"
	}
	return strings.Join(stages, ", ")
}

func overlaps(e calEntry, from, to time.Time) bool {
	if e.end.After(e.start) {
		return e.start.Before(to) && e.end.After(from)
	}
	return !e.start.Before(from) && e.start.Before(to)
}

// onDay is the entry as one day shows it: its times on that day.
func onDay(e calEntry, from, to time.Time, loc *time.Location) DayEntry {
	d := e.DayEntry
	s, t := e.start.In(loc), e.end.In(loc)
	switch {
	case !t.After(s):
		d.Time = s.Format("15:04")
	case !s.After(from) && !t.Before(to):
		d.Time = "all day"
	case !s.After(from):
		d.Time = "until " + t.Format("15:04")
	case !t.Before(to):
		d.Time = "from " + s.Format("15:04")
	default:
		d.Time = s.Format("15:04") + "–" + t.Format("15:04")
	}
	return d
}

// mondayOffset is how many days d is after the Monday of its week.
func mondayOffset(d time.Time) int { return (int(d.Weekday()) + 6) % 7 }
