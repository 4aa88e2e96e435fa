// Package conditions writes the kstatus conditions every Liftoff kind
// carries, one way: an object is Ready, Reconciling (work under way),
// Stalled (a person must change something), or none of them (a Release that
// failed, was superseded or waits for a person to settle a gate). Ready is
// always written, True or False; Reconciling and Stalled only while True.
package conditions

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// RetryStalled is how often a Stalled object is tried again when what a
// person must fix lies outside the cluster (a file or a token in GitHub, a
// Secret: the controller keeps no Secret watch), which no watch reports.
const RetryStalled = time.Minute

// Summary is where an object stands, with the reason (an api/v1alpha1
// Reason) and a message that says what holds it and what to do.
type Summary struct {
	state   state
	Reason  string
	Message string
}

type state int

const (
	notReady state = iota
	ready
	reconciling
	stalled
)

// Ready is the summary of an object that reached what its spec asks for.
func Ready(reason, message string) Summary { return Summary{ready, reason, message} }

// Reconciling is the summary of an object the controller works on toward Ready (a promotion, a wait, a
// retry after GitHub failed).
func Reconciling(reason, message string) Summary { return Summary{reconciling, reason, message} }

// Stalled is the summary of an object on which nothing goes on until a person changes the spec or something it
// references (a Secret, a file in GitHub, a pipeline).
func Stalled(reason, message string) Summary { return Summary{stalled, reason, message} }

// NotReady is the summary of an object short of Ready with nothing under way and nothing to fix in the
// spec: a Release that failed or was superseded, or that waits for a person
// (a failed gate, a pause, an inconclusive analysis).
func NotReady(reason, message string) Summary { return Summary{notReady, reason, message} }

// IsStalled reports whether s is Stalled.
func (s Summary) IsStalled() bool { return s.state == stalled }

// IsReady reports whether s is Ready.
func (s Summary) IsReady() bool { return s.state == ready }

// IsReconciling reports whether s is Reconciling.
func (s Summary) IsReconciling() bool { return s.state == reconciling }

// Set writes s as the Ready, Reconciling and Stalled conditions of an object
// at generation.
func Set(conditions *[]metav1.Condition, generation int64, s Summary) {
	status := metav1.ConditionFalse
	if s.state == ready {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conditions, metav1.Condition{Type: releasev1.ConditionReady, Status: status,
		Reason: s.Reason, Message: s.Message, ObservedGeneration: generation})
	only := func(t string, on bool) {
		if !on {
			meta.RemoveStatusCondition(conditions, t)
			return
		}
		meta.SetStatusCondition(conditions, metav1.Condition{Type: t, Status: metav1.ConditionTrue,
			Reason: s.Reason, Message: s.Message, ObservedGeneration: generation})
	}
	only(releasev1.ConditionReconciling, s.state == reconciling)
	only(releasev1.ConditionStalled, s.state == stalled)
}
