package githubsim

import (
	"net/http"
	"sort"
	"strings"
)

// maxCompareCommits is how many commits an unpaginated comparison lists, as
// on GitHub; with page or per_page the commits are paginated instead.
const maxCompareCommits = 250

// GET /repos/{owner}/{repo}/compare/{basehead...}: basehead is BASE...HEAD
// (branches, tags or SHAs of the repository). status is identical, ahead
// (HEAD contains BASE and more), behind (BASE contains HEAD) or diverged;
// commits are those reachable from HEAD and not from BASE, oldest first;
// files are the changes from the merge base to HEAD.
func (s *Server) handleCompare(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoOf(w, req)
	if r == nil {
		return
	}
	baseRef, headRef, ok := strings.Cut(req.PathValue("basehead"), "...")
	if !ok || baseRef == "" || headRef == "" || strings.Contains(baseRef+headRef, ":") {
		// Forks (USER:branch) do not exist in the simulator.
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	base, okBase := r.resolve(baseRef)
	head, okHead := r.resolve(headRef)
	if !okBase || !okHead {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	mergeBase := r.mergeBase(base, head)
	if mergeBase == "" {
		writeError(w, http.StatusNotFound, "No common ancestor between "+baseRef+" and "+headRef+".")
		return
	}
	inBase := map[string]bool{}
	for _, sha := range r.history(base) {
		inBase[sha] = true
	}
	var ahead []string // newest first
	inHead := 0
	for _, sha := range r.history(head) {
		if inBase[sha] {
			inHead++
		} else {
			ahead = append(ahead, sha)
		}
	}
	behindBy := len(inBase) - inHead
	status := "diverged"
	switch {
	case base == head:
		status = "identical"
	case behindBy == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	// Oldest first, as GitHub lists a comparison's commits.
	for i, j := 0, len(ahead)-1; i < j; i, j = i+1, j-1 {
		ahead[i], ahead[j] = ahead[j], ahead[i]
	}
	q := req.URL.Query()
	paginated := q.Get("page") != "" || q.Get("per_page") != ""
	listed := ahead
	if !paginated && len(listed) > maxCompareCommits {
		listed = listed[:maxCompareCommits]
	}
	var commits []any
	if paginated {
		// A page's commits, with the Link header of the comparison's pages.
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		writePageOf(rec, req, len(ahead), func(i int) any { return s.commitJSON(req, r, ahead[i]) })
		if link := rec.header.Get("Link"); link != "" {
			w.Header().Set("Link", link)
		}
		if err := jsonUnmarshal(rec.body.Bytes(), &commits); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	} else {
		for _, sha := range listed {
			commits = append(commits, s.commitJSON(req, r, sha))
		}
	}
	if commits == nil {
		commits = []any{}
	}
	url := s.baseURL(req) + "/repos/" + r.fullName() + "/compare/" + baseRef + "..." + headRef
	html := r.htmlURL() + "/compare/" + baseRef + "..." + headRef
	writeJSON(w, http.StatusOK, map[string]any{
		"url": url, "html_url": html,
		"permalink_url": r.htmlURL() + "/compare/" + r.owner + ":" + short(base) + "..." + r.owner + ":" + short(head),
		"diff_url":      html + ".diff", "patch_url": html + ".patch",
		"base_commit":       s.commitJSON(req, r, base),
		"merge_base_commit": s.commitJSON(req, r, mergeBase),
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         behindBy,
		"total_commits":     len(ahead),
		"commits":           commits,
		"files":             r.compareFiles(mergeBase, head),
	})
}

// compareFiles lists the files that differ between two commits' trees.
func (r *repo) compareFiles(from, to string) []map[string]any {
	filesOf := func(sha string) map[string]string {
		c, _ := r.commitAt(sha)
		return r.files(c.tree)
	}
	before, after := filesOf(from), filesOf(to)
	out := []map[string]any{}
	for p, sha := range after {
		switch old, ok := before[p]; {
		case !ok:
			out = append(out, map[string]any{"filename": p, "sha": sha, "status": "added"})
		case old != sha:
			out = append(out, map[string]any{"filename": p, "sha": sha, "status": "modified"})
		}
	}
	for p, sha := range before {
		if _, ok := after[p]; !ok {
			out = append(out, map[string]any{"filename": p, "sha": sha, "status": "removed"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["filename"].(string) < out[j]["filename"].(string) })
	return out
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
