package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// A failure in a wave writes back the targets the stage's rollback chooses
// (waveFailed): they are marked RollingBack in the Release's status before
// the first commit, so a rollback that GitHub turned away is retried for
// the same targets, each written back once (found again by its trailers).
// A rollback on demand of a stage with targets writes back, the same way,
// every target that runs the Release's version.

// waveFailed ends stage i after a failure in its wave under way, as its
// onFailure says: Halt keeps every target as it is; Rollback writes back
// the targets the stage's rollback chooses (rollBackWave). The waves after
// it never start, and the Release fails.
func (s *step) waveFailed(ctx context.Context, i int, f failure) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if rollbackDecided(ss) {
		return s.rollBackWave(ctx, i, f)
	}
	for k := range ss.Targets {
		if t := &ss.Targets[k]; t.Phase == releasev1.TargetPending {
			t.Message = fmt.Sprintf("not started: wave %d failed", ss.Wave)
		}
	}
	back := chooseRollback(stage, ss)
	if stage.OnFailure == releasev1.FailureHalt || len(back) == 0 {
		if err := s.ledger.Free(ctx, s.pipe, rel, stage.Name); err != nil {
			return reconcile.Stop(), err
		}
		s.postmortem(ctx, i, f)
		s.endTargetDeployments(ctx, i, inWave(ss), github.DeploymentFailure, f.why)
		ss.Phase, ss.Message = releasev1.StageFailed, fmt.Sprintf("%s; halted with %s in %s", f.why, rel.Spec.Version, waveProgress(rel, ss))
		setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: f.reason, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
		return reconcile.Stop(), nil
	}
	// The choice is recorded before anything is written: a rollback
	// retried after GitHub turned it away writes back the same targets.
	ss.Rollback = &releasev1.RollbackStatus{Version: ss.Promotion.PreviousVersion, Message: f.why}
	for _, k := range back {
		ss.Targets[k].Phase = releasev1.TargetRollingBack
	}
	return s.rollBackWave(ctx, i, f)
}

// rollbackDecided reports whether a failure of stage ss chose the targets
// to write back and the rollback has not landed yet.
func rollbackDecided(ss *releasev1.ReleaseStageStatus) bool {
	return ss.Rollback != nil && ss.Rollback.At == nil && ss.Rollback.Request == nil
}

// resumeRollback goes on with the rollback of stage i that a failure chose
// before (its write was turned away), whatever the stage's phase says.
func (s *step) resumeRollback(ctx context.Context, i int) (reconcile.Outcome, bool, error) {
	ss := &s.rel.Status.Stages[i]
	if !rollbackDecided(ss) {
		return reconcile.Outcome{}, false, nil
	}
	out, err := s.rollBackWave(ctx, i, owedFailure(ss, ss.Rollback.Message))
	return out, true, err
}

// chooseRollback are the positions of the targets of stage ss that a
// failure in its wave under way writes back, as the stage's rollback says:
// the target that failed (Target; the wave when its analysis failed, which
// names no target), every target of the wave (Wave) or every target the
// version reached (Stage, the default).
func chooseRollback(stage *releasev1.Stage, ss *releasev1.ReleaseStageStatus) []int {
	scope := stage.Rollback
	failed := func(t releasev1.TargetStatus) bool { return t.Phase == releasev1.TargetFailed }
	if scope == releasev1.RollbackScopeTarget && !slices.ContainsFunc(ss.Targets, failed) {
		scope = releasev1.RollbackScopeWave
	}
	var out []int
	for k, t := range ss.Targets {
		if t.Commit == "" || t.Phase == releasev1.TargetRolledBack || t.Phase == releasev1.TargetPending {
			continue
		}
		switch {
		case scope == releasev1.RollbackScopeTarget && !failed(t):
		case scope == releasev1.RollbackScopeWave && t.Wave != ss.Wave:
		default:
			out = append(out, k)
		}
	}
	return out
}

