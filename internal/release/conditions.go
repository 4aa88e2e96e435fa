package release

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
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

// setConditions writes Ready, Progressing, Blocked and Stalled from o.
func setConditions(rel *releasev1.Release, o conclusion) {
	gen := rel.Generation
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	rel.Status.Phase = o.phase
	terminal := o.phase == releasev1.PhaseReleased || o.phase == releasev1.PhaseSuperseded || o.phase == releasev1.PhaseFailed

	switch o.phase {
	case releasev1.PhaseReleased:
		set(releasev1.ConditionReady, metav1.ConditionTrue, o.reason, o.message)
	default:
		set(releasev1.ConditionReady, metav1.ConditionFalse, o.reason, o.message)
	}
	if terminal || o.blocked || o.stalled {
		set(releasev1.ConditionProgressing, metav1.ConditionFalse, o.reason, o.message)
	} else {
		set(releasev1.ConditionProgressing, metav1.ConditionTrue, o.reason, o.message)
	}
	if o.blocked {
		set(releasev1.ConditionBlocked, metav1.ConditionTrue, o.reason, o.message)
	} else {
		set(releasev1.ConditionBlocked, metav1.ConditionFalse, "NotBlocked", "no gate blocks the Release")
	}
	if o.stalled {
		set(releasev1.ConditionStalled, metav1.ConditionTrue, o.reason, o.message)
	} else {
		meta.RemoveStatusCondition(&rel.Status.Conditions, releasev1.ConditionStalled)
	}
}
