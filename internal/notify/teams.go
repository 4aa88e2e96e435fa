package notify

import (
	"strings"

	"github.com/liftoff-dev/liftoff/internal/notes"
)

// teamsMaxActions bounds the buttons under a card.
const teamsMaxActions = 6

// TeamsMessage is the incoming-webhook payload of an event: a message with
// one Adaptive Card attachment, as Teams incoming webhooks and Workflows'
// "post to a channel when a webhook request is received" take it. The card
// has the title, the text, the facts (FactSet), the lists (Markdown lists,
// which TextBlocks render) and one Action.OpenUrl per link.
func TeamsMessage(e *Event) map[string]any {
	color := map[string]string{SeverityInfo: "Good", SeverityWarning: "Warning", SeverityCritical: "Attention"}[e.Severity]
	if e.Type == TypeReport {
		color = "Default"
	}
	body := []any{map[string]any{"type": "TextBlock", "text": e.Title, "size": "Large", "weight": "Bolder", "wrap": true, "color": color, "style": "heading"}}
	if e.Report != nil {
		body = append(body, teamsReport(e.Report.Markdown)...)
	} else {
		if e.Text != "" {
			body = append(body, textBlock(notes.EscapeMarkdown(e.Text)))
		}
		if len(e.Facts) > 0 {
			facts := make([]any, 0, len(e.Facts))
			for _, f := range e.Facts {
				facts = append(facts, map[string]any{"title": f.Name, "value": notes.EscapeMarkdown(f.Value)})
			}
			body = append(body, map[string]any{"type": "FactSet", "facts": facts})
		}
		for _, l := range eventLists(e) {
			body = append(body, heading(l.title), textBlock("- "+strings.Join(l.items, "\r- ")))
		}
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": "Liftoff · " + e.Namespace + "/" + e.Notification + " · " +
		e.At.UTC().Format("2006-01-02 15:04 UTC"), "isSubtle": true, "size": "Small", "wrap": true})
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

// teamsReport renders the report's sections: TextBlocks render Markdown
// links, bold and lists (lines joined with \r), but no headings.
func teamsReport(md string) []any {
	var out []any
	for _, s := range SplitMarkdown(md) {
		if s.Heading != "" && s.Level > 1 {
			out = append(out, heading(s.Heading))
		}
		var para []string
		flush := func() {
			if len(para) > 0 {
				out = append(out, textBlock(strings.Join(para, "\r")))
				para = nil
			}
		}
		for _, line := range s.Lines {
			if !strings.HasPrefix(line, "- ") {
				flush()
				out = append(out, textBlock(line))
				continue
			}
			para = append(para, line)
		}
		flush()
	}
	return out
}

func heading(s string) map[string]any {
	return map[string]any{"type": "TextBlock", "text": s, "weight": "Bolder", "size": "Medium", "wrap": true, "spacing": "Medium"}
}

func textBlock(s string) map[string]any {
	return map[string]any{"type": "TextBlock", "text": s, "wrap": true}
}
