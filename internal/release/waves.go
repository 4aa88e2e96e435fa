package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// A stage with targets (spec.stages[].targets) is promoted wave by wave,
// once its gates passed and its lock is taken as for any stage:
//
//	Promoting   promoteWave: write the wave's targets, one commit per
//	              repository and branch (promotion.CommitTogether; each
//	              target's promotion found again by its trailers, so a
//	              wave retried after a crash writes each target once)
//	Deploying   awaitWave: wait until each target's agent deployed its
//	              commit (a target without deployment is live once written)
//	Verifying   verify, as for any stage, once per wave: the analysis's
//	              queries get the wave's targets as {{ .Targets }}
//
// A wave done (waveDone) starts the next, unless the Release is paused or
// the calendar closed the stage: that holds the next wave, never one in
// flight. After the last, the pipeline records the version live in the
// stage and the stage is freed. A failure (a target's agent fails or times
// out, the wave's analysis fails) ends the stage (waveFailed, in
// waverollback.go): onFailure Rollback writes back the targets the stage's
// rollback chooses (the failed target, its wave, or every target the
// version reached), one commit per repository and branch; Halt keeps them.
// The waves after it never start.

// syncTargets makes stage i's status list its targets, each with its wave,
// keeping what was recorded of those that still exist, and sets the number
// of waves and the wave under way (the first, at the start).
func (s *step) syncTargets(i int) {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	ends, err := stage.WaveEnds()
	if err != nil {
		// The step checked the pipeline (TargetsError): one wave then.
		ends = []int{len(stage.Targets)}
	}
	out := make([]releasev1.TargetStatus, len(stage.Targets))
	wave := 0
	for k, t := range stage.Targets {
		for k >= ends[wave] {
			wave++
		}
		out[k] = releasev1.TargetStatus{Name: t.Name, Phase: releasev1.TargetPending}
		for _, old := range ss.Targets {
			if old.Name == t.Name {
				out[k] = old
			}
		}
		out[k].Wave = int32(wave + 1)
	}
	ss.Targets, ss.Waves = out, int32(len(ends))
	ss.Wave = min(max(ss.Wave, 1), ss.Waves)
}

// waveTargets names the targets of the wave under way, for the analysis's
// {{ .Targets }}: "" for a stage with one target.
func waveTargets(stage *releasev1.Stage, ss *releasev1.ReleaseStageStatus) string {
	if !stage.HasTargets() {
		return ""
	}
	var names []string
	for _, k := range inWave(ss) {
		names = append(names, ss.Targets[k].Name)
	}
	return strings.Join(names, "|")
}

// waveHeld says what holds the next wave of stage i from starting (the
// Release paused, the calendar closed), or "".
func (s *step) waveHeld(ctx context.Context, i int) (string, error) {
	if s.rel.Spec.Paused {
		return "the Release is paused", nil
	}
	facts, err := s.calendarFacts(ctx, s.pipe.Spec.Stages[i].Name)
	if err != nil || facts == nil {
		return "", err
	}
	if r := gates.Calendar(facts, s.now); r.State != releasev1.GatePassed {
		return r.Message, nil
	}
	return "", nil
}

// targetRequest is the promotion of the Release into target k of stage i.
func (s *step) targetRequest(i, k int) *promotion.Request {
	rel, stage, ss := s.rel, &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	t := &stage.Targets[k]
	return &promotion.Request{
		Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: targetWhere(stage.Name, t.Name),
		Version: rel.Spec.Version, Artifacts: rel.Spec.Artifacts, Pinned: rel.Status.Artifacts, Target: t.Target,
		Since: ss.Promotion.StartedAt.Time, Gates: gateSummary(ss.Gates), BeforeWrite: s.stillPinned(),
	}
}

