package github

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// without is the default App permissions less name, or with it at level.
func without(name, level string) githubsim.Permissions {
	p := githubsim.DefaultAppPermissions()
	delete(p, name)
	if level != "" {
		p[name] = level
	}
	return p
}

// An App installed with too few permissions: GitHub's 403 "Resource not
// accessible by integration" (GraphQL: FORBIDDEN) is a PermissionMissing
// problem that names the permission and level to grant and where; never a
// rate limit nor a bad key. Once the installation has the permission, a new
// token carries it.
func TestAppWithoutAPermission(t *testing.T) {
	ctx := context.Background()
	head := func(s *githubsim.Server) string { sha, _ := s.BranchHead("acme/gitops", "main"); return sha }
	files := map[string][]byte{"envs/dev/app.yaml": []byte("tag: 2\n")}
	for _, tt := range []struct {
		name  string
		perms githubsim.Permissions
		call  func(c *Client, s *githubsim.Server) error
		// grant is what the message asks for, and where GitHub refused.
		grant, endpoint string
	}{
		{"a promotion's coalesced commit without contents: write", without("contents", "read"),
			func(c *Client, s *githubsim.Server) error {
				_, err := c.CommitOnBranch(ctx, "acme/gitops", "main", head(s), files, "Promote", "")
				return err
			}, "grant contents=write (Contents: Read and write)", "GraphQL createCommitOnBranch"},
		{"a promotion's commit without contents: write", without("contents", "read"),
			func(c *Client, s *githubsim.Server) error {
				_, err := c.CommitFiles(ctx, "acme/gitops", head(s), files, "Promote")
				return err
			}, "grant contents=write (Contents: Read and write)", "POST /repos/acme/gitops/git/trees"},
		{"a deployment without deployments: write", without("deployments", "read"),
			func(c *Client, s *githubsim.Server) error {
				_, err := c.CreateDeployment(ctx, "acme/gitops", head(s), "dev", "ns/r", "1.4.2", "Promote", false)
				return err
			}, "grant deployments=write (Deployments: Read and write)", "POST /repos/acme/gitops/deployments"},
		{"a pull request without pull_requests: write", without("pull_requests", "read"),
			func(c *Client, _ *githubsim.Server) error {
				_, err := c.CreatePullRequest(ctx, "acme/gitops", "main", "main", "Promote", "")
				return err
			}, "grant pull_requests=write (Pull requests: Read and write)", "POST /repos/acme/gitops/pulls"},
		{"QA checks without checks: read", without("checks", ""),
			func(c *Client, s *githubsim.Server) error {
				_, err := c.Checks(ctx, "acme/gitops", head(s), []string{"qa"})
				return err
			}, "grant checks=read (Checks: Read-only)", "/check-runs"},
		{"blockers without issues: read", without("issues", ""),
			func(c *Client, _ *githubsim.Server) error {
				_, _, err := c.SearchIssues(ctx, "repo:acme/gitops is:issue is:open label:blocker")
				return err
			}, "grant issues=read (Issues: Read-only)", "GET /search/issues"},
		{"a milestone without issues nor pull_requests", func() githubsim.Permissions { p := without("issues", ""); delete(p, "pull_requests"); return p }(),
			func(c *Client, _ *githubsim.Server) error {
				_, err := c.GetMilestone(ctx, "acme/gitops", "1.5")
				return err
			}, "grant issues=read (Issues: Read-only) or pull_requests=read (Pull requests: Read-only)", "GET /repos/acme/gitops/milestones"},
		{"discovery of tags without metadata: read", without("metadata", ""),
			func(c *Client, _ *githubsim.Server) error {
				_, _, err := c.ListTags(ctx, "acme/gitops")
				return err
			}, "grant metadata=read (Metadata: Read-only)", "GET /repos/acme/gitops/tags"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
			s, inst := appSim(t, githubsim.WithClock(clk.Now))
			if err := s.SetInstallationPermissions(inst, tt.perms); err != nil {
				t.Fatal(err)
			}
			_, keyPEM := appKey(t, 0)
			c := forApp(t, &Factory{Clock: clk}, s.URL(), inst, keyPEM)
			err := tt.call(c, s)
			if ProblemOf(err) != ProblemPermissionMissing {
				t.Fatalf("%v: problem %q, want %q", err, ProblemOf(err), ProblemPermissionMissing)
			}
			msg := err.Error()
			for _, want := range []string{tt.grant, tt.endpoint, "GitHub App 42 installation", "Resource not accessible by integration",
				"in the GitHub App's settings > Permissions, then accept the new permissions on the installation"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
			if KindOf(err) != KindUnauthorized || ProblemOf(err) != ProblemPermissionMissing {
				t.Errorf("classified %s/%s; want a refusal with ProblemPermissionMissing", KindOf(err), ProblemOf(err))
			}
			if !c.RateLimitedUntil().IsZero() {
				t.Error("a missing permission held the client as rate limited")
			}

			// Authenticate (each reconcile's first call) exchanges a new
			// token while the permission is lacking, once the token in use
			// is recheckPermissions old: one made before the account
			// accepted is still refused, one made after goes through.
			exchanges := func() int { return s.Requests().ByOperation[exchangeRoute] }
			authenticate := func(want int) {
				t.Helper()
				before := exchanges()
				if err := c.Authenticate(ctx); err != nil {
					t.Fatal(err)
				}
				if got := exchanges() - before; got != want {
					t.Fatalf("%d token exchanges, want %d", got, want)
				}
			}
			authenticate(0) // the token is new
			clk.Step(recheckPermissions)
			authenticate(1)
			if err := s.SetInstallationPermissions(inst, githubsim.DefaultAppPermissions()); err != nil {
				t.Fatal(err)
			}
			if err := tt.call(c, s); ProblemOf(err) != ProblemPermissionMissing {
				t.Fatalf("with a token made before the account accepted: %v", err)
			}
			clk.Step(recheckPermissions)
			authenticate(1)
			if err := tt.call(c, s); ProblemOf(err) != "" {
				t.Fatalf("after the account accepted: %v", err)
			}
			clk.Step(recheckPermissions)
			authenticate(0) // nothing is lacking any more
		})
	}
}

