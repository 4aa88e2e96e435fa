package release

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// stepStages runs the step of each ready stage, as its phase says in
// stageSteps, and combines their outcomes (Outcome.And). A stage whose step
// waited earlier in this reconcile is not stepped again: its wait counts.
// An error of one stage's step is returned once the others were stepped.
// When one stage fails the Release, the stages after it in ready are not
// stepped; the stages not started never start, and a promotion in flight
// is finished by the next reconcile (finishInFlight).
func (s *step) stepStages(ctx context.Context, ready []int) (reconcile.Outcome, error) {
	rel := s.rel
	rel.Status.CurrentStage = s.stageList(ready)
	out := reconcile.Stop()
	var failed error
	var stalled *conclusion
	for _, i := range ready {
		name := s.pipe.Spec.Stages[i].Name
		o, waited := s.waits[name]
		if !waited {
			next, ok := s.stepOf(i)
			if !ok {
				next = (*step).evaluate
			}
			was := stalledNow(rel)
			var err error
			if o, err = next(s, ctx, i); err != nil {
				// A transient failure of one branch (retried with backoff)
				// does not hold its siblings.
				failed = cmp.Or(failed, err)
				continue
			}
			if rel.Status.Phase == releasev1.PhaseFailed {
				s.notStarted(name)
				return o, failed
			}
			if !o.Continues() && len(ready) > 1 {
				s.waits[name] = o
			}
			if c := stalledNow(rel); c != nil && (was == nil || *was != *c) {
				// This step stalled the Release (not a summary before it).
				stalled = c
			}
		}
		out = out.And(o, s.now)
	}
	rel.Status.CurrentStage = s.stageList(ready)
	if len(ready) > 1 {
		s.summarize(ready, stalled)
	}
	return out, failed
}

// maxCurrentStage bounds status.currentStage (a printer column): past it,
// the stages after the first are counted, not named.
const maxCurrentStage = 40

// stageList names stages for status.currentStage: "prod-eu, prod-us", or
// "prod-eu +3" when their names would be too long for a column.
func (s *step) stageList(idx []int) string {
	names := make([]string, len(idx))
	for k, i := range idx {
		names[k] = s.pipe.Spec.Stages[i].Name
		if ss := &s.rel.Status.Stages[i]; ss.Waves > 0 && ss.Phase != releasev1.StagePromoted && len(idx) == 1 {
			// A stage with targets under way: how far it is.
			names[k] = waveProgress(s.rel, ss)
		}
	}
	if all := strings.Join(names, ", "); len(all) <= maxCurrentStage || len(names) == 1 {
		return all
	}
	return fmt.Sprintf("%s +%d", names[0], len(names)-1)
}

// stageStep moves stage i on.
type stageStep func(s *step, ctx context.Context, i int) (reconcile.Outcome, error)

// stepOf is the step of stage i in its phase: stageSteps', or, for a stage
// with targets, waveSteps'.
func (s *step) stepOf(i int) (stageStep, bool) {
	phase := s.rel.Status.Stages[i].Phase
	if s.pipe.Spec.Stages[i].HasTargets() {
		if next, ok := waveSteps[phase]; ok {
			return next, true
		}
	}
	next, ok := stageSteps[phase]
	return next, ok
}

// stageSteps is the step of each phase of a stage.
var stageSteps = map[releasev1.StagePhase]stageStep{
	releasev1.StagePending:       (*step).evaluate,
	releasev1.StageWaiting:       (*step).evaluate,
	releasev1.StagePromoting:     (*step).promote,
	releasev1.StageAwaitingMerge: (*step).promote,
	releasev1.StageDeploying:     (*step).awaitDeployed,
	releasev1.StageVerifying:     (*step).verify,
}

// waveSteps is the step of each phase of a stage with targets; the phases
// not named step as for a stage with one target.
var waveSteps = map[releasev1.StagePhase]stageStep{
	releasev1.StagePromoting:     (*step).promoteWave,
	releasev1.StageAwaitingMerge: (*step).promoteWave,
	releasev1.StageDeploying:     (*step).awaitWave,
	releasev1.StageVerifying:     (*step).verifyWave,
}

