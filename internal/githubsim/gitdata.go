package githubsim

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"time"
)

func (s *Server) refJSON(req *http.Request, r *repo, name, sha string) map[string]any {
	return map[string]any{
		"ref": "refs/" + name, "node_id": "REF_" + name,
		"url":    s.baseURL(req) + "/repos/" + r.fullName() + "/git/refs/" + name,
		"object": map[string]any{"type": "commit", "sha": sha, "url": s.baseURL(req) + "/repos/" + r.fullName() + "/git/commits/" + sha},
	}
}

// GET /repos/{owner}/{repo}/git/ref/{ref...}
func (s *Server) handleGetRef(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	name := strings.TrimPrefix(req.PathValue("ref"), "refs/")
	sha, ok := r.refs[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(req, r, name, sha))
}

// GET /repos/{owner}/{repo}/git/matching-refs/{ref...}
func (s *Server) handleMatchingRefs(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	prefix := strings.TrimPrefix(req.PathValue("ref"), "refs/")
	var names []string
	for n := range r.refs {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := []any{}
	for _, n := range names {
		out = append(out, s.refJSON(req, r, n, r.refs[n]))
	}
	writeJSON(w, http.StatusOK, out)
}

// POST /repos/{owner}/{repo}/git/refs
func (s *Server) handleCreateRef(w http.ResponseWriter, req *http.Request) {
	var body struct{ Ref, SHA string }
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	if !strings.HasPrefix(body.Ref, "refs/") || strings.Count(body.Ref, "/") < 2 {
		writeValidation(w, "Reference name is invalid", "Reference", "ref", "invalid")
		return
	}
	name := strings.TrimPrefix(body.Ref, "refs/")
	if _, ok := r.commitAt(body.SHA); !ok {
		writeValidation(w, "Object does not exist", "Reference", "sha", "invalid")
		return
	}
	if _, exists := r.refs[name]; exists {
		writeValidation(w, "Reference already exists", "Reference", "ref", "already_exists")
		return
	}
	r.refs[name] = body.SHA
	if branch, ok := strings.CutPrefix(name, "heads/"); ok {
		s.branchMoved(w, r, branch, body.SHA)
	}
	if tag, ok := strings.CutPrefix(name, "tags/"); ok {
		s.emitTagCreated(r, tag, body.SHA)
	}
	writeJSON(w, http.StatusCreated, s.refJSON(req, r, name, body.SHA))
}

// PATCH /repos/{owner}/{repo}/git/refs/{ref...}: fast-forward only unless force.
func (s *Server) handleUpdateRef(w http.ResponseWriter, req *http.Request) {
	var body struct {
		SHA   string
		Force bool
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
	name := strings.TrimPrefix(req.PathValue("ref"), "refs/")
	old, ok := r.refs[name]
	if !ok {
		writeValidation(w, "Reference does not exist", "Reference", "ref", "invalid")
		return
	}
	if _, ok := r.commitAt(body.SHA); !ok {
		writeValidation(w, "Object does not exist", "Reference", "sha", "invalid")
		return
	}
	if !body.Force && !r.isAncestor(old, body.SHA) {
		writeValidation(w, "Update is not a fast forward", "Reference", "sha", "invalid")
		return
	}
	r.refs[name] = body.SHA
	if branch, ok := strings.CutPrefix(name, "heads/"); ok {
		s.branchMoved(w, r, branch, body.SHA)
	}
	writeJSON(w, http.StatusOK, s.refJSON(req, r, name, body.SHA))
}

// DELETE /repos/{owner}/{repo}/git/refs/{ref...}
func (s *Server) handleDeleteRef(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	name := strings.TrimPrefix(req.PathValue("ref"), "refs/")
	if _, ok := r.refs[name]; !ok {
		writeValidation(w, "Reference does not exist", "Reference", "ref", "invalid")
		return
	}
	delete(r.refs, name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) gitCommitJSON(req *http.Request, r *repo, sha string) map[string]any {
	c, _ := r.commitAt(sha)
	parents := []map[string]any{}
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p})
	}
	sig := func(g signature) map[string]any {
		return map[string]any{"name": g.Name, "email": g.Email, "date": ts(g.Date)}
	}
	return map[string]any{
		"sha": sha, "message": c.message, "author": sig(c.author), "committer": sig(c.committer),
		"tree": map[string]any{"sha": c.tree}, "parents": parents,
		"url":      s.baseURL(req) + "/repos/" + r.fullName() + "/git/commits/" + sha,
		"html_url": r.htmlURL() + "/commit/" + sha,
	}
}

