package githubsim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// routes registers GitHub's routes (the paths of go-github's openapi_operations.yaml).
func (s *Server) routes() {
	const repo = "/repos/{owner}/{repo}"
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /rate_limit": s.handleRateLimit,
		"GET " + repo:     s.handleGetRepo,
		"POST /graphql":   s.handleGraphQL,

		"GET " + repo + "/commits":                    s.handleListCommits,
		"GET " + repo + "/commits/{ref...}":           s.handleGetCommit,
		"GET " + repo + "/commits/{ref}/check-runs":   s.handleListCheckRuns,
		"GET " + repo + "/commits/{ref}/status":       s.handleCombinedStatus,
		"GET " + repo + "/commits/{ref}/statuses":     s.handleListStatuses,
		"GET " + repo + "/compare/{basehead...}":      s.handleCompare,
		"GET " + repo + "/contents/{path...}":         s.handleGetContents,
		"PUT " + repo + "/contents/{path...}":         s.handlePutContents,
		"GET " + repo + "/git/ref/{ref...}":           s.handleGetRef,
		"GET " + repo + "/git/matching-refs/{ref...}": s.handleMatchingRefs,
		"POST " + repo + "/git/refs":                  s.handleCreateRef,
		"PATCH " + repo + "/git/refs/{ref...}":        s.handleUpdateRef,
		"DELETE " + repo + "/git/refs/{ref...}":       s.handleDeleteRef,
		"GET " + repo + "/git/commits/{sha}":          s.handleGetGitCommit,
		"POST " + repo + "/git/commits":               s.handleCreateGitCommit,
		"GET " + repo + "/git/trees/{sha}":            s.handleGetTree,
		"POST " + repo + "/git/trees":                 s.handleCreateTree,
		"GET " + repo + "/git/blobs/{sha}":            s.handleGetBlob,
		"POST " + repo + "/git/blobs":                 s.handleCreateBlob,

		"POST " + repo + "/check-runs":       s.handleCreateCheckRun,
		"GET " + repo + "/check-runs/{id}":   s.handleGetCheckRun,
		"PATCH " + repo + "/check-runs/{id}": s.handleUpdateCheckRun,
		"POST " + repo + "/statuses/{sha}":   s.handleCreateStatus,

		"GET " + repo + "/pulls":                s.handleListPulls,
		"POST " + repo + "/pulls":               s.handleCreatePull,
		"GET " + repo + "/pulls/{number}":       s.handleGetPull,
		"PATCH " + repo + "/pulls/{number}":     s.handleUpdatePull,
		"PUT " + repo + "/pulls/{number}/merge": s.handleMergePull,
		"GET " + repo + "/pulls/{number}/merge": s.handleIsMerged,

		"GET " + repo + "/issues":            s.handleListIssues,
		"POST " + repo + "/issues":           s.handleCreateIssue,
		"GET " + repo + "/issues/{number}":   s.handleGetIssue,
		"PATCH " + repo + "/issues/{number}": s.handleUpdateIssue,

		"GET " + repo + "/deployments":                s.handleListDeployments,
		"POST " + repo + "/deployments":               s.handleCreateDeployment,
		"GET " + repo + "/deployments/{id}":           s.handleGetDeployment,
		"GET " + repo + "/deployments/{id}/statuses":  s.handleListDeploymentStatuses,
		"POST " + repo + "/deployments/{id}/statuses": s.handleCreateDeploymentStatus,
	} {
		s.handle(pattern, h)
	}
	s.milestoneRoutes()
	s.releaseRoutes()
	s.appRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "Not Found") })
}

// handle registers a route; patterns lists them all (the permissions table
// must name each).
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	s.patterns = append(s.patterns, pattern)
}

// findIn answers 404 unless the repository of the request holds an item whose
// key equals the path value param (a number or an id); the caller holds s.mu.
func findIn[T any](s *Server, w http.ResponseWriter, req *http.Request, param string, items func(*repo) []T, key func(T) int64) (*repo, T) {
	var zero T
	r := s.repoOf(w, req)
	if r == nil {
		return nil, zero
	}
	want, _ := strconv.ParseInt(req.PathValue(param), 10, 64)
	for _, it := range items(r) {
		if key(it) == want {
			return r, it
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil, zero
}
