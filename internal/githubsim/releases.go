package githubsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type release struct {
	id                    int64
	tagName, target, name string
	body                  string
	draft, prerelease     bool
	createdAt             time.Time
	publishedAt           time.Time
}

// releaseRoutes registers the releases and tags routes.
func (s *Server) releaseRoutes() {
	const repo = "/repos/{owner}/{repo}"
	s.handle("GET "+repo+"/releases", s.handleListReleases)
	s.handle("POST "+repo+"/releases", s.handleCreateRelease)
	s.handle("PATCH "+repo+"/releases/{id}", s.handleUpdateRelease)
	s.handle("GET "+repo+"/tags", s.handleListTags)
}

// CreateRelease creates a release of tag, as a person does in the GitHub UI:
// a published one (draft false) creates the tag at sha when it does not
// exist; a draft creates no tag until it is published. It returns the
// release's id.
func (s *Server) CreateRelease(fullName, tag, sha string, draft bool) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return 0, err
	}
	rel, msg := s.createRelease(r, tag, sha, "", "", draft, false)
	if rel == nil {
		return 0, fmt.Errorf("creating release %s: %s", tag, msg)
	}
	return rel.id, nil
}

// createRelease validates and records a release and sends its events. The
// caller holds s.mu. On failure it returns the 422 message.
func (s *Server) createRelease(r *repo, tag, target, name, body string, draft, prerelease bool) (*release, string) {
	if tag == "" {
		return nil, "tag_name is missing"
	}
	for _, rel := range r.releases {
		if rel.tagName == tag {
			return nil, "tag_name already_exists"
		}
	}
	if target == "" {
		target = r.defaultBranch
	}
	sha, tagExists := r.refs["tags/"+tag]
	if !tagExists {
		var ok bool
		if sha, ok = r.resolve(target); !ok {
			return nil, "target_commitish is invalid"
		}
	}
	now := s.now()
	rel := &release{id: s.id(), tagName: tag, target: target, name: name, body: body, draft: draft, prerelease: prerelease, createdAt: now}
	r.releases = append(r.releases, rel)
	s.emit("release", r, map[string]any{"action": "created", "release": r.releaseJSON(rel)})
	if !draft {
		s.publish(r, rel, sha, tagExists)
	}
	return rel, ""
}

// publish creates the release's tag if needed and sends published (and
// released, for a release that is not a pre-release), as GitHub does.
func (s *Server) publish(r *repo, rel *release, sha string, tagExists bool) {
	rel.draft, rel.publishedAt = false, s.now()
	if !tagExists {
		r.refs["tags/"+rel.tagName] = sha
		s.emitTagCreated(r, rel.tagName, sha)
	}
	s.emit("release", r, map[string]any{"action": "published", "release": r.releaseJSON(rel)})
	if !rel.prerelease {
		s.emit("release", r, map[string]any{"action": "released", "release": r.releaseJSON(rel)})
	}
}

func (r *repo) releaseJSON(rel *release) map[string]any {
	m := map[string]any{
		"id": rel.id, "tag_name": rel.tagName, "target_commitish": rel.target, "name": rel.name, "body": rel.body,
		"draft": rel.draft, "prerelease": rel.prerelease, "created_at": ts(rel.createdAt), "published_at": nil,
		"html_url":    fmt.Sprintf("%s/releases/tag/%s", r.htmlURL(), rel.tagName),
		"tarball_url": fmt.Sprintf("%s/archive/refs/tags/%s.tar.gz", r.htmlURL(), rel.tagName),
		"author":      sender,
	}
	if !rel.draft {
		m["published_at"] = ts(rel.publishedAt)
	}
	return m
}

// GET /repos/{owner}/{repo}/releases (newest first, drafts included: the
// caller is taken to have push access)
func (s *Server) handleListReleases(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	var items []any
	for i := len(r.releases) - 1; i >= 0; i-- {
		items = append(items, r.releaseJSON(r.releases[i]))
	}
	writePage(w, req, items)
}

// POST /repos/{owner}/{repo}/releases
func (s *Server) handleCreateRelease(w http.ResponseWriter, req *http.Request) {
	var body struct {
		TagName           string `json:"tag_name"`
		TargetCommitish   string `json:"target_commitish"`
		Name, Body        string
		Draft, Prerelease bool
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
	rel, msg := s.createRelease(r, body.TagName, body.TargetCommitish, body.Name, body.Body, body.Draft, body.Prerelease)
	if rel == nil {
		field, code := "tag_name", "already_exists"
		switch {
		case strings.Contains(msg, "missing"):
			code = "missing_field"
		case strings.Contains(msg, "target_commitish"):
			field, code = "target_commitish", "invalid"
		}
		writeValidation(w, "Validation Failed", "Release", field, code)
		return
	}
	writeJSON(w, http.StatusCreated, r.releaseJSON(rel))
}

// PATCH /repos/{owner}/{repo}/releases/{id}: publishing a draft ("draft": false).
func (s *Server) handleUpdateRelease(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Draft      *bool
		Prerelease *bool
		Name       *string
	}
	if !decode(w, req, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, rel := findIn(s, w, req, "id", func(r *repo) []*release { return r.releases }, func(x *release) int64 { return x.id })
	if rel == nil {
		return
	}
	if body.Name != nil {
		rel.name = *body.Name
	}
	if body.Prerelease != nil {
		rel.prerelease = *body.Prerelease
	}
	if body.Draft != nil && !*body.Draft && rel.draft {
		sha, tagExists := r.refs["tags/"+rel.tagName]
		if !tagExists {
			var ok bool
			if sha, ok = r.resolve(rel.target); !ok {
				writeValidation(w, "Validation Failed", "Release", "target_commitish", "invalid")
				return
			}
		}
		s.publish(r, rel, sha, tagExists)
	}
	writeJSON(w, http.StatusOK, r.releaseJSON(rel))
}

// GET /repos/{owner}/{repo}/tags (by name, descending, as GitHub lists them)
func (s *Server) handleListTags(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	var names []string
	for ref := range r.refs {
		if name, ok := strings.CutPrefix(ref, "tags/"); ok {
			names = append(names, name)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var items []any
	for _, n := range names {
		sha := r.refs["tags/"+n]
		items = append(items, map[string]any{
			"name": n, "node_id": "TAG_" + n,
			"commit":      map[string]any{"sha": sha, "url": s.baseURL(req) + "/repos/" + r.fullName() + "/commits/" + sha},
			"zipball_url": s.baseURL(req) + "/repos/" + r.fullName() + "/zipball/refs/tags/" + n,
			"tarball_url": s.baseURL(req) + "/repos/" + r.fullName() + "/tarball/refs/tags/" + n,
		})
	}
	writePage(w, req, items)
}
