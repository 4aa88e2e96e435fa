package githubsim

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// A GitHub App's installation has permissions (Repository permissions in the
// App's settings, accepted by the account that installed it), and an
// installation token carries those the installation had when it was made.
// GitHub's REST docs list, for every endpoint, the fine-grained permission it
// needs ("Permissions required for GitHub Apps"); a token without it gets
// 403 "Resource not accessible by integration", and every answer to a token
// names what the endpoint accepts in X-Accepted-GitHub-Permissions. A
// person's token (PAT) is not checked.

// Permissions are an installation's permissions: name -> level ("read",
// "write"), as in the App's settings and GitHub's API ("pull_requests":
// "write").
type Permissions map[string]string

// DefaultAppPermissions are the permissions installations get unless
// SetInstallationPermissions says otherwise: what Liftoff needs.
func DefaultAppPermissions() Permissions {
	return Permissions{
		"contents": "write", "pull_requests": "write", "deployments": "write", "issues": "write",
		"checks": "read", "statuses": "read", "metadata": "read",
	}
}

// msgNotAccessible is GitHub's answer to an installation token without the
// permission an endpoint needs.
const msgNotAccessible = "Resource not accessible by integration"

// headerAcceptedPermissions names the permissions an endpoint accepts.
const headerAcceptedPermissions = "X-Accepted-GitHub-Permissions"

// gqlCreateCommitOnBranch is the table's key of the GraphQL mutation, which
// GitHub checks per field, not per route.
const gqlCreateCommitOnBranch = "mutation createCommitOnBranch"

// routePermissions is what each route an installation token may call
// accepts, in the form of X-Accepted-GitHub-Permissions: sets separated by
// "; " (any one will do), permissions of a set by ","; "" when none is
// needed. From GitHub's "Permissions required for GitHub Apps". The App's
// own routes (/app...) take its JWT, never a token.
var routePermissions = map[string]string{
	"GET /rate_limit":                 "",
	"GET /installation/repositories":  "",
	graphQLEndpoint:                   "", // per mutation: gqlCreateCommitOnBranch
	gqlCreateCommitOnBranch:           "contents=write",
	"GET /search/issues":              "issues=read",
	"GET /repos/{owner}/{repo}":       "metadata=read",
	"GET /repos/{owner}/{repo}/tags":  "metadata=read",
	"GET /repos/{owner}/{repo}/pulls": "pull_requests=read",

	"GET /repos/{owner}/{repo}/commits":                    "contents=read",
	"GET /repos/{owner}/{repo}/commits/{ref...}":           "contents=read",
	"GET /repos/{owner}/{repo}/compare/{basehead...}":      "contents=read",
	"GET /repos/{owner}/{repo}/contents/{path...}":         "contents=read",
	"PUT /repos/{owner}/{repo}/contents/{path...}":         "contents=write",
	"GET /repos/{owner}/{repo}/git/ref/{ref...}":           "contents=read",
	"GET /repos/{owner}/{repo}/git/matching-refs/{ref...}": "contents=read",
	"POST /repos/{owner}/{repo}/git/refs":                  "contents=write",
	"PATCH /repos/{owner}/{repo}/git/refs/{ref...}":        "contents=write",
	"DELETE /repos/{owner}/{repo}/git/refs/{ref...}":       "contents=write",
	"GET /repos/{owner}/{repo}/git/commits/{sha}":          "contents=read",
	"POST /repos/{owner}/{repo}/git/commits":               "contents=write",
	"GET /repos/{owner}/{repo}/git/trees/{sha}":            "contents=read",
	"POST /repos/{owner}/{repo}/git/trees":                 "contents=write",
	"GET /repos/{owner}/{repo}/git/blobs/{sha}":            "contents=read",
	"POST /repos/{owner}/{repo}/git/blobs":                 "contents=write",
	"GET /repos/{owner}/{repo}/releases":                   "contents=read",
	"POST /repos/{owner}/{repo}/releases":                  "contents=write",
	"PATCH /repos/{owner}/{repo}/releases/{id}":            "contents=write",
	// Merging writes the base branch: contents, not pull_requests.
	"PUT /repos/{owner}/{repo}/pulls/{number}/merge": "contents=write",

	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs": "checks=read",
	"POST /repos/{owner}/{repo}/check-runs":              "checks=write",
	"GET /repos/{owner}/{repo}/check-runs/{id}":          "checks=read",
	"PATCH /repos/{owner}/{repo}/check-runs/{id}":        "checks=write",

	"GET /repos/{owner}/{repo}/commits/{ref}/status":   "statuses=read",
	"GET /repos/{owner}/{repo}/commits/{ref}/statuses": "statuses=read",
	"POST /repos/{owner}/{repo}/statuses/{sha}":        "statuses=write",

	"POST /repos/{owner}/{repo}/pulls":                     "pull_requests=write",
	"GET /repos/{owner}/{repo}/pulls/{number}":             "pull_requests=read",
	"PATCH /repos/{owner}/{repo}/pulls/{number}":           "pull_requests=write",
	"GET /repos/{owner}/{repo}/pulls/{number}/merge":       "pull_requests=read",
	"GET /repos/{owner}/{repo}/issues":                     "issues=read",
	"POST /repos/{owner}/{repo}/issues":                    "issues=write",
	"GET /repos/{owner}/{repo}/issues/{number}":            "issues=read",
	"PATCH /repos/{owner}/{repo}/issues/{number}":          "issues=write",
	"GET /repos/{owner}/{repo}/milestones":                 "issues=read; pull_requests=read",
	"POST /repos/{owner}/{repo}/milestones":                "issues=write; pull_requests=write",
	"GET /repos/{owner}/{repo}/milestones/{number}":        "issues=read; pull_requests=read",
	"PATCH /repos/{owner}/{repo}/milestones/{number}":      "issues=write; pull_requests=write",
	"GET /repos/{owner}/{repo}/deployments":                "deployments=read",
	"POST /repos/{owner}/{repo}/deployments":               "deployments=write",
	"GET /repos/{owner}/{repo}/deployments/{id}":           "deployments=read",
	"GET /repos/{owner}/{repo}/deployments/{id}/statuses":  "deployments=read",
	"POST /repos/{owner}/{repo}/deployments/{id}/statuses": "deployments=write",
}

