package release

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// verificationFailed halts or rolls back, as the stage says.
func (s *step) verificationFailed(ctx context.Context, i int, why string) (Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.OnFailure == releasev1.FailureHalt || ss.Promotion == nil || ss.Promotion.NoChange || ss.Promotion.Commit == "" {
		if err := s.Locks.Free(ctx, s.pipe, rel); err != nil {
			return Stop(), err
		}
		s.postmortem(ctx, i, why)
		ss.Phase, ss.Message = releasev1.StageFailed, fmt.Sprintf("%s; halted with %s in %s", why, rel.Spec.Version, stage.Name)
		s.failDeployment(ctx, ss, trim(why, 140))
		setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonVerificationFailed, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
		return Stop(), nil
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: ss.Promotion.PreviousVersion, Target: stage.Target, Since: ss.Analysis.StartedAt.Time,
		Revert: &promotion.Revert{FromCommit: ss.Promotion.Commit, BadVersion: rel.Spec.Version, Reason: why},
	}
	res, err := promotion.Promote(ctx, s.gh, req)
	if err != nil {
		return s.githubError(err)
	}
	if res.PullRequest != nil {
		ss.Rollback = &releasev1.RollbackStatus{Version: req.Version, PullRequest: &releasev1.PullRequestRef{Number: res.PullRequest.Number, URL: res.PullRequest.URL, Branch: req.Branch(), State: res.PullRequest.State}}
	}
	if !res.Landed {
		ss.Message = fmt.Sprintf("%s; waiting for the rollback pull request #%d to be merged: %s", why, res.PullRequest.Number, res.PullRequest.URL)
		setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerificationFailed, message: ss.Message, blocked: true})
		return WaitFor(s.PollInterval, WaitPoll), nil
	}
	if err := s.Locks.RolledBack(ctx, s.pipe, rel, stage.Name, req.Version, res.Commit, s.now); err != nil {
		return Stop(), err
	}
	at := metav1.NewTime(s.now)
	if ss.Rollback == nil {
		ss.Rollback = &releasev1.RollbackStatus{}
	}
	ss.Rollback.Commit, ss.Rollback.Version, ss.Rollback.At = res.Commit, req.Version, &at
	if ss.Rollback.PullRequest != nil {
		ss.Rollback.PullRequest.State = "merged"
	}
	s.postmortem(ctx, i, why)
	ss.Phase = releasev1.StageRolledBack
	ss.Message = fmt.Sprintf("%s; rolled back to %s: commit %s", why, req.Version, github.ShortSHA(res.Commit))
	s.failDeployment(ctx, ss, trim("rolled back: "+why, 140))
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	return Stop(), nil
}

// postmortem opens the stage's postmortem issue when it asks for one. One
// that GitHub (or its write budget) turns away is owed and opened later: the
// rollback before it has landed and is recorded either way.
func (s *step) postmortem(ctx context.Context, i int, why string) {
	ss := &s.rel.Status.Stages[i]
	if s.pipe.Spec.Stages[i].Postmortem == nil || ss.Postmortem != nil || owedRecord(s.rel, releasev1.RecordPostmortem, ss.Name) != nil {
		return
	}
	issue, err := s.openPostmortem(ctx, i, why, s.now)
	if err != nil {
		s.recordNotWritten(ctx, ss.Name, "postmortem issue", err)
		s.owe(releasev1.PendingRecord{Kind: releasev1.RecordPostmortem, Stage: ss.Name, Description: trim(why, 1024)}, err)
		return
	}
	ss.Postmortem = issue
}
