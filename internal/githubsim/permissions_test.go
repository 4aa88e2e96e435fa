package githubsim

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"
)

// permWorld is appWorld with a pull request open on acme/gitops, and a way to
// get a token of the installation with other permissions.
type permWorld struct {
	s    *Server
	inst int64
	app  *gh.Client
	sha  string
	pr   int
}

func newPermWorld(t *testing.T) *permWorld {
	t.Helper()
	s, key, inst := appWorld(t)
	sha, _ := s.BranchHead("acme/gitops", "main")
	if _, err := s.CommitFiles("acme/gitops", "feature", map[string]string{"f.txt": "x\n"}, "feature"); err != nil {
		t.Fatal(err)
	}
	pr, err := s.CreatePullRequest("acme/gitops", "feature", "main", "Feature", "alice")
	if err != nil {
		t.Fatal(err)
	}
	return &permWorld{s: s, inst: inst, app: jwtClient(t, s, key), sha: sha, pr: pr}
}

// token gives the installation perms and returns a client of a new token.
func (w *permWorld) token(t *testing.T, perms Permissions) *gh.Client {
	t.Helper()
	return tokenClient(w.s, w.rawToken(t, perms))
}

// rawToken gives the installation perms and makes a token.
func (w *permWorld) rawToken(t *testing.T, perms Permissions) string {
	t.Helper()
	if err := w.s.SetInstallationPermissions(w.inst, perms); err != nil {
		t.Fatal(err)
	}
	tok, _, err := w.app.Apps.CreateInstallationToken(ctx, w.inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.GetToken()
}

// with is the default permissions with name at level ("" removes it).
func with(name, level string) Permissions {
	p := DefaultAppPermissions()
	delete(p, name)
	if level != "" {
		p[name] = level
	}
	return p
}

// expectRefused checks GitHub's answer to a token without the permission.
func expectRefused(t *testing.T, what string, err error, accepted string) {
	t.Helper()
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusForbidden || er.Message != msgNotAccessible {
		t.Fatalf("%s: %v, want 403 %q", what, err, msgNotAccessible)
	}
	if got := er.Response.Header.Get(headerAcceptedPermissions); got != accepted {
		t.Fatalf("%s: %s %q, want %q", what, headerAcceptedPermissions, got, accepted)
	}
	if er.Response.Header.Get("Retry-After") != "" || er.Response.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Fatalf("%s: a refused permission reads as a rate limit", what)
	}
}

