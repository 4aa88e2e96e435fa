package githubsim

import (
	"fmt"
	"net/http"
	"time"
)

type checkRun struct {
	id                     int64
	headSHA, name          string
	status, conclusion     string
	detailsURL             string
	startedAt, completedAt time.Time
}

type commitStatus struct {
	id                             int64
	sha, context, state, targetURL string
	description                    string
	createdAt                      time.Time
}

// SetCheckRun creates a check run on sha, or updates the latest one of that
// name, as a CI app does; it returns the run's id.
func (s *Server) SetCheckRun(fullName, sha, name, status, conclusion string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		panic(err)
	}
	now := s.now()
	var run *checkRun
	for _, c := range r.checkRuns {
		if c.headSHA == sha && c.name == name {
			run = c
		}
	}
	created := run == nil || (run.status == "completed" && status != "completed")
	if created {
		// A re-run is a new check run with the same name.
		run = &checkRun{id: s.id(), headSHA: sha, name: name, startedAt: now}
		r.checkRuns = append(r.checkRuns, run)
	}
	action := checkRunAction(created, run.status == "completed", status)
	run.status, run.conclusion = status, conclusion
	if status == "completed" {
		run.completedAt = now
	}
	if action != "" {
		s.emitCheckRun(r, run, action)
	}
	return run.id
}

// SetStatus adds a commit status, as a CI system does.
func (s *Server) SetStatus(fullName, sha, context, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		panic(err)
	}
	st := &commitStatus{id: s.id(), sha: sha, context: context, state: state, createdAt: s.now(),
		targetURL: fmt.Sprintf("https://ci.example.com/%s/%s", context, sha[:7])}
	r.statuses = append(r.statuses, st)
	s.emitStatus(r, st)
}

func (r *repo) checkRunJSON(c *checkRun) map[string]any {
	m := map[string]any{
		"id": c.id, "head_sha": c.headSHA, "name": c.name, "status": c.status,
		"html_url":    fmt.Sprintf("%s/runs/%d", r.htmlURL(), c.id),
		"details_url": c.detailsURL, "started_at": ts(c.startedAt),
		"app": map[string]any{"slug": "ci", "name": "CI"},
	}
	if c.status == "completed" {
		m["conclusion"], m["completed_at"] = c.conclusion, ts(c.completedAt)
	} else {
		m["conclusion"] = nil
	}
	return m
}

// GET /repos/{owner}/{repo}/commits/{ref}/check-runs
func (s *Server) handleListCheckRuns(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha, ok := r.resolve(req.PathValue("ref"))
	if !ok {
		writeValidation(w, "No commit found for SHA: "+req.PathValue("ref"), "Commit", "sha", "invalid")
		return
	}
	q := req.URL.Query()
	latest := map[string]*checkRun{}
	var runs []*checkRun
	for _, c := range r.checkRuns {
		if c.headSHA != sha || (q.Get("check_name") != "" && c.name != q.Get("check_name")) || (q.Get("status") != "" && c.status != q.Get("status")) {
			continue
		}
		runs = append(runs, c)
		if cur := latest[c.name]; cur == nil || c.id > cur.id {
			latest[c.name] = c
		}
	}
	var items []any
	for _, c := range runs {
		if q.Get("filter") != "all" && latest[c.name] != c {
			continue
		}
		items = append(items, r.checkRunJSON(c))
	}
	pageWrapped(w, req, items, "check_runs")
}

// pageWrapped answers a page of items inside {"total_count", key}.
func pageWrapped(w http.ResponseWriter, req *http.Request, items []any, key string) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	writePage(rec, req, items)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	var page []any
	_ = jsonUnmarshal(rec.body.Bytes(), &page)
	if page == nil {
		page = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(items), key: page})
}

// POST /repos/{owner}/{repo}/check-runs
func (s *Server) handleCreateCheckRun(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Name, Status, Conclusion string
		HeadSHA                  string `json:"head_sha"`
		DetailsURL               string `json:"details_url"`
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	if _, ok := r.commitAt(body.HeadSHA); !ok || body.Name == "" {
		writeValidation(w, "Validation Failed", "CheckRun", "head_sha", "invalid")
		return
	}
	if body.Status == "" {
		body.Status = "queued"
	}
	if body.Conclusion != "" {
		body.Status = "completed"
	}
	now := s.now()
	c := &checkRun{id: s.id(), headSHA: body.HeadSHA, name: body.Name, status: body.Status, conclusion: body.Conclusion, detailsURL: body.DetailsURL, startedAt: now}
	if c.status == "completed" {
		c.completedAt = now
	}
	r.checkRuns = append(r.checkRuns, c)
	s.emitCheckRun(r, c, "created")
	writeJSON(w, http.StatusCreated, r.checkRunJSON(c))
}

