package githubsim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// milestone is a repository milestone. Milestones have their own number
// sequence, separate from issues and pull requests, as on GitHub.
type milestone struct {
	number             int
	title, description string
	state              string
	dueOn              time.Time // zero: no due date
	createdAt          time.Time
	closedAt           time.Time
}

// milestones is a repository's milestones.
type milestones struct {
	items []*milestone
	last  int
}

func (m *milestones) find(number int) *milestone {
	for _, ms := range m.items {
		if ms.number == number {
			return ms
		}
	}
	return nil
}

// milestoneRoutes registers the milestone and search routes.
func (s *Server) milestoneRoutes() {
	const repo = "/repos/{owner}/{repo}"
	for pattern, h := range map[string]http.HandlerFunc{
		"GET " + repo + "/milestones":            s.handleListMilestones,
		"POST " + repo + "/milestones":           s.handleCreateMilestone,
		"GET " + repo + "/milestones/{number}":   s.handleGetMilestone,
		"PATCH " + repo + "/milestones/{number}": s.handleUpdateMilestone,
		"GET /search/issues":                     s.handleSearchIssues,
	} {
		s.handle(pattern, h)
	}
}

// CreateMilestone adds an open milestone and returns its number. due may be
// zero. It panics when the repository does not exist (a broken test).
func (s *Server) CreateMilestone(fullName, title string, due time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	return s.addMilestone(r, title, "", due).number
}

// CreateIssue opens an issue with labels in milestone (0: none) and returns
// its number. It panics when the repository or the milestone does not exist.
func (s *Server) CreateIssue(fullName, title string, labels []string, milestone int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	if milestone != 0 && r.milestones.find(milestone) == nil {
		panic(fmt.Sprintf("simulator: no milestone #%d in %s", milestone, fullName))
	}
	r.lastNumber++
	is := &issue{number: r.lastNumber, title: title, state: "open", labels: labels, milestone: milestone, createdAt: s.now()}
	r.issues = append(r.issues, is)
	return is.number
}

// CloseIssue closes an issue as if it was closed at at, so closing rates and
// forecasts can be tested. It panics when the issue does not exist.
func (s *Server) CloseIssue(fullName string, number int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	for _, is := range r.issues {
		if is.number == number {
			is.state, is.closedAt = "closed", at
			return
		}
	}
	panic(fmt.Sprintf("simulator: no issue #%d in %s", number, fullName))
}

// SetPullMilestone puts a pull request in a milestone (0: none), as the
// milestone menu of a pull request does.
func (s *Server) SetPullMilestone(fullName string, number, milestone int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return err
	}
	if milestone != 0 && r.milestones.find(milestone) == nil {
		return fmt.Errorf("no milestone #%d in %s", milestone, fullName)
	}
	for _, p := range r.pulls {
		if p.number == number {
			p.milestone = milestone
			return nil
		}
	}
	return fmt.Errorf("no pull request #%d in %s", number, fullName)
}

func (s *Server) mustRepo(fullName string) *repo {
	r, err := s.repo(fullName)
	if err != nil {
		panic("simulator: " + err.Error())
	}
	return r
}

func (s *Server) addMilestone(r *repo, title, description string, due time.Time) *milestone {
	r.milestones.last++
	ms := &milestone{number: r.milestones.last, title: title, description: description, state: "open", dueOn: due, createdAt: s.now()}
	r.milestones.items = append(r.milestones.items, ms)
	return ms
}

