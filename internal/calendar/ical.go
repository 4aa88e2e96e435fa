package calendar

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Occurrence is one window occurrence, for the calendar's upcoming entries.
type Occurrence struct {
	Window     string
	Kind       Kind
	Start, End time.Time
	Stages     []string
	Reason     string
}

// Occurrences lists the occurrences of every window that overlap [from, to),
// by start time.
func (c *Calendar) Occurrences(from, to time.Time) []Occurrence {
	var out []Occurrence
	for i := range c.windows {
		w := &c.windows[i]
		add := func(s, e time.Time) {
			if e.After(from) && s.Before(to) {
				out = append(out, Occurrence{Window: w.spec.Name, Kind: w.spec.Kind, Start: s, End: e, Stages: w.spec.Stages, Reason: w.spec.Reason})
			}
		}
		if w.rule == nil {
			add(w.start, w.end)
			continue
		}
		for _, o := range w.rule.Between(from.Add(-w.duration), to, true) {
			add(o, o.Add(w.duration))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Event is one entry of an iCalendar feed.
type Event struct {
	UID         string
	Summary     string
	Description string
	Start, End  time.Time
	Categories  []string
}

// ICS renders events as an RFC 5545 calendar that Google Calendar or Outlook
// can subscribe to: CRLF lines folded at 75 octets, TEXT escaped, times in UTC.
func ICS(name string, events []Event, now time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) { fold(&b, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Liftoff//Release calendar//EN")
	line("CALSCALE:GREGORIAN")
	line("X-WR-CALNAME:" + escape(name))
	for _, e := range events {
		line("BEGIN:VEVENT")
		line("UID:" + escape(e.UID))
		line("DTSTAMP:" + utc(now))
		line("DTSTART:" + utc(e.Start))
		line("DTEND:" + utc(e.End))
		line("SUMMARY:" + escape(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION:" + escape(e.Description))
		}
		if len(e.Categories) > 0 {
			cats := make([]string, len(e.Categories))
			for i, c := range e.Categories {
				cats[i] = escape(c)
			}
			line("CATEGORIES:" + strings.Join(cats, ","))
		}
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes()
}

// Events turns occurrences into feed entries; calendar names the UIDs' scope.
func Events(calendar string, occ []Occurrence) []Event {
	out := make([]Event, 0, len(occ))
	for _, o := range occ {
		stages := "all stages"
		if len(o.Stages) > 0 {
			stages = strings.Join(o.Stages, ", ")
		}
		summary := fmt.Sprintf("%s window %s (%s)", o.Kind, o.Window, stages)
		if o.Kind == Deny {
			summary = fmt.Sprintf("Freeze: %s (%s)", o.Window, stages)
		}
		out = append(out, Event{
			UID:     fmt.Sprintf("%s-%s-%d@liftoff", calendar, o.Window, o.Start.Unix()),
			Summary: summary, Description: o.Reason, Start: o.Start, End: o.End,
			Categories: []string{string(o.Kind)},
		})
	}
	return out
}

func utc(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// escape writes TEXT as RFC 5545 wants: backslash, semicolon, comma, newline.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`)
	return r.Replace(s)
}

// fold writes a content line, folded so no line exceeds 75 octets, without
// splitting a UTF-8 sequence.
func fold(b *bytes.Buffer, s string) {
	const limit = 75
	first := true
	for len(s) > 0 {
		width := limit
		if !first {
			width = limit - 1 // the leading space counts
		}
		cut := len(s)
		if cut > width {
			cut = width
			for cut > 0 && s[cut]&0xC0 == 0x80 {
				cut--
			}
		}
		if !first {
			b.WriteByte(' ')
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n")
		s = s[cut:]
		first = false
	}
}
