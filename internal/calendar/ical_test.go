package calendar

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

// The feed parses with a real iCalendar parser, and what it reads back is
// what was written: times, escaped text, folded long lines.
func TestICSParsesWithARealParser(t *testing.T) {
	c := berlin(t)
	from := at(t, "Europe/Berlin", "2026-12-14T00:00")
	occ := c.Occurrences(from, from.Add(30*24*time.Hour))
	events := Events("checkout", occ)
	long := strings.Repeat("Änderungsstopp über die Feiertage; keine Releases, bitte. ", 4)
	events[0].Description = long
	out := ICS("checkout releases", events, from)

	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line of %d octets: %q", len(l), l)
		}
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	parsed := cal.Events()
	if len(parsed) != len(events) {
		t.Fatalf("%d events parsed, %d written", len(parsed), len(events))
	}
	if got := parsed[0].GetProperty(ics.ComponentPropertyDescription).Value; unescape(got) != long {
		t.Fatalf("description read back as %q", got)
	}
	freezes := 0
	for i, e := range parsed {
		start, err := e.GetStartAt()
		if err != nil || !start.Equal(events[i].Start) {
			t.Fatalf("event %d start %v (%v), want %v", i, start, err, events[i].Start)
		}
		if strings.HasPrefix(e.GetProperty(ics.ComponentPropertySummary).Value, "Freeze: year-end") {
			freezes++
		}
	}
	if freezes != 1 {
		t.Fatalf("year-end freeze appears %d times in the next 30 days", freezes)
	}
}

func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n").Replace(s)
}

func TestOccurrences(t *testing.T) {
	c := berlin(t)
	from := at(t, "Europe/Berlin", "2026-03-27T00:00") // Friday before the DST change
	occ := c.Occurrences(from, from.Add(4*24*time.Hour))
	var starts []string
	for _, o := range occ {
		if o.Window == "business-hours" {
			starts = append(starts, o.Start.Format("Mon 15:04 MST"))
		}
	}
	if strings.Join(starts, ", ") != "Fri 09:00 CET, Mon 09:00 CEST" {
		t.Fatalf("business hours %v", starts)
	}
}
