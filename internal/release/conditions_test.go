package release

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestSetConditions(t *testing.T) {
	type want struct{ ready, progressing, blocked, stalled, reconciling metav1.ConditionStatus }
	const absent = metav1.ConditionStatus("")
	tests := []struct {
		name string
		o    conclusion
		want want
	}{
		{"released", conclusion{phase: releasev1.PhaseReleased, reason: releasev1.ReasonReleased}, want{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionFalse, absent, absent}},
		{"waiting on checks", conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonGatesPending}, want{metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse, absent, metav1.ConditionTrue}},
		{"failed check", conclusion{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonGateFailed, blocked: true}, want{metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionTrue, absent, absent}},
		{"missing secret", conclusion{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonSecretNotFound, blocked: true, stalled: true}, want{metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionTrue, absent}},
		{"superseded", conclusion{phase: releasev1.PhaseSuperseded, reason: releasev1.ReasonSuperseded}, want{metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionFalse, absent, absent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := &releasev1.Release{}
			// A stale Stalled condition must go away once the cause is fixed.
			meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: releasev1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "Old"})
			setConditions(rel, tt.o)
			get := func(ct string) metav1.ConditionStatus {
				if c := meta.FindStatusCondition(rel.Status.Conditions, ct); c != nil {
					return c.Status
				}
				return absent
			}
			got := want{get(releasev1.ConditionReady), get(releasev1.ConditionProgressing), get(releasev1.ConditionBlocked), get(releasev1.ConditionStalled), get(releasev1.ConditionReconciling)}
			if got != tt.want {
				t.Fatalf("conditions %+v, want %+v", got, tt.want)
			}
			if rel.Status.Phase != tt.o.phase {
				t.Fatalf("phase %s", rel.Status.Phase)
			}
		})
	}
}
