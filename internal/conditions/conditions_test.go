package conditions

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestSet(t *testing.T) {
	const absent = metav1.ConditionStatus("")
	type want struct{ ready, reconciling, stalled metav1.ConditionStatus }
	for _, tt := range []struct {
		name string
		s    Summary
		want want
	}{
		{"ready", Ready("Reconciled", "3 stages"), want{metav1.ConditionTrue, absent, absent}},
		{"reconciling", Reconciling("GitHubUnavailable", "502; retrying with backoff"), want{metav1.ConditionFalse, metav1.ConditionTrue, absent}},
		{"stalled", Stalled("SecretNotFound", `Secret "github" not found`), want{metav1.ConditionFalse, absent, metav1.ConditionTrue}},
		{"not ready", NotReady("GateFailed", "qa failed"), want{metav1.ConditionFalse, absent, absent}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The conditions of an earlier state go away: a stall once fixed,
			// a retry once done.
			conds := []metav1.Condition{
				{Type: releasev1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "Old"},
				{Type: releasev1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Old"},
			}
			Set(&conds, 7, tt.s)
			get := func(ct string) metav1.ConditionStatus {
				c := meta.FindStatusCondition(conds, ct)
				if c == nil {
					return absent
				}
				if c.Reason != tt.s.Reason || c.Message != tt.s.Message || c.ObservedGeneration != 7 {
					t.Errorf("%s: %s %q at %d, want %s %q at 7", ct, c.Reason, c.Message, c.ObservedGeneration, tt.s.Reason, tt.s.Message)
				}
				return c.Status
			}
			got := want{get(releasev1.ConditionReady), get(releasev1.ConditionReconciling), get(releasev1.ConditionStalled)}
			if got != tt.want {
				t.Fatalf("Ready/Reconciling/Stalled = %v, want %v", got, tt.want)
			}
		})
	}
}
