package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Schedule is a recurrence of instants (a report every Monday at 09:00) in
// wall-clock time of one zone, so 09:00 stays 09:00 across daylight-saving
// changes, as windows do.
type Schedule struct {
	rule *rrule.RRule
	loc  *time.Location
}

// NewSchedule compiles an RFC 5545 rule without DTSTART whose first
// occurrence is start (a wall time in tz, "" meaning UTC, or RFC 3339). Its
// error says what to fix.
func NewSchedule(tz, rule, start string) (*Schedule, error) {
	loc, err := location(tz)
	if err != nil {
		return nil, err
	}
	t, err := parseTime(start, loc)
	if err != nil {
		return nil, fmt.Errorf("start: %v", err)
	}
	opt, err := rrule.StrToROptionInLocation(strings.TrimPrefix(rule, "RRULE:"), loc)
	if err != nil {
		return nil, fmt.Errorf("rrule %q: %v", rule, err)
	}
	opt.Dtstart = t
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, fmt.Errorf("rrule %q: %v", rule, err)
	}
	return &Schedule{rule: r, loc: loc}, nil
}

// Next is the first occurrence after t; ok is false when the rule has ended.
func (s *Schedule) Next(t time.Time) (time.Time, bool) {
	o := s.rule.After(t, false)
	return o, !o.IsZero()
}

// Last is the latest occurrence at or before t; ok is false when there is none.
func (s *Schedule) Last(t time.Time) (time.Time, bool) {
	o := s.rule.Before(t, true)
	return o, !o.IsZero()
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }
