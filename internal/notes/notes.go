// Package notes computes release notes: the pull requests merged between the
// version a stage ran and the version promoted into it, read from GitHub once
// per version pair, and renders them for each place Liftoff writes them (the
// Release's status, the promotion's pull request, the GitHub deployment, the
// postmortem issue, the kubectl plugin).
//
// GitHub is asked with two GETs: the comparison of the two tags (the commits
// of the range) and the closed pull requests most recently updated first
// (their authors, titles and merge commits), matched by merge commit. Both
// are reads, so a read-only token suffices and no write budget is spent; the
// answers are kept in a bounded cache keyed by credential, repository and
// pair, so asking again costs nothing.
package notes

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/liftoff-dev/liftoff/internal/github"
)

// GitHub is what the notes need of a GitHub client (*github.Client).
type GitHub interface {
	CompareCommits(ctx context.Context, repo, base, head string) (*github.Comparison, error)
	ListMergedPulls(ctx context.Context, repo string, since time.Time, maxPages int) ([]github.MergedPull, bool, error)
}

// maxPullPages bounds the listing of closed pull requests: 500 of them, most
// recently updated first, reach back far enough for any release.
const maxPullPages = 5

// Change is one pull request merged between the two versions.
type Change struct {
	Number   int
	Title    string
	Author   string
	URL      string
	MergedAt time.Time
}

// Notes are the changes between two versions of a repository.
type Notes struct {
	// Repository is owner/name.
	Repository string
	// From and To are the versions (or commits) as asked.
	From, To string
	// Base and Head are the refs compared (v1.4.2, or a commit SHA).
	Base, Head string
	// URL of the comparison on GitHub.
	URL string
	// Commits in the range.
	Commits int
	// Changes, in merge order.
	Changes []Change
	// Truncated is true when the range has more than 250 commits or the pull
	// requests listed did not reach back to its start: Changes may miss some.
	Truncated bool
}

// ErrNoPreviousVersion says there is nothing to compare with (the first
// version a stage receives).
var ErrNoPreviousVersion = errors.New("no previous version to compare with")

// For returns the notes of repo between from and to through the default
// cache. from and to are versions (1.4.2 is looked up as the tag v1.4.2,
// then 1.4.2) or commit SHAs.
func For(ctx context.Context, gh GitHub, repo, from, to string) (*Notes, error) {
	return Default.For(ctx, gh, repo, from, to)
}

// fetch asks GitHub: the comparison, then the pull requests merged into it.
func fetch(ctx context.Context, gh GitHub, repo, from, to string) (*Notes, error) {
	if from == "" {
		return nil, ErrNoPreviousVersion
	}
	n := &Notes{Repository: repo, From: from, To: to}
	if trimV(from) == trimV(to) {
		return n, nil
	}
	cmp, err := compare(ctx, gh, n)
	if err != nil {
		return nil, err
	}
	n.URL, n.Commits = cmp.HTMLURL, cmp.TotalCommits
	n.Truncated = cmp.TotalCommits > len(cmp.Commits)
	if len(cmp.Commits) == 0 {
		return n, nil
	}
	inRange := map[string]bool{}
	for _, c := range cmp.Commits {
		inRange[c.SHA] = true
	}
	since := cmp.Commits[0].Date
	for _, c := range cmp.Commits {
		if c.Date.Before(since) {
			since = c.Date
		}
	}
	pulls, truncated, err := gh.ListMergedPulls(ctx, repo, since, maxPullPages)
	if err != nil {
		return nil, err
	}
	n.Truncated = n.Truncated || truncated
	for _, p := range pulls {
		if inRange[p.MergeCommitSHA] {
			n.Changes = append(n.Changes, Change{Number: p.Number, Title: p.Title, Author: p.Author, URL: p.URL, MergedAt: p.MergedAt})
		}
	}
	sort.SliceStable(n.Changes, func(i, j int) bool {
		a, b := n.Changes[i], n.Changes[j]
		if !a.MergedAt.Equal(b.MergedAt) {
			return a.MergedAt.Before(b.MergedAt)
		}
		return a.Number < b.Number
	})
	return n, nil
}

// compare finds the refs of both versions and compares them. Tags are tried
// as v1.2.3 first, then 1.2.3, as Liftoff resolves a Release's tag.
func compare(ctx context.Context, gh GitHub, n *Notes) (*github.Comparison, error) {
	for _, base := range refsOf(n.From) {
		for _, head := range refsOf(n.To) {
			cmp, err := gh.CompareCommits(ctx, n.Repository, base, head)
			if github.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			n.Base, n.Head = base, head
			return cmp, nil
		}
	}
	return nil, &notFoundError{repo: n.Repository, from: refsOf(n.From), to: refsOf(n.To)}
}

// notFoundError: no pair of refs exists in the repository.
type notFoundError struct {
	repo     string
	from, to []string
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("cannot compare in %s: no ref %s with %s: tag both versions (or name the commits)", e.repo,
		strings.Join(e.from, " or "), strings.Join(e.to, " or "))
}

// IsNotFound reports whether err says a version has no tag or commit.
func IsNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf)
}

var reSHA = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// refsOf is what a version may be called in Git: a commit SHA as it is, a
// version as the tag v1.2.3 or 1.2.3.
func refsOf(v string) []string {
	if reSHA.MatchString(v) {
		return []string{v}
	}
	t := trimV(v)
	return []string{"v" + t, t}
}

func trimV(v string) string { return strings.TrimPrefix(v, "v") }