// rollBackWave writes back the targets of stage i its failure chose (they
// are RollingBack), one commit per repository and branch, each found again
// by its trailers after a crash. The targets not chosen keep the version.
func (s *step) rollBackWave(ctx context.Context, i int, f failure) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	back, commits, err := s.writeBackTargets(ctx, i, ss.Promotion.StartedAt.Time, func(t *releasev1.TargetStatus) *promotion.Revert {
		return &promotion.Revert{FromCommit: t.Commit, BadVersion: rel.Spec.Version, Reason: f.why}
	})
	if err != nil {
		return s.githubError(err)
	}
	if err := s.ledger.Targets(ctx, s.pipe, stage.Name, back); err != nil {
		return reconcile.Stop(), err
	}
	if err := s.ledger.Free(ctx, s.pipe, rel, stage.Name); err != nil {
		return reconcile.Stop(), err
	}
	names := targetNames(back)
	for k := range ss.Targets {
		if t := &ss.Targets[k]; t.Phase == releasev1.TargetDeploying || t.Phase == releasev1.TargetDeployed {
			t.Message = fmt.Sprintf("keeps %s: the stage's rollback (%s) wrote back %s", rel.Spec.Version, rollbackScope(stage), names)
		}
	}
	at := metav1.NewTime(s.now)
	ss.Rollback.Commit, ss.Rollback.At = commits[len(commits)-1], &at
	ss.Rollback.Message = fmt.Sprintf("%d targets written back in %d commits", len(back), len(commits))
	s.postmortem(ctx, i, f)
	s.failWrittenBack(ctx, i, back, f.why)
	ss.Phase = releasev1.StageRolledBack
	ss.Message = fmt.Sprintf("%s; rolled back %s in %d commits; the waves after wave %d of %d never start", f.why, names, len(commits), ss.Wave, ss.Waves)
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	if s.startFollowingTargets(i) {
		return reconcile.WriteThenContinue(), nil
	}
	return reconcile.Stop(), nil
}

// writeBackTargets writes the version each RollingBack target of stage i ran
// before back (revert says how), one commit per repository and branch,
// each found again by its trailers (none older than since). It returns
// every target this rollback wrote back, those of an earlier try included,
// and its commits, or GitHub's error.
func (s *step) writeBackTargets(ctx context.Context, i int, since time.Time, revert func(*releasev1.TargetStatus) *promotion.Revert) ([]releasev1.PipelineTargetStatus, []string, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	var chosen []int
	for k, t := range ss.Targets {
		if t.Phase == releasev1.TargetRollingBack || t.Phase == releasev1.TargetRolledBack && t.RollbackCommit != "" {
			chosen = append(chosen, k)
		}
	}
	order, groups, of := byBranch(stage, chosen, func(k int) *promotion.Request {
		t := &ss.Targets[k]
		return &promotion.Request{
			Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: targetWhere(stage.Name, t.Name),
			Version: t.PreviousVersion, Target: stage.Targets[k].Target, Since: since, Revert: revert(t),
		}
	})
	var back []releasev1.PipelineTargetStatus
	var commits []string
	for _, key := range order {
		var todo []*promotion.Request
		for _, req := range groups[key] {
			if ss.Targets[of[req]].Phase == releasev1.TargetRollingBack {
				todo = append(todo, req)
			}
		}
		outs := map[*promotion.Request]promotion.Outcome{}
		if len(todo) > 0 {
			outs = promotion.CommitTogether(ctx, s.gh, key[0], key[1], todo)
		}
		for _, req := range groups[key] {
			ts := &ss.Targets[of[req]]
			if o, ok := outs[req]; ok {
				if o.Err != nil {
					return nil, nil, o.Err
				}
				ts.Phase, ts.RollbackCommit = releasev1.TargetRolledBack, o.Result.Commit
				ts.Message = fmt.Sprintf("%s written back: commit %s", ts.PreviousVersion, github.ShortSHA(o.Result.Commit))
			}
			back = append(back, releasev1.PipelineTargetStatus{Name: ts.Name, Version: ts.PreviousVersion, Commit: ts.RollbackCommit})
			if !slices.Contains(commits, ts.RollbackCommit) {
				commits = append(commits, ts.RollbackCommit)
			}
		}
	}
	return back, commits, nil
}

// targetNames lists the targets' names for people.
func targetNames(ts []releasev1.PipelineTargetStatus) string {
	names := make([]string, len(ts))
	for k, t := range ts {
		names[k] = t.Name
	}
	return strings.Join(names, ", ")
}

// rollbackScope is the stage's rollback, defaulted.
func rollbackScope(stage *releasev1.Stage) releasev1.RollbackScope {
	return releasev1.RollbackScope(orDefault(string(stage.Rollback), string(releasev1.RollbackScopeStage)))
}

