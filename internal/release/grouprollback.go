package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// A launch with onFailure Group ships its members together or not at all:
// when a member fails in a stage and is rolled back, every other member
// that reached that stage is rolled back too, and the rest halts (the group
// gate fails). The failing member writes the whole group back (writeBack):
// its own revert and those of the others, one commit per GitOps repository
// and branch (promotion.CommitTogether), each member's revert in its own
// trailer group. Every other member then records its own rollback
// (followLaunch): its revert finds that commit by its trailers, so nothing
// is written twice, whoever crashes when. A member that the failing one
// could not write back (its promotion landed later, another credential
// failed) writes itself back the same way, in a commit of its own.

// groupFailure is the member of members (other than self) rolled back
// after a failure of its own, which the others follow, and the stage it
// was rolled back in; nil when none was (a member that failed and halted
// keeps its version: so do the others, held by their group gate).
func groupFailure(members []releasev1.Release, self string) (*releasev1.Release, string) {
	for i := range members {
		m := &members[i]
		if m.Name == self || m.Status.Phase != releasev1.PhaseFailed || m.FailedWithLaunch() {
			continue
		}
		for _, ss := range m.Status.Stages {
			if ss.Phase == releasev1.StageRolledBack && (ss.Rollback == nil || ss.Rollback.Request == nil) {
				return m, ss.Name
			}
		}
	}
	return nil, ""
}

// reachedForGroup reports whether rel's version landed in stage i and is
// still there, for its launch to write it back: committed (not only found
// in the files), deploying, verifying or promoted, and not rolled back.
func reachedForGroup(rel *releasev1.Release, i int) bool {
	ss := &rel.Status.Stages[i]
	switch ss.Phase {
	case releasev1.StageDeploying, releasev1.StageVerifying, releasev1.StagePromoted:
	default:
		return false
	}
	// A rollback whose pull request waits is not written back yet.
	return ss.Promotion != nil && ss.Promotion.Commit != "" && !ss.Promotion.NoChange && (ss.Rollback == nil || ss.Rollback.Commit == "")
}

// revertSince is when a rollback of stage status ss was decided at the
// earliest: its revert commit cannot be older (the landing, or the
// analysis's start once it ran).
func revertSince(ss *releasev1.ReleaseStageStatus) time.Time {
	if ss.Analysis != nil {
		return ss.Analysis.StartedAt.Time
	}
	if ss.Promotion.CompletedAt != nil {
		return ss.Promotion.CompletedAt.Time
	}
	return ss.Promotion.StartedAt.Time
}

// groupWhy is why a member is rolled back with its launch.
func groupWhy(launch string, failed *releasev1.Release, stage string) string {
	return fmt.Sprintf("launch %s rolls back with %s %s, which failed in %s (onFailure: Group)", launch, failed.Name, failed.Spec.Version, stage)
}

// groupFailureOf is a failure that halts rel with its launch.
func groupFailureOf(launch string, failed *releasev1.Release, stage string) failure {
	return failure{reason: releasev1.ReasonGroupMemberFailed, what: "was rolled back with its launch", why: groupWhy(launch, failed, stage), launch: launch}
}

// writeBack writes a rollback after a failure into Git. With a launch whose
// onFailure is Group, the other members that reached the stage are written
// back with it, one commit per repository and branch; along names them
// (" with worker 3.0.0 (launch spring)"), "" when there are none. A
// rollback on demand, one through a pull request, and a member's own
// rollback with its launch are written alone.
func (s *step) writeBack(ctx context.Context, i int, rb revert) (res *promotion.Result, along string, err error) {
	req := rb.req
	if rb.onDemand != nil || rb.f.launch != "" || req.Target.Strategy == releasev1.StrategyPullRequest {
		res, err = promotion.Promote(ctx, s.gh, req)
		return res, "", err
	}
	launch, others, err := s.groupReverts(ctx, i)
	if err != nil {
		return nil, "", err
	}
	if len(others) == 0 {
		res, err = promotion.Promote(ctx, s.gh, req)
		return res, "", err
	}
	own := commitKey{gh: s.gh, repo: req.Target.Repository, branch: orDefault(req.Target.Branch, "main")}
	req.Target.Branch = own.branch
	groups := map[commitKey][]*promotion.Request{own: {req}}
	order := []commitKey{own}
	for _, o := range others {
		if _, ok := groups[o.key]; !ok {
			order = append(order, o.key)
		}
		groups[o.key] = append(groups[o.key], o.req)
	}
	var names []string
	for _, k := range order {
		outs := promotion.CommitTogether(ctx, k.gh, k.repo, k.branch, groups[k])
		for _, r := range groups[k] {
			o := outs[r]
			switch {
			case r == req:
				res, err = o.Result, o.Err
			case o.Err != nil:
				// That member writes itself back when it sees the launch
				// failed (followLaunch).
				ctrl.LoggerFrom(ctx).Info("Could not roll back a member of the launch with the failed one", "launch", launch, "member", r.Release, "error", o.Err.Error())
			default:
				names = append(names, r.Release+" "+r.Revert.BadVersion)
			}
		}
	}
	if err != nil || len(names) == 0 {
		return res, "", err
	}
	return res, fmt.Sprintf(" with %s (launch %s)", strings.Join(names, ", "), launch), nil
}

// commitKey is one commit of a group's rollback: a credential's client, a
// repository and a branch.
type commitKey struct {
	gh           GitHub
	repo, branch string
}

// memberRevert is the revert of another member of the launch.
type memberRevert struct {
	key commitKey
	req *promotion.Request
}

// groupReverts are the reverts of the other members of rel's launch (when
// its onFailure is Group) whose version reached stage i and whose stage
// rolls back on failure (onFailure Rollback, one target, the Commit
// strategy): each is the request that member's own rollback makes, so it
// finds the commit by its trailers.
func (s *step) groupReverts(ctx context.Context, i int) (string, []memberRevert, error) {
	launch, err := LaunchOf(ctx, s.client, s.rel)
	if err != nil || launch == nil || launch.FailurePolicy() != releasev1.FailGroup {
		return "", nil, err
	}
	members, _, err := LaunchMembers(ctx, s.client, s.apiReader, launch)
	if err != nil {
		return "", nil, err
	}
	stage := s.pipe.Spec.Stages[i].Name
	var out []memberRevert
	for k := range members {
		m := &members[k]
		if m.Name == s.rel.Name || m.Status.Phase == releasev1.PhaseFailed || m.Status.Phase == releasev1.PhaseSuperseded {
			continue
		}
		pipe, err := s.memberPipeline(ctx, m)
		if err != nil {
			return "", nil, err
		}
		if pipe == nil {
			continue
		}
		j := pipe.StageIndex(stage)
		if j < 0 || j >= len(m.Status.Stages) || m.Status.Stages[j].Name != stage || !reachedForGroup(m, j) {
			continue
		}
		st := &pipe.Spec.Stages[j]
		if st.HasTargets() || st.OnFailure == releasev1.FailureHalt || st.Target.Strategy == releasev1.StrategyPullRequest {
			continue
		}
		gh, err := s.credentials.GitHub(ctx, pipe)
		if err != nil {
			// That member writes itself back with its own credential.
			continue
		}
		ss := &m.Status.Stages[j]
		req := &promotion.Request{
			Namespace: m.Namespace, Release: m.Name, Application: pipe.Name, Stage: stage,
			Version: ss.Promotion.PreviousVersion, Target: st.Target, Since: revertSince(ss),
			Revert: &promotion.Revert{FromCommit: ss.Promotion.Commit, BadVersion: m.Spec.Version, Reason: groupWhy(launch.Name, s.rel, stage)},
		}
		key := commitKey{gh: gh, repo: st.Target.Repository, branch: orDefault(st.Target.Branch, "main")}
		req.Target.Branch = key.branch
		out = append(out, memberRevert{key: key, req: req})
	}
	return launch.Name, out, nil
}

// memberPipeline reads another member's pipeline (from the API server when
// the cache does not hold it); nil when it does not exist.
func (s *step) memberPipeline(ctx context.Context, m *releasev1.Release) (*releasev1.ReleasePipeline, error) {
	if m.Spec.Pipeline == s.pipe.Name {
		return s.pipe, nil
	}
	p, _, err := s.requiredPipeline(ctx, m.Spec.Pipeline)
	return p, client.IgnoreNotFound(err)
}
