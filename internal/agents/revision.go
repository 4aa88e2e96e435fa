package agents

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// Relation is where an agent's revision stands against the promotion commit.
type Relation int

const (
	// RevisionNone means the agent reports no revision yet.
	RevisionNone Relation = iota
	// RevisionUnknown means the revision names no commit (a chart version, an
	// OCI digest), so Liftoff cannot tell.
	RevisionUnknown
	// RevisionEarlier means a commit that does not contain the promotion commit
	// (an earlier one, or another line of history).
	RevisionEarlier
	// RevisionAt means the promotion commit itself.
	RevisionAt
	// RevisionLater means a later commit that contains the promotion commit.
	RevisionLater
)

// Reached reports whether the agent is on the commit or on a later one that contains it.
func (r Relation) Reached() bool { return r == RevisionAt || r == RevisionLater }

var (
	hexFull  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hexShort = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
)

// CommitOf returns the Git commit an agent's revision names:
//   - a bare SHA (Argo CD's status.sync.revision),
//   - <ref>@sha1:<sha> (Flux since v2.0: main@sha1:..., refs/heads/main@sha1:...),
//   - <branch>/<sha> (Flux before v2.0),
//   - <version>+<sha or its first 12 characters> (a HelmRelease whose chart is
//     built from a Git source with reconcileStrategy: Revision).
//
// An OCI digest (@sha256:) or a plain chart version names no commit.
func CommitOf(revision string) (string, bool) {
	rev := strings.TrimSpace(revision)
	if rev == "" || strings.Contains(rev, "sha256:") {
		return "", false
	}
	if _, sha, ok := strings.Cut(rev, "@sha1:"); ok {
		return sha, hexShort.MatchString(sha)
	}
	if strings.HasPrefix(rev, "sha1:") {
		sha := strings.TrimPrefix(rev, "sha1:")
		return sha, hexShort.MatchString(sha)
	}
	if i := strings.LastIndex(rev, "+"); i >= 0 {
		sha := rev[i+1:]
		return sha, hexShort.MatchString(sha)
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 {
		rev = rev[i+1:]
	}
	return rev, hexFull.MatchString(rev)
}

// sameCommit: a is b, or an abbreviation of it.
func sameCommit(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a)
}

// Comparer answers whether head contains base in a repository;
// internal/github's Client is one (one request per pair of commits).
type Comparer interface {
	Contains(ctx context.Context, repo, base, head string) (bool, error)
}

// Commits is what Liftoff knows of the branch the promotion commit is on:
// it wrote those commits itself (the pipeline's stage history has them),
// so most revisions an agent reports need no GitHub request to place.
type Commits struct {
	// Repository of the stage's target, owner/name.
	Repository string
	// Commit is the promotion commit (or the rollback commit) to follow.
	Commit string
	// Later are commits Liftoff wrote to the branch after Commit. Branch
	// updates are fast-forward only, so each contains Commit.
	Later []string
	// Earlier are commits Liftoff wrote to the branch before Commit; none
	// contains it.
	Earlier []string
}

// Relate places an agent's revision against the commit. A revision Liftoff
// did not write is compared on GitHub (cmp may be nil when there is none:
// such a revision is then Unknown). It returns the commit the revision
// names, or the revision itself when it names none.
func (c Commits) Relate(ctx context.Context, cmp Comparer, revision string) (Relation, string, error) {
	if strings.TrimSpace(revision) == "" {
		return RevisionNone, "", nil
	}
	sha, ok := CommitOf(revision)
	if !ok {
		return RevisionUnknown, revision, nil
	}
	switch {
	case sameCommit(sha, c.Commit):
		return RevisionAt, sha, nil
	case containsCommit(c.Later, sha):
		return RevisionLater, sha, nil
	case containsCommit(c.Earlier, sha):
		return RevisionEarlier, sha, nil
	case cmp == nil:
		return RevisionUnknown, sha, nil
	}
	contains, err := cmp.Contains(ctx, c.Repository, c.Commit, sha)
	switch {
	case github.IsNotFound(err):
		// Not a commit of the target repository (another source of a
		// multi-source Application): it says nothing of this one.
		return RevisionEarlier, sha, nil
	case err != nil:
		return RevisionNone, sha, err
	case contains:
		return RevisionLater, sha, nil
	}
	return RevisionEarlier, sha, nil
}

func containsCommit(list []string, sha string) bool {
	for _, c := range list {
		if sameCommit(sha, c) {
			return true
		}
	}
	return false
}

// RelateAll places several revisions (a multi-source Application's) and
// returns the most advanced: the commit is reached when any source reached it.
func (c Commits) RelateAll(ctx context.Context, cmp Comparer, revisions []string) (Relation, string, error) {
	best, bestRev := RevisionNone, ""
	for _, r := range revisions {
		rel, sha, err := c.Relate(ctx, cmp, r)
		if err != nil {
			return RevisionNone, sha, err
		}
		if rel > best {
			best, bestRev = rel, sha
		} else if bestRev == "" {
			bestRev = sha
		}
	}
	return best, bestRev, nil
}

// CommitsFor gathers what the pipeline's status knows of the branch of a
// stage's target around commit: the commits its stages (every stage whose
// target is the same repository and branch) recorded before it are Earlier,
// those after it Later. When commit is not in the records (the history
// keeps the last ten per stage), none is placed: a comparison answers
// instead, once per pair of commits.
func CommitsFor(pipe *releasev1.ReleasePipeline, stage, commit string) Commits {
	out := Commits{Commit: commit}
	i := pipe.StageIndex(stage)
	if i < 0 {
		return out
	}
	target := pipe.Spec.Stages[i].Target
	out.Repository = target.Repository
	type record struct {
		sha string
		at  time.Time
	}
	var records []record
	seen := map[string]bool{}
	add := func(sha string, at *metav1.Time) {
		if sha == "" || at == nil || seen[sha] {
			return
		}
		seen[sha] = true
		records = append(records, record{sha: sha, at: at.Time})
	}
	for _, st := range pipe.Spec.Stages {
		if st.Target.Repository != target.Repository || branchOf(st.Target) != branchOf(target) {
			continue
		}
		ps := pipe.Status.StageStatus(st.Name)
		if ps == nil {
			continue
		}
		add(ps.Commit, ps.PromotedAt)
		for _, h := range ps.History {
			add(h.Commit, &h.At)
		}
	}
	var at *time.Time
	for _, r := range records {
		if r.sha == commit {
			at = &r.at
		}
	}
	if at == nil {
		return out
	}
	sort.Slice(records, func(i, j int) bool { return records[i].at.Before(records[j].at) })
	for _, r := range records {
		switch {
		case r.at.Before(*at):
			out.Earlier = append(out.Earlier, r.sha)
		case r.at.After(*at):
			out.Later = append(out.Later, r.sha)
		}
	}
	return out
}

func branchOf(t releasev1.Target) string {
	if t.Branch == "" {
		return "main"
	}
	return t.Branch
}
