package githubsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode"
)

// issueQuery is a parsed issue search. Every part must match (AND).
type issueQuery struct {
	repo      string // owner/name, lower case; "" any
	state     string // open, closed or ""
	kind      string // issue, pr or ""
	labels    []string
	milestone *string // title; nil: any
	noMile    bool
	words     []string
}

// searchTokens splits q on spaces, keeping quoted parts (label:"needs triage") whole.
func searchTokens(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
		case unicode.IsSpace(r) && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// parseIssueQuery understands repo:, is:open|closed|issue|pr, state:,
// type:issue|pr, label:, milestone:, no:milestone and free words (matched in
// titles). Anything else is an error, which GitHub answers with 422.
func parseIssueQuery(q string) (*issueQuery, error) {
	out := &issueQuery{}
	for _, tok := range searchTokens(q) {
		key, value, isQualifier := strings.Cut(tok, ":")
		if !isQualifier {
			out.words = append(out.words, strings.ToLower(tok))
			continue
		}
		switch key = strings.ToLower(key); {
		case key == "repo" && strings.Count(value, "/") == 1:
			out.repo = strings.ToLower(value)
		case key == "is" && (value == "open" || value == "closed"), key == "state" && (value == "open" || value == "closed"):
			out.state = value
		case key == "is" && (value == "issue" || value == "pr"), key == "type" && (value == "issue" || value == "pr"):
			out.kind = value
		case key == "label" && value != "":
			out.labels = append(out.labels, value)
		case key == "milestone" && value != "":
			out.milestone = &value
		case key == "no" && value == "milestone":
			out.noMile = true
		default:
			return nil, fmt.Errorf("the qualifier %q is not supported", tok)
		}
	}
	return out, nil
}

func (q *issueQuery) matches(r *repo, v issueView) bool {
	if q.repo != "" && q.repo != strings.ToLower(r.fullName()) {
		return false
	}
	if q.state != "" && v.state != q.state {
		return false
	}
	if q.kind == "issue" && v.pr != nil || q.kind == "pr" && v.pr == nil {
		return false
	}
	if !hasLabels(v.labels, q.labels) {
		return false
	}
	if q.noMile && v.milestone != 0 {
		return false
	}
	if q.milestone != nil {
		ms := r.milestones.find(v.milestone)
		if ms == nil || !strings.EqualFold(ms.title, *q.milestone) {
			return false
		}
	}
	title := strings.ToLower(v.title)
	for _, w := range q.words {
		if !strings.Contains(title, w) {
			return false
		}
	}
	return true
}

// GET /search/issues?q= (newest first; page and per_page)
func (s *Server) handleSearchIssues(w http.ResponseWriter, req *http.Request) {
	raw := req.URL.Query().Get("q")
	if strings.TrimSpace(raw) == "" {
		writeValidation(w, "Validation Failed", "Search", "q", "missing")
		return
	}
	q, err := parseIssueQuery(raw)
	if err != nil {
		writeValidation(w, "Validation Failed: "+err.Error(), "Search", "q", "invalid")
		return
	}
	who := callerOf(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.repo != "" && (s.repos[q.repo] == nil || !who.sees(s.repos[q.repo])) {
		writeValidation(w, "Validation Failed: the listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.", "Search", "q", "invalid")
		return
	}
	type hit struct {
		r *repo
		v issueView
	}
	var hits []hit
	names := make([]string, 0, len(s.repos))
	for name := range s.repos {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := s.repos[name]
		if !who.sees(r) {
			continue
		}
		for _, v := range r.issueViews() {
			if q.matches(r, v) {
				hits = append(hits, hit{r, v})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].v.createdAt.After(hits[j].v.createdAt) })

	start, end := pageBounds(w, req, len(hits))
	items := []any{}
	for _, h := range hits[start:end] {
		items = append(items, s.viewJSON(req, h.r, h.v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(hits), "incomplete_results": false, "items": items})
}
