package notes

import (
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Bounds of what is written where.
const (
	// MaxSummary is the length of the status summary.
	MaxSummary = 512
	// MaxDeploymentDescription is GitHub's limit of a deployment's description.
	MaxDeploymentDescription = 140
	// maxListed pull requests in a Markdown section; the rest are counted.
	maxListed = 50
)

// Status is the Release status entry of the notes (status.stages[].releaseNotes).
func (n *Notes) Status() *releasev1.ReleaseNotes {
	return &releasev1.ReleaseNotes{From: n.From, Count: int32(len(n.Changes)), Summary: n.Summary(), URL: n.URL, Truncated: n.Truncated}
}

// Summary is one line for people, at most MaxSummary characters: how many
// pull requests since which version, then as many of them as fit.
func (n *Notes) Summary() string {
	head := fmt.Sprintf("%s since %s", Count(len(n.Changes), "pull request"), n.From)
	if len(n.Changes) == 0 {
		return head + fmt.Sprintf(" (%s)", Count(n.Commits, "commit"))
	}
	items := make([]string, 0, len(n.Changes))
	for _, c := range n.Changes {
		items = append(items, fmt.Sprintf("#%d %s (%s)", c.Number, oneLine(c.Title), c.Author))
	}
	return fitList(head+": ", items, MaxSummary)
}

// DeploymentDescription is the GitHub deployment's description (at most 140
// characters): the version, the count and the first pull request numbers.
func (n *Notes) DeploymentDescription() string {
	head := fmt.Sprintf("%s: %s since %s", n.To, Count(len(n.Changes), "PR"), n.From)
	if len(n.Changes) == 0 {
		return Truncate(head, MaxDeploymentDescription)
	}
	items := make([]string, 0, len(n.Changes))
	for _, c := range n.Changes {
		items = append(items, fmt.Sprintf("#%d", c.Number))
	}
	return fitList(head+" (", items, MaxDeploymentDescription-1) + ")"
}

// PullRequestSection is the Markdown section of the promotion's pull request
// body: what the merge brings into the stage.
func (n *Notes) PullRequestSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Changes since %s\n\n", n.From)
	n.writeList(&b, false)
	return b.String()
}

// PostmortemSection is the postmortem issue's "Changes in this version": the
// first suspects of a failed verification.
func (n *Notes) PostmortemSection() string {
	var b strings.Builder
	b.WriteString("## Changes in this version\n\n")
	if len(n.Changes) > 0 {
		fmt.Fprintf(&b, "The pull requests merged between %s and %s, the first suspects:\n\n", n.From, n.To)
	}
	n.writeList(&b, true)
	return b.String()
}

// writeList writes the pull requests as a Markdown list, with a link to the
// comparison. Authors are named without @, so nobody is notified by it.
func (n *Notes) writeList(b *strings.Builder, merged bool) {
	if len(n.Changes) == 0 {
		fmt.Fprintf(b, "No pull request was merged between %s and %s (%s).\n", n.From, n.To, Count(n.Commits, "commit"))
	}
	for i, c := range n.Changes {
		if i == maxListed {
			fmt.Fprintf(b, "- ... and %d more\n", len(n.Changes)-maxListed)
			break
		}
		fmt.Fprintf(b, "- [#%d](%s) %s by %s", c.Number, c.URL, EscapeMarkdown(oneLine(c.Title)), c.Author)
		if merged && !c.MergedAt.IsZero() {
			fmt.Fprintf(b, ", merged %s", c.MergedAt.UTC().Format("2006-01-02 15:04 MST"))
		}
		b.WriteString("\n")
	}
	if n.Truncated {
		b.WriteString("\nThe range is long: the list may be incomplete.\n")
	}
	if n.URL != "" {
		fmt.Fprintf(b, "\n[Compare %s...%s](%s)\n", n.Base, n.Head, n.URL)
	}
}

// Text is the notes for a terminal.
func (n *Notes) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s -> %s: %s, %s\n", n.Repository, n.From, n.To, Count(len(n.Changes), "pull request"), Count(n.Commits, "commit"))
	for _, c := range n.Changes {
		fmt.Fprintf(&b, "  #%-6d %s (%s, merged %s)\n         %s\n", c.Number, oneLine(c.Title), c.Author, c.MergedAt.UTC().Format(time.DateOnly), c.URL)
	}
	if n.Truncated {
		b.WriteString("  (the range is long: the list may be incomplete)\n")
	}
	if n.URL != "" {
		fmt.Fprintf(&b, "Compare: %s\n", n.URL)
	}
	return b.String()
}

// fitList joins items after head, as many as fit in limit characters, and says
// how many more there are.
func fitList(head string, items []string, limit int) string {
	out := head
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		rest := len(items) - i - 1
		more := ""
		if rest > 0 {
			more = fmt.Sprintf(", and %d more", rest)
		}
		// Room for this item and, if needed, the count of the others.
		if len([]rune(out+sep+it+more)) > limit {
			return Truncate(out+fmt.Sprintf("%sand %d more", sep, len(items)-i), limit)
		}
		out += sep + it
	}
	return out
}

// Truncate cuts s to limit characters, ending with … when cut.
func Truncate(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit-1]) + "…"
}

// Count is n things in English: "1 commit", "3 commits".
func Count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// EscapeMarkdown keeps text literal in GitHub Markdown.
func EscapeMarkdown(s string) string {
	return mdEscaper.Replace(s)
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "|", `\|`)