// levels orders the permission levels: a level grants those below it.
var levels = map[string]int{"read": 1, "write": 2, "admin": 3}

// grants reports whether the token may use a route that accepts accepted
// (routePermissions' form): every permission of one of the sets, at its
// level or above, both in the token and in the installation now (a
// permission taken away applies at once; one granted later comes with the
// next token).
func (c caller) grants(accepted string) bool {
	if c.inst == nil || accepted == "" {
		return true
	}
	for _, set := range strings.Split(accepted, ";") {
		ok := true
		for _, p := range strings.Split(set, ",") {
			name, level, _ := strings.Cut(strings.TrimSpace(p), "=")
			have := min(levels[c.perms[name]], levels[c.inst.perms[name]])
			if have < levels[level] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// permitted checks an installation token's permissions for the request's
// route (op), before it is served: it names what the route accepts, as
// GitHub does for every answer to a token, and answers 403 when the token
// has none of it. It reports whether the request may go on.
func (s *Server) permitted(w http.ResponseWriter, c caller, op string) bool {
	if c.inst == nil || op == graphQLEndpoint {
		return true
	}
	accepted, known := routePermissions[op]
	if !known {
		// A route the table misses is the simulator's bug, not the App's.
		writeError(w, http.StatusInternalServerError, "simulator: no permission listed for "+op)
		return false
	}
	if accepted != "" {
		w.Header().Set(headerAcceptedPermissions, accepted)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.grants(accepted) {
		writeError(w, http.StatusForbidden, msgNotAccessible)
		return false
	}
	return true
}

// SetInstallationPermissions changes an installation's permissions, as when
// the App's permissions change and the account accepts them: tokens made
// from then on carry them; a permission taken away is refused at once, also
// to the tokens made before.
func (s *Server) SetInstallationPermissions(id int64, p Permissions) error {
	for name, level := range p {
		if levels[level] == 0 {
			return fmt.Errorf("permission %s: level %q is not read, write or admin", name, level)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.apps.inst[id]
	if in == nil {
		return fmt.Errorf("no installation %d", id)
	}
	in.perms = maps.Clone(p)
	return nil
}
