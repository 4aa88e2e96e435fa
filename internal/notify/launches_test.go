package notify

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Checkout and payments ship as launch spring: dev done by both is one
// message, with both services' notes; staging, where payments still
// verifies, has no launch message yet, and payments' Verifying stays its own.
// Rolled back in prod, the launch is one critical message naming who failed
// and who went back with it.
func TestDeriveOneEventPerLaunchEvent(t *testing.T) {
	checkout := release("checkout-1-4-2", releasev1.PhaseProgressing, "staging",
		landed("dev", releasev1.StagePromoted, t0, t0.Add(time.Minute)),
		landed("staging", releasev1.StagePromoted, t0.Add(5*time.Minute), t0.Add(6*time.Minute)))
	checkout.Status.Stages[0].ReleaseNotes = &releasev1.ReleaseNotes{Count: 2, Summary: "#12 Retry, #14 Tax"}
	payments := release("payments-1-8-0", releasev1.PhaseVerifying, "staging",
		landed("dev", releasev1.StagePromoted, t0, t0.Add(2*time.Minute)),
		landed("staging", releasev1.StageVerifying, t0.Add(5*time.Minute), t0.Add(6*time.Minute)))
	payments.Spec.Version = "1.8.0"
	payments.Status.Stages[0].ReleaseNotes = &releasev1.ReleaseNotes{Count: 1, Summary: "#3 Refunds"}
	spring := releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: "shop", UID: "uid-spring"}, Status: releasev1.LaunchStatus{
		Phase: releasev1.LaunchProgressing, Stages: []string{"dev", "staging", "prod"},
		Members: []releasev1.LaunchMember{{Name: "checkout-1-4-2"}, {Name: "payments-1-8-0"}}}}
	in := Input{Now: t0.Add(10 * time.Minute), Notification: notification(releasev1.EventPromoted, releasev1.EventVerifying, releasev1.EventRolledBack),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{checkout, payments}, Launches: []releasev1.Launch{spring}}
	events, _ := Derive(in)
	if got := eventTypes(events); got != "Promoted:dev Verifying:staging" {
		t.Fatalf("events %s, want the launch promoted to dev and payments verifying in staging", got)
	}
	dev := events[0]
	if dev.Launch != "spring" || dev.Title != "launch spring promoted to dev: checkout 1.4.2, checkout 1.8.0" || !dev.At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("launch event %q (launch %q) at %s", dev.Title, dev.Launch, dev.At)
	}
	if n := dev.ReleaseNotes; n == nil || n.Count != 3 || n.Summary != "checkout 1.4.2: #12 Retry, #14 Tax\ncheckout 1.8.0: #3 Refunds" {
		t.Errorf("combined notes %+v", dev.ReleaseNotes)
	}

	// Payments fails in staging; checkout is written back with it.
	at := metav1.NewTime(t0.Add(8 * time.Minute))
	for _, rel := range []*releasev1.Release{&checkout, &payments} {
		ss := &rel.Status.Stages[1]
		ss.Phase, rel.Status.Phase = releasev1.StageRolledBack, releasev1.PhaseFailed
		ss.Rollback = &releasev1.RollbackStatus{Version: "1.4.1", Commit: "fedcba9876543210fedcba9876543210fedcba98", At: &at}
	}
	checkout.Status.Stages[1].Rollback.Launch = "spring"
	spring.Status.Phase = releasev1.LaunchFailed
	spring.Status.Failure = &releasev1.LaunchFailure{Member: "payments-1-8-0", Version: "1.8.0", Stage: "staging", Message: "analysis failed",
		RolledBack: []releasev1.LaunchRollback{{Name: "payments-1-8-0", Version: "1.8.0"}, {Name: "checkout-1-4-2", Version: "1.4.2"}}}
	in.Releases, in.Launches = []releasev1.Release{checkout, payments}, []releasev1.Launch{spring}
	events, _ = Derive(in)
	if got := eventTypes(events); got != "Promoted:dev RolledBack:staging" {
		t.Fatalf("events %s, want the launch promoted to dev, then rolled back in staging, once", got)
	}
	rb := events[1]
	if rb.Severity != SeverityCritical || rb.Title != "launch spring rolled back in staging: payments-1-8-0 1.8.0 failed; checkout-1-4-2 1.4.2 went back with it" ||
		len(rb.Links) != 1 || !strings.HasSuffix(rb.Links[0].URL, "/fedcba9876543210fedcba9876543210fedcba98") || !rb.At.Equal(at.Time) {
		t.Errorf("rolled back %+v", rb)
	}
}

// With onFailure Member the failed member's rollback is its own news, and
// the others' promotions are the launch's without it.
func TestDeriveLaunchWithOnFailureMember(t *testing.T) {
	at := metav1.NewTime(t0.Add(3 * time.Minute))
	web := release("web-2-0-0", releasev1.PhaseFailed, "dev", landed("dev", releasev1.StageRolledBack, t0, t0.Add(time.Minute)))
	web.Status.Stages[0].Rollback = &releasev1.RollbackStatus{Version: "1.9.0", Commit: "fedcba9876543210fedcba9876543210fedcba98", At: &at}
	checkout := release("checkout-1-4-2", releasev1.PhaseProgressing, "staging", landed("dev", releasev1.StagePromoted, t0, t0.Add(2*time.Minute)))
	spring := releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", UID: "uid-spring"}, Spec: releasev1.LaunchSpec{OnFailure: releasev1.FailMember},
		Status: releasev1.LaunchStatus{Phase: releasev1.LaunchProgressing, Stages: []string{"dev"},
			Members: []releasev1.LaunchMember{{Name: "checkout-1-4-2"}, {Name: "web-2-0-0"}}}}
	events, _ := Derive(Input{Now: t0.Add(10 * time.Minute), Notification: notification(releasev1.EventPromoted, releasev1.EventRolledBack),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{checkout, web}, Launches: []releasev1.Launch{spring}})
	if got := eventTypes(events); got != "Promoted:dev RolledBack:dev" {
		t.Fatalf("events %s", got)
	}
	if events[0].Title != "launch spring promoted to dev: checkout 1.4.2" || events[1].Launch != "" || events[1].Release != "web-2-0-0" {
		t.Errorf("events %q (launch %q), %q (release %q)", events[0].Title, events[0].Launch, events[1].Title, events[1].Release)
	}
}
