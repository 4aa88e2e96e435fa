package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
)

// A GitHub App installed with too few permissions: GitHub answers 403
// "Resource not accessible by integration" (GraphQL: a FORBIDDEN error) and
// names in X-Accepted-GitHub-Permissions what the endpoint accepts. Read as
// any 403 it would say "check the token"; it is fixed in the App's settings,
// and the installation's account must accept the new permissions. A token
// carries the permissions of its making, so while a permission GitHub
// refused is lacking, Authenticate (once per reconcile) exchanges a new
// token when the one in use is older than recheckPermissions: the next try
// after the account accepted has what it accepted, whichever tokens were
// made in between. A new token that has the permission ends that.

// ProblemPermissionMissing means the App's installation lacks a permission
// an endpoint needs.
const ProblemPermissionMissing Problem = "PermissionMissing"

// headerAcceptedPermissions names the permissions an endpoint accepts: sets
// separated by ";" (any one will do), permissions of a set by ",", each
// name=level ("contents=write").
const headerAcceptedPermissions = "X-Accepted-GitHub-Permissions"

// notAccessible reports whether a 403's message is GitHub's refusal of a
// permission the token lacks ("Resource not accessible by integration", or
// "by personal access token" for a fine-grained token): never a rate limit
// nor a bad credential.
func notAccessible(msg string) bool { return strings.HasPrefix(msg, "Resource not accessible by") }

// permissionRefused turns GitHub's 403 for a permission the App lacks into a
// ProblemPermissionMissing error that says which permission to grant; other
// errors are returned as they are.
func (c *Client) permissionRefused(err error) error {
	var e *Error
	var er *gh.ErrorResponse
	if !errors.As(err, &e) || !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusForbidden || !notAccessible(er.Message) {
		return err
	}
	endpoint := ""
	if req := er.Response.Request; req != nil {
		endpoint = req.Method + " /" + strings.TrimPrefix(req.URL.Path, c.gh.BaseURL.Path)
	}
	return c.missingPermission(e, er.Response.Header.Get(headerAcceptedPermissions), endpoint)
}

// missingPermission is e (GitHub's refusal of endpoint) as the App's missing
// permission, accepted being what the endpoint accepts ("" when GitHub did
// not say). The permission is noted as lacking, so that Authenticate
// exchanges newer tokens until one has it (recheck).
func (c *Client) missingPermission(e *Error, accepted, endpoint string) error {
	c.app.lack(accepted)
	grant := "GitHub did not name the permission: grant the one GitHub's REST docs (\"Permissions required for GitHub Apps\") list for " + endpoint
	if accepted != "" {
		grant = "grant " + describePermissions(accepted)
	}
	return &Error{Kind: KindUnauthorized, Problem: ProblemPermissionMissing, Op: e.Op, Status: e.Status, err: e,
		Message: fmt.Sprintf("GitHub App %d installation %d lacks a permission %s needs (%s): %s in the GitHub App's settings > Permissions, then accept the new permissions on the installation; the next try uses them",
			c.key.AppID, c.key.InstallationID, endpoint, e.Message, grant)}
}

// permissionTitles are the titles of the App settings' repository
// permissions.
var permissionTitles = map[string]string{
	"contents": "Contents", "pull_requests": "Pull requests", "deployments": "Deployments", "issues": "Issues",
	"checks": "Checks", "statuses": "Commit statuses", "metadata": "Metadata",
}

// levelTitles are the levels as the App's settings show them.
var levelTitles = map[string]string{"read": "Read-only", "write": "Read and write", "admin": "Admin"}

// describePermissions says X-Accepted-GitHub-Permissions for a person:
// "contents=write (Contents: Read and write)", alternatives joined by "or".
func describePermissions(accepted string) string {
	var sets []string
	for _, set := range strings.Split(accepted, ";") {
		var perms []string
		for _, p := range strings.Split(set, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			name, level, _ := strings.Cut(p, "=")
			if title, ok := permissionTitles[name]; ok && levelTitles[level] != "" {
				p += fmt.Sprintf(" (%s: %s)", title, levelTitles[level])
			}
			perms = append(perms, p)
		}
		if len(perms) > 0 {
			sets = append(sets, strings.Join(perms, " and "))
		}
	}
	return strings.Join(sets, " or ")
}

// recheckPermissions is how old the installation token may be, while a
// permission GitHub refused is lacking, before Authenticate exchanges a new
// one that may carry it: at most one exchange this often per installation,
// and a stalled object's next try (conditions.RetryStalled) has a token
// made after the account accepted.
const recheckPermissions = 10 * time.Second

// lack notes that GitHub refused a permission the installation's token
// lacks: accepted, what the endpoint accepts ("" when GitHub did not say).
func (a *appAuth) lack(accepted string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lacking == nil {
		a.lacking = map[string]bool{}
	}
	a.lacking[accepted] = true
}

// recheck returns the token in use when it should be exchanged for a new one
// (a permission is lacking and the token is older than recheckPermissions),
// else nil.
func (a *appAuth) recheck() *ghinstallation.Transport {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.lacking) == 0 || a.clock.Since(a.issued) < recheckPermissions {
		return nil
	}
	return a.tr
}

// settle forgets the permissions a new token has, of those lacking; one
// GitHub did not name is taken as settled by any new token. The caller
// holds a.mu.
func (a *appAuth) settle(tr *ghinstallation.Transport) {
	if len(a.lacking) == 0 {
		return
	}
	has := map[string]string{}
	if p, err := tr.Permissions(); err == nil {
		raw, _ := json.Marshal(p)
		_ = json.Unmarshal(raw, &has)
	}
	for accepted := range a.lacking {
		if accepted == "" || grantsAny(has, accepted) {
			delete(a.lacking, accepted)
		}
	}
}

// permissionLevels orders the levels: a level grants those below it.
var permissionLevels = map[string]int{"read": 1, "write": 2, "admin": 3}

// grantsAny reports whether has (name -> level) holds every permission of
// one of accepted's sets.
func grantsAny(has map[string]string, accepted string) bool {
	for _, set := range strings.Split(accepted, ";") {
		all := true
		for _, p := range strings.Split(set, ",") {
			name, level, _ := strings.Cut(strings.TrimSpace(p), "=")
			if permissionLevels[has[name]] < permissionLevels[level] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
