package release

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
)

// conclusion is what one step concluded about a Release, before it is
// written as phase and conditions. One small function turns it into status so
// the rules are in one place and table-tested.
type conclusion struct {
	phase releasev1.ReleasePhase
	// reason and message explain the phase (UpperCamelCase reason).
	reason, message string
	// blocked: a gate failed or the Release is paused; a person must act.
	blocked bool
	// stalled: the spec or something it references is wrong.
	stalled bool
}

// setConditions writes the phase and the conditions from o: Ready,
// Reconciling and Stalled the way every kind writes them (internal/conditions),
// and the Release's own Progressing and Blocked. Reconciling is True exactly
// while Progressing is.
func setConditions(rel *releasev1.Release, o conclusion) {
	rel.Status.Phase = o.phase
	terminal := o.phase == releasev1.PhaseReleased || o.phase == releasev1.PhaseSuperseded || o.phase == releasev1.PhaseFailed
	progressing := !terminal && !o.blocked && !o.stalled

	summary := conditions.NotReady(o.reason, o.message)
	switch {
	case o.phase == releasev1.PhaseReleased:
		summary = conditions.Ready(o.reason, o.message)
	case o.stalled:
		summary = conditions.Stalled(o.reason, o.message)
	case progressing:
		summary = conditions.Reconciling(o.reason, o.message)
	}
	conditions.Set(&rel.Status.Conditions, rel.Generation, summary)

	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: rel.Generation})
	}
	if progressing {
		set(releasev1.ConditionProgressing, metav1.ConditionTrue, o.reason, o.message)
	} else {
		set(releasev1.ConditionProgressing, metav1.ConditionFalse, o.reason, o.message)
	}
	if o.blocked {
		set(releasev1.ConditionBlocked, metav1.ConditionTrue, o.reason, o.message)
	} else {
		set(releasev1.ConditionBlocked, metav1.ConditionFalse, releasev1.ReasonNotBlocked, "no gate blocks the Release")
	}
}
