package promotion_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// The promotion engine against the GitHub simulator over HTTP: what a crash,
// a race or someone else's commit leaves on the branch.

const (
	token  = "ghp_promotion-test"
	gitops = "acme/gitops"
)

func kustomization(tag string) string {
	return "# managed by Liftoff\nimages:\n  - name: ghcr.io/acme/checkout\n    newTag: \"" + tag + "\" # current\n"
}

type world struct {
	t   *testing.T
	sim *githubsim.Server
	gh  *github.Client
	// transport sees every request the promotion makes.
	transport roundTripFunc
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newWorld seeds a GitOps repository with dev and prod at 1.4.1.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, sim: githubsim.New()}
	t.Cleanup(w.sim.Close)
	w.sim.AddToken(token)
	if err := w.sim.CreateRepo(gitops, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.CommitFiles(gitops, "main", map[string]string{
		"envs/dev/kustomization.yaml":  kustomization("1.4.1"),
		"envs/prod/kustomization.yaml": kustomization("1.4.1"),
	}, "Initial environments"); err != nil {
		t.Fatal(err)
	}
	// Each world gets a factory of its own: no ETag cache or rate-limit state
	// is shared between tests.
	factory := &github.Factory{Timeout: 5 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if w.transport != nil {
			return w.transport(r)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	gh, err := factory.For(w.sim.URL()+"/", token)
	if err != nil {
		t.Fatal(err)
	}
	w.gh = gh
	return w
}

func (w *world) request(files ...string) *promotion.Request {
	req := &promotion.Request{
		Namespace: "shop", Release: "checkout-1-4-2", Application: "checkout", Stage: "prod", Version: "1.4.2",
		Target: releasev1.Target{Repository: gitops, Branch: "main"},
		Since:  time.Now(),
	}
	for _, f := range files {
		req.Target.Files = append(req.Target.Files, releasev1.TargetFile{Path: "envs/" + f + "/kustomization.yaml",
			KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}})
	}
	return req
}

// liftoffCommits are the commits on main that carry the release's trailers.
func (w *world) liftoffCommits() []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range w.sim.Commits(gitops, "main") {
		if strings.Contains(c.Message, "Liftoff-Release: shop/checkout-1-4-2\n") {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) file(env string) string {
	c, _ := w.sim.FileAt(gitops, "main", "envs/"+env+"/kustomization.yaml")
	return c
}

// isWrite is the request that moves main: a file written through the
// contents API (one file), or the ref update (several files).
func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/contents/") ||
		r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/git/refs/heads/main")
}

// shapes are the two ways a promotion commits: one file through the
// contents API, several through a commit and a fast-forward of the branch.
var shapes = []struct {
	name  string
	files []string
}{{"one file", []string{"prod"}}, {"two files", []string{"dev", "prod"}}}

func TestPromoteCommitsOnce(t *testing.T) {
	for _, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			res, err := promotion.Promote(context.Background(), w.gh, w.request(tt.files...))
			if err != nil {
				t.Fatal(err)
			}
			commits := w.liftoffCommits()
			if len(commits) != 1 || !res.Landed || res.Resumed || res.NoChange || res.Commit != commits[0].SHA || res.PreviousVersion != "1.4.1" {
				t.Fatalf("result %+v, commits %v", res, commits)
			}
			for _, f := range tt.files {
				if want := kustomization("1.4.2"); w.file(f) != want {
					t.Errorf("%s holds %q, want %q", f, w.file(f), want)
				}
			}
			if got := commits[0].Files; len(got) != len(tt.files) {
				t.Errorf("the commit changed %v: all files of a promotion go into one commit", got)
			}
		})
	}
}

// GitHub makes the commit, the answer is lost (a crash, a timeout): the
// promotion run again finds its commit by its trailers and makes no other.
func TestPromoteCrashAfterCommitResumes(t *testing.T) {
	for _, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var lost atomic.Bool
			w.transport = func(r *http.Request) (*http.Response, error) {
				resp, err := http.DefaultTransport.RoundTrip(r)
				if err == nil && isWrite(r) && resp.StatusCode < 300 && lost.CompareAndSwap(false, true) {
					resp.Body.Close()
					return nil, errors.New("connection reset after the write")
				}
				return resp, err
			}
			req := w.request(tt.files...)
			if _, err := promotion.Promote(context.Background(), w.gh, req); err == nil {
				t.Fatal("the first attempt lost its answer and must fail")
			}
			if n := len(w.liftoffCommits()); n != 1 {
				t.Fatalf("%d commits after the lost answer, want the one GitHub made", n)
			}
			res, err := promotion.Promote(context.Background(), w.gh, req)
			if err != nil {
				t.Fatal(err)
			}
			commits := w.liftoffCommits()
			if len(commits) != 1 {
				t.Fatalf("%d commits: the retry committed again", len(commits))
			}
			if !res.Landed || !res.Resumed || res.NoChange || res.Commit != commits[0].SHA || res.PreviousVersion != "1.4.1" {
				t.Fatalf("result %+v, want the earlier commit %s resumed with previous version 1.4.1", res, commits[0].SHA)
			}
		})
	}
}

