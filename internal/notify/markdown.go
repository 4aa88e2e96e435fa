package notify

import (
	"fmt"
	"strings"

	"github.com/liftoff-dev/liftoff/internal/notes"
)

// Section is a part of a Markdown document under one heading.
type Section struct {
	// Heading without its #s; empty for what precedes the first heading.
	Heading string
	// Level of the heading (1 for #, 2 for ##).
	Level int
	// Lines of the section, blank ones dropped.
	Lines []string
}

// SplitMarkdown cuts the Markdown Liftoff writes into its sections: receivers
// without headings (Slack, Teams) render each one as a block of their own.
func SplitMarkdown(md string) []Section {
	var out []Section
	cur := Section{}
	flush := func() {
		if cur.Heading != "" || len(cur.Lines) > 0 {
			out = append(out, cur)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if level := headingLevel(trimmed); level > 0 {
			flush()
			cur = Section{Heading: strings.TrimSpace(trimmed[level:]), Level: level}
			continue
		}
		if trimmed != "" {
			cur.Lines = append(cur.Lines, strings.TrimRight(line, " "))
		}
	}
	flush()
	return out
}

func headingLevel(line string) int {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || n == len(line) || line[n] != ' ' {
		return 0
	}
	return n
}

// list is a titled list of Markdown items shown under an event.
type list struct {
	title string
	items []string
}

// eventLists are the lists of an event, as Markdown items: the gates that
// hold, who can unblock, the analysis, the changes, the blockers.
func eventLists(e *Event) []list {
	var out []list
	if len(e.Gates) > 0 {
		l := list{title: "Holding"}
		for _, g := range e.Gates {
			it := fmt.Sprintf("**%s** (%s): %s", g.Name, strings.ToLower(g.Status), notes.EscapeMarkdown(g.Message))
			if g.URL != "" {
				it += fmt.Sprintf(" [details](%s)", g.URL)
			}
			l.items = append(l.items, it)
		}
		out = append(out, l)
	}
	if len(e.Unblockers) > 0 {
		l := list{title: "Who can unblock it"}
		for _, u := range e.Unblockers {
			l.items = append(l.items, notes.EscapeMarkdown(u))
		}
		out = append(out, l)
	}
	if len(e.Analysis) > 0 {
		l := list{title: "Analysis"}
		for _, m := range e.Analysis {
			it := fmt.Sprintf("**%s** %s: %d measurements, %d failed, %d inconclusive, %d errors", notes.EscapeMarkdown(m.Name), m.Phase,
				m.Measurements, m.Failures, m.Inconclusive, m.Errors)
			if m.Last != "" {
				it += ", last value " + notes.EscapeMarkdown(m.Last)
			}
			l.items = append(l.items, it)
		}
		out = append(out, l)
	}
	if n := e.ReleaseNotes; n != nil {
		it := notes.EscapeMarkdown(n.Summary)
		if n.URL != "" {
			it += fmt.Sprintf(" [compare](%s)", n.URL)
		}
		out = append(out, list{title: "Changes since " + n.From, items: []string{it}})
	}
	if m := e.Milestone; m != nil && len(m.Blockers) > 0 {
		l := list{title: "Open blockers"}
		for _, b := range m.Blockers {
			l.items = append(l.items, markdownLink(b))
		}
		out = append(out, l)
	}
	return out
}

func markdownLink(l Link) string {
	if l.URL == "" {
		return notes.EscapeMarkdown(l.Title)
	}
	return fmt.Sprintf("[%s](%s)", notes.EscapeMarkdown(l.Title), l.URL)
}

// inline is a run of a line of the Markdown Liftoff writes, as written:
// plain, bold, or a link's text and URL.
type inline struct {
	Text string
	Bold bool
	URL  string
}

// parseInlines cuts a line of the Markdown Liftoff writes ([text](url),
// **bold**, backslash escapes) into runs whose text is as written, for
// receivers that mark bold and links up themselves.
func parseInlines(line string) []inline {
	var out []inline
	add := func(in inline) {
		if in.Text = reMDEscape.ReplaceAllString(in.Text, "$1"); in.Text != "" {
			out = append(out, in)
		}
	}
	text := func(s string) {
		last := 0
		for _, m := range reMDBold.FindAllStringSubmatchIndex(s, -1) {
			add(inline{Text: s[last:m[0]]})
			add(inline{Text: s[m[2]:m[3]], Bold: true})
			last = m[1]
		}
		add(inline{Text: s[last:]})
	}
	last := 0
	for _, m := range reMDLink.FindAllStringSubmatchIndex(line, -1) {
		if m[0] > 0 && line[m[0]-1] == '\\' {
			continue // an escaped [ opens no link
		}
		text(line[last:m[0]])
		add(inline{Text: line[m[2]:m[3]], URL: line[m[4]:m[5]]})
		last = m[1]
	}
	text(line[last:])
	return out
}
