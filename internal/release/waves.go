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
// out, the wave's analysis fails) ends the stage (waveFailed): onFailure
// Rollback writes back every target the version reached, one commit per
// repository and branch; Halt keeps them. The waves after it never start.

// waveSteps is the step of each phase of a stage with targets; the phases
// not named step as for a stage with one target.
var waveSteps = map[releasev1.StagePhase]stageStep{
	releasev1.StagePromoting:     (*step).promoteWave,
	releasev1.StageAwaitingMerge: (*step).promoteWave,
	releasev1.StageDeploying:     (*step).awaitWave,
}

// targetWhere names one target of a stage in trailers and agents' requests.
func targetWhere(stage, target string) string { return stage + "/" + target }

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

// inWave are the positions of stage i's targets in its wave under way.
func inWave(ss *releasev1.ReleaseStageStatus) []int {
	var out []int
	for k, t := range ss.Targets {
		if t.Wave == ss.Wave {
			out = append(out, k)
		}
	}
	return out
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

// waveProgress is the short summary of a stage with targets: "prod 2/6 on
// 1.5.0, wave 1 of 3".
func waveProgress(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus) string {
	live := 0
	for _, t := range ss.Targets {
		if t.Phase == releasev1.TargetDeployed {
			live++
		}
	}
	return fmt.Sprintf("%s %d/%d on %s, wave %d of %d", ss.Name, live, len(ss.Targets), rel.Spec.Version, ss.Wave, ss.Waves)
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

// byBranch groups the targets k of stage i by repository and branch, in
// their order: each group is one commit.
func byBranch(stage *releasev1.Stage, ks []int, req func(k int) *promotion.Request) ([][2]string, map[[2]string][]*promotion.Request, map[*promotion.Request]int) {
	var order [][2]string
	groups := map[[2]string][]*promotion.Request{}
	of := map[*promotion.Request]int{}
	for _, k := range ks {
		t := stage.Targets[k].Target
		key := [2]string{t.Repository, orDefault(t.Branch, "main")}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		r := req(k)
		r.Target.Branch = key[1]
		groups[key] = append(groups[key], r)
		of[r] = k
	}
	return order, groups, of
}

// promoteWave writes the version into the targets of stage i's wave under
// way, one commit per repository and branch, and waits for their agents.
func (s *step) promoteWave(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if ss.Promotion == nil || ss.Promotion.StartedAt == nil {
		started := metav1.NewTime(s.now)
		ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	}
	if out, lost, err := s.lostStage(ctx, i); lost || err != nil {
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
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	s.syncTargets(i)
	recheck := time.Time{}
	var waiting, blocked []string
	var live []releasev1.PipelineTargetStatus
	for _, k := range inWave(ss) {
		ts, spec := &ss.Targets[k], stage.Targets[k].Deployment
		if ts.Phase != releasev1.TargetDeploying {
			continue
		}
		if spec == nil {
			// Without an agent to ask, committed counts as live.
			ts.Phase, ts.DeployedAt = releasev1.TargetDeployed, ts.CommittedAt
			live = append(live, releasev1.PipelineTargetStatus{Name: ts.Name, Version: rel.Spec.Version, Commit: ts.Commit, DeployedAt: ts.DeployedAt})
			continue
		}
		commits := agents.Commits{Commit: ts.Commit, Repository: stage.Targets[k].Target.Repository}
		d, err := s.askAgent(ctx, targetWhere(stage.Name, ts.Name), spec, commits, ts.CommittedAt, &ts.Deployment)
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
			f := deployFailure(&releasev1.ReleaseStageStatus{Deployment: ts.Deployment})
			f.why = fmt.Sprintf("target %s: %s", ts.Name, f.why)
			return s.waveFailed(ctx, i, f)
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

// waveDone goes on after stage i's wave under way was deployed and
// verified: to the next wave, or, after the last, the stage is promoted,
// the pipeline records the version live there and the stage is freed.
func (s *step) waveDone(ctx context.Context, i int, msg string) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
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

// waveFailed ends stage i after a failure in its wave under way, as its
// onFailure says: Rollback writes back every target the version reached
// in the stage, one commit per repository and branch (each found again by
// its trailers after a crash); Halt keeps them. The waves after it never
// start, and the Release fails.
func (s *step) waveFailed(ctx context.Context, i int, f failure) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	var reached []int
	for k, t := range ss.Targets {
		if t.Commit != "" && t.Phase != releasev1.TargetRolledBack {
			reached = append(reached, k)
		}
	}
	for k := range ss.Targets {
		if t := &ss.Targets[k]; t.Phase == releasev1.TargetPending {
			t.Message = fmt.Sprintf("not started: wave %d failed", ss.Wave)
		}
	}
	if stage.OnFailure == releasev1.FailureHalt || len(reached) == 0 {
		if err := s.ledger.Free(ctx, s.pipe, rel, stage.Name); err != nil {
			return reconcile.Stop(), err
		}
		s.postmortem(ctx, i, f)
		ss.Phase, ss.Message = releasev1.StageFailed, fmt.Sprintf("%s; halted with %s in %s", f.why, rel.Spec.Version, waveProgress(rel, ss))
		setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: f.reason, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
		return reconcile.Stop(), nil
	}
	order, groups, of := byBranch(stage, reached, func(k int) *promotion.Request {
		t := &ss.Targets[k]
		return &promotion.Request{
			Namespace: rel.Namespace, Release: rel.Name, Application: s.pipe.Name, Stage: targetWhere(stage.Name, t.Name),
			Version: t.PreviousVersion, Target: stage.Targets[k].Target, Since: ss.Promotion.StartedAt.Time,
			Revert: &promotion.Revert{FromCommit: t.Commit, BadVersion: rel.Spec.Version, Reason: f.why},
		}
	})
	var back []releasev1.PipelineTargetStatus
	var commits []string
	for _, key := range order {
		outs := promotion.CommitTogether(ctx, s.gh, key[0], key[1], groups[key])
		for _, req := range groups[key] {
			o, ts := outs[req], &ss.Targets[of[req]]
			if o.Err != nil {
				return s.githubError(o.Err)
			}
			ts.Phase, ts.RollbackCommit = releasev1.TargetRolledBack, o.Result.Commit
			ts.Message = fmt.Sprintf("%s written back: commit %s", ts.PreviousVersion, github.ShortSHA(o.Result.Commit))
			back = append(back, releasev1.PipelineTargetStatus{Name: ts.Name, Version: ts.PreviousVersion, Commit: o.Result.Commit})
			if len(commits) == 0 || commits[len(commits)-1] != o.Result.Commit {
				commits = append(commits, o.Result.Commit)
			}
		}
	}
	if err := s.ledger.Targets(ctx, s.pipe, stage.Name, back); err != nil {
		return reconcile.Stop(), err
	}
	if err := s.ledger.Free(ctx, s.pipe, rel, stage.Name); err != nil {
		return reconcile.Stop(), err
	}
	at := metav1.NewTime(s.now)
	ss.Rollback = &releasev1.RollbackStatus{Version: ss.Promotion.PreviousVersion, Commit: commits[len(commits)-1], At: &at,
		Message: fmt.Sprintf("%d targets written back in %d commits", len(back), len(commits))}
	s.postmortem(ctx, i, f)
	names := make([]string, len(back))
	for k, b := range back {
		names[k] = b.Name
	}
	ss.Phase = releasev1.StageRolledBack
	ss.Message = fmt.Sprintf("%s; rolled back %s in %d commits; the waves after wave %d of %d never start", f.why, strings.Join(names, ", "), len(commits), ss.Wave, ss.Waves)
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s", stage.Name, ss.Message)})
	return reconcile.Stop(), nil
}
