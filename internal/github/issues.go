package github

import (
	"context"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// Issue is what Liftoff needs of an issue.
type Issue struct {
	Number int
	URL    string
}

// FindIssue returns the newest issue (open or closed) carrying labels whose
// body holds marker, or nil. Liftoff marks the issues it opens so a retry
// finds them instead of opening another.
func (c *Client) FindIssue(ctx context.Context, repo, marker string, labels []string) (*Issue, error) {
	op := "list issues"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	opts := &gh.IssueListByRepoOptions{State: "all", Labels: labels, ListOptions: gh.ListOptions{PerPage: 100}}
	issues, _, err := c.gh.Issues.ListByRepo(ctx, owner, name, opts)
	if err != nil {
		return nil, c.done(op, err)
	}
	for _, is := range issues {
		if strings.Contains(is.GetBody(), marker) {
			return &Issue{Number: is.GetNumber(), URL: is.GetHTMLURL()}, nil
		}
	}
	return nil, nil
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, repo, title, body string, labels []string) (*Issue, error) {
	op := "open issue"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	req := &gh.IssueRequest{Title: gh.String(title), Body: gh.String(body)}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	is, _, err := c.gh.Issues.Create(ctx, owner, name, req)
	if err != nil {
		return nil, c.done(op, err)
	}
	return &Issue{Number: is.GetNumber(), URL: is.GetHTMLURL()}, nil
}
