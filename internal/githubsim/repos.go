package githubsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CreateRepo creates an empty repository "owner/name".
func (s *Server) CreateRepo(fullName, defaultBranch string) error {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok {
		return fmt.Errorf("repository %q is not owner/name", fullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(fullName)
	if s.repos[key] != nil {
		return fmt.Errorf("repository %s exists", fullName)
	}
	s.repos[key] = &repo{owner: owner, name: name, defaultBranch: defaultBranch, objects: map[string]any{}, refs: map[string]string{}, id: s.id()}
	return nil
}

func (s *Server) repo(fullName string) (*repo, error) {
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		return nil, fmt.Errorf("no repository %s", fullName)
	}
	return r, nil
}

var person = signature{Name: "Octo Cat", Email: "octocat@github.com"}

// CommitFiles makes one commit on branch (created from the default branch, or
// as the first commit) with files added or replaced, and returns its SHA.
func (s *Server) CommitFiles(fullName, branch string, files map[string]string, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", err
	}
	parent, ok := r.refs["heads/"+branch]
	if !ok {
		parent = r.refs["heads/"+r.defaultBranch]
	}
	current := map[string]string{}
	var parents []string
	if parent != "" {
		c, _ := r.commitAt(parent)
		current = r.files(c.tree)
		parents = []string{parent}
	}
	for p, content := range files {
		current[p] = r.putBlob([]byte(content))
	}
	sig := person
	sig.Date = s.now()
	sha := r.putCommit(&commit{tree: r.writeTree(current), parents: parents, message: message, author: sig, committer: sig})
	r.refs["heads/"+branch] = sha
	return sha, nil
}

// CreateTag creates the lightweight tag refs/tags/<tag>.
func (s *Server) CreateTag(fullName, tag, sha string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return err
	}
	if _, ok := r.commitAt(sha); !ok {
		return fmt.Errorf("no commit %s", sha)
	}
	_, existed := r.refs["tags/"+tag]
	r.refs["tags/"+tag] = sha
	if !existed {
		s.emitTagCreated(r, tag, sha)
	}
	return nil
}

// BranchHead returns the commit at the head of branch.
func (s *Server) BranchHead(fullName, branch string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", false
	}
	sha, ok := r.refs["heads/"+branch]
	return sha, ok
}

// FileAt returns a file's content at ref (branch, tag or SHA).
func (s *Server) FileAt(fullName, ref, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", false
	}
	sha, ok := r.resolve(ref)
	if !ok {
		return "", false
	}
	c, _ := r.commitAt(sha)
	b, ok := r.objects[r.files(c.tree)[path]].(*blob)
	if !ok {
		return "", false
	}
	return string(b.data), true
}

// Commit is a commit as the test helpers see it.
type Commit struct {
	SHA     string
	Message string
	Parents []string
	// Files changed against the first parent.
	Files []string
}

// Commits lists the commits reachable from ref, newest first.
func (s *Server) Commits(fullName, ref string) []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil
	}
	sha, ok := r.resolve(ref)
	if !ok {
		return nil
	}
	var out []Commit
	for _, h := range r.history(sha) {
		c, _ := r.commitAt(h)
		out = append(out, Commit{SHA: h, Message: c.message, Parents: append([]string(nil), c.parents...), Files: append([]string(nil), r.changedFiles(h)...)})
	}
	return out
}

// --- HTTP ---

func (s *Server) repoJSON(req *http.Request, r *repo) map[string]any {
	return map[string]any{
		"id": r.id, "name": r.name, "full_name": r.fullName(), "private": false,
		"owner":          map[string]any{"login": r.owner, "id": 1, "type": "Organization"},
		"html_url":       r.htmlURL(),
		"url":            s.baseURL(req) + "/repos/" + r.fullName(),
		"default_branch": r.defaultBranch,
	}
}

func (s *Server) handleGetRepo(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repoOf(w, req); r != nil {
		writeJSON(w, http.StatusOK, s.repoJSON(req, r))
	}
}

