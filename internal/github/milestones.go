package github

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Milestone is what Liftoff needs of a GitHub milestone.
type Milestone struct {
	Number       int
	Title        string
	State        string
	URL          string
	OpenIssues   int
	ClosedIssues int
	// DueOn is zero when the milestone has no due date.
	DueOn time.Time
}

// IssueInfo is an issue or a pull request as the issues and search APIs show it.
type IssueInfo struct {
	Number int
	Title  string
	URL    string
	// State is open or closed.
	State  string
	Labels []string
	// CreatedAt and ClosedAt (zero while open).
	CreatedAt, ClosedAt time.Time
	// PullRequest is true for a pull request.
	PullRequest bool
}

// Open reports whether the issue is open.
func (i IssueInfo) Open() bool { return i.State != "closed" }

// GetMilestone finds a milestone of repo by number (when titleOrNumber is
// digits) or by its exact title, open or closed. A milestone that does not
// exist is a KindNotFound error naming the repository and the milestone.
func (c *Client) GetMilestone(ctx context.Context, repo, titleOrNumber string) (*Milestone, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	if n, convErr := strconv.Atoi(titleOrNumber); convErr == nil && n > 0 {
		op := "get milestone " + titleOrNumber
		if err := c.guard(op); err != nil {
			return nil, err
		}
		m, _, err := c.gh.Issues.GetMilestone(ctx, owner, name, n)
		if err != nil {
			return nil, notFoundMessage(c.done(op, err), fmt.Sprintf("milestone #%d not found in repository %s (or the token cannot see the repository)", n, repo))
		}
		return milestoneOf(m), nil
	}

	op := "list milestones"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	opts := &gh.MilestoneListOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.gh.Issues.ListMilestones(ctx, owner, name, opts)
		if err != nil {
			return nil, notFoundMessage(c.done(op, err), fmt.Sprintf("repository %s not found (or the token cannot see it)", repo))
		}
		for _, m := range page {
			if m.GetTitle() == titleOrNumber {
				return milestoneOf(m), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return nil, &Error{Kind: KindNotFound, Op: op, Message: fmt.Sprintf("no milestone titled %q in repository %s", titleOrNumber, repo)}
}

// notFoundMessage replaces the message of a KindNotFound error with msg.
func notFoundMessage(err error, msg string) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindNotFound {
		e.Message = msg
	}
	return err
}

func milestoneOf(m *gh.Milestone) *Milestone {
	return &Milestone{
		Number: m.GetNumber(), Title: m.GetTitle(), State: m.GetState(), URL: m.GetHTMLURL(),
		OpenIssues: m.GetOpenIssues(), ClosedIssues: m.GetClosedIssues(), DueOn: m.GetDueOn().Time,
	}
}

// MilestoneIssues lists every issue and pull request of milestone number,
// open and closed.
func (c *Client) MilestoneIssues(ctx context.Context, repo string, number int) ([]IssueInfo, error) {
	op := "list milestone issues"
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []IssueInfo
	opts := &gh.IssueListByRepoOptions{Milestone: strconv.Itoa(number), State: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.gh.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return nil, c.done(op, err)
		}
		for _, is := range page {
			out = append(out, issueInfo(is))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// SearchIssues runs a GitHub issue search (the q of /search/issues) and
// returns the total count and the first page of up to 100 items: callers
// gate on the count and show a few items. An unsupported query is KindInvalid.
func (c *Client) SearchIssues(ctx context.Context, query string) (int, []IssueInfo, error) {
	op := "search issues"
	if err := c.guard(op); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(query) == "" {
		return 0, nil, &Error{Kind: KindInvalid, Op: op, Message: "empty search query"}
	}
	res, _, err := c.gh.Search.Issues(ctx, query, &gh.SearchOptions{ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return 0, nil, c.done(op, err)
	}
	items := make([]IssueInfo, 0, len(res.Issues))
	for _, is := range res.Issues {
		items = append(items, issueInfo(is))
	}
	return res.GetTotal(), items, nil
}

func issueInfo(is *gh.Issue) IssueInfo {
	info := IssueInfo{
		Number: is.GetNumber(), Title: is.GetTitle(), URL: is.GetHTMLURL(), State: is.GetState(),
		CreatedAt: is.GetCreatedAt().Time, ClosedAt: is.GetClosedAt().Time, PullRequest: is.IsPullRequest(),
	}
	for _, l := range is.Labels {
		info.Labels = append(info.Labels, l.GetName())
	}
	return info
}
