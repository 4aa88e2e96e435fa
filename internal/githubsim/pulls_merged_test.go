package githubsim

import (
	"net/http"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// mergedPull puts a commit on a new branch, opens a pull request by author and
// merges it, as a contributor and a maintainer do.
func mergedPull(t *testing.T, s *Server, repo, branch, title, author string) (int, string) {
	t.Helper()
	if _, err := s.CommitFiles(repo, branch, map[string]string{branch + ".go": "package " + branch + "\n"}, title); err != nil {
		t.Fatal(err)
	}
	n, err := s.CreatePullRequest(repo, branch, "main", title, author)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := s.MergePull(repo, n)
	if err != nil {
		t.Fatal(err)
	}
	return n, sha
}

// Release notes compare two tags and match the merged pull requests, with
// their authors, most recently updated first.
func TestMergedPullRequestsBetweenTwoTags(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(time.Minute); return now }
	s, c, v1 := seeded(t, WithClock(tick))
	if err := s.CreateTag("acme/gitops", "v1.0.0", v1); err != nil {
		t.Fatal(err)
	}
	n1, m1 := mergedPull(t, s, "acme/gitops", "retry", "Retry payments", "alice")
	n2, m2 := mergedPull(t, s, "acme/gitops", "receipts", "Receipt redesign", "bob")
	head, _ := s.BranchHead("acme/gitops", "main")
	if err := s.CreateTag("acme/gitops", "v1.1.0", head); err != nil {
		t.Fatal(err)
	}

	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", "v1.0.0", "v1.1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two branch commits and two merge commits, oldest first, as `git log v1.0.0..v1.1.0` in chronological order.
	if cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 4 || cmp.GetBehindBy() != 0 || cmp.GetTotalCommits() != 4 || len(cmp.Commits) != 4 {
		t.Fatalf("status %s ahead %d behind %d total %d commits %d", cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), cmp.GetTotalCommits(), len(cmp.Commits))
	}
	if cmp.Commits[1].GetSHA() != m1 || cmp.Commits[3].GetSHA() != m2 {
		t.Errorf("merge commits at 1 and 3: %s, %s; want %s, %s", cmp.Commits[1].GetSHA(), cmp.Commits[3].GetSHA(), m1, m2)
	}
	if cmp.GetBaseCommit().GetSHA() != v1 || cmp.GetMergeBaseCommit().GetSHA() != v1 {
		t.Errorf("base %s merge base %s, want %s", cmp.GetBaseCommit().GetSHA(), cmp.GetMergeBaseCommit().GetSHA(), v1)
	}
	if cmp.GetHTMLURL() != "https://github.com/acme/gitops/compare/v1.0.0...v1.1.0" {
		t.Errorf("html_url %s", cmp.GetHTMLURL())
	}
	if len(cmp.Files) != 2 || cmp.Files[0].GetFilename() != "receipts.go" || cmp.Files[0].GetStatus() != "added" {
		t.Errorf("files %v", cmp.Files)
	}

	// Backwards, the same range is "behind".
	back, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", "v1.1.0", "v1.0.0", nil)
	if err != nil || back.GetStatus() != "behind" || back.GetBehindBy() != 4 || len(back.Commits) != 0 {
		t.Fatalf("reverse comparison: %v %s behind %d commits %d", err, back.GetStatus(), back.GetBehindBy(), len(back.Commits))
	}
	if _, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", "v0.9.0", "v1.1.0", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("unknown base: %v, want 404", err)
	}

	// The pull requests merged in the range, most recently updated first, with their authors.
	pulls, _, err := c.PullRequests.List(ctx, "acme", "gitops", &gh.PullRequestListOptions{State: "closed", Sort: "updated", Direction: "desc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pulls) != 2 || pulls[0].GetNumber() != n2 || pulls[1].GetNumber() != n1 {
		t.Fatalf("closed pulls %v, want #%d then #%d", pulls, n2, n1)
	}
	p := pulls[1]
	if p.GetUser().GetLogin() != "alice" || p.GetMergeCommitSHA() != m1 || p.MergedAt == nil || p.UpdatedAt == nil || p.GetHTMLURL() != "https://github.com/acme/gitops/pull/1" {
		t.Fatalf("pull #%d: user %s merge %s merged_at %v updated_at %v url %s", p.GetNumber(), p.GetUser().GetLogin(), p.GetMergeCommitSHA(), p.MergedAt, p.UpdatedAt, p.GetHTMLURL())
	}
	asc, _, err := c.PullRequests.List(ctx, "acme", "gitops", &gh.PullRequestListOptions{State: "all", Sort: "created", Direction: "asc"})
	if err != nil || len(asc) != 2 || asc[0].GetNumber() != n1 {
		t.Fatalf("oldest first: %v %v", err, asc)
	}
}
