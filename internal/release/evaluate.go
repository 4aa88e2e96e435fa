package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// evaluate lets the gates of stage i decide on what gather found, and takes
// the stage when they pass.
func (s *step) evaluate(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	snap, err := s.gather(ctx, i)
	if err != nil {
		return s.gatherFailed(err)
	}
	results := gates.Evaluate(snap)
	if held := results[0]; held.Name == gates.NameTarget {
		// The gates stay as last evaluated: the target gate among them
		// says when the target was found invalid.
		s.stall(held.Reason, held.Message)
		return reconcile.WaitFor(held.RecheckAfter, reconcile.WaitFix), nil
	}
	recordSlip(rel, ss)
	if state, _ := gates.Summary(results); state == releasev1.GatePassed && len(rel.Status.Artifacts) > 0 {
		// Every other gate lets the Release go: the tags are resolved again
		// now, as close to the write as the gates come.
		if snap.Artifacts, err = s.artifactFacts(ctx); err != nil {
			return s.gatherFailed(err)
		}
		if stage.Gates != nil && stage.Gates.Signature != nil {
			if snap.Signatures, err = s.signatureFacts(ctx, stage.Gates.Signature); err != nil {
				return s.gatherFailed(err)
			}
		}
		results = gates.Evaluate(snap)
		recordSigners(rel, snap.Signatures)
	}
	if state, _ := gates.Summary(results); state == releasev1.GatePassed {
		ok, held, err := s.ledger.Take(ctx, s.pipe, rel, stage.Name, s.now)
		if err != nil {
			return reconcile.Stop(), err
		}
		if ok {
			s.locked[stage.Name] = true
		} else {
			// Another Release took the stage since the cache showed it:
			// decide again on the lock as it is.
			snap.Lock, snap.Hold = held, s.holdFacts(stage.Name)
			results = gates.Evaluate(snap)
		}
	}
	state, holding := gates.Summary(results)
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
			} else if snap.Hold != nil {
				o.reason = releasev1.ReasonStageHeld
			} else if r := failed(holding, gates.NameArtifacts, gates.NameSignature); r != nil {
				// What holds is the artifact, not a check a person can rerun.
				o.reason = r.Reason
			}
		}
		setConditions(rel, o)
		wait := s.pollInterval
		for _, h := range holding {
			if h.RecheckAfter > 0 && h.RecheckAfter < wait {
				wait = h.RecheckAfter
			}
		}
		return reconcile.WaitFor(wait, reconcile.WaitPoll), nil
	}
	// The stage is ours. Record the intent before touching Git, so a crash
	// from here on resumes the promotion instead of starting another.
	ss.Phase, ss.Message = releasev1.StagePromoting, s.promotingMessage(stage)
	started := metav1.NewTime(s.now)
	ss.Promotion = &releasev1.PromotionStatus{StartedAt: &started}
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonPromoting, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}

// failed is the first of the named gates' results that failed, or nil.
func failed(results []gates.Result, names ...string) *gates.Result {
	for i := range results {
		if slices.Contains(names, results[i].Name) && results[i].State == releasev1.GateFailed {
			return &results[i]
		}
	}
	return nil
}