// promoteWave writes the version into the targets of stage i's wave under
// way, one commit per repository and branch, and waits for their agents.
func (s *step) promoteWave(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if out, lost, err := s.startPromotion(ctx, i); lost || err != nil {
		return out, err
	}
	s.syncTargets(i)
	var todo []int
	for _, k := range inWave(ss) {
		if ss.Targets[k].Commit == "" {
			todo = append(todo, k)
		}
	}
	if ss.Wave > 1 && len(todo) == len(inWave(ss)) {
		// The next wave has not started: what holds a stage holds it.
		held, err := s.waveHeld(ctx, i)
		if err != nil {
			return s.gatherFailed(err)
		}
		if held != "" {
			ss.Message = fmt.Sprintf("%s; wave %d held: %s", waveProgress(rel, ss), ss.Wave, held)
			setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonGatesPending, message: ss.Message})
			return reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), nil
		}
	}
	order, groups, of := byBranch(stage, todo, func(k int) *promotion.Request { return s.targetRequest(i, k) })
	var landed []releasev1.PipelineTargetStatus
	var failure error
	for _, key := range order {
		outs := promotion.CommitTogether(ctx, s.gh, key[0], key[1], groups[key])
		for _, req := range groups[key] {
			o, ts := outs[req], &ss.Targets[of[req]]
			if o.Err != nil {
				failure = o.Err
				ts.Message = o.Err.Error()
				continue
			}
			at := metav1.NewTime(s.now)
			ts.Commit, ts.PreviousVersion, ts.CommittedAt, ts.Phase = o.Result.Commit, o.Result.PreviousVersion, &at, releasev1.TargetDeploying
			ts.Message = fmt.Sprintf("commit %s on %s@%s", github.ShortSHA(ts.Commit), key[0], key[1])
			if ss.Promotion.PreviousVersion == "" {
				ss.Promotion.PreviousVersion = ts.PreviousVersion
			}
			ss.Promotion.Commit = ts.Commit
			s.recordTarget(ctx, i, of[req], o.Result.Resumed)
			landed = append(landed, releasev1.PipelineTargetStatus{Name: ts.Name, Version: rel.Spec.Version, Commit: ts.Commit})
		}
	}
	if len(landed) > 0 {
		if err := s.ledger.Targets(ctx, s.pipe, stage.Name, landed); err != nil {
			return reconcile.Stop(), err
		}
	}
	if failure != nil {
		var te *promotion.TargetError
		if errors.As(failure, &te) {
			// What landed is recorded; the rest is written once a person
			// fixed the file or the pipeline.
			ss.Message = fmt.Sprintf("%s; cannot write the version: %v", waveProgress(rel, ss), te)
			s.stall(releasev1.ReasonTargetInvalid, fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", stage.Name, ss.Message))
			return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
		}
		return s.githubError(failure)
	}
	done := metav1.NewTime(s.now)
	ss.Promotion.CompletedAt = &done
	if ss.CommittedAt == nil {
		ss.CommittedAt = &done
	}
	ss.Phase = releasev1.StageDeploying
	ss.Message = fmt.Sprintf("%s: wave %d committed; waiting for its targets to deploy it", waveProgress(rel, ss), ss.Wave)
	setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}

