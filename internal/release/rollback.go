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

// verificationFailed halts or rolls back after a failed verification.
func (s *step) verificationFailed(ctx context.Context, i int, why string) (reconcile.Outcome, error) {
	return s.failed(ctx, i, failure{reason: releasev1.ReasonVerificationFailed, what: "failed verification", why: why})
}

// failed halts or rolls back, as the stage's onFailure says. A rollback of
// a stage with a GitOps agent is then followed until the agent applied it.
func (s *step) failed(ctx context.Context, i int, f failure) (reconcile.Outcome, error) {
	if s.pipe.Spec.Stages[i].HasTargets() {
		return s.waveFailed(ctx, i, f)
	}
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	why := f.why
	if stage.OnFailure == releasev1.FailureHalt || ss.Promotion == nil || ss.Promotion.NoChange || ss.Promotion.Commit == "" {
		if err := s.ledger.Free(ctx, s.pipe, rel, stage.Name); err != nil {
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
	return s.rollBack(ctx, i, revert{f: f, req: &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: ss.Promotion.PreviousVersion, Target: stage.Target, Since: revertSince(ss),
		Revert: &promotion.Revert{FromCommit: ss.Promotion.Commit, BadVersion: rel.Spec.Version, Reason: why},
	}})
}

// revert is one rollback of a stage: after a failure, or on demand.
type revert struct {
	// req writes the version back; its commit is found again by its trailers.
	req *promotion.Request
	// f is why: the postmortem's and the conditions' words.
	f failure
	// onDemand is the rollback on demand's record in the pipeline, nil for
	// a rollback after a failure.
	onDemand *releasev1.RollbackRecord
	// by, reason and request: who asked for a rollback on demand, why, and
	// its index in the pipeline's spec.rollbacks.
	by, reason string
	request    *int32
}

// rollBack writes rb's version back into stage i in one commit (or pull
// request), records it in the pipeline (what the stage runs, and a rollback
// on demand's record) and in the stage's status, marks the stage's GitHub
// deployment failed and opens the postmortem. A stage with a GitOps agent is
// then followed until the agent applied the rollback.
func (s *step) rollBack(ctx context.Context, i int, rb revert) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	req, why := rb.req, rb.f.why
	res := rb.landed()
	var err error
	along := ""
	if res == nil {
		// With a launch that fails as a group, its other members go too.
		res, along, err = s.writeBack(ctx, i, rb)
	}
	if err != nil {
		return s.githubError(err)
	}
	if ss.Rollback == nil || !sameRequest(ss.Rollback.Request, rb.request) {
		ss.Rollback = &releasev1.RollbackStatus{Request: rb.request, RequestedBy: rb.by, Reason: rb.reason, Launch: rb.f.launch}
	}
	ss.Rollback.Version = req.Version
	if res.PullRequest != nil {
		ss.Rollback.PullRequest = &releasev1.PullRequestRef{Number: res.PullRequest.Number, URL: res.PullRequest.URL, Branch: req.Branch(), State: res.PullRequest.State}
	}
	if !res.Landed {
		ss.Message = fmt.Sprintf("%s; waiting for the rollback pull request #%d to be merged: %s", why, res.PullRequest.Number, res.PullRequest.URL)
		phase := rel.Status.Phase
		switch ss.Phase {
		case releasev1.StageDeploying:
			phase = releasev1.PhaseDeploying
		case releasev1.StageVerifying:
			phase = releasev1.PhaseVerifying
		}
		setConditions(rel, conclusion{phase: phase, reason: rb.f.reason, message: ss.Message, blocked: true})
		if rb.onDemand != nil {
			rb.onDemand.Message = ss.Message
			if err := s.ledger.RecordRollback(ctx, s.pipe, *rb.onDemand); err != nil {
				return reconcile.Stop(), err
			}
		}
		return reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), nil
	}
	at := metav1.NewTime(s.now)
	msg := fmt.Sprintf("%s; rolled back to %s: commit %s%s", why, req.Version, github.ShortSHA(res.Commit), along)
	if rb.onDemand != nil {
		if rb.onDemand.At != nil {
			at = *rb.onDemand.At
		}
		rb.onDemand.Phase, rb.onDemand.Commit, rb.onDemand.At, rb.onDemand.Message = releasev1.RollbackDone, res.Commit, &at, msg
	}
	if err := s.ledger.RolledBack(ctx, s.pipe, rel, stage.Name, req.Version, res.Commit, s.now, rollbackAwaits(stage), rb.onDemand); err != nil {
		return reconcile.Stop(), err
	}
	ss.Rollback.Commit, ss.Rollback.At = res.Commit, &at
	if ss.Rollback.PullRequest != nil {
		ss.Rollback.PullRequest.State = "merged"
	}
	s.postmortem(ctx, i, rb.f)
	ss.Phase, ss.Message = releasev1.StageRolledBack, msg
	s.failDeployment(ctx, ss, trim("rolled back: "+why, 140))
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	if stage.Deployment != nil {
		// The stage is back only once its agent applied the rollback.
		s.startFollowingRollback(i)
		return reconcile.WriteThenContinue(), nil
	}
	return reconcile.Stop(), nil
}

// landed is the result of a rollback on demand the pipeline recorded as
// written back (the Release's own status write was lost), nil otherwise.
func (rb *revert) landed() *promotion.Result {
	if rb.onDemand == nil || rb.onDemand.Phase != releasev1.RollbackDone || rb.onDemand.Commit == "" {
		return nil
	}
	return &promotion.Result{Landed: true, Resumed: true, Commit: rb.onDemand.Commit}
}
