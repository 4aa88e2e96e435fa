package release

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// failure is why a stage failed after its version landed.
type failure struct {
	// reason of the Ready condition when the stage halts:
	// VerificationFailed, DeployFailed or DeployTimeout.
	reason string
	// what failed, for the postmortem's title: "failed verification",
	// "failed to deploy".
	what string
	// why, for people.
	why string
}

// owedFailure is the failure an owed postmortem of stage ss tells of: the
// stage failed to deploy when its agent never reported it deployed, else it
// failed verification.
func owedFailure(ss *releasev1.ReleaseStageStatus, why string) failure {
	if ss.DeployedAt == nil {
		return failure{reason: releasev1.ReasonDeployFailed, what: "failed to deploy", why: why}
	}
	return failure{reason: releasev1.ReasonVerificationFailed, what: "failed verification", why: why}
}

// verificationFailed halts or rolls back after a failed verification.
func (s *step) verificationFailed(ctx context.Context, i int, why string) (reconcile.Outcome, error) {
	return s.failed(ctx, i, failure{reason: releasev1.ReasonVerificationFailed, what: "failed verification", why: why})
}

// failed halts or rolls back, as the stage's onFailure says. A rollback of
// a stage with a GitOps agent is then followed until the agent applied it.
func (s *step) failed(ctx context.Context, i int, f failure) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	why := f.why
	if stage.OnFailure == releasev1.FailureHalt || ss.Promotion == nil || ss.Promotion.NoChange || ss.Promotion.Commit == "" {
		if err := s.Locks.Free(ctx, s.pipe, rel); err != nil {
			return reconcile.Stop(), err
		}
		s.postmortem(ctx, i, f)
		ss.Phase, ss.Message = releasev1.StageFailed, fmt.Sprintf("%s; halted with %s in %s", why, rel.Spec.Version, stage.Name)
		s.failDeployment(ctx, ss, trim(why, 140))
		setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: f.reason, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
		return reconcile.Stop(), nil
	}
	// The revert is found again by its trailers: it cannot be older than
	// the decision to roll back, which came after the landing.
	since := ss.Promotion.CompletedAt.Time
	if ss.Analysis != nil {
		since = ss.Analysis.StartedAt.Time
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: ss.Promotion.PreviousVersion, Target: stage.Target, Since: since,
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
		phase := releasev1.PhaseVerifying
		if ss.Phase == releasev1.StageDeploying {
			phase = releasev1.PhaseDeploying
		}
		setConditions(rel, conclusion{phase: phase, reason: f.reason, message: ss.Message, blocked: true})
		return reconcile.WaitFor(s.PollInterval, reconcile.WaitPoll), nil
	}
	if err := s.Locks.RolledBack(ctx, s.pipe, rel, stage.Name, req.Version, res.Commit, s.now, stage.Deployment == nil); err != nil {
		return reconcile.Stop(), err
	}
	at := metav1.NewTime(s.now)
	if ss.Rollback == nil {
		ss.Rollback = &releasev1.RollbackStatus{}
	}
	ss.Rollback.Commit, ss.Rollback.Version, ss.Rollback.At = res.Commit, req.Version, &at
	if ss.Rollback.PullRequest != nil {
		ss.Rollback.PullRequest.State = "merged"
	}
	s.postmortem(ctx, i, f)
	ss.Phase = releasev1.StageRolledBack
	ss.Message = fmt.Sprintf("%s; rolled back to %s: commit %s", why, req.Version, github.ShortSHA(res.Commit))
	s.failDeployment(ctx, ss, trim("rolled back: "+why, 140))
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	if stage.Deployment != nil {
		// The stage is back only once its agent applied the rollback.
		s.startFollowingRollback(i)
		return reconcile.WriteThenContinue(), nil
	}
	return reconcile.Stop(), nil
}

// postmortem opens the stage's postmortem issue when it asks for one. One
// that GitHub (or its write budget) turns away is owed and opened later: the
// rollback before it has landed and is recorded either way.
func (s *step) postmortem(ctx context.Context, i int, f failure) {
	ss := &s.rel.Status.Stages[i]
	if s.pipe.Spec.Stages[i].Postmortem == nil || ss.Postmortem != nil || owedRecord(s.rel, releasev1.RecordPostmortem, ss.Name) != nil {
		return
	}
	issue, err := s.openPostmortem(ctx, i, f, s.now)
	if err != nil {
		s.recordNotWritten(ctx, ss.Name, "postmortem issue", err)
		s.owe(releasev1.PendingRecord{Kind: releasev1.RecordPostmortem, Stage: ss.Name, Description: trim(f.why, 1024)}, err)
		return
	}
	ss.Postmortem = issue
}
