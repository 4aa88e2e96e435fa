package githubsim

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type pull struct {
	number         int
	title, body    string
	head, base     string // branch names
	state          string // open, closed
	merged         bool
	mergedAt       time.Time
	mergeCommitSHA string
	headSHA        string // frozen once closed
	createdAt      time.Time
	updatedAt      time.Time
	closedAt       time.Time // closed without merging
	milestone      int
	author         string // login of the user who opened it
}

// PullRequest is a pull request as the test helpers see it.
type PullRequest struct {
	Number         int
	Title, Body    string
	Head, Base     string
	State          string
	Merged         bool
	MergeCommitSHA string
}

// PullRequests lists the repository's pull requests, oldest first.
func (s *Server) PullRequests(fullName string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil
	}
	var out []PullRequest
	for _, p := range r.pulls {
		out = append(out, PullRequest{Number: p.number, Title: p.title, Body: p.body, Head: p.head, Base: p.base, State: p.state, Merged: p.merged, MergeCommitSHA: p.mergeCommitSHA})
	}
	return out
}

// MergePull merges a pull request as a person clicking "Merge" would.
func (s *Server) MergePull(fullName string, number int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", err
	}
	for _, p := range r.pulls {
		if p.number == number {
			return s.merge(r, p, "merge", fmt.Sprintf("Merge pull request #%d from %s/%s", number, r.owner, p.head), p.title)
		}
	}
	return "", fmt.Errorf("no pull request #%d", number)
}

func (r *repo) headOf(p *pull) string {
	if p.state == "closed" {
		return p.headSHA
	}
	return r.refs["heads/"+p.head]
}

func (s *Server) pullJSON(req *http.Request, r *repo, p *pull) map[string]any {
	head := r.headOf(p)
	m := map[string]any{
		"number": p.number, "id": int64(p.number) + 5000, "title": p.title, "body": p.body, "state": p.state,
		"merged": p.merged, "html_url": fmt.Sprintf("%s/pull/%d", r.htmlURL(), p.number),
		"url":        fmt.Sprintf("%s/repos/%s/pulls/%d", s.baseURL(req), r.fullName(), p.number),
		"head":       map[string]any{"ref": p.head, "sha": head, "label": r.owner + ":" + p.head},
		"base":       map[string]any{"ref": p.base, "sha": r.refs["heads/"+p.base], "label": r.owner + ":" + p.base},
		"user":       userJSON(p.author),
		"created_at": ts(p.createdAt), "updated_at": ts(p.updatedAt),
		"merged_at": nil, "closed_at": nil,
	}
	switch {
	case p.merged:
		m["merged_at"], m["closed_at"], m["merge_commit_sha"] = ts(p.mergedAt), ts(p.mergedAt), p.mergeCommitSHA
		m["mergeable"] = nil
	case p.state == "closed":
		m["closed_at"] = ts(p.closedAt)
	case p.state == "open":
		_, err := r.merge3(r.refs["heads/"+p.base], head)
		m["mergeable"] = err == nil
	}
	return m
}

// GET /repos/{owner}/{repo}/pulls
func (s *Server) handleListPulls(w http.ResponseWriter, req *http.Request) {
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
	var items []any
	for _, p := range sortedPulls(r.pulls, q.Get("sort"), q.Get("direction")) {
		if state != "all" && p.state != state {
			continue
		}
		if h := q.Get("head"); h != "" {
			owner, branch, _ := strings.Cut(h, ":")
			if !strings.EqualFold(owner, r.owner) || branch != p.head {
				continue
			}
		}
		if b := q.Get("base"); b != "" && b != p.base {
			continue
		}
		items = append(items, s.pullJSON(req, r, p))
	}
	writePage(w, req, items)
}

// POST /repos/{owner}/{repo}/pulls
func (s *Server) handleCreatePull(w http.ResponseWriter, req *http.Request) {
	var body struct{ Title, Body, Head, Base string }
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	p, no := s.openPull(r, body.Head, body.Base, body.Title, body.Body, sender["login"].(string))
	if p == nil {
		writeValidation(w, no.message, "PullRequest", no.field, no.code)
		return
	}
	writeJSON(w, http.StatusCreated, s.pullJSON(req, r, p))
}

func (s *Server) findPull(w http.ResponseWriter, req *http.Request) (*repo, *pull) {
	return findIn(s, w, req, "number", func(r *repo) []*pull { return r.pulls }, func(p *pull) int64 { return int64(p.number) })
}

// GET /repos/{owner}/{repo}/pulls/{number}
func (s *Server) handleGetPull(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, p := s.findPull(w, req); p != nil {
		writeJSON(w, http.StatusOK, s.pullJSON(req, r, p))
	}
}

// PATCH /repos/{owner}/{repo}/pulls/{number}
func (s *Server) handleUpdatePull(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Title, Body, State *string
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p := s.findPull(w, req)
	if p == nil {
		return
	}
	if body.Title != nil {
		p.title = *body.Title
	}
	if body.Body != nil {
		p.body = *body.Body
	}
	p.updatedAt = s.now()
	if body.State != nil && !p.merged {
		switch *body.State {
		case "closed":
			if p.state == "open" {
				p.headSHA, p.closedAt = r.refs["heads/"+p.head], s.now()
			}
			p.state = "closed"
		case "open":
			p.state = "open"
		default:
			writeValidation(w, "Validation Failed", "PullRequest", "state", "invalid")
			return
		}
	}
	writeJSON(w, http.StatusOK, s.pullJSON(req, r, p))
}

// PUT /repos/{owner}/{repo}/pulls/{number}/merge
func (s *Server) handleMergePull(w http.ResponseWriter, req *http.Request) {
	var body struct {
		SHA           string
		MergeMethod   string `json:"merge_method"`
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p := s.findPull(w, req)
	if p == nil {
		return
	}
	if body.SHA != "" && body.SHA != r.headOf(p) {
		writeError(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	}
	if body.MergeMethod == "" {
		body.MergeMethod = "merge"
	}
	title := body.CommitTitle
	if title == "" {
		title = fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, r.owner, p.head)
	}
	sha, err := s.merge(r, p, body.MergeMethod, title, body.CommitMessage)
	if err != nil {
		writeError(w, http.StatusMethodNotAllowed, err.Error())
		return
	}
	s.branchMoved(w, r, p.base, sha)
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// errNotMergeable is GitHub's answer to a merge it cannot make, in its words.
var errNotMergeable = errors.New("Pull Request is not mergeable") //nolint:staticcheck // GitHub's message, capitalised as GitHub writes it

// merge merges p into its base. The caller holds s.mu.
func (s *Server) merge(r *repo, p *pull, method, title, message string) (string, error) {
	if p.state != "open" {
		return "", errNotMergeable
	}
	base, head := r.refs["heads/"+p.base], r.refs["heads/"+p.head]
	treeSHA, err := r.merge3(base, head)
	if err != nil {
		return "", errNotMergeable
	}
	msg := title
	if message != "" {
		msg += "\n\n" + message
	}
	sig := person
	sig.Date = s.now()
	parents := []string{base, head}
	if method == "squash" || method == "rebase" {
		parents = []string{base}
	}
	sha := r.putCommit(&commit{tree: treeSHA, parents: parents, message: msg, author: sig, committer: sig})
	r.refs["heads/"+p.base] = sha
	p.state, p.merged, p.mergedAt, p.mergeCommitSHA, p.headSHA = "closed", true, s.now(), sha, head
	p.updatedAt = p.mergedAt
	return sha, nil
}

// GET /repos/{owner}/{repo}/pulls/{number}/merge: 204 when merged.
func (s *Server) handleIsMerged(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, p := s.findPull(w, req); p != nil {
		if p.merged {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// CreatePullRequest opens a pull request from branch head into base by the
// user author, as that person does in the GitHub UI, and returns its number.
func (s *Server) CreatePullRequest(fullName, head, base, title, author string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return 0, err
	}
	p, no := s.openPull(r, head, base, title, "", author)
	if p == nil {
		return 0, fmt.Errorf("opening a pull request from %s into %s: %s %s: %s", head, base, no.field, no.code, no.message)
	}
	return p.number, nil
}

// pullRefusal is GitHub's 422 answer to a pull request it does not open.
type pullRefusal struct{ field, code, message string }

// openPull validates and records a new pull request; on failure it returns
// why, as GitHub's 422 says it. The caller holds s.mu.
func (s *Server) openPull(r *repo, head, base, title, body, author string) (*pull, *pullRefusal) {
	if owner, branch, ok := strings.Cut(head, ":"); ok && strings.EqualFold(owner, r.owner) {
		head = branch
	}
	headSHA, okHead := r.refs["heads/"+head]
	baseSHA, okBase := r.refs["heads/"+base]
	switch {
	case title == "":
		return nil, &pullRefusal{"title", "missing_field", "Validation Failed"}
	case !okHead:
		return nil, &pullRefusal{"head", "invalid", "Validation Failed"}
	case !okBase:
		return nil, &pullRefusal{"base", "invalid", "Validation Failed"}
	case head == base || r.isAncestor(headSHA, baseSHA):
		return nil, &pullRefusal{"head", "custom", fmt.Sprintf("No commits between %s and %s", base, head)}
	}
	for _, p := range r.pulls {
		if p.state == "open" && p.head == head && p.base == base {
			return nil, &pullRefusal{"head", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head)}
		}
	}
	r.lastNumber++
	now := s.now()
	p := &pull{number: r.lastNumber, title: title, body: body, head: head, base: base, state: "open", createdAt: now, updatedAt: now, author: author}
	r.pulls = append(r.pulls, p)
	return p, nil
}

// sortedPulls orders pull requests as GitHub's list does: by created (the
// default) or updated, descending unless direction is asc.
func sortedPulls(pulls []*pull, by, direction string) []*pull {
	out := append([]*pull(nil), pulls...)
	key := func(p *pull) time.Time { return p.createdAt }
	if by == "updated" {
		key = func(p *pull) time.Time { return p.updatedAt }
	}
	asc := direction == "asc"
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if a.Equal(b) {
			if asc {
				return out[i].number < out[j].number
			}
			return out[i].number > out[j].number
		}
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
	return out
}

// userJSON is a GitHub user as the API embeds it.
func userJSON(login string) map[string]any {
	if login == "" {
		login = sender["login"].(string)
	}
	return map[string]any{"login": login, "type": "User", "html_url": "https://github.com/" + login}
}