// rollbackTargetsOnDemand makes the rollback on demand rb of stage i, a
// stage with targets: every target that runs the Release's version (the
// pipeline says its commit is the Release's) gets back what its files held
// before that commit, one commit per repository and branch. The record in
// the pipeline names the targets.
func (s *step) rollbackTargetsOnDemand(ctx context.Context, i int, rb revert, since time.Time) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	rec := rb.onDemand
	if ss.Rollback == nil || !sameRequest(ss.Rollback.Request, rb.request) {
		ss.Rollback = &releasev1.RollbackStatus{Request: rb.request, RequestedBy: rb.by, Reason: rb.reason, Version: rec.To}
		for k := range ss.Targets {
			if t := &ss.Targets[k]; runsCommit(s.pipe, stage.Name, t) {
				t.Phase = releasev1.TargetRollingBack
			}
		}
	}
	back, commits, err := s.writeBackTargets(ctx, i, since, func(t *releasev1.TargetStatus) *promotion.Revert {
		return &promotion.Revert{FromCommit: t.Commit, BadVersion: rec.From, Reason: rb.f.why, Request: fmt.Sprint(*rb.request)}
	})
	if err != nil {
		return s.githubError(err)
	}
	if len(back) == 0 {
		rec.Phase = releasev1.RollbackFailed
		rec.Message = fmt.Sprintf("no target of %s runs %s any more: nothing to roll back", stage.Name, rec.From)
		ss.Rollback = nil
		return reconcile.Stop(), s.ledger.RecordRollback(ctx, s.pipe, *rec)
	}
	if err := s.ledger.Targets(ctx, s.pipe, stage.Name, back); err != nil {
		return reconcile.Stop(), err
	}
	at := metav1.NewTime(s.now)
	if rec.At != nil {
		at = *rec.At
	}
	names := targetNames(back)
	msg := fmt.Sprintf("%s; rolled back %s to %s in %d commits", rb.f.why, names, rec.To, len(commits))
	rec.Phase, rec.Commit, rec.At, rec.Message = releasev1.RollbackDone, commits[len(commits)-1], &at, msg
	rec.Targets = rec.Targets[:0]
	for _, b := range back {
		rec.Targets = append(rec.Targets, b.Name)
	}
	awaits := AwaitsNothing
	if anyAgent(stage) {
		awaits = AwaitsDeployment
	}
	if err := s.ledger.RolledBack(ctx, s.pipe, rel, stage.Name, rec.To, rec.Commit, s.now, awaits, rec); err != nil {
		return reconcile.Stop(), err
	}
	ss.Rollback.Commit, ss.Rollback.At = rec.Commit, &at
	ss.Rollback.Message = fmt.Sprintf("%d targets written back in %d commits", len(back), len(commits))
	s.postmortem(ctx, i, rb.f)
	s.failWrittenBack(ctx, i, back, rb.f.why)
	ss.Phase, ss.Message = releasev1.StageRolledBack, msg
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	if s.startFollowingTargets(i) {
		return reconcile.WriteThenContinue(), nil
	}
	return reconcile.Stop(), nil
}

// runsCommit reports whether the pipeline says target t of stage runs the
// commit the Release landed there.
func runsCommit(pipe *releasev1.ReleasePipeline, stage string, t *releasev1.TargetStatus) bool {
	ps := pipe.Status.StageStatus(stage)
	if t.Commit == "" || ps == nil {
		return false
	}
	return slices.ContainsFunc(ps.Targets, func(pt releasev1.PipelineTargetStatus) bool { return pt.Name == t.Name && pt.Commit == t.Commit })
}

// anyAgent reports whether a target of stage has a deployment agent.
func anyAgent(stage *releasev1.Stage) bool {
	return slices.ContainsFunc(stage.Targets, func(t releasev1.StageTarget) bool { return t.Deployment != nil })
}

// startFollowingTargets makes the rollback of stage i follow each target
// written back until its agent applied the rollback commit; a target
// without an agent runs the version written back at once. It returns
// whether any target is followed.
func (s *step) startFollowingTargets(i int) bool {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	var followed []string
	for k := range ss.Targets {
		ts, spec := &ss.Targets[k], stage.Targets[k].Deployment
		if ts.Phase != releasev1.TargetRolledBack || ts.RollbackDeployedAt != nil {
			continue
		}
		if spec == nil {
			ts.RollbackDeployedAt = ss.Rollback.At
			continue
		}
		deadline := metav1.NewTime(agents.Deadline(spec, s.now))
		ts.RollbackDeployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying, Deadline: &deadline,
			Message: fmt.Sprintf("waiting for %s to apply the rollback commit %s", agentName(spec), github.ShortSHA(ts.RollbackCommit))}
		followed = append(followed, ts.Name)
	}
	if len(followed) == 0 {
		return false
	}
	ss.Rollback.Deployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying,
		Message: fmt.Sprintf("waiting for the agents of %s to apply the rollback", strings.Join(followed, ", "))}
	ss.Rollback.Message = fmt.Sprintf("%s; waiting for %s to deploy it", ss.Rollback.Message, strings.Join(followed, ", "))
	return true
}

// followTargetsRollback asks the agent of each target of stage i written
// back whether its rollback commit is deployed, records what each target
// runs in the pipeline, and once every one is, the stage runs the version
// written back. The Release stays Failed whatever the agents say.
func (s *step) followTargetsRollback(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	rb := ss.Rollback
	recheck := time.Time{}
	var waiting, failed []string
	var live []releasev1.PipelineTargetStatus
	for k := range ss.Targets {
		ts, spec := &ss.Targets[k], stage.Targets[k].Deployment
		if ts.Phase != releasev1.TargetRolledBack || ts.RollbackDeployedAt != nil || spec == nil {
			continue
		}
		if d := ts.RollbackDeployment; d != nil && (d.Reason == releasev1.ReasonDeployFailed || d.Reason == releasev1.ReasonDeployTimeout) {
			failed = append(failed, ts.Name)
			continue
		}
		d, err := s.askTarget(ctx, i, k, ts.RollbackCommit, rb.At, &ts.RollbackDeployment)
		if err != nil {
			return reconcile.Stop(), err
		}
		switch d.Next {
		case agents.NextDeployed:
			at := metav1.NewTime(s.now)
			ts.RollbackDeployedAt = &at
			ts.Message = fmt.Sprintf("%s is live again since %s: %s", ts.PreviousVersion, stamp(&at), d.Message)
			live = append(live, releasev1.PipelineTargetStatus{Name: ts.Name, Version: ts.PreviousVersion, Commit: ts.RollbackCommit, DeployedAt: &at})
			continue
		case agents.NextFail:
			ts.Message = fmt.Sprintf("the rollback to %s (commit %s) was not deployed: %s: %s needs a person", ts.PreviousVersion, github.ShortSHA(ts.RollbackCommit), d.Message, ts.Name)
			failed = append(failed, ts.Name)
			continue
		default:
			ts.Message = fmt.Sprintf("%s written back (commit %s); waiting for it to be deployed: %s", ts.PreviousVersion, github.ShortSHA(ts.RollbackCommit), d.Message)
			waiting = append(waiting, ts.Name)
		}
		if recheck.IsZero() || d.RecheckAt.Before(recheck) {
			recheck = d.RecheckAt
		}
	}
	if err := s.ledger.Targets(ctx, s.pipe, stage.Name, live); err != nil {
		return reconcile.Stop(), err
	}
	out := reconcile.Stop()
	switch {
	case len(waiting) > 0:
		rb.Message = fmt.Sprintf("%s written back; waiting for %s to deploy it", rb.Version, strings.Join(waiting, ", "))
		out = reconcile.WaitUntil(recheck, reconcile.WaitDeployed)
	case len(failed) > 0:
		rb.Deployment.State, rb.Deployment.Reason = releasev1.DeploymentDegraded, releasev1.ReasonDeployFailed
		rb.Message = fmt.Sprintf("the rollback to %s was not deployed in %s: they need a person", rb.Version, strings.Join(failed, ", "))
		rb.Deployment.Message = rb.Message
	default:
		at, err := s.ledger.Deployed(ctx, s.pipe, rel, stage.Name, rb.Commit, s.now, AwaitsNothing)
		if err != nil {
			return reconcile.Stop(), err
		}
		rb.DeployedAt = &at
		rb.Deployment.State, rb.Deployment.Message = releasev1.DeploymentDeployed, "every target written back runs "+rb.Version
		rb.Message = fmt.Sprintf("%s is live again in every target of %s written back since %s", rb.Version, stage.Name, stamp(&at))
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s; %s", stage.Name, ss.Message, rb.Message)})
	return out, nil
}