func (s *Server) findCheckRun(w http.ResponseWriter, req *http.Request) (*repo, *checkRun) {
	return findIn(s, w, req, "id", func(r *repo) []*checkRun { return r.checkRuns }, func(c *checkRun) int64 { return c.id })
}

// GET /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) handleGetCheckRun(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, c := s.findCheckRun(w, req); c != nil {
		writeJSON(w, http.StatusOK, r.checkRunJSON(c))
	}
}

// PATCH /repos/{owner}/{repo}/check-runs/{id}
func (s *Server) handleUpdateCheckRun(w http.ResponseWriter, req *http.Request) {
	var body struct{ Status, Conclusion string }
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, c := s.findCheckRun(w, req)
	if c == nil {
		return
	}
	wasCompleted := c.status == "completed"
	if body.Status != "" {
		c.status = body.Status
	}
	if body.Conclusion != "" {
		c.status, c.conclusion, c.completedAt = "completed", body.Conclusion, s.now()
	}
	if action := checkRunAction(false, wasCompleted, c.status); action != "" {
		s.emitCheckRun(r, c, action)
	}
	writeJSON(w, http.StatusOK, r.checkRunJSON(c))
}

func statusJSON(st *commitStatus) map[string]any {
	return map[string]any{"id": st.id, "state": st.state, "context": st.context, "target_url": st.targetURL,
		"description": st.description, "created_at": ts(st.createdAt), "updated_at": ts(st.createdAt)}
}

// POST /repos/{owner}/{repo}/statuses/{sha}
func (s *Server) handleCreateStatus(w http.ResponseWriter, req *http.Request) {
	var body struct {
		State, Context, Description string
		TargetURL                   string `json:"target_url"`
	}
	if !decode(w, req, &body) {
		return
	}
	switch body.State {
	case "error", "failure", "pending", "success":
	default:
		writeValidation(w, "Validation Failed", "Status", "state", "custom")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	if _, ok := r.commitAt(req.PathValue("sha")); !ok {
		writeValidation(w, "No commit found for SHA: "+req.PathValue("sha"), "Status", "sha", "invalid")
		return
	}
	if body.Context == "" {
		body.Context = "default"
	}
	st := &commitStatus{id: s.id(), sha: req.PathValue("sha"), context: body.Context, state: body.State, targetURL: body.TargetURL, description: body.Description, createdAt: s.now()}
	r.statuses = append(r.statuses, st)
	s.emitStatus(r, st)
	writeJSON(w, http.StatusCreated, statusJSON(st))
}

// GET /repos/{owner}/{repo}/commits/{ref}/statuses (newest first)
func (s *Server) handleListStatuses(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha, ok := r.resolve(req.PathValue("ref"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var items []any
	for i := len(r.statuses) - 1; i >= 0; i-- {
		if r.statuses[i].sha == sha {
			items = append(items, statusJSON(r.statuses[i]))
		}
	}
	writePage(w, req, items)
}

// GET /repos/{owner}/{repo}/commits/{ref}/status: the latest status per
// context, and a combined state (failure > pending > success).
func (s *Server) handleCombinedStatus(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha, ok := r.resolve(req.PathValue("ref"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	latest := map[string]*commitStatus{}
	var order []string
	for _, st := range r.statuses {
		if st.sha != sha {
			continue
		}
		if _, seen := latest[st.context]; !seen {
			order = append(order, st.context)
		}
		latest[st.context] = st
	}
	state := "success"
	if len(order) == 0 {
		state = "pending"
	}
	statuses := []any{}
	for _, ctx := range order {
		st := latest[ctx]
		statuses = append(statuses, statusJSON(st))
		switch {
		case st.state == "failure" || st.state == "error":
			state = "failure"
		case st.state == "pending" && state != "failure":
			state = "pending"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(statuses), "statuses": statuses,
		"repository": map[string]any{"full_name": r.fullName()}})
}