// permissionKinds are the permissions Liftoff needs, with a read and a
// write of each (metadata has no write).
var permissionKinds = []struct {
	name        string
	read, write func(w *permWorld, c *gh.Client) error
}{
	{"contents",
		func(_ *permWorld, c *gh.Client) error {
			_, _, _, err := c.Repositories.GetContents(ctx, "acme", "gitops", "README.md", nil)
			return err
		},
		func(_ *permWorld, c *gh.Client) error {
			_, _, err := c.Git.CreateBlob(ctx, "acme", "gitops", &gh.Blob{Content: gh.String("x"), Encoding: gh.String("utf-8")})
			return err
		}},
	{"pull_requests",
		func(_ *permWorld, c *gh.Client) error {
			_, _, err := c.PullRequests.List(ctx, "acme", "gitops", nil)
			return err
		},
		func(w *permWorld, c *gh.Client) error {
			_, _, err := c.PullRequests.Edit(ctx, "acme", "gitops", w.pr, &gh.PullRequest{Title: gh.String("Feature, edited")})
			return err
		}},
	{"deployments",
		func(_ *permWorld, c *gh.Client) error {
			_, _, err := c.Repositories.ListDeployments(ctx, "acme", "gitops", nil)
			return err
		},
		func(_ *permWorld, c *gh.Client) error {
			_, _, err := c.Repositories.CreateDeployment(ctx, "acme", "gitops", &gh.DeploymentRequest{Ref: gh.String("main"), Environment: gh.String("dev"), RequiredContexts: &[]string{}})
			return err
		}},
	{"issues",
		func(_ *permWorld, c *gh.Client) error {
			if _, _, err := c.Search.Issues(ctx, "repo:acme/gitops is:issue is:open", nil); err != nil {
				return err
			}
			_, _, err := c.Issues.ListByRepo(ctx, "acme", "gitops", nil)
			return err
		},
		func(_ *permWorld, c *gh.Client) error {
			_, _, err := c.Issues.Create(ctx, "acme", "gitops", &gh.IssueRequest{Title: gh.String("Postmortem")})
			return err
		}},
	{"checks",
		func(w *permWorld, c *gh.Client) error {
			_, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "gitops", w.sha, nil)
			return err
		},
		func(w *permWorld, c *gh.Client) error {
			_, _, err := c.Checks.CreateCheckRun(ctx, "acme", "gitops", gh.CreateCheckRunOptions{Name: "qa", HeadSHA: w.sha})
			return err
		}},
	{"statuses",
		func(w *permWorld, c *gh.Client) error {
			_, _, err := c.Repositories.GetCombinedStatus(ctx, "acme", "gitops", w.sha, nil)
			return err
		},
		func(w *permWorld, c *gh.Client) error {
			_, _, err := c.Repositories.CreateStatus(ctx, "acme", "gitops", w.sha, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("qa")})
			return err
		}},
	{"metadata",
		func(_ *permWorld, c *gh.Client) error {
			if _, _, err := c.Repositories.Get(ctx, "acme", "gitops"); err != nil {
				return err
			}
			_, _, err := c.Repositories.ListTags(ctx, "acme", "gitops", nil)
			return err
		}, nil},
}

// An installation token gets 403 "Resource not accessible by integration"
// from a route whose permission the installation lacks, naming what the
// route accepts; read serves GET, write serves both; a person's token is
// never asked.
func TestInstallationTokenNeedsTheRoutesPermission(t *testing.T) {
	for _, k := range permissionKinds {
		t.Run(k.name, func(t *testing.T) {
			w := newPermWorld(t)
			none := w.token(t, with(k.name, ""))
			expectRefused(t, "read without "+k.name, k.read(w, none), k.name+"=read")
			if k.write != nil {
				expectRefused(t, "write without "+k.name, k.write(w, none), k.name+"=write")
			}
			read := w.token(t, with(k.name, "read"))
			if err := k.read(w, read); err != nil {
				t.Fatalf("read with %s=read: %v", k.name, err)
			}
			if k.write == nil {
				return
			}
			expectRefused(t, "write with "+k.name+"=read", k.write(w, read), k.name+"=write")
			write := w.token(t, with(k.name, "write"))
			if err := k.read(w, write); err != nil {
				t.Fatalf("read with %s=write: %v", k.name, err)
			}
			if err := k.write(w, write); err != nil {
				t.Fatalf("write with %s=write: %v", k.name, err)
			}
			pat := client(t, w.s)
			if err := k.write(w, pat); err != nil {
				t.Fatalf("a person's token: %v", err)
			}
		})
	}
}

// GraphQL's createCommitOnBranch needs contents: write; GitHub answers 200
// with a FORBIDDEN error and commits nothing.
func TestCreateCommitOnBranchNeedsContentsWrite(t *testing.T) {
	w := newPermWorld(t)
	got := createCommitAs(t, w.s, w.rawToken(t, with("contents", "read")), commitInput(w.sha, map[string]string{"envs/dev/app.yaml": "tag: 2\n"}))
	if len(got.Errors) != 1 || got.Errors[0].Type != "FORBIDDEN" || got.Errors[0].Message != msgNotAccessible || got.Data.CreateCommitOnBranch != nil {
		t.Fatalf("createCommitOnBranch with contents=read: %+v", got)
	}
	if head, _ := w.s.BranchHead("acme/gitops", "main"); head != w.sha {
		t.Fatal("a refused mutation moved the branch")
	}
	got = createCommitAs(t, w.s, w.rawToken(t, with("contents", "write")), commitInput(w.sha, map[string]string{"envs/dev/app.yaml": "tag: 2\n"}))
	if len(got.Errors) != 0 || got.Data.CreateCommitOnBranch == nil {
		t.Fatalf("createCommitOnBranch with contents=write: %+v", got)
	}
}

