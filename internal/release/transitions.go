package release

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// The moves of a stage into a phase that more than one step makes: the
// stage lock found lost before a write (promote, promoteWave), the start of
// the wait for a GitOps agent (after a landing), of a verification (after a
// landing, a deployment, a wave deployed), of the wait for a rollback
// commit to be deployed (after a rollback); and the slip against the plan,
// which the gates, a landing and a deployment note.

// startPromotion dates the start of stage i's promotion (once) and reports,
// as lostStage does, whether rel no longer holds the stage.
func (s *step) startPromotion(ctx context.Context, i int) (reconcile.Outcome, bool, error) {
	if ss := &s.rel.Status.Stages[i]; ss.Promotion == nil || ss.Promotion.StartedAt == nil {
		started := metav1.NewTime(s.now)
		ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	}
	return s.lostStage(ctx, i)
}

// lostStage reports whether rel no longer holds stage i (taken over as
// stale), and puts the stage back to waiting to take it again: nothing was
// committed by us unless our commit is found again after re-taking it.
func (s *step) lostStage(ctx context.Context, i int) (reconcile.Outcome, bool, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if s.locked[stage.Name] {
		return reconcile.Outcome{}, false, nil
	}
	held, err := s.ledger.Holds(ctx, s.pipe, rel, stage.Name, s.now)
	if err != nil || held {
		return reconcile.Stop(), false, err
	}
	ss.Phase, ss.Message = releasev1.StageWaiting, "lost the stage lock; waiting to take it again"
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonStageBusy, message: ss.Message})
	return reconcile.WaitFor(time.Second, reconcile.WaitStageLock), true, nil
}

// startDeploying records a landed version whose stage names its GitOps
// agent: the stage waits for the agent (awaitDeployed) before anything
// counts it as live.
func (s *step) startDeploying(i int) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	ss.Phase = releasev1.StageDeploying
	ss.DeployedAt = nil
	deadline := metav1.NewTime(agents.Deadline(stage.Deployment, s.now))
	ss.Deployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying, Deadline: &deadline,
		Message: fmt.Sprintf("waiting for %s", agentName(stage.Deployment))}
	ss.Message = fmt.Sprintf("%s committed to %s (%s); waiting for %s to deploy it", rel.Spec.Version, stage.Name, landedWhere(ss), agentName(stage.Deployment))
	setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
}

// startVerifying records a live version (deployed, or landed in a stage
// without deployment) whose stage has a verify spec.
func (s *step) startVerifying(i int) {
	ss := &s.rel.Status.Stages[i]
	ss.Phase = releasev1.StageVerifying
	if spec, err := compileAnalysis(s.pipe.Spec.Stages[i].Verify); err == nil {
		ss.Analysis = toStatus(analysis.Start(spec, s.now))
	} // else verify() reports the pipeline's error on the next step
	ss.Message = fmt.Sprintf("%s landed in %s; verifying", s.rel.Spec.Version, ss.Name)
	if s.pipe.Spec.Stages[i].Deployment != nil {
		ss.Message = fmt.Sprintf("%s deployed in %s; verifying", s.rel.Spec.Version, ss.Name)
	}
	setConditions(s.rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
}

// startFollowingRollback makes stage i's rollback follow its commit, which
// just landed.
func (s *step) startFollowingRollback(i int) {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	deadline := metav1.NewTime(agents.Deadline(stage.Deployment, s.now))
	ss.Rollback.Deployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying, Deadline: &deadline,
		Message: fmt.Sprintf("waiting for %s to apply the rollback commit %s", agentName(stage.Deployment), github.ShortSHA(ss.Rollback.Commit))}
	ss.Rollback.Message = fmt.Sprintf("%s written back (commit %s); waiting for %s to deploy it", ss.Rollback.Version, github.ShortSHA(ss.Rollback.Commit), agentName(stage.Deployment))
}

// recordSlip notes the plan of stage i and, once the version is live, how
// late it went live against it.
func recordSlip(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus) {
	p := plannedFor(rel, ss.Name)
	if p == nil {
		ss.PlannedAt, ss.Slip = nil, nil
		return
	}
	planned := *p
	ss.PlannedAt = &planned
	if at := liveSince(ss); at != nil {
		slip := at.Sub(p.Time).Round(time.Second)
		if slip < 0 {
			slip = 0
		}
		ss.Slip = &metav1.Duration{Duration: slip}
	}
}

func sameRequest(a, b *int32) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
