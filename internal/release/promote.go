package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// promote writes the version into stage i, or finds that it was written.
func (s *step) promote(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if ss.Promotion == nil || ss.Promotion.StartedAt == nil {
		started := metav1.NewTime(s.now)
		ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	}
	if out, lost, err := s.lostStage(ctx, i); lost || err != nil {
		return out, err
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: rel.Spec.Version, Artifacts: rel.Spec.Artifacts, Pinned: rel.Status.Artifacts, Target: stage.Target,
		Since: ss.Promotion.StartedAt.Time, Gates: gateSummary(ss.Gates), Notes: s.pullRequestNotes(ctx, i),
		BeforeWrite: s.stillPinned(),
	}
	req.Group, req.GroupSize = s.groupBatch(ctx, i)
	var res *promotion.Result
	var err error
	if s.coalesces(stage) {
		// Ready with others into the same branch: one commit for them all.
		// The coalescer wakes the Release once the commit is made (or
		// refused); after a restart the request, submitted again, finds its
		// commit by its trailers.
		out, done, serr := s.Coalescers.Submit(s.gh, req)
		if serr != nil {
			return reconcile.Stop(), serr
		}
		if !done {
			return s.awaitCoalesced(i), nil
		}
		s.Coalescers.For(s.gh, stage.Target.Repository, stage.Target.Branch).Forget(req)
		res, err = out.Result, out.Err
	} else {
		res, err = promotion.Promote(ctx, s.gh, req)
	}
	if err != nil {
		return s.promotionFailed(ctx, i, err)
	}
	if res.PullRequest != nil {
		state := res.PullRequest.State
		if res.PullRequest.Merged {
			state = "merged"
		}
		ss.Promotion.PullRequest = &releasev1.PullRequestRef{Number: res.PullRequest.Number, URL: res.PullRequest.URL, Branch: req.Branch(), State: state}
	}
	if res.PreviousVersion != "" {
		ss.Promotion.PreviousVersion = res.PreviousVersion
	}
	if !res.Landed {
		ss.Phase = releasev1.StageAwaitingMerge
		ss.Message = fmt.Sprintf("waiting for pull request #%d to be merged: %s", res.PullRequest.Number, res.PullRequest.URL)
		setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonAwaitingMerge, message: ss.Message})
		return reconcile.WaitFor(s.PollInterval, reconcile.WaitPoll), nil
	}
	verifying, deploying := stage.Verify != nil, stage.Deployment != nil
	ran := res.PreviousVersion // what the stage ran before, read from its files
	if res.NoChange {
		ran = "" // the files held this version already: the agent says whether it runs
	}
	if err := s.Locks.Landed(ctx, s.pipe, rel, stage.Name, res.Commit, ran, s.now, verifying || deploying, !deploying); err != nil {
		return reconcile.Stop(), err
	}
	done := metav1.NewTime(s.now)
	ss.Phase, ss.Promotion.Commit, ss.Promotion.NoChange, ss.Promotion.CompletedAt = releasev1.StagePromoted, res.Commit, res.NoChange, &done
	ss.CommittedAt = &done
	recordSlip(rel, ss)
	s.recordNotes(ctx, i)
	progress := ""
	switch {
	case deploying:
		progress = "deploying: waiting for the GitOps agent to apply it"
	case verifying:
		progress = "verifying"
	}
	s.recordDeployment(ctx, i, res.Resumed, progress)
	if deploying {
		// The stage stays held until its GitOps agent applied the commit.
		s.startDeploying(i)
		return reconcile.WriteThenContinue(), nil
	}
	// Without a GitOps agent to ask, committed counts as live.
	ss.DeployedAt = &done
	if verifying {
		// The stage stays held until the analysis says the version is good.
		s.startVerifying(i)
		return reconcile.WriteThenContinue(), nil
	}
	ss.Message = fmt.Sprintf("%s live in %s: commit %s on %s@%s", rel.Spec.Version, stage.Name, github.ShortSHA(res.Commit), stage.Target.Repository, stage.Target.Branch)
	if res.NoChange {
		ss.Message = fmt.Sprintf("%s already in %s: the files held it, nothing committed", rel.Spec.Version, stage.Name)
	}
	s.succeedDeployment(ctx, ss)
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoted, message: ss.Message})
	// The pipeline records the landing: a crash before the Release's status
	// says so finds the commit again.
	return reconcile.ContinueWithoutWrite(), nil
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
	held, err := s.Locks.Holds(ctx, s.pipe, rel, stage.Name, s.now)
	if err != nil || held {
		return reconcile.Stop(), false, err
	}
	ss.Phase, ss.Message = releasev1.StageWaiting, "lost the stage lock; waiting to take it again"
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonStageBusy, message: ss.Message})
	return reconcile.WaitFor(time.Second, reconcile.WaitStageLock), true, nil
}

