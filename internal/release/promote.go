package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// promote is the step of a stage whose promotion is under way (Promoting,
// AwaitingMerge): writePromotion writes the version into Git, or finds it
// written; once the change landed, the steps after a landing run in order
// (afterLanding, land.go).
func (s *step) promote(ctx context.Context, i int) (reconcile.Outcome, error) {
	res, out, err := s.writePromotion(ctx, i)
	if res == nil || err != nil {
		return out, err
	}
	return s.afterLanding(ctx, i, res)
}

// writePromotion writes the version into stage i: a commit or a pull
// request, on its own or in the coalesced commit to its branch; a retry
// finds its change again by its trailers. It returns the result once the
// change landed; until then (a pull request to merge, a coalesced commit to
// wait for, a failure) nil and the step's outcome.
func (s *step) writePromotion(ctx context.Context, i int) (*promotion.Result, reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if out, lost, err := s.startPromotion(ctx, i); lost || err != nil {
		return nil, out, err
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
		out, done, serr := s.coalescers.Submit(s.gh, req)
		if serr != nil {
			return nil, reconcile.Stop(), serr
		}
		if !done {
			return nil, s.awaitCoalesced(i), nil
		}
		s.coalescers.For(s.gh, stage.Target.Repository, stage.Target.Branch).Forget(req)
		res, err = out.Result, out.Err
	} else {
		res, err = promotion.Promote(ctx, s.gh, req)
	}
	if err != nil {
		out, err := s.promotionFailed(ctx, i, err)
		return nil, out, err
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
		return nil, reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), nil
	}
	return res, reconcile.Outcome{}, nil
}

// coalesces: the stage's promotions go into coalesced commits (Commit
// strategy; pull requests and rollbacks are made on their own).
func (s *step) coalesces(stage *releasev1.Stage) bool {
	return s.coalescers != nil && stage.Target.Strategy != releasev1.StrategyPullRequest
}

// coalescedFallback is how long a promotion waits for its coalesced commit
// when the coalescer's wake-up was lost (the controller's channel full).
const coalescedFallback = 30 * time.Second

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
		if uerr := s.ledger.Free(ctx, s.pipe, rel, stage.Name); uerr != nil {
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
		if uerr := s.ledger.Free(ctx, s.pipe, rel, stage.Name); uerr != nil {
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
