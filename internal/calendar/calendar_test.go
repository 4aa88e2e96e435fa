package calendar

import (
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, loc, s string) time.Time {
	t.Helper()
	l, err := time.LoadLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02T15:04", s, l)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Business hours in Berlin, a year-end freeze, a freeze on the last day of
// every month, and one on leap days.
func berlin(t *testing.T) *Calendar {
	t.Helper()
	c, err := New("Europe/Berlin", []WindowSpec{
		{Name: "business-hours", Kind: Allow, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", Start: "2026-01-05T09:00:00", Duration: 8 * time.Hour, Stages: []string{"prod"}},
		{Name: "year-end", Kind: Deny, Start: "2026-12-20T00:00:00", End: "2027-01-04T00:00:00", Reason: "year-end freeze"},
		{Name: "month-end", Kind: Deny, RRule: "FREQ=MONTHLY;BYMONTHDAY=-1", Start: "2026-01-31T00:00:00", Duration: 24 * time.Hour, Reason: "books close", Stages: []string{"prod"}},
		{Name: "leap-day", Kind: Deny, RRule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", Start: "2028-02-29T00:00:00", Duration: 24 * time.Hour, Reason: "leap day"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWindows(t *testing.T) {
	c := berlin(t)
	tests := []struct {
		name, stage, when string
		open              bool
		why               string
	}{
		{"weekday morning", "prod", "2026-03-24T09:30", true, "business-hours"},
		{"before opening", "prod", "2026-03-24T08:59", false, "outside every allow window"},
		{"weekend", "prod", "2026-03-28T12:00", false, "outside every allow window"},
		// Clocks go forward on Sunday 29 March: Monday 09:00 is still 09:00 local.
		{"after spring DST change, 09:00 local", "prod", "2026-03-30T09:00", true, "business-hours"},
		{"after spring DST change, 08:30 local", "prod", "2026-03-30T08:30", false, "outside"},
		// Clocks go back on Sunday 25 October.
		{"after autumn DST change, 16:59 local", "prod", "2026-10-26T16:59", true, "business-hours"},
		{"after autumn DST change, 17:00 local", "prod", "2026-10-26T17:00", false, "outside"},
		{"other stages ignore business hours", "dev", "2026-03-28T03:00", true, "no window restricts"},
		{"year-end freeze applies to every stage", "dev", "2026-12-31T12:00", false, "freeze year-end"},
		{"freeze spans the year boundary", "prod", "2027-01-02T10:00", false, "freeze year-end"},
		{"after the freeze", "prod", "2027-01-04T10:00", true, "business-hours"},
		{"last day of a 30-day month", "prod", "2026-04-30T10:00", false, "freeze month-end"},
		{"last day of February (the 28th in 2026)", "prod", "2026-02-28T10:00", false, "freeze month-end"},
		{"27 February is not the month end", "prod", "2026-02-27T10:00", true, "business-hours"},
		{"day before month end", "prod", "2026-04-29T10:00", true, "business-hours"},
		{"leap day", "dev", "2028-02-29T10:00", false, "freeze leap-day"},
		{"no leap day in 2029: 28 Feb open", "dev", "2029-02-28T10:00", true, "no window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := c.At(tt.stage, at(t, "Europe/Berlin", tt.when))
			if st.Open != tt.open || !strings.Contains(st.Reason, tt.why) {
				t.Fatalf("open=%v %q, want open=%v containing %q", st.Open, st.Reason, tt.open, tt.why)
			}
		})
	}
}

func TestNextChange(t *testing.T) {
	c := berlin(t)
	tests := []struct {
		stage, from, want string
		open              bool
	}{
		{"prod", "2026-03-27T18:00", "2026-03-30T09:00", true},  // Friday evening -> Monday, across DST
		{"prod", "2026-03-30T10:00", "2026-03-30T17:00", false}, // closes at 17:00 local
		{"prod", "2026-12-18T10:00", "2026-12-18T17:00", false},
		{"dev", "2026-12-10T10:00", "2026-12-20T00:00", false}, // the freeze starts
		{"dev", "2026-12-25T10:00", "2027-01-04T00:00", true},  // the freeze ends
	}
	for _, tt := range tests {
		next, st, ok := c.NextChange(tt.stage, at(t, "Europe/Berlin", tt.from))
		want := at(t, "Europe/Berlin", tt.want)
		if !ok || !next.Equal(want) || st.Open != tt.open {
			t.Errorf("%s from %s: next %s open=%v ok=%v, want %s open=%v", tt.stage, tt.from, next.In(want.Location()), st.Open, ok, want, tt.open)
		}
	}
	if _, _, ok := mustNew(t, "UTC", nil).NextChange("prod", time.Now()); ok {
		t.Error("a calendar without windows never changes")
	}
}

func mustNew(t *testing.T, tz string, specs []WindowSpec) *Calendar {
	c, err := New(tz, specs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		tz   string
		spec WindowSpec
		want string
	}{
		{"Mars/Olympus", WindowSpec{Name: "w", Kind: Allow, Start: "2026-01-01T00:00", End: "2026-01-02T00:00"}, "not an IANA time zone"},
		{"UTC", WindowSpec{Name: "w", Kind: "Maybe", Start: "2026-01-01T00:00", End: "2026-01-02T00:00"}, "use Allow or Deny"},
		{"UTC", WindowSpec{Name: "w", Kind: Deny, Start: "tomorrow", End: "2026-01-02T00:00"}, `start: "tomorrow" is not a time`},
		{"UTC", WindowSpec{Name: "w", Kind: Deny, Start: "2026-01-02T00:00", End: "2026-01-01T00:00"}, "is not after start"},
		{"UTC", WindowSpec{Name: "w", Kind: Deny, Start: "2026-01-01T00:00"}, "needs start and end"},
		{"UTC", WindowSpec{Name: "w", Kind: Allow, RRule: "FREQ=SOMETIMES", Start: "2026-01-01T00:00", Duration: time.Hour}, `rrule "FREQ=SOMETIMES"`},
		{"UTC", WindowSpec{Name: "w", Kind: Allow, RRule: "FREQ=DAILY", Start: "2026-01-01T00:00"}, "positive duration"},
	}
	for _, tt := range tests {
		if _, err := New(tt.tz, []WindowSpec{tt.spec}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.spec, err, tt.want)
		}
	}
}