// Without X-Accepted-GitHub-Permissions (an older GitHub Enterprise Server),
// the message names the endpoint whose permission to look up.
func TestAppPermissionWithoutTheHeaderNamesTheEndpoint(t *testing.T) {
	s, inst := appSim(t)
	if err := s.SetInstallationPermissions(inst, without("deployments", "read")); err != nil {
		t.Fatal(err)
	}
	strip := roundTrip(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			resp.Header.Del(headerAcceptedPermissions)
		}
		return resp, err
	})
	_, keyPEM := appKey(t, 0)
	c := forApp(t, &Factory{Transport: strip}, s.URL(), inst, keyPEM)
	sha, _ := s.BranchHead("acme/gitops", "main")
	_, err := c.CreateDeployment(context.Background(), "acme/gitops", sha, "dev", "ns/r", "1.4.2", "Promote", false)
	if ProblemOf(err) != ProblemPermissionMissing {
		t.Fatalf("%v: not a missing permission", err)
	}
	if want := `GitHub did not name the permission: grant the one GitHub's REST docs ("Permissions required for GitHub Apps") list for POST /repos/acme/gitops/deployments`; !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q does not say %q", err, want)
	}
}

// A person's token refused for a permission is a refused token, as before:
// the App's advice is not given.
func TestTokenWithoutAPermissionIsNoAppProblem(t *testing.T) {
	srv := roundTrip(func(r *http.Request) (*http.Response, error) {
		h := http.Header{headerAcceptedPermissions: {"deployments=write"}, "Content-Type": {"application/json"}}
		return &http.Response{StatusCode: http.StatusForbidden, Header: h, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}`))}, nil
	})
	c, err := (&Factory{Transport: srv}).For("https://api.github.com/", "github_pat_x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDeployment(context.Background(), "acme/gitops", "abc", "dev", "ns/r", "1.4.2", "Promote", false)
	if KindOf(err) != KindUnauthorized || ProblemOf(err) != "" {
		t.Fatalf("%v: kind %q problem %q", err, KindOf(err), ProblemOf(err))
	}
}
