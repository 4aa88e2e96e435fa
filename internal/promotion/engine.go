// Package promotion writes a Release's version into a stage's GitOps files,
// as one commit on the target branch or through a pull request. Every step is
// idempotent: a promotion retried after a crash, a lost race or a GitHub
// failure finds what it did before and never commits twice.
package promotion

import (
	"context"
	"fmt"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// GitHub is the part of the GitHub API a promotion uses.
type GitHub interface {
	BranchHead(ctx context.Context, repo, branch string) (string, error)
	GetFile(ctx context.Context, repo, path, ref string) ([]byte, error)
	ReadFile(ctx context.Context, repo, path, ref string) (*github.File, error)
	PutFile(ctx context.Context, repo, branch, path string, content []byte, blobSHA, message string) (string, error)
	CommitParent(ctx context.Context, repo, sha string) (string, error)
	CommitFiles(ctx context.Context, repo, parent string, files map[string][]byte, message string) (string, error)
	UpdateBranch(ctx context.Context, repo, branch, sha string) error
	CreateBranch(ctx context.Context, repo, branch, sha string) error
	ForceBranch(ctx context.Context, repo, branch, sha string) error
	FindCommit(ctx context.Context, repo, ref string, since time.Time, match func(string) bool) (*github.FoundCommit, error)
	FindPullRequest(ctx context.Context, repo, branch, base string) (*github.PullRequest, error)
	CreatePullRequest(ctx context.Context, repo, branch, base, title, body string) (*github.PullRequest, error)
	GetPullRequest(ctx context.Context, repo string, number int) (*github.PullRequest, error)
	MergePullRequest(ctx context.Context, repo string, number int, headSHA, message string) (string, error)
}

// Request is one promotion of a Release into a stage.
type Request struct {
	Namespace   string
	Release     string
	Application string // the pipeline's name, for titles
	Stage       string
	Version     string
	Artifacts   []releasev1.Artifact
	// Pinned are the Release's artifacts pinned by digest: a file naming
	// one (files[].artifact) takes its tag and digest, and each goes into
	// the commit's trailers (Liftoff-Artifact: name@digest).
	Pinned []releasev1.ArtifactStatus
	Target releasev1.Target
	// Since is when the promotion started: its own commit cannot be older.
	Since time.Time
	// Gates is a Markdown summary of the gate results for the pull request body.
	Gates string
	// Notes is a Markdown section of the release notes (the pull requests
	// the promotion brings into the stage) for the pull request body; "" for none.
	Notes string
	// Revert, when set, makes this a rollback of an earlier promotion.
	Revert *Revert
	// BeforeWrite, when set, is asked once the files are found not to hold
	// the promotion yet, just before they are written: an error stops this
	// request's write and is returned as is (the artifacts' tags are
	// checked again here, so the check holds for the write that happens,
	// also one resumed after a restart).
	BeforeWrite func(context.Context) error
	// Group names the members of a launch promoted into one stage together
	// ("" for a Release in no launch), and GroupSize how many of them are
	// expected into this repository and branch now: a coalescer holds
	// their batch until that many arrived, GroupWait at most, so that they
	// land in one commit.
	Group     string
	GroupSize int
}

// beforeWrite asks the request's BeforeWrite, when it has one.
func (r *Request) beforeWrite(ctx context.Context) error {
	if r.BeforeWrite == nil {
		return nil
	}
	return r.BeforeWrite(ctx)
}

// Revert describes a rollback: every target file gets back what it held
// before the promotion commit, so the previous version comes from the file
// itself (tag and digest alike), not from a guess.
type Revert struct {
	// FromCommit is the promotion commit being rolled back.
	FromCommit string
	// BadVersion is the version being rolled back.
	BadVersion string
	// Reason goes into the commit message.
	Reason string
	// Restore is the commit whose target files are written back; empty for
	// the parent of FromCommit (what the files held before it).
	// RestoreParent takes Restore's parent instead: what the files held
	// before Restore replaced them.
	Restore       string
	RestoreParent bool
	// Request names the rollback on demand this is (its index in the
	// pipeline's spec.rollbacks), "" for one after a failure: a Release
	// found again by its trailers is told apart by it.
	Request string
}

// restorePoint is the commit whose files the revert writes back.
func (r *Revert) restorePoint(ctx context.Context, gh interface {
	CommitParent(ctx context.Context, repo, sha string) (string, error)
}, repo string) (string, error) {
	if r.Restore != "" && !r.RestoreParent {
		return r.Restore, nil
	}
	of := r.FromCommit
	if r.Restore != "" {
		of = r.Restore
	}
	return gh.CommitParent(ctx, repo, of)
}

// ReleaseKey is namespace/name, as written in the Liftoff-Release trailer.
func (r *Request) ReleaseKey() string { return r.Namespace + "/" + r.Release }

// Branch is the pull-request branch of the promotion.
func (r *Request) Branch() string {
	b := fmt.Sprintf("liftoff/%s/%s/%s", r.Namespace, r.Release, r.Stage)
	if r.Revert != nil {
		b += "-rollback"
		if r.Revert.Request != "" {
			b += "-" + r.Revert.Request
		}
	}
	return b
}

// Result is where the promotion stands.
type Result struct {
	// Landed is true once the version is on the target branch.
	Landed bool
	// Commit that landed it (the merge commit for a pull request; the head that
	// already held the version when NoChange).
	Commit string
	// NoChange: the files already held the version.
	NoChange bool
	// Resumed: the files held the version when this call began, written by
	// an earlier attempt of this promotion (Commit is that attempt's commit)
	// or by someone else (NoChange). What the earlier attempt recorded
	// elsewhere, such as a GitHub deployment, may exist already.
	Resumed bool
	// PreviousVersion the files held before.
	PreviousVersion string
	// PullRequest of a PullRequest promotion.
	PullRequest *github.PullRequest
}

// maxRaces bounds the retries after another commit moved the branch between
// our read and our fast-forward.
const maxRaces = 5

// searchSlack widens the commit search window for clock skew between the
// controller and GitHub.
const searchSlack = 24 * time.Hour

// Priority is the write budget's priority of the request's writes.
func (r *Request) Priority() github.Priority {
	switch {
	case r.Revert != nil:
		return github.PriorityRollback
	case r.Target.Strategy == releasev1.StrategyPullRequest:
		return github.PriorityMerge
	}
	return github.PriorityCommit
}

// Promote makes the promotion, or finds that it was made. Its writes go at
// the request's Priority.
func Promote(ctx context.Context, gh GitHub, req *Request) (*Result, error) {
	ctx = github.WithPriority(ctx, req.Priority())
	if req.Target.Strategy == releasev1.StrategyPullRequest {
		return promoteByPullRequest(ctx, gh, req)
	}
	return promoteByCommit(ctx, gh, req)
}

// history is what finding an earlier commit needs of GitHub.
type history interface {
	BranchHead(ctx context.Context, repo, branch string) (string, error)
	FindCommit(ctx context.Context, repo, ref string, since time.Time, match func(string) bool) (*github.FoundCommit, error)
}

// oneFile is what a promotion of one file through the contents API needs.
type oneFile interface {
	history
	ReadFile(ctx context.Context, repo, path, ref string) (*github.File, error)
	PutFile(ctx context.Context, repo, branch, path string, content []byte, blobSHA, message string) (string, error)
}

// action is the Liftoff-Action trailer of the request's commit.
func (r *Request) action() string {
	if r.Revert != nil {
		return ActionRollback
	}
	return ""
}

// request is the Liftoff-Rollback-Request trailer of the request's commit.
func (r *Request) request() string {
	if r.Revert != nil {
		return r.Revert.Request
	}
	return ""
}

// findOwnCommit looks through ref's history for the request's commit, and
// returns it with the request's own trailers (a coalesced commit holds
// several promotions').
func (r *Request) findOwnCommit(ctx context.Context, gh history, ref string) (*github.FoundCommit, map[string]string, error) {
	found, err := gh.FindCommit(ctx, r.Target.Repository, ref, r.Since.Add(-searchSlack), func(msg string) bool {
		return groupOf(msg, r.ReleaseKey(), r.Stage, r.action(), r.request()) != nil
	})
	if err != nil || found == nil {
		return nil, nil, err
	}
	return found, groupOf(found.Message, r.ReleaseKey(), r.Stage, r.action(), r.request()), nil
}

// landedBefore is the Result when the files already hold what this
// promotion writes: its own commit from an earlier attempt (a crash or a lost
// answer after GitHub made the commit), found by its trailers, or else the
// head, which someone else made hold it. Only this path searches the
// history, so a first attempt costs no search.
func landedBefore(ctx context.Context, gh history, req *Request, head, previous string) (*Result, error) {
	found, own, err := req.findOwnCommit(ctx, gh, req.Target.Branch)
	if err != nil {
		return nil, err
	}
	if found != nil {
		return &Result{Landed: true, Resumed: true, Commit: found.SHA, PreviousVersion: own[TrailerPreviousVersion]}, nil
	}
	if head == "" {
		if head, err = gh.BranchHead(ctx, req.Target.Repository, req.Target.Branch); err != nil {
			return nil, err
		}
	}
	return &Result{Landed: true, Resumed: true, Commit: head, NoChange: true, PreviousVersion: previous}, nil
}

// prepare finds the promotion already on the target branch (a Result that
// has landed), or writes the promotion commit on top of the branch head and
// returns it without moving any branch. A Result without a commit SHA never
// comes back: either landed, or a commit to publish. The commit and the
// branch update are one step for the files together, so files that hold the
// version already mean the promotion landed before.
func prepare(ctx context.Context, gh GitHub, req *Request) (landed *Result, commit, previous string, err error) {
	repo := req.Target.Repository
	head, err := gh.BranchHead(ctx, repo, req.Target.Branch)
	if err != nil {
		return nil, "", "", err
	}
	files, previous, err := render(ctx, gh, req, head)
	if err != nil {
		return nil, "", "", err
	}
	if len(files) == 0 {
		landed, err := landedBefore(ctx, gh, req, head, previous)
		return landed, "", "", err
	}
	if err := req.beforeWrite(ctx); err != nil {
		return nil, "", "", err
	}
	msg := commitMessage(req, previous)
	if req.Revert != nil {
		msg = rollbackMessage(req)
	}
	sha, err := gh.CommitFiles(ctx, repo, head, files, msg)
	return nil, sha, previous, err
}

func promoteByCommit(ctx context.Context, gh GitHub, req *Request) (*Result, error) {
	if len(req.Target.Files) == 1 && req.Revert == nil {
		return promoteOneFile(ctx, gh, req)
	}
	for attempt := 0; ; attempt++ {
		landed, sha, previous, err := prepare(ctx, gh, req)
		if err != nil || landed != nil {
			return landed, err
		}
		err = gh.UpdateBranch(ctx, req.Target.Repository, req.Target.Branch, sha)
		if err == nil {
			return &Result{Landed: true, Commit: sha, PreviousVersion: previous}, nil
		}
		if !github.IsConflict(err) || attempt+1 >= maxRaces {
			return nil, err
		}
		// Someone committed to the branch meanwhile: our commit is orphaned
		// (on no branch); start again from the new head.
	}
}

// promoteOneFile makes the common promotion, one target file, in two
// requests: read the file from the branch, and write it back through the
// contents API, which commits on the branch head and moves the branch at
// once. GitHub refuses the write when the file changed after the read, so
// nothing is overwritten unseen; commits to other files in between do not
// matter, unlike a fast-forward of the whole branch.
func promoteOneFile(ctx context.Context, gh oneFile, req *Request) (*Result, error) {
	f, repo, branch := req.Target.Files[0], req.Target.Repository, req.Target.Branch
	for attempt := 0; ; attempt++ {
		file, err := gh.ReadFile(ctx, repo, f.Path, branch)
		if err != nil {
			if github.IsNotFound(err) {
				// GitHub says the same for a missing repository, branch or
				// file: only a missing file is the target's fault.
				if _, herr := gh.BranchHead(ctx, repo, branch); herr != nil {
					return nil, herr
				}
				return nil, &TargetError{Path: f.Path, Err: fmt.Errorf("file not found on %s of %s", branch, repo)}
			}
			return nil, err
		}
		out, previous, changed, err := apply(f, file.Content, req)
		if err != nil {
			return nil, err
		}
		if !changed {
			return landedBefore(ctx, gh, req, "", previous)
		}
		if err := req.beforeWrite(ctx); err != nil {
			return nil, err
		}
		sha, err := gh.PutFile(ctx, repo, branch, f.Path, out, file.SHA, commitMessage(req, previous))
		if err == nil {
			return &Result{Landed: true, Commit: sha, PreviousVersion: previous}, nil
		}
		if !github.IsConflict(err) || attempt+1 >= maxRaces {
			return nil, err
		}
		// The file changed between the read and the write: read it again.
	}
}

// render reads the target files at ref and applies the updaters. It returns
// only the files that change, and the version they held before.
func render(ctx context.Context, gh GitHub, req *Request, ref string) (map[string][]byte, string, error) {
	if req.Revert != nil {
		return renderRevert(ctx, gh, req, ref)
	}
	changed := map[string][]byte{}
	previous := ""
	for _, f := range req.Target.Files {
		content, err := gh.GetFile(ctx, req.Target.Repository, f.Path, ref)
		if err != nil {
			if github.IsNotFound(err) {
				return nil, "", &TargetError{Path: f.Path, Err: fmt.Errorf("file not found on %s of %s", req.Target.Branch, req.Target.Repository)}
			}
			return nil, "", err
		}
		out, prev, didChange, err := apply(f, content, req)
		if err != nil {
			return nil, "", err
		}
		if previous == "" {
			previous = prev
		}
		if didChange {
			changed[f.Path] = out
		}
	}
	return changed, previous, nil
}

// renderRevert returns the files whose content at ref differs from what they
// held before the promotion commit, with that earlier content.
func renderRevert(ctx context.Context, gh GitHub, req *Request, ref string) (map[string][]byte, string, error) {
	before, err := req.Revert.restorePoint(ctx, gh, req.Target.Repository)
	if err != nil {
		return nil, "", err
	}
	changed := map[string][]byte{}
	for _, f := range req.Target.Files {
		old, err := gh.GetFile(ctx, req.Target.Repository, f.Path, before)
		if err != nil {
			return nil, "", err
		}
		cur, err := gh.GetFile(ctx, req.Target.Repository, f.Path, ref)
		if err != nil && !github.IsNotFound(err) {
			return nil, "", err
		}
		if string(old) != string(cur) {
			changed[f.Path] = old
		}
	}
	return changed, req.Revert.BadVersion, nil
}
