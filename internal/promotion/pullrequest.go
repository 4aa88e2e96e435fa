package promotion

import (
	"context"
	"fmt"

	"github.com/liftoff-dev/liftoff/internal/github"
)

// PullRequestClosedError says a person closed the promotion's pull request
// without merging it. The promotion is refused; nothing lands.
type PullRequestClosedError struct{ PR *github.PullRequest }

func (e *PullRequestClosedError) Error() string {
	return fmt.Sprintf("pull request #%d was closed without merging: %s", e.PR.Number, e.PR.URL)
}

func promoteByPullRequest(ctx context.Context, gh GitHub, req *Request) (*Result, error) {
	repo, base, branch := req.Target.Repository, req.Target.Branch, req.Branch()
	pr, err := gh.FindPullRequest(ctx, repo, branch, base)
	if err != nil {
		return nil, err
	}
	previousVersion := ""
	if pr == nil {
		// The pull request may have been merged and its branch deleted, or
		// the files may already hold the version.
		landed, sha, previous, err := prepare(ctx, gh, req)
		if err != nil || landed != nil {
			return landed, err
		}
		previousVersion = previous
		if err := gh.CreateBranch(ctx, repo, branch, sha); err != nil {
			if !github.IsConflict(err) {
				return nil, err
			}
			// Our branch from an attempt that crashed before opening the pull
			// request: it is Liftoff's own, so point it at the fresh commit.
			if err := gh.ForceBranch(ctx, repo, branch, sha); err != nil {
				return nil, err
			}
		}
		title := fmt.Sprintf("Promote %s %s to %s", req.Application, req.Version, req.Stage)
		body := pullRequestBody(req, previous)
		if req.Revert != nil {
			title = fmt.Sprintf("Roll back %s %s in %s to %s", req.Application, req.Revert.BadVersion, req.Stage, req.Version)
			body = rollbackMessage(req)
		}
		pr, err = gh.CreatePullRequest(ctx, repo, branch, base, title, body)
		if err != nil {
			if !github.IsConflict(err) {
				return nil, err
			}
			if pr, err = gh.FindPullRequest(ctx, repo, branch, base); err != nil || pr == nil {
				return nil, fmt.Errorf("pull request from %s exists but cannot be read: %w", branch, err)
			}
		}
	}
	res := &Result{PullRequest: pr, PreviousVersion: previousVersion}
	switch {
	case pr.Merged:
		// Merged before this call: by a person, or by an earlier attempt.
		res.Landed, res.Commit, res.Resumed = true, pr.MergeCommitSHA, true
		if res.PreviousVersion == "" {
			// Opened by an earlier reconcile: the version it replaced is in
			// the trailers of its commit on the pull request's branch.
			found, own, err := req.findOwnCommit(ctx, gh, pr.HeadSHA)
			if err != nil {
				return nil, err
			}
			if found != nil {
				res.PreviousVersion = own[TrailerPreviousVersion]
			}
		}
		return res, nil
	case pr.State == "closed":
		return nil, &PullRequestClosedError{PR: pr}
	case !req.Target.AutoMerge:
		return res, nil
	}
	sha, err := gh.MergePullRequest(ctx, repo, pr.Number, pr.HeadSHA, fmt.Sprintf("Liftoff: promote %s %s to %s", req.Application, req.Version, req.Stage))
	if err != nil {
		return nil, err
	}
	pr.Merged, pr.State, pr.MergeCommitSHA = true, "closed", sha
	res.Landed, res.Commit = true, sha
	return res, nil
}

func pullRequestBody(req *Request, previous string) string {
	body := fmt.Sprintf("Liftoff promotes release `%s` (%s %s) into stage **%s**.\n\n### Change\n\n%s",
		req.ReleaseKey(), req.Application, req.Version, req.Stage, describeChange(req.Target.Files, previous, req.Version))
	if len(req.Pinned) > 0 {
		body += "\n### Artifacts\n\n| Artifact | Tag | Digest |\n| --- | --- | --- |\n"
		for _, a := range req.Pinned {
			body += fmt.Sprintf("| %s | `%s` | `%s` |\n", a.Name, a.Reference, a.Digest)
		}
	}
	if req.Notes != "" {
		body += "\n" + req.Notes
	}
	if req.Gates != "" {
		body += "\n### Gates\n\n" + req.Gates
	}
	if !req.Target.AutoMerge {
		body += "\nMerge this pull request to promote; Liftoff records the stage once it is merged.\n"
	}
	return body
}
