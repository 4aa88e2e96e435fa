package githubsim

import (
	"fmt"
	"sort"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
)

func TestMilestonesThroughGoGitHub(t *testing.T) {
	s, c, _ := seeded(t)
	due := time.Date(2026, 12, 15, 17, 0, 0, 0, time.UTC)
	m, _, err := c.Issues.CreateMilestone(ctx, "acme", "gitops", &gh.Milestone{Title: gh.String("Q4"), DueOn: &gh.Timestamp{Time: due}})
	if err != nil {
		t.Fatal(err)
	}
	if m.GetNumber() != 1 || m.GetState() != "open" || !m.GetDueOn().Time.Equal(due) || m.GetHTMLURL() != "https://github.com/acme/gitops/milestone/1" {
		t.Fatalf("created %+v", m)
	}
	if _, _, err := c.Issues.CreateMilestone(ctx, "acme", "gitops", &gh.Milestone{Title: gh.String("Q4")}); statusOf(err) != 422 {
		t.Fatalf("a second milestone titled Q4: %v", err)
	}
	other := s.CreateMilestone("acme/gitops", "Q1", time.Time{})
	if other != 2 {
		t.Fatalf("milestones have their own numbers, got %d", other)
	}

	// Issue numbers are not milestone numbers: issue #1 is in milestone 1 via the API.
	is, _, err := c.Issues.Create(ctx, "acme", "gitops", &gh.IssueRequest{Title: gh.String("crash"), Milestone: gh.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetMilestone().GetTitle() != "Q4" {
		t.Fatalf("issue milestone %+v", is.GetMilestone())
	}
	if _, _, err := c.Issues.Create(ctx, "acme", "gitops", &gh.IssueRequest{Title: gh.String("x"), Milestone: gh.Int(99)}); statusOf(err) != 422 {
		t.Fatalf("issue in an unknown milestone: %v", err)
	}
	closed := s.CreateIssue("acme/gitops", "docs", nil, 1)
	s.CloseIssue("acme/gitops", closed, due.Add(-72*time.Hour))

	got, _, err := c.Issues.GetMilestone(ctx, "acme", "gitops", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOpenIssues() != 1 || got.GetClosedIssues() != 1 {
		t.Fatalf("counts open=%d closed=%d", got.GetOpenIssues(), got.GetClosedIssues())
	}
	if _, _, err := c.Issues.GetMilestone(ctx, "acme", "gitops", 7); statusOf(err) != 404 {
		t.Fatalf("unknown milestone: %v", err)
	}

	closedState := "closed"
	if m, _, err = c.Issues.EditMilestone(ctx, "acme", "gitops", 2, &gh.Milestone{State: &closedState}); err != nil || m.GetState() != "closed" || m.ClosedAt == nil {
		t.Fatalf("closing milestone 2: %+v %v", m, err)
	}
	bad := "done"
	if _, _, err = c.Issues.EditMilestone(ctx, "acme", "gitops", 2, &gh.Milestone{State: &bad}); statusOf(err) != 422 {
		t.Fatalf("invalid state: %v", err)
	}
	open, _, err := c.Issues.ListMilestones(ctx, "acme", "gitops", nil)
	if err != nil || len(open) != 1 || open[0].GetTitle() != "Q4" {
		t.Fatalf("open milestones %v %v", open, err)
	}
	all, _, err := c.Issues.ListMilestones(ctx, "acme", "gitops", &gh.MilestoneListOptions{State: "all"})
	if err != nil || len(all) != 2 {
		t.Fatalf("all milestones %v %v", all, err)
	}
}

func TestIssuesFilterByMilestoneAndListPullRequests(t *testing.T) {
	s, c, _ := seeded(t)
	ms := s.CreateMilestone("acme/gitops", "Q4", time.Time{})
	in := s.CreateIssue("acme/gitops", "in", []string{"bug"}, ms)
	out := s.CreateIssue("acme/gitops", "out", nil, 0)
	if _, err := s.CommitFiles("acme/gitops", "feature", map[string]string{"x": "1"}, "x"); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("feature"), Head: gh.String("feature"), Base: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPullMilestone("acme/gitops", pr.GetNumber(), ms); err != nil {
		t.Fatal(err)
	}
	numbers := func(milestone string) []int {
		t.Helper()
		list, _, err := c.Issues.ListByRepo(ctx, "acme", "gitops", &gh.IssueListByRepoOptions{Milestone: milestone, State: "all"})
		if err != nil {
			t.Fatalf("milestone=%s: %v", milestone, err)
		}
		var n []int
		for _, is := range list {
			n = append(n, is.GetNumber())
			if is.GetNumber() == pr.GetNumber() && !is.IsPullRequest() {
				t.Errorf("pull request #%d listed without pull_request", is.GetNumber())
			}
		}
		sort.Ints(n)
		return n
	}
	for param, want := range map[string][]int{
		fmt.Sprint(ms): {in, pr.GetNumber()},
		"*":            {in, pr.GetNumber()},
		"none":         {out},
		"":             {in, out, pr.GetNumber()},
	} {
		if got := numbers(param); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("milestone=%q: got %v, want %v", param, got, want)
		}
	}
	if _, _, err := c.Issues.ListByRepo(ctx, "acme", "gitops", &gh.IssueListByRepoOptions{Milestone: "Q4"}); statusOf(err) != 422 {
		t.Errorf("milestone=Q4 (a title, not a number): %v", err)
	}

	// Moving an issue out of a milestone through PATCH.
	if _, _, err := c.Issues.RemoveMilestone(ctx, "acme", "gitops", in); err != nil {
		t.Fatal(err)
	}
	if got := numbers(fmt.Sprint(ms)); fmt.Sprint(got) != fmt.Sprint([]int{pr.GetNumber()}) {
		t.Errorf("after removing #%d: %v", in, got)
	}
	if _, _, err := c.Issues.Edit(ctx, "acme", "gitops", out, &gh.IssueRequest{Milestone: gh.Int(ms)}); err != nil {
		t.Fatal(err)
	}
	if got := numbers(fmt.Sprint(ms)); fmt.Sprint(got) != fmt.Sprint([]int{out, pr.GetNumber()}) {
		t.Errorf("after adding #%d: %v", out, got)
	}
}

func TestSearchIssues(t *testing.T) {
	s, c, _ := seeded(t)
	if err := s.CreateRepo("acme/other", "main"); err != nil {
		t.Fatal(err)
	}
	q4 := s.CreateMilestone("acme/gitops", "Q4 launch", time.Time{})
	blocker := s.CreateIssue("acme/gitops", "Checkout crashes", []string{"release-blocker", "needs triage"}, q4)
	fixed := s.CreateIssue("acme/gitops", "Checkout slow", []string{"release-blocker"}, q4)
	s.CloseIssue("acme/gitops", fixed, time.Now())
	plain := s.CreateIssue("acme/gitops", "Typo in docs", nil, 0)
	elsewhere := s.CreateIssue("acme/other", "Checkout crashes too", []string{"release-blocker"}, 0)
	if _, err := s.CommitFiles("acme/gitops", "feature", map[string]string{"x": "1"}, "x"); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Create(ctx, "acme", "gitops", &gh.NewPullRequest{Title: gh.String("Fix checkout crash"), Head: gh.String("feature"), Base: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}

	for q, want := range map[string][]int{
		`repo:acme/gitops is:open`:                                             {blocker, plain, pr.GetNumber()},
		`repo:acme/gitops is:issue state:closed`:                               {fixed},
		`repo:acme/gitops is:pr`:                                               {pr.GetNumber()},
		`label:release-blocker`:                                                {blocker, fixed, elsewhere},
		`repo:acme/gitops label:release-blocker label:"needs triage"`:          {blocker},
		`repo:acme/gitops milestone:"Q4 launch" is:open label:release-blocker`: {blocker},
		`repo:acme/gitops no:milestone`:                                        {plain, pr.GetNumber()},
		`repo:acme/gitops checkout crash`:                                      {blocker, pr.GetNumber()},
		`repo:acme/gitops type:issue nothing-matches`:                          nil,
	} {
		res, _, err := c.Search.Issues(ctx, q, nil)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		var got []int
		for _, is := range res.Issues {
			got = append(got, is.GetNumber())
			if is.GetNumber() == pr.GetNumber() && !is.IsPullRequest() {
				t.Errorf("%s: pull request without pull_request", q)
			}
		}
		sort.Ints(got)
		sort.Ints(want)
		if fmt.Sprint(got) != fmt.Sprint(want) || res.GetTotal() != len(want) || res.GetIncompleteResults() {
			t.Errorf("%s: got %v (total %d), want %v", q, got, res.GetTotal(), want)
		}
	}
	for _, q := range []string{`repo:acme/gitops author:octocat`, `repo:acme/missing is:open`, ``} {
		if _, _, err := c.Search.Issues(ctx, q, nil); statusOf(err) != 422 {
			t.Errorf("%q: want 422, got %v", q, err)
		}
	}

	// Pagination: total_count is the whole result, items one page.
	for i := 0; i < 5; i++ {
		s.CreateIssue("acme/other", fmt.Sprintf("bulk %d", i), nil, 0)
	}
	res, resp, err := c.Search.Issues(ctx, "repo:acme/other bulk", &gh.SearchOptions{ListOptions: gh.ListOptions{PerPage: 2}})
	if err != nil || res.GetTotal() != 5 || len(res.Issues) != 2 || resp.NextPage != 2 {
		t.Fatalf("page 1: total %d items %d next %d %v", res.GetTotal(), len(res.Issues), resp.NextPage, err)
	}
}