// Someone commits to the branch between Liftoff's read and its write: GitHub
// refuses the write (409 for a stale file, 422 for a ref that does not
// fast-forward), Liftoff reads again and writes on top; nothing of the other
// commit is lost.
func TestPromoteRaceKeepsTheOtherCommit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		files  []string
		status int
	}{{"one file", []string{"prod"}, http.StatusConflict}, {"two files", []string{"dev", "prod"}, http.StatusUnprocessableEntity}} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var raced atomic.Bool
			var refused atomic.Int32
			w.transport = func(r *http.Request) (*http.Response, error) {
				if isWrite(r) && raced.CompareAndSwap(false, true) {
					prod := w.file("prod")
					if _, err := w.sim.CommitFiles(gitops, "main", map[string]string{
						"README.md":                    "hand-made\n",
						"envs/prod/kustomization.yaml": "# reviewed by ann\n" + prod,
					}, "Someone else's commit"); err != nil {
						t.Error(err)
					}
				}
				resp, err := http.DefaultTransport.RoundTrip(r)
				if err == nil && isWrite(r) && resp.StatusCode == tt.status {
					refused.Add(1)
				}
				return resp, err
			}
			res, err := promotion.Promote(context.Background(), w.gh, w.request(tt.files...))
			if err != nil {
				t.Fatal(err)
			}
			if refused.Load() != 1 {
				t.Fatalf("GitHub refused %d writes with %d, want the one that raced", refused.Load(), tt.status)
			}
			if readme, _ := w.sim.FileAt(gitops, "main", "README.md"); readme != "hand-made\n" {
				t.Error("the other commit was lost")
			}
			if !strings.HasPrefix(w.file("prod"), "# reviewed by ann\n") || !strings.Contains(w.file("prod"), `newTag: "1.4.2"`) {
				t.Errorf("prod holds %q: the version goes on top of the other change", w.file("prod"))
			}
			if commits := w.liftoffCommits(); len(commits) != 1 || commits[0].SHA != res.Commit {
				t.Fatalf("commits %v, result %+v", commits, res)
			}
		})
	}
}

// Someone else commits on top of the promotion: a promotion run again (its
// status was never written) still finds its own commit, not the head.
func TestPromoteFindsItsCommitUnderSomeoneElses(t *testing.T) {
	w := newWorld(t)
	req := w.request("prod")
	first, err := promotion.Promote(context.Background(), w.gh, req)
	if err != nil {
		t.Fatal(err)
	}
	head, err := w.sim.CommitFiles(gitops, "main", map[string]string{"README.md": "later\n"}, "Someone else's commit")
	if err != nil {
		t.Fatal(err)
	}
	again, err := promotion.Promote(context.Background(), w.gh, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Resumed || again.NoChange || again.Commit != first.Commit || again.Commit == head {
		t.Fatalf("result %+v, want the promotion commit %s (head %s)", again, first.Commit, head)
	}
	if n := len(w.liftoffCommits()); n != 1 {
		t.Fatalf("%d commits", n)
	}
}

// The files already hold the version, put there by someone else: nothing is
// committed, and the head is what holds it.
func TestPromoteNoChange(t *testing.T) {
	w := newWorld(t)
	head, err := w.sim.CommitFiles(gitops, "main", map[string]string{"envs/prod/kustomization.yaml": kustomization("1.4.2")}, "Hotfix by hand")
	if err != nil {
		t.Fatal(err)
	}
	res, err := promotion.Promote(context.Background(), w.gh, w.request("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Landed || !res.NoChange || !res.Resumed || res.Commit != head || res.PreviousVersion != "1.4.2" {
		t.Fatalf("result %+v, want no change at head %s", res, head)
	}
	if n := len(w.liftoffCommits()); n != 0 {
		t.Fatalf("%d commits for a version already there", n)
	}
}

// A missing file is the target's fault (TargetError: a person fixes the
// pipeline or the repository); a missing repository is GitHub's 404.
func TestPromoteMissingTarget(t *testing.T) {
	w := newWorld(t)
	req := w.request("prod")
	req.Target.Files[0].Path = "envs/qa/kustomization.yaml"
	_, err := promotion.Promote(context.Background(), w.gh, req)
	var te *promotion.TargetError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "envs/qa/kustomization.yaml: file not found") {
		t.Fatalf("error %v, want a TargetError naming the file", err)
	}
	req = w.request("prod")
	req.Target.Repository = "acme/missing"
	_, err = promotion.Promote(context.Background(), w.gh, req)
	if errors.As(err, &te) || !github.IsNotFound(err) {
		t.Fatalf("error %v, want GitHub's not found", err)
	}
}

// A promotion's pull request says what changes in the files, then what the
// promotion brings into the stage (its release notes), then the gates.
func TestPullRequestBodyCarriesTheReleaseNotes(t *testing.T) {
	w := newWorld(t)
	req := w.request("prod")
	req.Target.Strategy = releasev1.StrategyPullRequest
	req.Notes = "### Changes since 1.4.1\n\n- [#7](https://github.com/acme/checkout/pull/7) Retry payments by alice\n"
	req.Gates = "| Gate | Status | Detail |\n| --- | --- | --- |\n| soak | Passed | soaked 1h |\n"
	res, err := promotion.Promote(context.Background(), w.gh, req)
	if err != nil || res.Landed || res.PullRequest == nil {
		t.Fatalf("result %+v, %v: want an open pull request", res, err)
	}
	pulls := w.sim.PullRequests(gitops)
	if len(pulls) != 1 {
		t.Fatalf("%d pull requests", len(pulls))
	}
	body := pulls[0].Body
	change, notes, gates := strings.Index(body, "### Change\n"), strings.Index(body, req.Notes), strings.Index(body, "### Gates\n\n"+req.Gates)
	if change < 0 || notes < change || gates < notes {
		t.Errorf("body, want the change, the notes, the gates in that order:\n%s", body)
	}
}
