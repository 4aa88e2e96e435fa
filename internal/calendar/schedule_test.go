package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleKeepsWallClockTimeAcrossDaylightSaving(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Every Monday 09:00 in Berlin: 07:00 UTC in summer, 08:00 UTC in winter.
	// Berlin leaves summer time on 2026-10-25 and enters it on 2027-03-28.
	weekly, err := NewSchedule("Europe/Berlin", "FREQ=WEEKLY;BYDAY=MO", "2026-10-12T09:00:00")
	if err != nil {
		t.Fatal(err)
	}
	// Every day 02:30 in Berlin: on 2027-03-28 the clock jumps from 02:00 to
	// 03:00, and that day's occurrence is at 03:30 summer time (01:30 UTC).
	daily, err := NewSchedule("Europe/Berlin", "FREQ=DAILY", "2027-03-26T02:30:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		s          *Schedule
		now        string
		next, last string
	}{
		{"before the first occurrence", weekly, "2026-10-01T00:00:00Z", "2026-10-12T07:00:00Z", ""},
		{"at an occurrence: it is the last, the next is a week on", weekly, "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z", "2026-10-19T07:00:00Z"},
		{"the Monday after the autumn change", weekly, "2026-10-26T07:30:00Z", "2026-10-26T08:00:00Z", "2026-10-19T07:00:00Z"},
		{"winter", weekly, "2026-12-01T12:00:00Z", "2026-12-07T08:00:00Z", "2026-11-30T08:00:00Z"},
		{"across the spring change", weekly, "2027-03-23T00:00:00Z", "2027-03-29T07:00:00Z", "2027-03-22T08:00:00Z"},
		{"the day the clock skips 02:30", daily, "2027-03-27T02:00:00Z", "2027-03-28T01:30:00Z", "2027-03-27T01:30:00Z"},
		{"the day after", daily, "2027-03-28T02:00:00Z", "2027-03-29T00:30:00Z", "2027-03-28T01:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := utc(tc.now)
			next, ok := tc.s.Next(now)
			if !ok || !next.Equal(utc(tc.next)) {
				t.Errorf("next after %s: %s (%v), want %s", tc.now, next.UTC().Format(time.RFC3339), ok, tc.next)
			}
			last, ok := tc.s.Last(now)
			switch {
			case tc.last == "" && ok:
				t.Errorf("last at %s: %s, want none", tc.now, last.UTC().Format(time.RFC3339))
			case tc.last != "" && (!ok || !last.Equal(utc(tc.last))):
				t.Errorf("last at %s: %s (%v), want %s", tc.now, last.UTC().Format(time.RFC3339), ok, tc.last)
			}
			if ok && last.Location() != tc.s.Location() {
				t.Errorf("occurrence in %s, want the schedule's zone", last.Location())
			}
		})
	}
}

func TestScheduleErrorsSayWhatToFix(t *testing.T) {
	for _, tc := range []struct{ tz, rule, start, want string }{
		{"Mars/Olympus", "FREQ=WEEKLY", "2026-10-12T09:00:00", "not an IANA time zone"},
		{"", "FREQ=SOMETIMES", "2026-10-12T09:00:00", `rrule "FREQ=SOMETIMES"`},
		{"", "FREQ=WEEKLY", "next monday", "write 2026-01-05T09:00:00"},
	} {
		if _, err := NewSchedule(tc.tz, tc.rule, tc.start); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSchedule(%q, %q, %q): %v, want %q", tc.tz, tc.rule, tc.start, err, tc.want)
		}
	}
}
