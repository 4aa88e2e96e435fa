package notify

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// In a fan-out, each region waiting too long is its own blocked event, and
// the wait counts from when the stage it comes after landed.
func TestDeriveBlockedInEachBranchOfAFanOut(t *testing.T) {
	pipe := pipeline()
	staging := []string{"staging"}
	eu, us := pipe.Spec.Stages[2], pipe.Spec.Stages[2]
	eu.Name, eu.After = "prod-eu", &staging
	us.Name, us.After = "prod-us", &staging
	pipe.Spec.Stages = append(pipe.Spec.Stages[:2], eu, us)
	waiting := func(name string) releasev1.ReleaseStageStatus {
		return releasev1.ReleaseStageStatus{Name: name, Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{
			{Name: "approvals", Status: releasev1.GatePending, Message: "0 of 2 approvals for " + name}}}
	}
	rel := release("checkout-1-5-0", releasev1.PhaseProgressing, "prod-eu, prod-us",
		landed("dev", releasev1.StagePromoted, t0, t0.Add(time.Minute)),
		landed("staging", releasev1.StagePromoted, t0.Add(2*time.Minute), t0.Add(3*time.Minute)),
		waiting("prod-eu"), waiting("prod-us"))
	n := notification(releasev1.EventBlocked)
	n.Spec.BlockedAfter = &metav1.Duration{Duration: 2 * time.Hour}
	in := Input{Notification: n, Pipelines: []releasev1.ReleasePipeline{pipe}, Releases: []releasev1.Release{rel},
		Approvers: func() []string { return []string{"ann"} }}
	// Ready once staging landed (t0+3m) and soaked an hour.
	in.Now = t0.Add(63*time.Minute + 3*time.Hour)
	events, _ := Derive(in)
	if got := eventTypes(events); got != "Blocked:prod-eu Blocked:prod-us" {
		t.Fatalf("events %s", got)
	}
	for _, e := range events {
		if !e.BlockedSince.Equal(t0.Add(63 * time.Minute)) {
			t.Errorf("%s blocked since %s", e.Stage, e.BlockedSince)
		}
	}
}