func (s *Server) commitJSON(req *http.Request, r *repo, sha string) map[string]any {
	c, _ := r.commitAt(sha)
	parents := []map[string]any{}
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p, "url": s.baseURL(req) + "/repos/" + r.fullName() + "/commits/" + p})
	}
	sig := func(g signature) map[string]any {
		return map[string]any{"name": g.Name, "email": g.Email, "date": ts(g.Date)}
	}
	files := []map[string]any{}
	for _, f := range r.changedFiles(sha) {
		files = append(files, map[string]any{"filename": f, "status": "modified"})
	}
	return map[string]any{
		"sha": sha, "node_id": "C_" + sha[:12], "html_url": r.htmlURL() + "/commit/" + sha,
		"url": s.baseURL(req) + "/repos/" + r.fullName() + "/commits/" + sha,
		"commit": map[string]any{
			"message": c.message, "author": sig(c.author), "committer": sig(c.committer),
			"tree": map[string]any{"sha": c.tree},
		},
		"parents": parents,
		"files":   files,
	}
}

// GET /repos/{owner}/{repo}/commits/{ref...}
func (s *Server) handleGetCommit(w http.ResponseWriter, req *http.Request) {
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
	if strings.Contains(req.Header.Get("Accept"), ".sha") {
		// The SHA media type: the body is the bare SHA, its ETag the quoted SHA.
		w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
		w.Header().Set("ETag", `"`+sha+`"`)
		_, _ = w.Write([]byte(sha))
		return
	}
	writeJSON(w, http.StatusOK, s.commitJSON(req, r, sha))
}

// GET /repos/{owner}/{repo}/commits
func (s *Server) handleListCommits(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	q := req.URL.Query()
	ref := q.Get("sha")
	if ref == "" {
		ref = r.defaultBranch
	}
	head, ok := r.resolve(ref)
	if !ok {
		if len(r.refs) == 0 {
			writeError(w, http.StatusConflict, "Git Repository is empty.")
			return
		}
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref)
		return
	}
	var since, until time.Time
	if v := q.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	if v := q.Get("until"); v != "" {
		until, _ = time.Parse(time.RFC3339, v)
	}
	var shas []string
	for _, sha := range r.history(head) {
		c, _ := r.commitAt(sha)
		if !since.IsZero() && c.committer.Date.Before(since) {
			continue
		}
		if !until.IsZero() && c.committer.Date.After(until) {
			continue
		}
		if p := q.Get("path"); p != "" && !touches(r.changedFiles(sha), p) {
			continue
		}
		shas = append(shas, sha)
	}
	// Only the page served is rendered: a commit's JSON diffs its tree
	// against its parent's, too slow to do for a long history.
	writePageOf(w, req, len(shas), func(i int) any { return s.commitJSON(req, r, shas[i]) })
}

