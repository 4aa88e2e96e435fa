package notify

import (
	"strings"
)

// teamsMaxActions bounds the buttons under a card.
const teamsMaxActions = 6

// TeamsMessage is the incoming-webhook payload of an event: a message with
// one Adaptive Card attachment, as Teams incoming webhooks and Workflows'
// "post to a channel when a webhook request is received" take it. The card
// has the title, the text, the facts, the lists and one Action.OpenUrl per
// link.
//
// Every text is a TextRun of a RichTextBlock, which Teams shows as written:
// a TextBlock's Markdown would turn * and _ into emphasis and [..](..) into
// links, and has no escape that every Teams client honours (a backslash
// shows literally: "result \> 0.05"). Bold and links are the runs' own
// attributes instead.
func TeamsMessage(e *Event) map[string]any {
	color := map[string]string{SeverityInfo: "Good", SeverityWarning: "Warning", SeverityCritical: "Attention"}[e.Severity]
	if e.Type == TypeReport {
		color = "Default"
	}
	title := textRun(e.Title)
	title["size"], title["weight"], title["color"] = "Large", "Bolder", color
	body := []any{richText(title)}
	if e.Report != nil {
		body = append(body, teamsReport(e.Report.Markdown)...)
	} else {
		if e.Text != "" {
			body = append(body, richText(textRun(e.Text)))
		}
		for _, f := range e.Facts {
			name := textRun(f.Name + ": ")
			name["weight"] = "Bolder"
			body = append(body, richText(name, textRun(f.Value)))
		}
		for _, l := range eventLists(e) {
			body = append(body, teamsHeading(l.title))
			for _, it := range l.items {
				body = append(body, teamsLine("- "+it))
			}
		}
	}
	footer := textRun("Liftoff · " + e.Namespace + "/" + e.Notification + " · " + e.At.UTC().Format("2006-01-02 15:04 UTC"))
	footer["isSubtle"], footer["size"] = true, "Small"
	body = append(body, richText(footer))
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4",
		"msteams": map[string]any{"width": "Full"},
		"body":    body,
	}
	var actions []any
	for i, l := range e.Links {
		if i == teamsMaxActions {
			break
		}
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": l.Title, "url": l.URL})
	}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}

// teamsReport renders the report's sections: a heading (below the report's
// own title) as a bold line, then each line of the section.
func teamsReport(md string) []any {
	var out []any
	for _, s := range SplitMarkdown(md) {
		if s.Heading != "" && s.Level > 1 {
			out = append(out, teamsHeading(s.Heading))
		}
		for _, line := range s.Lines {
			out = append(out, teamsLine(line))
		}
	}
	return out
}

// teamsHeading is a heading of the Markdown Liftoff writes, bold.
func teamsHeading(md string) map[string]any {
	block := teamsLine(md)
	for _, r := range block["inlines"].([]any) {
		r.(map[string]any)["weight"] = "Bolder"
		r.(map[string]any)["size"] = "Medium"
	}
	block["spacing"] = "Medium"
	return block
}

// teamsLine renders one line of the Markdown Liftoff writes as a
// RichTextBlock: **bold** as a bolder run, [text](url) as a run that opens
// the URL, a "- " item as a bullet (nested items indented), and the rest,
// its backslash escapes removed, as written.
func teamsLine(line string) map[string]any {
	var runs []map[string]any
	rest := strings.TrimLeft(line, " ")
	if strings.HasPrefix(rest, "- ") {
		bullet := "• "
		if indent := len(line) - len(rest); indent > 0 {
			bullet = strings.Repeat("\u00a0", 2*indent) + "◦ "
		}
		runs = append(runs, textRun(bullet))
		line = rest[2:]
	}
	for _, in := range parseInlines(line) {
		r := textRun(in.Text)
		if in.Bold {
			r["weight"] = "Bolder"
		}
		if in.URL != "" {
			r["selectAction"] = map[string]any{"type": "Action.OpenUrl", "url": in.URL}
		}
		runs = append(runs, r)
	}
	block := richText(runs...)
	if strings.HasPrefix(rest, "- ") {
		block["spacing"] = "None"
	}
	return block
}

func richText(runs ...map[string]any) map[string]any {
	inlines := make([]any, len(runs))
	for i, r := range runs {
		inlines[i] = r
	}
	return map[string]any{"type": "RichTextBlock", "inlines": inlines}
}

// textRun is text Teams shows as written: a TextRun has no Markdown.
func textRun(s string) map[string]any { return map[string]any{"type": "TextRun", "text": s} }
