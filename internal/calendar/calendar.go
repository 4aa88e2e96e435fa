// Package calendar decides whether a stage is open for promotion at a given
// time: Allow windows (business hours, release trains) and Deny windows
// (freezes), each an RFC 5545 recurrence or a fixed span, in one time zone.
// Recurrences are computed in wall-clock time of that zone, so "every weekday
// at 09:00" stays at 09:00 across daylight-saving changes; durations are
// elapsed time.
package calendar

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Kind of a window.
type Kind string

// Window kinds.
const (
	Allow Kind = "Allow"
	Deny  Kind = "Deny"
)

// WindowSpec is a window as a user writes it.
type WindowSpec struct {
	Name string
	Kind Kind
	// RRule is an RFC 5545 recurrence rule without DTSTART, e.g.
	// "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR". With RRule, Start is the first
	// occurrence and Duration its length.
	RRule    string
	Start    string // "2026-01-05T09:00:00" (wall time in the zone) or RFC 3339
	Duration time.Duration
	// End, without RRule: a fixed span from Start to End.
	End string
	// Stages the window applies to; empty means all.
	Stages []string
	Reason string
}

type window struct {
	spec       WindowSpec
	rule       *rrule.RRule
	start, end time.Time // fixed span
	duration   time.Duration
}

// Calendar is a compiled set of windows.
type Calendar struct {
	loc     *time.Location
	windows []window
}

// maxLookahead bounds the search for the next change.
const maxLookahead = 400 * 24 * time.Hour

// New compiles windows in the time zone tz (IANA name; "" means UTC). Its
// error names the window and what to fix.
func New(tz string, specs []WindowSpec) (*Calendar, error) {
	loc, err := location(tz)
	if err != nil {
		return nil, err
	}
	c := &Calendar{loc: loc}
	for _, s := range specs {
		w, err := compile(s, loc)
		if err != nil {
			return nil, fmt.Errorf("window %q: %v", s.Name, err)
		}
		c.windows = append(c.windows, w)
	}
	return c, nil
}

// location loads an IANA zone; "" is UTC.
func location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timeZone %q is not an IANA time zone (for example Europe/Berlin): %v", tz, err)
	}
	return loc, nil
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: write 2026-01-05T09:00:00 (in the calendar's time zone) or RFC 3339", s)
}

func compile(s WindowSpec, loc *time.Location) (window, error) {
	w := window{spec: s}
	if s.Kind != Allow && s.Kind != Deny {
		return w, fmt.Errorf("kind %q: use Allow or Deny", s.Kind)
	}
	start, err := parseTime(s.Start, loc)
	if err != nil {
		return w, fmt.Errorf("start: %v", err)
	}
	if s.RRule == "" {
		end, err := parseTime(s.End, loc)
		if err != nil {
			return w, fmt.Errorf("end (a window without rrule needs start and end): %v", err)
		}
		if !end.After(start) {
			return w, fmt.Errorf("end %s is not after start %s", s.End, s.Start)
		}
		w.start, w.end = start, end
		return w, nil
	}
	if s.Duration <= 0 {
		return w, fmt.Errorf("a recurring window needs a positive duration")
	}
	opt, err := rrule.StrToROptionInLocation(strings.TrimPrefix(s.RRule, "RRULE:"), loc)
	if err != nil {
		return w, fmt.Errorf("rrule %q: %v", s.RRule, err)
	}
	opt.Dtstart = start
	if w.rule, err = rrule.NewRRule(*opt); err != nil {
		return w, fmt.Errorf("rrule %q: %v", s.RRule, err)
	}
	w.duration = s.Duration
	return w, nil
}

func (w *window) applies(stage string) bool {
	if len(w.spec.Stages) == 0 {
		return true
	}
	for _, s := range w.spec.Stages {
		if s == stage {
			return true
		}
	}
	return false
}

// active returns the occurrence of w that covers t, if any.
func (w *window) active(t time.Time) (time.Time, time.Time, bool) {
	if w.rule == nil {
		return w.start, w.end, !t.Before(w.start) && t.Before(w.end)
	}
	for _, o := range w.rule.Between(t.Add(-w.duration), t, true) {
		if end := o.Add(w.duration); !t.Before(o) && t.Before(end) {
			return o, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// State is whether a stage is open at a time, and why.
type State struct {
	Open bool
	// Reason says which window decides (the freeze, or that no allow window is open).
	Reason string
	// Window is the deciding window's name.
	Window string
}

// At evaluates the stage at t: a Deny window covering t closes it; otherwise,
// when Allow windows apply to the stage, one must cover t.
func (c *Calendar) At(stage string, t time.Time) State {
	hasAllow := false
	var allowedBy string
	for i := range c.windows {
		w := &c.windows[i]
		if !w.applies(stage) {
			continue
		}
		_, end, on := w.active(t)
		switch w.spec.Kind {
		case Deny:
			if on {
				return State{Open: false, Window: w.spec.Name, Reason: fmt.Sprintf("freeze %s until %s: %s", w.spec.Name, end.In(c.loc).Format(time.RFC3339), w.spec.Reason)}
			}
		case Allow:
			hasAllow = true
			if on && allowedBy == "" {
				allowedBy = w.spec.Name
			}
		}
	}
	switch {
	case !hasAllow:
		return State{Open: true, Reason: "no window restricts the stage"}
	case allowedBy != "":
		return State{Open: true, Window: allowedBy, Reason: "inside allow window " + allowedBy}
	}
	return State{Open: false, Reason: "outside every allow window"}
}

// NextChange returns when the stage's state next changes after t, and the
// state it changes to; ok is false when nothing changes within 400 days.
func (c *Calendar) NextChange(stage string, t time.Time) (time.Time, State, bool) {
	now := c.At(stage, t)
	var bounds []time.Time
	for i := range c.windows {
		w := &c.windows[i]
		if !w.applies(stage) {
			continue
		}
		if w.rule == nil {
			bounds = append(bounds, w.start, w.end)
			continue
		}
		if o, end, on := w.active(t); on {
			bounds = append(bounds, o, end)
		}
		for _, o := range w.rule.Between(t, t.Add(maxLookahead), false) {
			bounds = append(bounds, o, o.Add(w.duration))
			if len(bounds) > 2000 {
				break
			}
		}
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Before(bounds[j]) })
	for _, b := range bounds {
		if !b.After(t) {
			continue
		}
		if st := c.At(stage, b); st.Open != now.Open {
			return b, st, true
		}
	}
	return time.Time{}, State{}, false
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }
