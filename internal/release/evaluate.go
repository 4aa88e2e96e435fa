package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// gateTarget is the pseudo-gate that records an invalid target.
const gateTarget = "target"

// targetHeld keeps a stage whose target was found invalid from being retried
// before conditions.RetryStalled has passed, unless the pipeline changed: otherwise
// every pipeline status change would start a doomed promotion again.
func (s *step) targetHeld(i int) time.Duration {
	ss := &s.rel.Status.Stages[i]
	for _, g := range ss.Gates {
		if g.Name != gateTarget || g.Status != releasev1.GateFailed || g.LastChecked == nil || s.pipelineChanged {
			continue
		}
		if left := g.LastChecked.Add(conditions.RetryStalled).Sub(s.now); left > 0 {
			s.stall(releasev1.ReasonTargetInvalid, fmt.Sprintf("stage %s: %s: fix the file or the pipeline's target", ss.Name, g.Message))
			return left
		}
	}
	return 0
}

// evaluate runs the gates of stage i and takes the stage when they pass.
func (s *step) evaluate(ctx context.Context, i int) (Outcome, error) {
	if wait := s.targetHeld(i); wait > 0 {
		return WaitFor(wait, WaitFix), nil
	}
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	snap := gates.Snapshot{Now: s.now, Release: rel, Stage: stage, Commit: rel.Status.Commit}
	if i > 0 {
		prev := s.pipe.Spec.Stages[i-1].Name
		snap.PreviousStage = &prev
		if p := rel.Status.Stages[i-1].Promotion; p != nil && p.CompletedAt != nil {
			t := p.CompletedAt.Time
			snap.PreviousLandedAt = &t
		}
	}
	if stage.Gates != nil && stage.Gates.Checks != nil && !rel.Spec.Paused {
		checks, err := s.gh.Checks(ctx, s.pipe.Spec.Source.Repository, rel.Status.Commit, stage.Gates.Checks.Required)
		if err != nil {
			return s.githubError(err)
		}
		snap.Checks = checks
	}
	if stage.Verify != nil {
		// A verification that cannot run must stop the promotion before it starts.
		if _, err := compileAnalysis(stage.Verify); err != nil {
			s.stall(releasev1.ReasonInvalidAnalysis, fmt.Sprintf("stage %s: verify: %v: fix the pipeline", stage.Name, err))
			return WaitFor(conditions.RetryStalled, WaitFix), nil
		}
	}
	if stage.Gates != nil && len(stage.Gates.Metrics) > 0 && !rel.Spec.Paused {
		ms, err := s.measureGate(ctx, stage)
		if err != nil {
			s.stall(releasev1.ReasonInvalidAnalysis, fmt.Sprintf("stage %s: gates.metrics: %v: fix the pipeline", stage.Name, err))
			return WaitFor(conditions.RetryStalled, WaitFix), nil
		}
		snap.Metrics = ms
	}
	recordSlip(rel, ss)
	if ss.PlannedAt != nil {
		t := ss.PlannedAt.Time
		snap.Planned = &t
	}
	cal, err := s.calendarFacts(ctx, stage.Name)
	if err != nil {
		return Stop(), err
	}
	snap.Calendar = cal
	if !rel.Spec.Paused {
		if snap.Blockers, err = s.blockerFacts(ctx, i, s.target); err != nil {
			if github.KindOf(err) != "" {
				return s.githubError(err)
			}
			return Stop(), err
		}
	}
	if snap.Checklist, err = s.checklistFacts(ctx, stage); err != nil {
		return Stop(), err
	}
	results := gates.Evaluate(snap)
	state, holding := gates.Summary(results)
	if state == releasev1.GatePassed {
		ok, holder, err := s.Locks.Take(ctx, s.pipe, rel, stage.Name, s.now)
		if err != nil {
			return Stop(), err
		}
		if ok {
			s.locked[stage.Name] = true
		}
		if !ok {
			results = append(results, gates.Result{Name: "stage", State: releasev1.GatePending, Reason: releasev1.ReasonStageBusy,
				Message: fmt.Sprintf("%s is busy: release %s is being promoted into it", stage.Name, holder)})
			state, holding = gates.Summary(results)
		}
	}
	ss.Gates = gateStatuses(ss.Gates, results, s.now)
	if state != releasev1.GatePassed {
		msgs := make([]string, 0, len(holding))
		for _, h := range holding {
			msgs = append(msgs, h.Name+": "+h.Message)
		}
		ss.Phase, ss.Message = releasev1.StageWaiting, strings.Join(msgs, "; ")
		o := conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonGatesPending,
			message: fmt.Sprintf("waiting to promote into %s: %s", stage.Name, ss.Message)}
		if state == releasev1.GateFailed {
			o.phase, o.blocked, o.reason = releasev1.PhaseBlocked, true, releasev1.ReasonGateFailed
			o.message = fmt.Sprintf("blocked before %s: %s", stage.Name, ss.Message)
			if rel.Spec.Paused {
				o.reason = releasev1.ReasonPaused
			}
		}
		setConditions(rel, o)
		wait := s.PollInterval
		for _, h := range holding {
			if h.RecheckAfter > 0 && h.RecheckAfter < wait {
				wait = h.RecheckAfter
			}
		}
		return WaitFor(wait, WaitPoll), nil
	}
	// The stage is ours. Record the intent before touching Git, so a crash
	// from here on resumes the promotion instead of starting another.
	ss.Phase, ss.Message = releasev1.StagePromoting, fmt.Sprintf("promoting %s into %s", rel.Spec.Version, stage.Name)
	started := metav1.NewTime(s.now)
	ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoting, message: ss.Message})
	return WriteThenContinue(), nil
}

// gateStatuses turns gate results into status, keeping lastChecked of a gate
// whose outcome did not change unless it is older than lastCheckedRefresh:
// every poll of a pending gate would otherwise be a write to the API server.
func gateStatuses(old []releasev1.GateStatus, results []gates.Result, now time.Time) []releasev1.GateStatus {
	const lastCheckedRefresh = 5 * time.Minute
	prev := map[string]releasev1.GateStatus{}
	for _, g := range old {
		prev[g.Name] = g
	}
	out := make([]releasev1.GateStatus, 0, len(results))
	t := metav1.NewTime(now)
	for _, r := range results {
		g := releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, URL: r.URL, LastChecked: &t}
		if p, ok := prev[r.Name]; ok && p.LastChecked != nil && p.Status == g.Status && p.Reason == g.Reason && p.Message == g.Message && p.URL == g.URL &&
			now.Sub(p.LastChecked.Time) < lastCheckedRefresh {
			g.LastChecked = p.LastChecked
		}
		out = append(out, g)
	}
	return out
}

// gateSummary is the Markdown table of gate results for a pull request.
func gateSummary(gs []releasev1.GateStatus) string {
	if len(gs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Gate | Status | Detail |\n| --- | --- | --- |\n")
	for _, g := range gs {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.Name, g.Status, strings.ReplaceAll(g.Message, "|", "\\|"))
	}
	return b.String()
}
