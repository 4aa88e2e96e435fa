package notify

import (
	"fmt"
	"regexp"
	"strings"
)

// Slack's Block Kit limits (docs.slack.dev, "Blocks" reference).
const (
	slackMaxBlocks      = 50
	slackMaxHeader      = 150
	slackMaxSectionText = 3000
	slackMaxFields      = 10
	slackMaxFieldText   = 2000
)

var slackEmoji = map[string]string{
	"Promoted": ":rocket:", "Released": ":white_check_mark:", "Blocked": ":no_entry:", "Verifying": ":mag:",
	"RolledBack": ":rewind:", "FreezeStarting": ":snowflake:", "MilestoneAtRisk": ":warning:", TypeReport: ":memo:",
}

// SlackMessage is the incoming-webhook payload of an event: `text` is the
// notification fallback, `blocks` the message (a header, the text, the facts
// as fields, the lists, the links, and a context line).
func SlackMessage(e *Event) map[string]any {
	var blocks []any
	emoji := slackEmoji[e.Type]
	if e.Type == "MilestoneAtRisk" && e.Severity == SeverityCritical {
		emoji = ":rotating_light:"
	}
	blocks = append(blocks, map[string]any{"type": "header", "text": plainText(clip(strings.TrimSpace(emoji+" "+e.Title), slackMaxHeader))})
	if e.Report != nil {
		blocks = append(blocks, slackReport(e.Report.Markdown)...)
	} else {
		if e.Text != "" {
			blocks = append(blocks, mrkdwnSection(SlackEscape(e.Text)))
		}
		if len(e.Facts) > 0 {
			var fields []any
			for i, f := range e.Facts {
				if i == slackMaxFields {
					break
				}
				fields = append(fields, mrkdwn(clip(fmt.Sprintf("*%s*\n%s", SlackEscape(f.Name), SlackEscape(f.Value)), slackMaxFieldText)))
			}
			blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
		}
		for _, l := range eventLists(e) {
			lines := make([]string, 0, len(l.items))
			for _, it := range l.items {
				lines = append(lines, "• "+MarkdownToSlack(it))
			}
			blocks = append(blocks, mrkdwnSection("*"+l.title+"*\n"+strings.Join(lines, "\n")))
		}
		if len(e.Links) > 0 {
			links := make([]string, 0, len(e.Links))
			for _, l := range e.Links {
				links = append(links, slackLink(l.URL, l.Title))
			}
			blocks = append(blocks, mrkdwnSection(strings.Join(links, "  ·  ")))
		}
	}
	ctx := fmt.Sprintf("Liftoff · %s/%s · <!date^%d^{date_short_pretty} {time}|%s>", SlackEscape(e.Namespace), SlackEscape(e.Notification),
		e.At.Unix(), e.At.UTC().Format("2006-01-02 15:04 UTC"))
	blocks = append(blocks, map[string]any{"type": "context", "elements": []any{mrkdwn(ctx)}})
	if len(blocks) > slackMaxBlocks {
		blocks = append(blocks[:slackMaxBlocks-1], blocks[len(blocks)-1])
	}
	return map[string]any{"text": e.Title, "blocks": blocks}
}

// slackReport turns the report's Markdown into sections: one per heading,
// split at line ends to fit a section.
func slackReport(md string) []any {
	var out []any
	for _, s := range SplitMarkdown(md) {
		var b strings.Builder
		if s.Heading != "" {
			b.WriteString("*" + SlackEscape(s.Heading) + "*\n")
		}
		for _, line := range s.Lines {
			line = MarkdownToSlack(line)
			if b.Len()+len(line)+1 > slackMaxSectionText {
				out = append(out, mrkdwnSection(b.String()))
				b.Reset()
			}
			b.WriteString(line + "\n")
		}
		if strings.TrimSpace(b.String()) != "" {
			out = append(out, mrkdwnSection(strings.TrimRight(b.String(), "\n")))
		}
		if s.Heading != "" {
			out = append(out, map[string]any{"type": "divider"})
		}
	}
	return out
}

func plainText(s string) map[string]any {
	return map[string]any{"type": "plain_text", "text": s, "emoji": true}
}

func mrkdwn(s string) map[string]any { return map[string]any{"type": "mrkdwn", "text": s} }

func mrkdwnSection(s string) map[string]any {
	return map[string]any{"type": "section", "text": mrkdwn(clip(s, slackMaxSectionText))}
}

// SlackEscape escapes the three characters Slack's mrkdwn reserves.
func SlackEscape(s string) string { return slackEscaper.Replace(s) }

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackLink(url, title string) string {
	return "<" + url + "|" + strings.ReplaceAll(SlackEscape(title), "|", "¦") + ">"
}

var (
	reMDLink   = regexp.MustCompile(`\[((?:\\.|[^\[\]\\])*)\]\(([^)\s]+)\)`)
	reMDBold   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	reMDEscape = regexp.MustCompile(`\\([\\` + "`" + `*_\[\]<>|#])`)
)

// MarkdownToSlack converts one line of the Markdown Liftoff writes (links,
// **bold**, bullets, backslash escapes) into Slack mrkdwn.
func MarkdownToSlack(line string) string {
	var out strings.Builder
	last := 0
	for _, m := range reMDLink.FindAllStringSubmatchIndex(line, -1) {
		if m[0] > 0 && line[m[0]-1] == '\\' {
			continue // an escaped [ opens no link
		}
		out.WriteString(slackText(line[last:m[0]]))
		out.WriteString(slackLink(line[m[4]:m[5]], reMDEscape.ReplaceAllString(line[m[2]:m[3]], "$1")))
		last = m[1]
	}
	out.WriteString(slackText(line[last:]))
	s := out.String()
	rest := strings.TrimLeft(s, " ")
	if strings.HasPrefix(rest, "- ") {
		if indent := len(s) - len(rest); indent > 0 {
			return strings.Repeat(" ", 2*indent) + "◦ " + rest[2:]
		}
		return "• " + rest[2:]
	}
	return s
}

func slackText(s string) string {
	s = reMDBold.ReplaceAllString(s, "*$1*")
	return SlackEscape(reMDEscape.ReplaceAllString(s, "$1"))
}
