package simulator

import (
	"net/http"
	"strconv"
	"strings"
)

// GitHub's documented bounds of a comparison: without paging parameters the
// newest 250 commits, and never more than 300 changed files.
const (
	compareMaxCommits = 250
	compareMaxFiles   = 300
)

// GET /repos/{owner}/{repo}/compare/{basehead...}
//
// basehead is BASE...HEAD (branches, tags or SHAs). The commits are those of
// `git log BASE..HEAD`, oldest first; with per_page or page they are paged
// (Link header) and the files come with the first page only.
func (s *Server) handleCompare(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	base, head, ok := strings.Cut(req.PathValue("basehead"), "...")
	if !ok || base == "" || head == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	baseSHA, okBase := r.resolve(base)
	headSHA, okHead := r.resolve(head)
	if !okBase || !okHead {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	inBase := map[string]bool{}
	for _, sha := range r.history(baseSHA) {
		inBase[sha] = true
	}
	inHead := map[string]bool{}
	var ahead []string // newest first
	for _, sha := range r.history(headSHA) {
		inHead[sha] = true
		if !inBase[sha] {
			ahead = append(ahead, sha)
		}
	}
	behind := 0
	for sha := range inBase {
		if !inHead[sha] {
			behind++
		}
	}
	for i, j := 0, len(ahead)-1; i < j; i, j = i+1, j-1 {
		ahead[i], ahead[j] = ahead[j], ahead[i]
	}
	status := "diverged"
	switch {
	case baseSHA == headSHA:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}

	q := req.URL.Query()
	paged := q.Has("per_page") || q.Has("page")
	shown := ahead
	firstPage := true
	if paged {
		start, end := pageBounds(w, req, len(ahead))
		shown = ahead[start:end]
		firstPage = start == 0
	} else if len(ahead) > compareMaxCommits {
		shown = ahead[len(ahead)-compareMaxCommits:]
	}
	commits := make([]any, 0, len(shown))
	for _, sha := range shown {
		commits = append(commits, s.commitJSON(req, r, sha))
	}
	mergeBase := r.mergeBase(baseSHA, headSHA)
	out := map[string]any{
		"url":               s.baseURL(req) + "/repos/" + r.fullName() + "/compare/" + base + "..." + head,
		"html_url":          r.htmlURL() + "/compare/" + base + "..." + head,
		"permalink_url":     r.htmlURL() + "/compare/" + r.owner + ":" + baseSHA[:7] + "..." + r.owner + ":" + headSHA[:7],
		"diff_url":          r.htmlURL() + "/compare/" + base + "..." + head + ".diff",
		"patch_url":         r.htmlURL() + "/compare/" + base + "..." + head + ".patch",
		"base_commit":       s.commitJSON(req, r, baseSHA),
		"merge_base_commit": nil,
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         behind,
		"total_commits":     len(ahead),
		"commits":           commits,
	}
	if mergeBase != "" {
		out["merge_base_commit"] = s.commitJSON(req, r, mergeBase)
	}
	if firstPage {
		out["files"] = r.compareFiles(mergeBase, headSHA)
	}
	writeJSON(w, http.StatusOK, out)
}

// compareFiles lists the files that differ between two commits (at most 300).
func (r *repo) compareFiles(from, to string) []any {
	filesOf := func(sha string) map[string]string {
		if c, ok := r.commitAt(sha); ok {
			return r.files(c.tree)
		}
		return map[string]string{}
	}
	before, after := filesOf(from), filesOf(to)
	paths := diffFiles(before, after)
	out := []any{}
	for _, p := range paths {
		if len(out) == compareMaxFiles {
			break
		}
		status := "modified"
		switch {
		case before[p] == "":
			status = "added"
		case after[p] == "":
			status = "removed"
		}
		out = append(out, map[string]any{"filename": p, "status": status, "sha": after[p]})
	}
	return out
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