// stalledNow is the conclusion a step left when it stalled the Release (a
// person must fix the pipeline or a file), or nil.
func stalledNow(rel *releasev1.Release) *conclusion {
	c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionStalled)
	if c == nil || c.Status != metav1.ConditionTrue {
		return nil
	}
	return &conclusion{phase: rel.Status.Phase, reason: c.Reason, message: c.Message, blocked: true, stalled: true}
}

// summarize sets the conditions of a Release with several stages ready:
// the message tells what each does ("prod-eu Verifying: ...; prod-us
// Waiting: ..."); the phase and reason are those of a stage stalled (a
// person must fix it whatever the others do), else of the first stage in
// flight, else of the first waiting: the Release is Blocked only when every
// stage is.
func (s *step) summarize(ready []int, stalled *conclusion) {
	rel := s.rel
	parts := make([]string, 0, len(ready))
	lead, rank := conclusion{}, -1
	for _, i := range ready {
		ss := &rel.Status.Stages[i]
		parts = append(parts, fmt.Sprintf("%s %s: %s", ss.Name, ss.Phase, ss.Message))
		x, r := conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoting}, 2
		switch ss.Phase {
		case releasev1.StageDeploying:
			x.phase, x.reason = releasev1.PhaseDeploying, releasev1.ReasonDeploying
		case releasev1.StageVerifying:
			x.phase, x.reason = releasev1.PhaseVerifying, releasev1.ReasonVerifying
		case releasev1.StageWaiting, releasev1.StagePending:
			x.reason, r = releasev1.ReasonGatesPending, 1
			if waitBlocked(ss) {
				x.phase, x.reason, x.blocked, r = releasev1.PhaseBlocked, releasev1.ReasonGateFailed, true, 0
			}
		}
		if r > rank {
			lead, rank = x, r
		}
	}
	msg := strings.Join(parts, "; ")
	if stalled != nil {
		// What to fix comes first.
		lead, msg = *stalled, stalled.message+"; "+msg
	}
	lead.message = trim(msg, 1024)
	setConditions(rel, lead)
}

// waitBlocked reports whether a waiting stage is held by a failed gate (a
// person must act), not only by one still pending.
func waitBlocked(ss *releasev1.ReleaseStageStatus) bool {
	for _, g := range ss.Gates {
		if g.Status == releasev1.GateFailed {
			return true
		}
	}
	return false
}

// notStarted says, in every stage of a failed Release that was not started,
// that it never will be.
func (s *step) notStarted(failed string) {
	for i := range s.rel.Status.Stages {
		ss := &s.rel.Status.Stages[i]
		if ss.Phase == releasev1.StagePending || ss.Phase == releasev1.StageWaiting {
			ss.Phase, ss.Message = releasev1.StagePending, fmt.Sprintf("not started: the Release failed in %s", failed)
		}
	}
}

// inFlight are the stages of rel with a promotion under way: taken, being
// written, deployed or verified.
func inFlight(rel *releasev1.Release) []int {
	var out []int
	for i, ss := range rel.Status.Stages {
		switch ss.Phase {
		case releasev1.StagePromoting, releasev1.StageAwaitingMerge, releasev1.StageDeploying, releasev1.StageVerifying:
			out = append(out, i)
		}
	}
	return out
}

// finishInFlight goes on with the promotions of a failed Release that were
// in flight in other branches of the graph when it failed: a promotion is
// never abandoned half-way (its commit may be on its way), so each lands,
// deploys and is verified, and frees its stage, or fails and rolls back in
// turn; follow is a failed stage's rollback still followed (or -1). The
// Release stays Failed, with the failure's conditions.
func (s *step) finishInFlight(ctx context.Context, stages []int, follow int) (reconcile.Outcome, error) {
	rel := s.rel
	out := reconcile.Stop()
	if follow >= 0 {
		o, err := s.followRollback(ctx, follow)
		if err != nil {
			return o, err
		}
		out = o
	}
	for _, i := range stages {
		failure := rel.Status.DeepCopy()
		next, ok := s.stepOf(i)
		if !ok {
			continue
		}
		o, err := next(s, ctx, i)
		if rel.Status.Phase != releasev1.PhaseFailed {
			// The stage went on; the Release stays failed as it was.
			rel.Status.Phase, rel.Status.Conditions = failure.Phase, failure.Conditions
		}
		if err != nil {
			return o, err
		}
		out = out.And(o, s.now)
	}
	return out, nil
}
