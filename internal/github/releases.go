package github

import (
	"context"

	gh "github.com/google/go-github/v60/github"
)

// maxListPages bounds one listing of releases or tags: 1000 items, newest
// first for releases. Every page is a conditional GET through the ETag cache,
// so an unchanged repository answers 304 and costs no rate limit.
const maxListPages = 10

// Tag is a tag of a repository and its commit.
type Tag struct {
	Name   string
	Commit string
}

// PublishedRelease is a GitHub release that is not a draft.
type PublishedRelease struct {
	Tag        string
	Prerelease bool
}

// ListTags lists the repository's tags (at most 1000). truncated is true when
// there were more.
func (c *Client) ListTags(ctx context.Context, repo string) (tags []Tag, truncated bool, err error) {
	op := "list tags"
	if err := c.guard(op); err != nil {
		return nil, false, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, false, err
	}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; ; page++ {
		if page == maxListPages {
			return tags, true, nil
		}
		res, resp, err := c.gh.Repositories.ListTags(ctx, owner, name, opts)
		if err != nil {
			return nil, false, c.done(op, err)
		}
		for _, t := range res {
			tags = append(tags, Tag{Name: t.GetName(), Commit: t.GetCommit().GetSHA()})
		}
		if resp.NextPage == 0 {
			return tags, false, nil
		}
		opts.Page = resp.NextPage
	}
}

// ListPublishedReleases lists the repository's releases that are not drafts
// (from the newest 1000). truncated is true when there were more.
func (c *Client) ListPublishedReleases(ctx context.Context, repo string) (out []PublishedRelease, truncated bool, err error) {
	op := "list releases"
	if err := c.guard(op); err != nil {
		return nil, false, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, false, err
	}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; ; page++ {
		if page == maxListPages {
			return out, true, nil
		}
		res, resp, err := c.gh.Repositories.ListReleases(ctx, owner, name, opts)
		if err != nil {
			return nil, false, c.done(op, err)
		}
		for _, r := range res {
			if r.GetDraft() || r.GetTagName() == "" {
				continue
			}
			out = append(out, PublishedRelease{Tag: r.GetTagName(), Prerelease: r.GetPrerelease()})
		}
		if resp.NextPage == 0 {
			return out, false, nil
		}
		opts.Page = resp.NextPage
	}
}
