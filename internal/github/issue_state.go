package github

import (
	"context"
)

// IssueState is an issue's or pull request's state, for checklist items.
type IssueState struct {
	Number int
	Title  string
	URL    string
	// State is open or closed.
	State string
	// Merged is true for a merged pull request.
	Merged bool
}

// GetIssueState reads an issue's state (open or closed).
func (c *Client) GetIssueState(ctx context.Context, repo string, number int) (*IssueState, error) {
	op := "get issue"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	is, _, err := c.gh.Issues.Get(ctx, owner, name, number)
	if err != nil {
		return nil, c.done(op, err)
	}
	return &IssueState{Number: is.GetNumber(), Title: is.GetTitle(), URL: is.GetHTMLURL(), State: is.GetState()}, nil
}

// GetPullRequestState reads a pull request's state and whether it was merged.
func (c *Client) GetPullRequestState(ctx context.Context, repo string, number int) (*IssueState, error) {
	op := "get pull request"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	pr, _, err := c.gh.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return nil, c.done(op, err)
	}
	return &IssueState{Number: pr.GetNumber(), Title: pr.GetTitle(), URL: pr.GetHTMLURL(), State: pr.GetState(), Merged: pr.GetMerged()}, nil
}