// milestoneJSON shapes a milestone as GitHub does; the issue counts cover
// issues and pull requests.
func (s *Server) milestoneJSON(req *http.Request, r *repo, ms *milestone) map[string]any {
	open, closed := 0, 0
	for _, v := range r.issueViews() {
		if v.milestone != ms.number {
			continue
		}
		if v.state == "open" {
			open++
		} else {
			closed++
		}
	}
	m := map[string]any{
		"number": ms.number, "id": int64(ms.number) + 7000, "title": ms.title, "description": ms.description, "state": ms.state,
		"open_issues": open, "closed_issues": closed,
		"html_url":   fmt.Sprintf("%s/milestone/%d", r.htmlURL(), ms.number),
		"url":        fmt.Sprintf("%s/repos/%s/milestones/%d", s.baseURL(req), r.fullName(), ms.number),
		"created_at": ts(ms.createdAt), "due_on": nil, "closed_at": nil,
	}
	if !ms.dueOn.IsZero() {
		m["due_on"] = ts(ms.dueOn)
	}
	if ms.state == "closed" {
		m["closed_at"] = ts(ms.closedAt)
	}
	return m
}

// GET /repos/{owner}/{repo}/milestones (state open|closed|all, default open;
// sorted by due date, then number, as GitHub's default sort=due_on).
func (s *Server) handleListMilestones(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	state := req.URL.Query().Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		writeValidation(w, "Validation Failed", "Milestone", "state", "invalid")
		return
	}
	list := append([]*milestone(nil), r.milestones.items...)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.dueOn.IsZero() != b.dueOn.IsZero() {
			return !a.dueOn.IsZero()
		}
		if !a.dueOn.Equal(b.dueOn) {
			return a.dueOn.Before(b.dueOn)
		}
		return a.number < b.number
	})
	items := []any{}
	for _, ms := range list {
		if state == "all" || ms.state == state {
			items = append(items, s.milestoneJSON(req, r, ms))
		}
	}
	writePage(w, req, items)
}

type milestoneBody struct {
	Title       *string `json:"title"`
	State       *string `json:"state"`
	Description *string `json:"description"`
	DueOn       *string `json:"due_on"`
}

// apply validates and applies a create or update body; it answers 422 and
// returns false on invalid input. The caller holds s.mu.
func (b *milestoneBody) apply(w http.ResponseWriter, s *Server, r *repo, ms *milestone) bool {
	if b.Title != nil {
		if *b.Title == "" {
			writeValidation(w, "Validation Failed", "Milestone", "title", "missing_field")
			return false
		}
		for _, other := range r.milestones.items {
			if other != ms && other.title == *b.Title {
				writeValidation(w, "Validation Failed", "Milestone", "title", "already_exists")
				return false
			}
		}
		ms.title = *b.Title
	}
	if b.Description != nil {
		ms.description = *b.Description
	}
	if b.DueOn != nil {
		if *b.DueOn == "" {
			ms.dueOn = time.Time{}
		} else {
			t, err := time.Parse(time.RFC3339, *b.DueOn)
			if err != nil {
				writeValidation(w, "Validation Failed", "Milestone", "due_on", "invalid")
				return false
			}
			ms.dueOn = t
		}
	}
	if b.State != nil {
		switch *b.State {
		case "open":
			ms.state, ms.closedAt = "open", time.Time{}
		case "closed":
			if ms.state != "closed" {
				ms.closedAt = s.now()
			}
			ms.state = "closed"
		default:
			writeValidation(w, "Validation Failed", "Milestone", "state", "invalid")
			return false
		}
	}
	return true
}

