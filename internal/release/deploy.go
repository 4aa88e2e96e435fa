package release

import (
	"context"
	"fmt"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// awaitDeployed asks stage i's agent whether the promotion commit is
// deployed: once it is, the stage is live (deployedAt) and goes on to its
// verification or to the next stage; a failure or the deadline applies
// onFailure; an agent that cannot be read blocks the Release.
func (s *step) awaitDeployed(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.Deployment == nil {
		// Someone removed deployment from the stage while it waited.
		return s.deployed(ctx, i, "deployment removed from the pipeline: committed counts as live")
	}
	if ss.Rollback != nil {
		// The failure was decided; its rollback pull request waits.
		return s.failed(ctx, i, deployFailure(ss))
	}
	d, err := s.lookAtAgent(ctx, i, ss.Promotion.Commit, ss.CommittedAt, &ss.Deployment)
	if err != nil {
		return reconcile.Stop(), err
	}
	switch d.Next {
	case agents.NextDeployed:
		return s.deployed(ctx, i, d.Message)
	case agents.NextFail:
		return s.failed(ctx, i, deployFailure(ss))
	case agents.NextBlocked:
		ss.Message = d.Message
		s.stall(d.Reason, fmt.Sprintf("stage %s: %s", stage.Name, d.Message))
		return reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed), nil
	}
	ss.Message = fmt.Sprintf("%s committed to %s (%s); waiting until %s for it to be deployed: %s",
		rel.Spec.Version, stage.Name, landedWhere(ss), stamp(ss.Deployment.Deadline), d.Message)
	setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
	return reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed), nil
}

// deployed records that stage i's version is deployed: soak, verify and the
// next stage's gates count from now. The pipeline shows it live in the stage
// from now, and the stage is freed unless it verifies next, in one write.
func (s *step) deployed(ctx context.Context, i int, msg string) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	at, err := s.ledger.Deployed(ctx, s.pipe, rel, stage.Name, ss.Promotion.Commit, s.now, deployedAwaits(stage))
	if err != nil {
		return reconcile.Stop(), err
	}
	ss.DeployedAt = &at
	recordSlip(rel, ss)
	if stage.Verify != nil {
		s.startVerifying(i)
		return reconcile.WriteThenContinue(), nil
	}
	ss.Phase, ss.Message = releasev1.StagePromoted, fmt.Sprintf("%s live in %s: %s", rel.Spec.Version, stage.Name, msg)
	s.succeedDeployment(ctx, ss)
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonDeployed, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}

// rollbackToFollow is the stage of a failed Release whose rollback commit
// landed and whose agent has not reported it deployed (nor failed to), or
// -1.
func rollbackToFollow(rel *releasev1.Release, pipe *releasev1.ReleasePipeline) int {
	for _, ss := range rel.Status.Stages {
		j := pipe.StageIndex(ss.Name)
		rb := ss.Rollback
		if ss.Phase != releasev1.StageRolledBack || j < 0 || pipe.Spec.Stages[j].Deployment == nil && !pipe.Spec.Stages[j].HasTargets() ||
			rb == nil || rb.Commit == "" || rb.DeployedAt != nil || rb.Deployment == nil {
			continue
		}
		if r := rb.Deployment.Reason; r != releasev1.ReasonDeployFailed && r != releasev1.ReasonDeployTimeout {
			return j
		}
	}
	return -1
}

// followRollback asks stage i's agent whether the rollback commit is
// deployed, and says in the rollback's status when the stage is back on the
// previous version. The Release stays Failed whatever the agent says.
func (s *step) followRollback(ctx context.Context, i int) (reconcile.Outcome, error) {
	if s.pipe.Spec.Stages[i].HasTargets() {
		return s.followTargetsRollback(ctx, i)
	}
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	rb := ss.Rollback
	d, err := s.lookAtAgent(ctx, i, rb.Commit, rb.At, &rb.Deployment)
	if err != nil {
		return reconcile.Stop(), err
	}
	out := reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed)
	switch d.Next {
	case agents.NextDeployed:
		// The pipeline shows the version written back live from now.
		at, err := s.ledger.Deployed(ctx, s.pipe, rel, stage.Name, rb.Commit, s.now, AwaitsNothing)
		if err != nil {
			return reconcile.Stop(), err
		}
		rb.DeployedAt = &at
		rb.Message = fmt.Sprintf("%s is live again in %s since %s: %s", rb.Version, stage.Name, stamp(&at), d.Message)
		out = reconcile.Stop()
	case agents.NextFail:
		rb.Message = fmt.Sprintf("the rollback to %s (commit %s) was not deployed: %s: %s needs a person", rb.Version, github.ShortSHA(rb.Commit), d.Message, stage.Name)
		out = reconcile.Stop()
	case agents.NextBlocked:
		rb.Message = fmt.Sprintf("%s written back (commit %s); cannot tell whether it is deployed: %s", rb.Version, github.ShortSHA(rb.Commit), d.Message)
	default:
		rb.Message = fmt.Sprintf("%s written back (commit %s); waiting until %s for it to be deployed: %s", rb.Version, github.ShortSHA(rb.Commit), stamp(rb.Deployment.Deadline), d.Message)
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s; %s", stage.Name, ss.Message, rb.Message)})
	return out, nil
}