// A route that accepts either of two permissions (milestones: issues or
// pull requests) takes a token with one of them.
func TestRouteAcceptsAnyOfItsPermissionSets(t *testing.T) {
	w := newPermWorld(t)
	noIssues := with("issues", "")
	if _, _, err := w.token(t, noIssues).Issues.ListMilestones(ctx, "acme", "gitops", nil); err != nil {
		t.Fatalf("milestones with pull_requests=write only: %v", err)
	}
	delete(noIssues, "pull_requests")
	_, _, err := w.token(t, noIssues).Issues.ListMilestones(ctx, "acme", "gitops", nil)
	expectRefused(t, "milestones with neither", err, "issues=read; pull_requests=read")
}

// The installation's permissions show in GET /app/installations/{id} and in
// each token's answer. A token carries the permissions of its making: one
// granted later comes with the next token, one taken away is refused at once.
func TestTokenCarriesTheInstallationsPermissionsOfItsMaking(t *testing.T) {
	w := newPermWorld(t)
	readOnly := with("deployments", "read")
	if err := w.s.SetInstallationPermissions(w.inst, readOnly); err != nil {
		t.Fatal(err)
	}
	in, _, err := w.app.Apps.GetInstallation(ctx, w.inst)
	if err != nil || in.GetPermissions().GetDeployments() != "read" || in.GetPermissions().GetContents() != "write" {
		t.Fatalf("GET /app/installations/%d: %+v %v", w.inst, in.GetPermissions(), err)
	}
	tok, _, err := w.app.Apps.CreateInstallationToken(ctx, w.inst, nil)
	if err != nil || tok.GetPermissions().GetDeployments() != "read" || tok.GetPermissions().GetMetadata() != "read" {
		t.Fatalf("access token: %+v %v", tok.GetPermissions(), err)
	}
	old := tokenClient(w.s, tok.GetToken())
	deploy := permissionKinds[2].write
	expectRefused(t, "deployment with deployments=read", deploy(w, old), "deployments=write")

	fresh := w.token(t, DefaultAppPermissions()) // the account accepted deployments: write
	expectRefused(t, "the token made before the grant", deploy(w, old), "deployments=write")
	if err := deploy(w, fresh); err != nil {
		t.Fatalf("a token made after the grant: %v", err)
	}

	if err := w.s.SetInstallationPermissions(w.inst, with("deployments", "")); err != nil {
		t.Fatal(err)
	}
	expectRefused(t, "deployments taken away", deploy(w, fresh), "deployments=write")
	if err := w.s.SetInstallationPermissions(w.inst, Permissions{"contents": "owner"}); err == nil {
		t.Fatal("a level that is not read, write or admin was taken")
	}
}

// Every route the simulator serves names the permissions it accepts, and
// the table names no route the simulator does not serve.
func TestEveryRouteNamesItsPermissions(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	served := map[string]bool{gqlCreateCommitOnBranch: true}
	for _, p := range s.patterns {
		served[p] = true
		if strings.HasPrefix(p, "GET /app") || strings.HasPrefix(p, "POST /app/") {
			continue // the App's JWT, never a token
		}
		if _, ok := routePermissions[p]; !ok {
			t.Errorf("route %s has no permissions listed", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(routePermissions)) {
		if !served[p] {
			t.Errorf("permissions listed for %s, which is not served", p)
		}
	}
}
