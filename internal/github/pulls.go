package github

import (
	"context"

	gh "github.com/google/go-github/v60/github"
)

// PullRequest is what Liftoff needs of a pull request.
type PullRequest struct {
	Number         int
	URL            string
	State          string // open or closed
	Merged         bool
	MergeCommitSHA string
	HeadSHA        string
	HeadBranch     string
}

func fromPull(p *gh.PullRequest) *PullRequest {
	return &PullRequest{
		Number: p.GetNumber(), URL: p.GetHTMLURL(), State: p.GetState(), Merged: p.GetMerged(),
		MergeCommitSHA: p.GetMergeCommitSHA(), HeadSHA: p.GetHead().GetSHA(), HeadBranch: p.GetHead().GetRef(),
	}
}

// FindPullRequest returns the newest pull request (open or not) from branch
// into base, or nil.
func (c *Client) FindPullRequest(ctx context.Context, repo, branch, base string) (*PullRequest, error) {
	op := "list pull requests of " + branch
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	pulls, _, err := c.gh.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{
		State: "all", Head: owner + ":" + branch, Base: base, ListOptions: gh.ListOptions{PerPage: 10},
	})
	if err != nil {
		return nil, c.done(op, err)
	}
	var newest *gh.PullRequest
	for _, p := range pulls {
		if newest == nil || p.GetNumber() > newest.GetNumber() {
			newest = p
		}
	}
	if newest == nil {
		return nil, nil
	}
	return c.GetPullRequest(ctx, repo, newest.GetNumber())
}

// CreatePullRequest opens a pull request from branch into base.
func (c *Client) CreatePullRequest(ctx context.Context, repo, branch, base, title, body string) (*PullRequest, error) {
	op := "open pull request"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	p, _, err := c.gh.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: gh.String(title), Head: gh.String(branch), Base: gh.String(base), Body: gh.String(body),
	})
	if err != nil {
		return nil, c.done(op, err)
	}
	return fromPull(p), nil
}

// GetPullRequest reads a pull request.
func (c *Client) GetPullRequest(ctx context.Context, repo string, number int) (*PullRequest, error) {
	op := "read pull request"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	p, _, err := c.gh.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return nil, c.done(op, err)
	}
	return fromPull(p), nil
}

// MergePullRequest merges a pull request whose head is headSHA with a merge
// commit and returns the merge commit's SHA. KindConflict when the head moved
// or the pull request cannot be merged.
func (c *Client) MergePullRequest(ctx context.Context, repo string, number int, headSHA, message string) (string, error) {
	op := "merge pull request"
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	res, _, err := c.gh.PullRequests.Merge(ctx, owner, name, number, message, &gh.PullRequestOptions{SHA: headSHA, MergeMethod: "merge"})
	if err != nil {
		return "", c.done(op, err)
	}
	return res.GetSHA(), nil
}
