package github

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

func simClient(t *testing.T) (*githubsim.Server, *Client) {
	t.Helper()
	s := githubsim.New()
	t.Cleanup(s.Close)
	s.AddToken("tok")
	if err := s.CreateRepo("acme/app", "main"); err != nil {
		t.Fatal(err)
	}
	c, err := (&Factory{}).For(s.URL(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestGetMilestoneByTitleAcrossPagesAndByNumber(t *testing.T) {
	s, c := simClient(t)
	ctx := context.Background()
	due := time.Date(2026, 12, 15, 17, 0, 0, 0, time.UTC)
	for i := 0; i < 120; i++ {
		s.CreateMilestone("acme/app", fmt.Sprintf("sprint %d", i), time.Time{})
	}
	n := s.CreateMilestone("acme/app", "1.0 GA", due) // on the second page
	s.CreateIssue("acme/app", "a", nil, n)

	m, err := c.GetMilestone(ctx, "acme/app", "1.0 GA")
	if err != nil {
		t.Fatal(err)
	}
	if m.Number != n || !m.DueOn.Equal(due) || m.OpenIssues != 1 || m.State != "open" || m.URL == "" {
		t.Fatalf("by title: %+v", m)
	}
	if m, err = c.GetMilestone(ctx, "acme/app", fmt.Sprint(n)); err != nil || m.Title != "1.0 GA" {
		t.Fatalf("by number: %+v %v", m, err)
	}

	for _, tc := range []struct{ repo, milestone, want string }{
		{"acme/app", "1.0 ga", `no milestone titled "1.0 ga" in repository acme/app`},
		{"acme/app", "999", "milestone #999 not found in repository acme/app"},
		{"acme/missing", "1.0 GA", "repository acme/missing not found"},
	} {
		_, err := c.GetMilestone(ctx, tc.repo, tc.milestone)
		if !IsNotFound(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: got %v, want NotFound saying %q", tc.repo, tc.milestone, err, tc.want)
		}
	}
}

func TestMilestoneIssuesPaginatesIssuesAndPullRequests(t *testing.T) {
	s, c := simClient(t)
	ctx := context.Background()
	n := s.CreateMilestone("acme/app", "Q4", time.Time{})
	closedAt := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 150; i++ {
		num := s.CreateIssue("acme/app", fmt.Sprintf("issue %d", i), []string{"area/checkout"}, n)
		if i%3 == 0 {
			s.CloseIssue("acme/app", num, closedAt)
		}
	}
	s.CreateIssue("acme/app", "not in the milestone", nil, 0)
	if _, err := s.CommitFiles("acme/app", "main", map[string]string{"README.md": "hi\n"}, "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitFiles("acme/app", "feature", map[string]string{"x": "1"}, "x"); err != nil {
		t.Fatal(err)
	}
	pr, err := c.CreatePullRequest(ctx, "acme/app", "feature", "main", "Fix it", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPullMilestone("acme/app", pr.Number, n); err != nil {
		t.Fatal(err)
	}

	issues, err := c.MilestoneIssues(ctx, "acme/app", n)
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 151 {
		t.Fatalf("got %d issues and pull requests, want 151", len(issues))
	}
	closed, prs := 0, 0
	for _, is := range issues {
		if !is.Open() {
			closed++
			if !is.ClosedAt.Equal(closedAt) {
				t.Errorf("#%d closed at %v", is.Number, is.ClosedAt)
			}
		}
		if is.PullRequest {
			prs++
			continue
		}
		if len(is.Labels) != 1 || is.Labels[0] != "area/checkout" || is.URL == "" || is.Title == "" || is.CreatedAt.IsZero() {
			t.Errorf("issue %+v", is)
		}
	}
	if closed != 50 || prs != 1 {
		t.Fatalf("closed %d, pull requests %d", closed, prs)
	}
}

func TestSearchIssuesCountsAndClassifies(t *testing.T) {
	s, c := simClient(t)
	ctx := context.Background()
	for i := 0; i < 120; i++ {
		s.CreateIssue("acme/app", fmt.Sprintf("blocker %d", i), []string{"release-blocker"}, 0)
	}
	total, items, err := c.SearchIssues(ctx, `repo:acme/app is:open label:"release-blocker"`)
	if err != nil {
		t.Fatal(err)
	}
	if total != 120 || len(items) != 100 {
		t.Fatalf("total %d, items %d: want 120 and the first page of 100", total, len(items))
	}
	if _, _, err := c.SearchIssues(ctx, "repo:acme/app sort:created"); KindOf(err) != KindInvalid {
		t.Fatalf("unsupported qualifier: %v", err)
	}
}