func touches(files []string, p string) bool {
	for _, f := range files {
		if f == p || strings.HasPrefix(f, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// writePage answers one page of items with GitHub's Link header.
func writePage(w http.ResponseWriter, req *http.Request, items []any) {
	writePageOf(w, req, len(items), func(i int) any { return items[i] })
}

// writePageOf is writePage over n items rendered by item, only for the page.
func writePageOf(w http.ResponseWriter, req *http.Request, n int, item func(i int) any) {
	start, end := pageBounds(w, req, n)
	out := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, item(i))
	}
	writeJSON(w, http.StatusOK, out)
}

// pageBounds is the slice [start, end) of n items that the request's page
// and per_page select (GitHub's defaults: 30 per page, at most 100), with
// GitHub's Link header for the other pages.
func pageBounds(w http.ResponseWriter, req *http.Request, n int) (int, int) {
	q := req.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((n+per-1)/per, 1)
	var links []string
	link := func(p int, rel string) string {
		u := *req.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return "<http://" + req.Host + u.RequestURI() + `>; rel="` + rel + `"`
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, n)
	return start, min(start+per, n)
}

// GET /repos/{owner}/{repo}/contents/{path...}
func (s *Server) handleGetContents(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	ref := req.URL.Query().Get("ref")
	if ref == "" {
		ref = r.defaultBranch
	}
	head, ok := r.resolve(ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	c, _ := r.commitAt(head)
	files := r.files(c.tree)
	p := strings.Trim(req.PathValue("path"), "/")
	if sha, ok := files[p]; ok {
		b := r.objects[sha].(*blob)
		if strings.Contains(req.Header.Get("Accept"), ".raw") {
			_, _ = w.Write(b.data)
			return
		}
		writeJSON(w, http.StatusOK, s.contentJSON(req, r, p, sha, b))
		return
	}
	var entries []any
	names := map[string]bool{}
	for f, sha := range files {
		rest, ok := strings.CutPrefix(f, p+"/")
		if p == "" {
			rest, ok = f, true
		}
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if names[name] {
			continue
		}
		names[name] = true
		typ := "file"
		if isDir {
			typ, sha = "dir", ""
		}
		entries = append(entries, map[string]any{"type": typ, "name": name, "path": strings.TrimPrefix(p+"/"+name, "/"), "sha": sha})
	}
	if len(entries) == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	sort.Slice(entries, func(i, j int) bool {
		return entries[i].(map[string]any)["name"].(string) < entries[j].(map[string]any)["name"].(string)
	})
	writeJSON(w, http.StatusOK, entries)
}

func (s *Server) contentJSON(req *http.Request, r *repo, p, sha string, b *blob) map[string]any {
	name := p[strings.LastIndex(p, "/")+1:]
	return map[string]any{
		"type": "file", "encoding": "base64", "size": len(b.data), "name": name, "path": p, "sha": sha,
		"content":  base64.StdEncoding.EncodeToString(b.data),
		"url":      s.baseURL(req) + "/repos/" + r.fullName() + "/contents/" + p,
		"html_url": r.htmlURL() + "/blob/" + r.defaultBranch + "/" + p,
	}
}

// PUT /repos/{owner}/{repo}/contents/{path...}
func (s *Server) handlePutContents(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Message, Content, SHA, Branch string
	}
	if !decode(w, req, &body) {
		return
	}
	data, err := base64.StdEncoding.DecodeString(body.Content)
	if err != nil {
		writeValidation(w, "content is not valid Base64", "Content", "content", "invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	branch := body.Branch
	if branch == "" {
		branch = r.defaultBranch
	}
	p := strings.Trim(req.PathValue("path"), "/")
	files := map[string]string{}
	var parents []string
	if head, ok := r.refs["heads/"+branch]; ok {
		c, _ := r.commitAt(head)
		files = r.files(c.tree)
		parents = []string{head}
	}
	if existing, ok := files[p]; ok {
		if body.SHA == "" {
			writeValidation(w, `Invalid request. "sha" wasn't supplied.`, "Content", "sha", "missing_field")
			return
		}
		if body.SHA != existing {
			writeError(w, http.StatusConflict, fmt.Sprintf("%s does not match %s", p, body.SHA))
			return
		}
	}
	status := http.StatusCreated
	if _, ok := files[p]; ok {
		status = http.StatusOK
	}
	blobSHA := r.putBlob(data)
	files[p] = blobSHA
	sig := person
	sig.Date = s.now()
	sha := r.putCommit(&commit{tree: r.writeTree(files), parents: parents, message: body.Message, author: sig, committer: sig})
	r.refs["heads/"+branch] = sha
	s.branchMoved(w, r, branch, sha)
	writeJSON(w, status, map[string]any{
		"content": s.contentJSON(req, r, p, blobSHA, r.objects[blobSHA].(*blob)),
		"commit":  map[string]any{"sha": sha, "message": body.Message},
	})
}
