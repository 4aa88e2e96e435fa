package github

import (
	"context"
	"sort"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// BranchHead returns the commit SHA at the head of branch.
func (c *Client) BranchHead(ctx context.Context, repo, branch string) (string, error) {
	op := "read branch " + branch
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	ref, _, err := c.gh.Git.GetRef(ctx, owner, name, "heads/"+branch)
	if err != nil {
		return "", c.done(op, err)
	}
	return ref.GetObject().GetSHA(), nil
}

// File is a file's content at a ref and the SHA of its blob.
type File struct {
	Content []byte
	SHA     string
}

// GetFile returns the content of path at ref (a branch or SHA).
func (c *Client) GetFile(ctx context.Context, repo, path, ref string) ([]byte, error) {
	f, err := c.ReadFile(ctx, repo, path, ref)
	if err != nil {
		return nil, err
	}
	return f.Content, nil
}

// ReadFile returns path at ref (a branch or SHA) with its blob SHA, which
// PutFile needs to replace it.
func (c *Client) ReadFile(ctx context.Context, repo, path, ref string) (*File, error) {
	op := "read " + path
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	file, dir, _, err := c.gh.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, c.done(op, err)
	}
	if file == nil || dir != nil {
		return nil, errorf(KindNotFound, op, "%s is a directory, not a file", path)
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, errorf(KindTransient, op, "decoding content: %v", err)
	}
	return &File{Content: []byte(content), SHA: file.GetSHA()}, nil
}

// PutFile commits content to path on branch through the contents API: one
// request makes the commit on the branch head and moves the branch. blobSHA
// is the blob the content replaces; when the file changed since it was read,
// GitHub refuses the write (KindConflict) and nothing is overwritten. It
// returns the new commit's SHA.
func (c *Client) PutFile(ctx context.Context, repo, branch, path string, content []byte, blobSHA, message string) (string, error) {
	op := "commit " + path
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	res, _, err := c.gh.Repositories.UpdateFile(ctx, owner, name, path, &gh.RepositoryContentFileOptions{
		Message: gh.String(message), Content: content, SHA: gh.String(blobSHA), Branch: gh.String(branch),
	})
	if err != nil {
		return "", c.done(op, err)
	}
	return res.GetSHA(), nil
}

// CommitFiles writes files (path -> content) in one commit on top of parent and
// returns the new commit's SHA. It does not move any branch.
func (c *Client) CommitFiles(ctx context.Context, repo, parent string, files map[string][]byte, message string) (string, error) {
	op := "create commit"
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	base, _, err := c.gh.Git.GetCommit(ctx, owner, name, parent)
	if err != nil {
		return "", c.done("read commit "+ShortSHA(parent), err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	entries := make([]*gh.TreeEntry, 0, len(files))
	for _, p := range paths {
		entries = append(entries, &gh.TreeEntry{Path: gh.String(p), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String(string(files[p]))})
	}
	tree, _, err := c.gh.Git.CreateTree(ctx, owner, name, base.GetTree().GetSHA(), entries)
	if err != nil {
		return "", c.done("create tree", err)
	}
	commit, _, err := c.gh.Git.CreateCommit(ctx, owner, name, &gh.Commit{
		Message: gh.String(message),
		Tree:    &gh.Tree{SHA: tree.SHA},
		Parents: []*gh.Commit{{SHA: gh.String(parent)}},
	}, nil)
	if err != nil {
		return "", c.done(op, err)
	}
	return commit.GetSHA(), nil
}

// UpdateBranch moves branch to sha, fast-forward only: when someone else moved
// the branch meanwhile it returns a KindConflict error.
func (c *Client) UpdateBranch(ctx context.Context, repo, branch, sha string) error {
	return c.writeBranch("update branch", repo, branch, sha, func(owner, name string, ref *gh.Reference) error {
		_, _, err := c.gh.Git.UpdateRef(ctx, owner, name, ref, false)
		return err
	})
}

// CreateBranch creates branch at sha; KindConflict when it exists.
func (c *Client) CreateBranch(ctx context.Context, repo, branch, sha string) error {
	return c.writeBranch("create branch", repo, branch, sha, func(owner, name string, ref *gh.Reference) error {
		_, _, err := c.gh.Git.CreateRef(ctx, owner, name, ref)
		return err
	})
}

// ForceBranch moves branch to sha even when that is not a fast-forward. Used
// only for Liftoff's own pull-request branches.
func (c *Client) ForceBranch(ctx context.Context, repo, branch, sha string) error {
	return c.writeBranch("reset branch", repo, branch, sha, func(owner, name string, ref *gh.Reference) error {
		_, _, err := c.gh.Git.UpdateRef(ctx, owner, name, ref, true)
		return err
	})
}

// writeBranch makes the write (verb: "update branch", ...) that points
// branch of repo at sha, unless a rate limit is in force, and classifies
// its error.
func (c *Client) writeBranch(verb, repo, branch, sha string, write func(owner, name string, ref *gh.Reference) error) error {
	op := verb + " " + branch
	if err := c.guard(op); err != nil {
		return err
	}
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	ref := &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: gh.String(sha)}}
	return c.done(op, write(owner, name, ref))
}

// FoundCommit is a commit found by FindCommit.
type FoundCommit struct {
	SHA     string
	Message string
}

// FindCommit looks through the commits of ref since a time (newest first, at
// most maxPages pages of 100) for one whose message satisfies match. Liftoff
// uses it to find its own earlier promotion commit by its trailers.
func (c *Client) FindCommit(ctx context.Context, repo, ref string, since time.Time, match func(message string) bool) (*FoundCommit, error) {
	const maxPages = 3
	op := "list commits of " + ref
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	opts := &gh.CommitsListOptions{SHA: ref, Since: since, ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; page < maxPages; page++ {
		commits, resp, err := c.gh.Repositories.ListCommits(ctx, owner, name, opts)
		if err != nil {
			return nil, c.done(op, err)
		}
		for _, rc := range commits {
			if msg := rc.GetCommit().GetMessage(); match(msg) {
				return &FoundCommit{SHA: rc.GetSHA(), Message: msg}, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

// CommitParent returns the first parent of a commit.
func (c *Client) CommitParent(ctx context.Context, repo, sha string) (string, error) {
	op := "read commit " + ShortSHA(sha)
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	commit, _, err := c.gh.Git.GetCommit(ctx, owner, name, sha)
	if err != nil {
		return "", c.done(op, err)
	}
	if len(commit.Parents) == 0 {
		return "", errorf(KindInvalid, op, "commit %s has no parent", ShortSHA(sha))
	}
	return commit.Parents[0].GetSHA(), nil
}

// ShortSHA is the seven-character form of a commit SHA people read.
func ShortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