// coalesces: the stage's promotions go into coalesced commits (Commit
// strategy; pull requests and rollbacks are made on their own).
func (s *step) coalesces(stage *releasev1.Stage) bool {
	return s.Coalescers != nil && stage.Target.Strategy != releasev1.StrategyPullRequest
}

// coalescedFallback is how long a promotion waits for its coalesced commit
// when the coalescer's wake-up was lost (the controller's channel full).
const coalescedFallback = 30 * time.Second

// promotingMessage is the stage's message while its promotion is written:
// the intent, then the wait for the coalesced commit, say the same, so the
// wait costs no status write of its own.
func (s *step) promotingMessage(stage *releasev1.Stage) string {
	msg := fmt.Sprintf("promoting %s into %s", s.rel.Spec.Version, stage.Name)
	if stage.HasTargets() {
		return msg + ": its targets in waves"
	}
	if s.coalesces(stage) {
		msg += fmt.Sprintf(": waiting for the coalesced commit to %s@%s", stage.Target.Repository, stage.Target.Branch)
	}
	return msg
}

// awaitCoalesced waits for the coalesced commit of stage i's promotion. When
// the write budget holds the commit (no slot for commits soon), the reason
// and the message say so, and when its slot comes.
func (s *step) awaitCoalesced(i int) reconcile.Outcome {
	if meta.IsStatusConditionTrue(s.rel.Status.Conditions, releasev1.ConditionStalled) {
		// A retry of a promotion GitHub refused: the Release stays stalled
		// on that refusal until the commit is made or refused again.
		return reconcile.WaitFor(coalescedFallback, reconcile.WaitCoalesced)
	}
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	ss.Message = s.promotingMessage(stage)
	reason := releasev1.ReasonPromoting
	if b, ok := s.gh.(interface{ WriteBudget() *github.Budget }); ok {
		if next := b.WriteBudget().NextSlot(github.PriorityCommit); next.Sub(s.now) > time.Second {
			ss.Message += fmt.Sprintf("; waiting for GitHub's write budget, next slot at %s", next.UTC().Format(time.RFC3339))
			reason = releasev1.ReasonGitHubWriteBudget
		}
	}
	setConditions(s.rel, conclusion{phase: releasev1.PhaseProgressing, reason: reason, message: ss.Message})
	return reconcile.WaitFor(coalescedFallback, reconcile.WaitCoalesced)
}

// promotionFailed handles an error of the GitOps change.
func (s *step) promotionFailed(ctx context.Context, i int, err error) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	var te *promotion.TargetError
	var closed *promotion.PullRequestClosedError
	var moved *artifactsMoved
	var st *stallError
	switch {
	case errors.As(err, &moved):
		return s.artifactsMovedBeforeWrite(ctx, i, moved.result)
	case errors.As(err, &st):
		// The registry's credentials, asked again before the write.
		return s.gatherFailed(err)
	case errors.As(err, &te):
		// Nothing was committed: give the stage back and retry later, a
		// person may fix the repository.
		if uerr := s.Locks.Free(ctx, s.pipe, rel, stage.Name); uerr != nil {
			return reconcile.Stop(), uerr
		}
		ss.Phase = releasev1.StageWaiting
		ss.Message = fmt.Sprintf("cannot write the version into %s: %v", stage.Target.Repository, te)
		s.failDeployment(ctx, ss, "target invalid")
		ss.Promotion = nil
		replaceGate(ss, gates.Result{Name: gates.NameTarget, State: releasev1.GateFailed, Reason: releasev1.ReasonTargetInvalid, Message: te.Error()}, s.now)
		s.stall(releasev1.ReasonTargetInvalid, fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", stage.Name, ss.Message))
		return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
	case errors.As(err, &closed):
		if uerr := s.Locks.Free(ctx, s.pipe, rel, stage.Name); uerr != nil {
			return reconcile.Stop(), uerr
		}
		ss.Phase, ss.Message = releasev1.StageFailed, closed.Error()
		if ss.Promotion != nil {
			ss.Promotion.PullRequest = &releasev1.PullRequestRef{Number: closed.PR.Number, URL: closed.PR.URL, Branch: closed.PR.HeadBranch, State: "closed"}
		}
		s.failDeployment(ctx, ss, "pull request closed")
		setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonPullRequestClosed,
			message: fmt.Sprintf("promotion into %s refused: %s", stage.Name, closed.Error())})
		return reconcile.Stop(), nil
	}
	return s.githubError(err)
}

// replaceGate puts a gate's result in the stage's gate statuses, in place
// of the gate's earlier one.
func replaceGate(ss *releasev1.ReleaseStageStatus, r gates.Result, now time.Time) {
	checked := metav1.NewTime(now)
	kept := ss.Gates[:0]
	for _, g := range ss.Gates {
		if g.Name != r.Name {
			kept = append(kept, g)
		}
	}
	ss.Gates = append(kept, releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, LastChecked: &checked})
}
