package github

import (
	"context"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Comparison is what release notes need of a comparison of two refs: the commits
// reachable from head and not from base.
type Comparison struct {
	// HTMLURL is the comparison's page on GitHub.
	HTMLURL string
	// TotalCommits in the range; Commits holds the newest 250 of them.
	TotalCommits int
	// Commits, oldest first.
	Commits []ComparedCommit
}

// ComparedCommit is one commit of a comparison.
type ComparedCommit struct {
	SHA  string
	Date time.Time // committer date
}

// CompareCommits compares base...head (tags, branches or SHAs) in one
// request: GitHub answers up to 250 commits without paging, enough for
// the changes between two releases. KindNotFound when either ref is unknown.
func (c *Client) CompareCommits(ctx context.Context, repo, base, head string) (*Comparison, error) {
	op := "compare commits"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	res, _, err := c.gh.Repositories.CompareCommits(ctx, owner, name, base, head, nil)
	if err != nil {
		return nil, c.done(op, err)
	}
	out := &Comparison{HTMLURL: res.GetHTMLURL(), TotalCommits: res.GetTotalCommits()}
	for _, rc := range res.Commits {
		out.Commits = append(out.Commits, ComparedCommit{SHA: rc.GetSHA(), Date: rc.GetCommit().GetCommitter().GetDate().Time})
	}
	return out, nil
}

// MergedPull is a merged pull request.
type MergedPull struct {
	Number         int
	Title          string
	Author         string // login of who opened it
	URL            string
	MergeCommitSHA string
	MergedAt       time.Time
}

// ListMergedPulls lists the pull requests merged into any branch, most
// recently updated first, page by page until a page reaches back before
// since (a pull request merged after since was updated after it too), at
// most maxPages pages of 100. truncated is true when the pages ran out first.
func (c *Client) ListMergedPulls(ctx context.Context, repo string, since time.Time, maxPages int) (out []MergedPull, truncated bool, err error) {
	op := "list closed pull requests"
	if err := c.guard(op); err != nil {
		return nil, false, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, false, err
	}
	opts := &gh.PullRequestListOptions{State: "closed", Sort: "updated", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; ; page++ {
		if page == maxPages {
			return out, true, nil
		}
		pulls, resp, err := c.gh.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, false, c.done(op, err)
		}
		older := false
		for _, p := range pulls {
			if p.GetUpdatedAt().Before(since) {
				older = true
			}
			if p.MergedAt == nil {
				continue
			}
			out = append(out, MergedPull{Number: p.GetNumber(), Title: p.GetTitle(), Author: p.GetUser().GetLogin(), URL: p.GetHTMLURL(),
				MergeCommitSHA: p.GetMergeCommitSHA(), MergedAt: p.GetMergedAt().Time})
		}
		if older || resp.NextPage == 0 {
			return out, false, nil
		}
		opts.Page = resp.NextPage
	}
}
