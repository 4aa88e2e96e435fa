package githubsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type issue struct {
	number      int
	title, body string
	state       string
	labels      []string
	createdAt   time.Time
	closedAt    time.Time
	milestone   int
}

// Issue is an issue as the test helpers see it.
type Issue struct {
	Number      int
	Title, Body string
	State       string
	Labels      []string
}

// Issues lists the repository's issues, oldest first.
func (s *Server) Issues(fullName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil
	}
	var out []Issue
	for _, is := range r.issues {
		out = append(out, Issue{Number: is.number, Title: is.title, Body: is.body, State: is.state, Labels: append([]string(nil), is.labels...)})
	}
	return out
}

func (s *Server) issueJSON(req *http.Request, r *repo, is *issue) map[string]any {
	labels := []map[string]any{}
	for _, l := range is.labels {
		labels = append(labels, map[string]any{"name": l})
	}
	m := map[string]any{
		"number": is.number, "id": int64(is.number) + 9000, "title": is.title, "body": is.body, "state": is.state, "labels": labels,
		"html_url":   fmt.Sprintf("%s/issues/%d", r.htmlURL(), is.number),
		"url":        fmt.Sprintf("%s/repos/%s/issues/%d", s.baseURL(req), r.fullName(), is.number),
		"created_at": ts(is.createdAt),
		"milestone":  s.milestoneRef(req, r, is.milestone),
	}
	if is.state == "closed" {
		m["closed_at"] = ts(is.closedAt)
	}
	return m
}

// GET /repos/{owner}/{repo}/issues (newest first; filters state, labels,
// milestone). Pull requests are listed too, as on GitHub.
func (s *Server) handleListIssues(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	q := req.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	inMilestone, ok := milestoneFilter(q.Get("milestone"))
	if !ok {
		writeValidation(w, "Validation Failed", "Issue", "milestone", "invalid")
		return
	}
	var items []any
	views := r.issueViews()
	for i := len(views) - 1; i >= 0; i-- {
		v := views[i]
		if state != "all" && v.state != state || !hasLabels(v.labels, want) || !inMilestone(v.milestone) {
			continue
		}
		items = append(items, s.viewJSON(req, r, v))
	}
	writePage(w, req, items)
}

func hasLabels(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, strings.TrimSpace(w)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// POST /repos/{owner}/{repo}/issues
func (s *Server) handleCreateIssue(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Title, Body string
		Labels      []string
		Milestone   int
	}
	if !decode(w, req, &body) {
		return
	}
	if body.Title == "" {
		writeValidation(w, "Validation Failed", "Issue", "title", "missing_field")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	if body.Milestone != 0 && r.milestones.find(body.Milestone) == nil {
		writeValidation(w, "Validation Failed", "Issue", "milestone", "invalid")
		return
	}
	r.lastNumber++
	is := &issue{number: r.lastNumber, title: body.Title, body: body.Body, state: "open", labels: body.Labels, milestone: body.Milestone, createdAt: s.now()}
	r.issues = append(r.issues, is)
	writeJSON(w, http.StatusCreated, s.issueJSON(req, r, is))
}

func (s *Server) findIssue(w http.ResponseWriter, req *http.Request) (*repo, *issue) {
	return findIn(s, w, req, "number", func(r *repo) []*issue { return r.issues }, func(is *issue) int64 { return int64(is.number) })
}

// GET /repos/{owner}/{repo}/issues/{number}
func (s *Server) handleGetIssue(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, is := s.findIssue(w, req); is != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(req, r, is))
	}
}

// PATCH /repos/{owner}/{repo}/issues/{number}
func (s *Server) handleUpdateIssue(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Title, Body, State *string
		Labels             []string
		// Milestone is a number; JSON null removes the milestone.
		Milestone json.RawMessage
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, is := s.findIssue(w, req)
	if is == nil {
		return
	}
	if len(body.Milestone) > 0 {
		n := 0
		if string(body.Milestone) != "null" {
			if err := json.Unmarshal(body.Milestone, &n); err != nil || r.milestones.find(n) == nil {
				writeValidation(w, "Validation Failed", "Issue", "milestone", "invalid")
				return
			}
		}
		is.milestone = n
	}
	if body.Title != nil {
		is.title = *body.Title
	}
	if body.Body != nil {
		is.body = *body.Body
	}
	if body.Labels != nil {
		is.labels = body.Labels
	}
	if body.State != nil {
		if *body.State == "closed" && is.state != "closed" {
			is.closedAt = s.now()
		}
		is.state = *body.State
	}
	writeJSON(w, http.StatusOK, s.issueJSON(req, r, is))
}
