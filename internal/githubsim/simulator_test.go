package githubsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
)

const tok = "sim-token"

func client(t *testing.T, s *Server) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil).WithAuthToken(tok)
	u, _ := url.Parse(s.URL() + "/")
	c.BaseURL = u
	return c
}

func seeded(t *testing.T, opts ...Option) (*Server, *gh.Client, string) {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	s.AddToken(tok)
	if err := s.CreateRepo("acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	sha, err := s.CommitFiles("acme/gitops", "main", map[string]string{"envs/dev/app.yaml": "tag: 1\n", "README.md": "hi\n"}, "init")
	if err != nil {
		t.Fatal(err)
	}
	return s, client(t, s), sha
}

var ctx = context.Background()

func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func TestGitDataCommitAndFastForwardOnly(t *testing.T) {
	s, c, base := seeded(t)
	file, _, _, err := c.Repositories.GetContents(ctx, "acme", "gitops", "envs/dev/app.yaml", &gh.RepositoryContentGetOptions{Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if content, _ := file.GetContent(); content != "tag: 1\n" {
		t.Fatalf("content %q", content)
	}
	// Build a commit with the Git data API, as Liftoff does.
	parent, _, err := c.Git.GetCommit(ctx, "acme", "gitops", base)
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := c.Git.CreateTree(ctx, "acme", "gitops", parent.GetTree().GetSHA(), []*gh.TreeEntry{{Path: gh.String("envs/dev/app.yaml"), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String("tag: 2\n")}})
	if err != nil {
		t.Fatal(err)
	}
	mine, _, err := c.Git.CreateCommit(ctx, "acme", "gitops", &gh.Commit{Message: gh.String("bump"), Tree: tree, Parents: []*gh.Commit{{SHA: gh.String(base)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else moves the branch first: our update is not a fast-forward.
	if _, err := s.CommitFiles("acme/gitops", "main", map[string]string{"other": "x"}, "other"); err != nil {
		t.Fatal(err)
	}
	ref := &gh.Reference{Ref: gh.String("refs/heads/main"), Object: &gh.GitObject{SHA: mine.SHA}}
	_, _, err = c.Git.UpdateRef(ctx, "acme", "gitops", ref, false)
	if statusOf(err) != 422 || !strings.Contains(err.Error(), "Update is not a fast forward") {
		t.Fatalf("non-fast-forward update: %v", err)
	}
	if _, _, err := c.Git.UpdateRef(ctx, "acme", "gitops", ref, true); err != nil {
		t.Fatalf("forced update: %v", err)
	}
	if got, _ := s.FileAt("acme/gitops", "main", "envs/dev/app.yaml"); got != "tag: 2\n" {
		t.Fatalf("after update %q", got)
	}
	if got, _ := s.FileAt("acme/gitops", "main", "README.md"); got != "hi\n" {
		t.Fatalf("base_tree files kept: %q", got)
	}
	if cs := s.Commits("acme/gitops", "main"); len(cs) != 2 || cs[0].SHA != mine.GetSHA() || cs[0].Files[0] != "envs/dev/app.yaml" {
		t.Fatalf("history %+v", cs)
	}
	_, _, err = c.Git.CreateRef(ctx, "acme", "gitops", &gh.Reference{Ref: gh.String("refs/heads/main"), Object: &gh.GitObject{SHA: mine.SHA}})
	if statusOf(err) != 422 || !strings.Contains(err.Error(), "Reference already exists") {
		t.Fatalf("duplicate ref: %v", err)
	}
}

func TestConditionalRequestsAreFree(t *testing.T) {
	s, c, base := seeded(t)
	if err := s.CreateTag("acme/gitops", "v1.0.0", base); err != nil {
		t.Fatal(err)
	}
	sha, _, err := c.Repositories.GetCommitSHA1(ctx, "acme", "gitops", "refs/tags/v1.0.0", "")
	if err != nil || sha != base {
		t.Fatalf("resolve tag: %q %v", sha, err)
	}
	// go-github sends the last SHA as If-None-Match: unchanged gives 304.
	_, _, err = c.Repositories.GetCommitSHA1(ctx, "acme", "gitops", "refs/tags/v1.0.0", base)
	if statusOf(err) != http.StatusNotModified {
		t.Fatalf("304 expected: %v", err)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/repos/acme/gitops/commits/main/check-runs", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag, before := resp.Header.Get("ETag"), resp.Header.Get("X-RateLimit-Remaining")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("X-RateLimit-Remaining") != before {
		t.Fatalf("status %d remaining %s (before %s)", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"), before)
	}
	if st := s.Requests(); st.NotModified != 2 || st.Counted != st.Total-2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPaginationWithLink(t *testing.T) {
	s, c, _ := seeded(t)
	for i := 0; i < 130; i++ {
		if _, err := s.CommitFiles("acme/gitops", "main", map[string]string{"n": fmt.Sprint(i)}, fmt.Sprint("c", i)); err != nil {
			t.Fatal(err)
		}
	}
	opts := &gh.CommitsListOptions{SHA: "main", ListOptions: gh.ListOptions{PerPage: 100}}
	var all []*gh.RepositoryCommit
	for {
		page, resp, err := c.Repositories.ListCommits(ctx, "acme", "gitops", opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 131 || all[0].GetCommit().GetMessage() != "c129" {
		t.Fatalf("%d commits, first %q", len(all), all[0].GetCommit().GetMessage())
	}
}

func TestChecksAndStatuses(t *testing.T) {
	s, c, base := seeded(t)
	s.SetCheckRun("acme/gitops", base, "qa", "completed", "failure")
	s.SetCheckRun("acme/gitops", base, "qa", "in_progress", "") // a re-run
	run, _, err := c.Checks.CreateCheckRun(ctx, "acme", "gitops", gh.CreateCheckRunOptions{Name: "e2e", HeadSHA: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "gitops", run.GetID(), gh.UpdateCheckRunOptions{Name: "e2e", Conclusion: gh.String("success")}); err != nil {
		t.Fatal(err)
	}
	res, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "gitops", base, &gh.ListCheckRunsOptions{Filter: gh.String("latest")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.CheckRuns {
		got[r.GetName()] = r.GetStatus() + "/" + r.GetConclusion()
	}
	if len(got) != 2 || got["qa"] != "in_progress/" || got["e2e"] != "completed/success" {
		t.Fatalf("latest check runs %v", got)
	}
	s.SetStatus("acme/gitops", base, "ci/build", "pending")
	if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "gitops", base, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("ci/build")}); err != nil {
		t.Fatal(err)
	}
	s.SetStatus("acme/gitops", base, "lint", "error")
	combined, _, err := c.Repositories.GetCombinedStatus(ctx, "acme", "gitops", base, nil)
	if err != nil || combined.GetState() != "failure" || combined.GetTotalCount() != 2 {
		t.Fatalf("combined %+v %v", combined, err)
	}
}

func TestPullRequestLifecycle(t *testing.T) {
	s, c, _ := seeded(t)
	if _, err := s.CommitFiles("acme/gitops", "promote", map[string]string{"envs/dev/app.yaml": "tag: 2\n"}, "bump"); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("Promote"), Head: gh.String("promote"), Base: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("Again"), Head: gh.String("promote"), Base: gh.String("main")})
	if statusOf(err) != 422 || !strings.Contains(err.Error(), "A pull request already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	list, _, err := c.PullRequests.List(ctx, "acme", "gitops", &gh.PullRequestListOptions{State: "all", Head: "acme:promote"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list %d %v", len(list), err)
	}
	_, _, err = c.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "", &gh.PullRequestOptions{SHA: strings.Repeat("0", 40)})
	if statusOf(err) != 409 {
		t.Fatalf("stale head: %v", err)
	}
	res, _, err := c.PullRequests.Merge(ctx, "acme", "gitops", pr.GetNumber(), "ship it", &gh.PullRequestOptions{SHA: pr.GetHead().GetSHA(), MergeMethod: "merge"})
	if err != nil || !res.GetMerged() {
		t.Fatalf("merge %v", err)
	}
	if head, _ := s.BranchHead("acme/gitops", "main"); head != res.GetSHA() {
		t.Fatal("base branch not moved to the merge commit")
	}
	if got, _ := s.FileAt("acme/gitops", "main", "envs/dev/app.yaml"); got != "tag: 2\n" {
		t.Fatalf("merged content %q", got)
	}
	got, _, err := c.PullRequests.Get(ctx, "acme", "gitops", pr.GetNumber())
	if err != nil || !got.GetMerged() || got.GetMergeCommitSHA() != res.GetSHA() {
		t.Fatalf("after merge %+v %v", got, err)
	}

	// Two branches that change one file differently conflict.
	for _, b := range []string{"a", "b"} {
		if _, err := s.CommitFiles("acme/gitops", b, map[string]string{"envs/dev/app.yaml": "tag: " + b + "\n"}, b); err != nil {
			t.Fatal(err)
		}
	}
	pa, _, _ := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("a"), Head: gh.String("a"), Base: gh.String("main")})
	pb, _, _ := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("b"), Head: gh.String("b"), Base: gh.String("main")})
	if _, err := s.MergePull("acme/gitops", pa.GetNumber()); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.PullRequests.Merge(ctx, "acme", "gitops", pb.GetNumber(), "", nil)
	if statusOf(err) != 405 {
		t.Fatalf("conflict: %v", err)
	}
}

func TestDeploymentsAutoInactive(t *testing.T) {
	s, c, base := seeded(t)
	create := func() int64 {
		d, _, err := c.Repositories.CreateDeployment(ctx, "acme", "gitops", &gh.DeploymentRequest{Ref: gh.String(base), Environment: gh.String("prod"), RequiredContexts: &[]string{}, Payload: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "gitops", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
			t.Fatal(err)
		}
		return d.GetID()
	}
	first, second := create(), create()
	deps := s.Deployments("acme/gitops")
	if len(deps) != 2 || deps[0].ID != first || deps[1].ID != second {
		t.Fatalf("deployments %+v", deps)
	}
	if last := deps[0].Statuses[len(deps[0].Statuses)-1].State; last != "inactive" {
		t.Fatalf("older deployment is %s, want inactive", last)
	}
	list, _, err := c.Repositories.ListDeployments(ctx, "acme", "gitops", &gh.DeploymentsListOptions{Environment: "prod", SHA: base})
	if err != nil || len(list) != 2 || string(list[0].Payload) != `{"k":"v"}` {
		t.Fatalf("list %d %v", len(list), err)
	}
}

func TestFaultsAsGoGitHubSeesThem(t *testing.T) {
	s, c, _ := seeded(t)
	get := func() error {
		_, _, err := c.Git.GetRef(ctx, "acme", "gitops", "heads/main")
		return err
	}
	s.Inject(Fault{Method: "GET", Path: "/git/ref/", Status: 502, Times: 1})
	if statusOf(get()) != 502 {
		t.Fatal("502 expected")
	}
	if err := get(); err != nil {
		t.Fatalf("fault applies once: %v", err)
	}
	s.Inject(Fault{Path: "/git/ref/", Status: 429, RetryAfter: 3 * time.Second, Times: 1})
	err := get()
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 429 || er.Response.Header.Get("Retry-After") != "3" {
		t.Fatalf("429: %v", err)
	}
	s.Inject(Fault{Path: "/git/ref/", Status: 403, Secondary: true, RetryAfter: 2 * time.Second, Times: 1})
	var abuse *gh.AbuseRateLimitError
	if err := get(); !errors.As(err, &abuse) || abuse.GetRetryAfter() != 2*time.Second {
		t.Fatalf("secondary limit: %v", err)
	}
	// Fresh client: go-github remembers the secondary limit.
	c = client(t, s)
	reset := time.Now().Add(time.Hour)
	s.Inject(Fault{Path: "/git/ref/", Status: 403, RateLimitReset: reset, Times: 1})
	var rl *gh.RateLimitError
	if _, _, err := c.Git.GetRef(ctx, "acme", "gitops", "heads/main"); !errors.As(err, &rl) || rl.Rate.Reset.Unix() != reset.Unix() {
		t.Fatalf("primary limit: %v", err)
	}
}

func TestAuthAndRateLimit(t *testing.T) {
	s, _, _ := seeded(t, WithRateLimit(3))
	bad := gh.NewClient(nil).WithAuthToken("wrong")
	bad.BaseURL, _ = url.Parse(s.URL() + "/")
	if _, _, err := bad.Repositories.Get(ctx, "acme", "gitops"); statusOf(err) != 401 {
		t.Fatalf("bad token: %v", err)
	}
	c := client(t, s)
	for i := 0; i < 3; i++ {
		if _, _, err := c.Repositories.Get(ctx, "acme", "gitops"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	var rl *gh.RateLimitError
	if _, _, err := c.Repositories.Get(ctx, "acme", "gitops"); !errors.As(err, &rl) {
		t.Fatalf("exhausted: %v", err)
	}
}

func TestIssuesAndPullRequestsShareNumbers(t *testing.T) {
	s, c, _ := seeded(t)
	is, _, err := c.Issues.Create(ctx, "acme", "gitops", &gh.IssueRequest{Title: gh.String("bug")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitFiles("acme/gitops", "feature", map[string]string{"x": "1"}, "x"); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("feature"), Head: gh.String("feature"), Base: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetNumber() == is.GetNumber() {
		t.Fatalf("pull request and issue both numbered %d", pr.GetNumber())
	}
	got, _, err := c.PullRequests.Get(ctx, "acme", "gitops", pr.GetNumber())
	if err != nil || got.GetTitle() != "feature" {
		t.Fatalf("pull #%d: %v %v", pr.GetNumber(), got.GetTitle(), err)
	}
	if _, _, err := c.PullRequests.Get(ctx, "acme", "gitops", is.GetNumber()); statusOf(err) != 404 {
		t.Fatalf("an issue's number is not a pull request: %v", err)
	}
}