// POST /repos/{owner}/{repo}/milestones
func (s *Server) handleCreateMilestone(w http.ResponseWriter, req *http.Request) {
	var body milestoneBody
	if !decode(w, req, &body) {
		return
	}
	if body.Title == nil || *body.Title == "" {
		writeValidation(w, "Validation Failed", "Milestone", "title", "missing_field")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	draft := &milestone{state: "open"}
	if !body.apply(w, s, r, draft) {
		return
	}
	ms := s.addMilestone(r, draft.title, draft.description, draft.dueOn)
	ms.state, ms.closedAt = draft.state, draft.closedAt
	writeJSON(w, http.StatusCreated, s.milestoneJSON(req, r, ms))
}

func (s *Server) findMilestone(w http.ResponseWriter, req *http.Request) (*repo, *milestone) {
	return findIn(s, w, req, "number", func(r *repo) []*milestone { return r.milestones.items }, func(ms *milestone) int64 { return int64(ms.number) })
}

// GET /repos/{owner}/{repo}/milestones/{number}
func (s *Server) handleGetMilestone(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ms := s.findMilestone(w, req); ms != nil {
		writeJSON(w, http.StatusOK, s.milestoneJSON(req, r, ms))
	}
}

// PATCH /repos/{owner}/{repo}/milestones/{number}
func (s *Server) handleUpdateMilestone(w http.ResponseWriter, req *http.Request) {
	var body milestoneBody
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ms := s.findMilestone(w, req)
	if ms == nil {
		return
	}
	// Validate on a copy so a refused update changes nothing.
	draft := *ms
	if !body.apply(w, s, r, &draft) {
		return
	}
	*ms = draft
	writeJSON(w, http.StatusOK, s.milestoneJSON(req, r, ms))
}

// issueView is an issue or a pull request as the issues API lists them.
type issueView struct {
	number              int
	title               string
	state               string
	labels              []string
	milestone           int
	createdAt, closedAt time.Time
	is                  *issue
	pr                  *pull
}

// issueViews lists the repository's issues and pull requests, oldest first.
func (r *repo) issueViews() []issueView {
	out := make([]issueView, 0, len(r.issues)+len(r.pulls))
	for _, is := range r.issues {
		out = append(out, issueView{number: is.number, title: is.title, state: is.state, labels: is.labels, milestone: is.milestone, createdAt: is.createdAt, closedAt: is.closedAt, is: is})
	}
	for _, p := range r.pulls {
		closedAt := p.closedAt
		if p.merged {
			closedAt = p.mergedAt
		}
		out = append(out, issueView{number: p.number, title: p.title, state: p.state, milestone: p.milestone, createdAt: p.createdAt, closedAt: closedAt, pr: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out
}

// viewJSON shapes an issue view as the issues API does: a pull request has a
// pull_request object.
func (s *Server) viewJSON(req *http.Request, r *repo, v issueView) map[string]any {
	if v.is != nil {
		return s.issueJSON(req, r, v.is)
	}
	p := v.pr
	m := map[string]any{
		"number": p.number, "id": int64(p.number) + 9000, "title": p.title, "body": p.body, "state": v.state, "labels": []any{},
		"html_url":   fmt.Sprintf("%s/pull/%d", r.htmlURL(), p.number),
		"url":        fmt.Sprintf("%s/repos/%s/issues/%d", s.baseURL(req), r.fullName(), p.number),
		"created_at": ts(p.createdAt),
		"milestone":  s.milestoneRef(req, r, p.milestone),
		"pull_request": map[string]any{
			"url":      fmt.Sprintf("%s/repos/%s/pulls/%d", s.baseURL(req), r.fullName(), p.number),
			"html_url": fmt.Sprintf("%s/pull/%d", r.htmlURL(), p.number),
		},
	}
	if v.state == "closed" {
		m["closed_at"] = ts(v.closedAt)
	}
	return m
}

// milestoneRef is the milestone object of an issue, or nil.
func (s *Server) milestoneRef(req *http.Request, r *repo, number int) any {
	if ms := r.milestones.find(number); ms != nil {
		return s.milestoneJSON(req, r, ms)
	}
	return nil
}

// milestoneFilter is the issues list's milestone parameter: a number, * (any)
// or none. ok is false for anything else.
func milestoneFilter(param string) (match func(int) bool, ok bool) {
	switch param {
	case "":
		return func(int) bool { return true }, true
	case "*":
		return func(n int) bool { return n != 0 }, true
	case "none":
		return func(n int) bool { return n == 0 }, true
	}
	want, err := strconv.Atoi(param)
	if err != nil || want <= 0 {
		return nil, false
	}
	return func(n int) bool { return n == want }, true
}