// GET /repos/{owner}/{repo}/git/commits/{sha}
func (s *Server) handleGetGitCommit(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	if _, ok := r.commitAt(req.PathValue("sha")); !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.gitCommitJSON(req, r, req.PathValue("sha")))
}

// POST /repos/{owner}/{repo}/git/commits
func (s *Server) handleCreateGitCommit(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Message           string
		Tree              string
		Parents           []string
		Author, Committer *struct {
			Name, Email string
			Date        *time.Time
		}
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
	if _, ok := r.objects[body.Tree].(*tree); !ok {
		writeValidation(w, "Tree SHA does not exist", "Commit", "tree", "invalid")
		return
	}
	for _, p := range body.Parents {
		if _, ok := r.commitAt(p); !ok {
			writeValidation(w, "Parent SHA does not exist or is not a commit object", "Commit", "parents", "invalid")
			return
		}
	}
	author := person
	author.Date = s.now()
	committer := author
	if body.Author != nil {
		author.Name, author.Email = body.Author.Name, body.Author.Email
		if body.Author.Date != nil {
			author.Date = *body.Author.Date
		}
	}
	if body.Committer != nil {
		committer.Name, committer.Email = body.Committer.Name, body.Committer.Email
	}
	sha := r.putCommit(&commit{tree: body.Tree, parents: body.Parents, message: body.Message, author: author, committer: committer})
	writeJSON(w, http.StatusCreated, s.gitCommitJSON(req, r, sha))
}

// GET /repos/{owner}/{repo}/git/trees/{sha}
func (s *Server) handleGetTree(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha := req.PathValue("sha")
	if c, ok := r.commitAt(sha); ok {
		sha = c.tree
	}
	t, ok := r.objects[sha].(*tree)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	entries := []any{}
	if req.URL.Query().Get("recursive") != "" {
		files := r.files(sha)
		paths := make([]string, 0, len(files))
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			entries = append(entries, map[string]any{"path": p, "mode": "100644", "type": "blob", "sha": files[p]})
		}
	} else {
		for _, e := range t.entries {
			entries = append(entries, map[string]any{"path": e.name, "mode": e.mode, "type": e.typ, "sha": e.sha})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "tree": entries, "truncated": false})
}

// POST /repos/{owner}/{repo}/git/trees
func (s *Server) handleCreateTree(w http.ResponseWriter, req *http.Request) {
	var body struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path, Mode, Type string
			SHA              *string
			Content          *string
		}
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
	files := map[string]string{}
	if body.BaseTree != "" {
		if _, ok := r.objects[body.BaseTree].(*tree); !ok {
			writeValidation(w, "base_tree is not a valid tree oid", "Tree", "base_tree", "invalid")
			return
		}
		files = r.files(body.BaseTree)
	}
	for _, e := range body.Tree {
		if e.Path == "" || strings.HasPrefix(e.Path, "/") {
			writeValidation(w, "tree.path is invalid", "Tree", "path", "invalid")
			return
		}
		switch {
		case e.Content != nil:
			files[e.Path] = r.putBlob([]byte(*e.Content))
		case e.SHA == nil:
			delete(files, e.Path)
		default:
			if _, ok := r.objects[*e.SHA].(*blob); !ok {
				writeValidation(w, "tree.sha "+*e.SHA+" is not a valid blob", "Tree", "sha", "invalid")
				return
			}
			files[e.Path] = *e.SHA
		}
	}
	sha := r.writeTree(files)
	t := r.objects[sha].(*tree)
	entries := []any{}
	for _, e := range t.entries {
		entries = append(entries, map[string]any{"path": e.name, "mode": e.mode, "type": e.typ, "sha": e.sha})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"sha": sha, "tree": entries, "truncated": false})
}

// POST /repos/{owner}/{repo}/git/blobs
func (s *Server) handleCreateBlob(w http.ResponseWriter, req *http.Request) {
	var body struct{ Content, Encoding string }
	if !decode(w, req, &body) {
		return
	}
	data := []byte(body.Content)
	if body.Encoding == "base64" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(body.Content); err != nil {
			writeValidation(w, "content is not valid Base64", "Blob", "content", "invalid")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	sha := r.putBlob(data)
	writeJSON(w, http.StatusCreated, map[string]any{"sha": sha, "url": s.baseURL(req) + "/repos/" + r.fullName() + "/git/blobs/" + sha})
}

// GET /repos/{owner}/{repo}/git/blobs/{sha}
func (s *Server) handleGetBlob(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	b, ok := r.objects[req.PathValue("sha")].(*blob)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": req.PathValue("sha"), "size": len(b.data), "encoding": "base64", "content": base64.StdEncoding.EncodeToString(b.data)})
}
