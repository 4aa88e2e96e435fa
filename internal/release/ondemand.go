package release

import (
	"context"
	"fmt"
	"strconv"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// A rollback on demand (the pipeline's spec.rollbacks, admitted by the
// webhook with who asked and the version to go back to) is made by the
// Release whose version the stage runs, with the machinery of a rollback
// after a failure (rollBack): one revert commit found again by its trailers,
// the GitHub deployment marked failed, the postmortem, the stage RolledBack,
// the rolled-back notification. It claims the rollback in the pipeline's
// status.rollbacks first, so one Release makes it, once; the calendar does
// not hold it.

// rollbackAsked returns the index in pipe's spec.rollbacks of the rollback
// on demand rel makes now, or -1: one rel claimed and has not written back
// yet, else the first one no Release claimed of a stage that runs rel's
// version.
func rollbackAsked(pipe *releasev1.ReleasePipeline, rel *releasev1.Release) int {
	for k, rb := range pipe.Spec.Rollbacks {
		if pipe.StageIndex(rb.Stage) < 0 {
			continue
		}
		rec := pipe.Status.RollbackRecordOf(k)
		if rec == nil {
			if ps := pipe.Status.StageStatus(rb.Stage); ps != nil && ps.Release == rel.Name && ps.Version == rel.Spec.Version {
				return k
			}
			continue
		}
		if rec.Release != rel.Name || rec.Phase == releasev1.RollbackFailed {
			continue
		}
		ss := rel.Status.StageStatus(rb.Stage)
		if r := ss.Rollback; r == nil || r.Request == nil || int(*r.Request) != k || r.Commit == "" {
			return k
		}
	}
	return -1
}

// rollbackOnDemand makes the rollback on demand spec.rollbacks[k].
func (s *step) rollbackOnDemand(ctx context.Context, k int) (reconcile.Outcome, error) {
	rel := s.rel
	rec, err := s.ledger.ClaimRollback(ctx, s.pipe, rel, k)
	if err != nil || rec == nil {
		// Another Release's version runs there now: that one makes it.
		return reconcile.Stop(), err
	}
	ask := s.pipe.Spec.Rollbacks[k]
	i := s.pipe.StageIndex(ask.Stage)
	stage := &s.pipe.Spec.Stages[i]
	f := failure{reason: releasev1.ReasonRolledBack, what: onDemandWhat, why: fmt.Sprintf("%s asked for a rollback: %s", ask.By, ask.Reason)}
	n := int32(k)
	since := s.now
	if ask.At != nil {
		since = ask.At.Time
	}
	if stage.HasTargets() {
		return s.rollbackTargetsOnDemand(ctx, i, revert{f: f, onDemand: rec, by: ask.By, reason: ask.Reason, request: &n}, since)
	}
	req := &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: stage.Name,
		Version: rec.To, Target: stage.Target, Since: since,
		Revert: &promotion.Revert{BadVersion: rec.From, Reason: f.why, Request: strconv.Itoa(k)},
	}
	if rec.Phase != releasev1.RollbackDone {
		// What runs now, and where the version to go back to is found.
		target, ok := s.pipe.RollbackTargetFor(ask.Stage, rec.To)
		ps := s.pipe.Status.StageStatus(ask.Stage)
		if !ok || ps == nil {
			// Admission checked the history; a history that lost the
			// version since cannot be rolled back to it.
			rec.Phase = releasev1.RollbackFailed
			rec.Message = fmt.Sprintf("%s has no commit of %s in its history any more: ask again with a version it ran", ask.Stage, rec.To)
			return reconcile.Stop(), s.ledger.RecordRollback(ctx, s.pipe, *rec)
		}
		req.Revert.FromCommit, req.Revert.Restore, req.Revert.RestoreParent = ps.Commit, target.Commit, target.Parent
	}
	return s.rollBack(ctx, i, revert{f: f, req: req, onDemand: rec, by: ask.By, reason: ask.Reason, request: &n})
}