// awaitWave asks the agent of each target of stage i's wave whether its
// commit is deployed. Once every one is, the wave is verified (the stage's
// verify) or done; a target that failed to deploy fails the stage.
func (s *step) awaitWave(ctx context.Context, i int) (reconcile.Outcome, error) {
	if out, ok, err := s.resumeRollback(ctx, i); ok {
		return out, err
	}
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	s.syncTargets(i)
	recheck := time.Time{}
	var waiting, blocked []string
	var live []releasev1.PipelineTargetStatus
	for _, k := range inWave(ss) {
		ts, spec := &ss.Targets[k], stage.Targets[k].Deployment
		if ts.Phase == releasev1.TargetFailed {
			// Its failure was decided and its end not recorded yet.
			return s.waveFailed(ctx, i, targetFailed(ts))
		}
		if ts.Phase != releasev1.TargetDeploying {
			continue
		}
		if spec == nil {
			// Without an agent to ask, committed counts as live.
			ts.Phase, ts.DeployedAt = releasev1.TargetDeployed, ts.CommittedAt
			live = append(live, releasev1.PipelineTargetStatus{Name: ts.Name, Version: rel.Spec.Version, Commit: ts.Commit, DeployedAt: ts.DeployedAt})
			continue
		}
		d, err := s.askTarget(ctx, i, k, ts.Commit, ts.CommittedAt, &ts.Deployment)
		if err != nil {
			return reconcile.Stop(), err
		}
		switch d.Next {
		case agents.NextDeployed:
			at := metav1.NewTime(s.now)
			ts.Phase, ts.DeployedAt, ts.Message = releasev1.TargetDeployed, &at, d.Message
			live = append(live, releasev1.PipelineTargetStatus{Name: ts.Name, Version: rel.Spec.Version, Commit: ts.Commit, DeployedAt: &at})
			continue
		case agents.NextFail:
			ts.Phase, ts.Message = releasev1.TargetFailed, ts.Deployment.Message
			return s.waveFailed(ctx, i, targetFailed(ts))
		case agents.NextBlocked:
			blocked = append(blocked, fmt.Sprintf("%s: %s", ts.Name, d.Message))
		default:
			ts.Message = d.Message
			waiting = append(waiting, ts.Name)
		}
		if recheck.IsZero() || d.RecheckAt.Before(recheck) {
			recheck = d.RecheckAt
		}
	}
	if len(live) > 0 {
		if err := s.ledger.Targets(ctx, s.pipe, stage.Name, live); err != nil {
			return reconcile.Stop(), err
		}
	}
	switch {
	case len(blocked) > 0:
		ss.Message = fmt.Sprintf("%s: cannot tell whether it is deployed: %s", waveProgress(rel, ss), strings.Join(blocked, "; "))
		s.stall(releasev1.ReasonAgentNotFound, fmt.Sprintf("stage %s: %s", stage.Name, ss.Message))
		return reconcile.WaitUntil(recheck, reconcile.WaitDeployed), nil
	case len(waiting) > 0:
		ss.Message = fmt.Sprintf("%s: waiting for %s to deploy it", waveProgress(rel, ss), strings.Join(waiting, ", "))
		setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
		return reconcile.WaitUntil(recheck, reconcile.WaitDeployed), nil
	}
	at := metav1.NewTime(s.now)
	ss.DeployedAt = &at
	if stage.Verify != nil {
		ss.RolloutReadyAt, ss.Analysis = nil, nil
		s.startVerifying(i)
		ss.Message = fmt.Sprintf("%s: wave %d deployed; verifying", waveProgress(rel, ss), ss.Wave)
		setConditions(rel, conclusion{phase: releasev1.PhaseVerifying, reason: releasev1.ReasonVerifying, message: ss.Message})
		return reconcile.WriteThenContinue(), nil
	}
	return s.waveDone(ctx, i, "deployed")
}

// targetFailed is the failure of target ts, whose agent reported it
// failed or did not deploy it in time.
func targetFailed(ts *releasev1.TargetStatus) failure {
	f := deployFailure(&releasev1.ReleaseStageStatus{Deployment: ts.Deployment})
	f.why = fmt.Sprintf("target %s: %s", ts.Name, f.why)
	return f
}

// waveDone goes on after stage i's wave under way was deployed and
// verified: to the next wave, or, after the last, the stage is promoted,
// the pipeline records the version live there and the stage is freed.
func (s *step) waveDone(ctx context.Context, i int, msg string) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	s.endTargetDeployments(ctx, i, inWave(ss), github.DeploymentSuccess, fmt.Sprintf("%s live: wave %d of %d %s", rel.Spec.Version, ss.Wave, ss.Waves, msg))
	if ss.Wave < ss.Waves {
		ss.Message = fmt.Sprintf("%s: wave %d %s; wave %d next", waveProgress(rel, ss), ss.Wave, msg, ss.Wave+1)
		ss.Wave++
		ss.Phase = releasev1.StagePromoting
		setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoting, message: ss.Message})
		return reconcile.WriteThenContinue(), nil
	}
	if err := s.ledger.Landed(ctx, s.pipe, rel, stage.Name, ss.Promotion.Commit, ss.Promotion.PreviousVersion, s.now, AwaitsNothing); err != nil {
		return reconcile.Stop(), err
	}
	done := metav1.NewTime(s.now)
	ss.Promotion.CompletedAt = &done
	ss.Phase = releasev1.StagePromoted
	ss.Message = fmt.Sprintf("%s live in %s: %d targets in %d waves, the last %s", rel.Spec.Version, stage.Name, len(ss.Targets), ss.Waves, msg)
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonDeployed, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}
