package notify

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func mt(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

func notification(events ...releasev1.NotificationEvent) *releasev1.ReleaseNotification {
	return &releasev1.ReleaseNotification{
		ObjectMeta: metav1.ObjectMeta{Name: "releases", Namespace: "shop"},
		Spec:       releasev1.ReleaseNotificationSpec{Events: events},
	}
}

// pipeline: dev, staging, then prod with a soak of 1h, two approvals, the
// launch checklist and a postmortem.
func pipeline() releasev1.ReleasePipeline {
	stage := func(name string) releasev1.Stage {
		return releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops"}}
	}
	prod := stage("prod")
	prod.Gates = &releasev1.Gates{Soak: &metav1.Duration{Duration: time.Hour}, Approvals: &releasev1.ApprovalsGate{Count: 2}, LaunchChecklist: true}
	prod.Postmortem = &releasev1.PostmortemSpec{}
	return releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop"},
		Spec: releasev1.ReleasePipelineSpec{GitHub: releasev1.GitHubSpec{APIURL: "https://ghe.example.com/api/v3/"},
			Stages: []releasev1.Stage{stage("dev"), stage("staging"), prod}},
	}
}

func landed(name string, phase releasev1.StagePhase, started, completed time.Time) releasev1.ReleaseStageStatus {
	return releasev1.ReleaseStageStatus{Name: name, Phase: phase, Promotion: &releasev1.PromotionStatus{
		Commit: "0123456789abcdef0123456789abcdef01234567", PreviousVersion: "1.4.1", StartedAt: mt(started), CompletedAt: mt(completed)}}
}

func release(name string, phase releasev1.ReleasePhase, current string, stages ...releasev1.ReleaseStageStatus) releasev1.Release {
	return releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Annotations: map[string]string{"release.liftoff.dev/created-by": "carl"}},
		Spec:   releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2", LaunchChecklist: "launch"},
		Status: releasev1.ReleaseStatus{Phase: phase, CurrentStage: current, Stages: stages},
	}
}

func eventTypes(events []Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type+":"+e.Stage)
	}
	return strings.Join(out, " ")
}

func TestDerivePromotionsOncePerPromotionWithStableIDs(t *testing.T) {
	rel := release("checkout-1-4-2", releasev1.PhaseVerifying, "prod",
		landed("dev", releasev1.StagePromoted, t0, t0.Add(time.Minute)),
		landed("staging", releasev1.StageSuperseded, t0.Add(2*time.Minute), t0.Add(3*time.Minute)),
		landed("prod", releasev1.StageVerifying, t0.Add(4*time.Minute), t0.Add(5*time.Minute)))
	rel.Status.Stages[2].ReleaseNotes = &releasev1.ReleaseNotes{From: "1.4.1", Count: 2, Summary: "2 pull requests since 1.4.1: #12 Retry (alice), #14 Tax (bob)", URL: "https://ghe.example.com/acme/checkout/compare/v1.4.1...v1.4.2"}
	in := Input{Now: t0.Add(10 * time.Minute), Notification: notification(releasev1.EventPromoted, releasev1.EventVerifying),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{rel}}
	events, _ := Derive(in)
	if got := eventTypes(events); got != "Promoted:dev Promoted:staging Verifying:prod" {
		t.Fatalf("events %s", got)
	}
	again, _ := Derive(in)
	for i := range events {
		if events[i].ID != again[i].ID || len(events[i].ID) != 16 {
			t.Errorf("event %d: id %q then %q, want the same 16 hex characters", i, events[i].ID, again[i].ID)
		}
	}
	v := events[2]
	if v.Title != "checkout 1.4.2 landed in prod: verifying" || v.ReleaseNotes == nil || v.ReleaseNotes.Count != 2 {
		t.Errorf("verifying event %+v", v)
	}
	if len(v.Links) != 2 || v.Links[0].URL != "https://ghe.example.com/acme/gitops/commit/0123456789abcdef0123456789abcdef01234567" || v.Links[1].Title != "changes since 1.4.1" {
		t.Errorf("links %+v: want the GitOps commit on the Enterprise host, then the notes", v.Links)
	}
	if v.Namespace != "shop" || v.Notification != "releases" || !v.At.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("verifying event at %s in %s/%s", v.At, v.Namespace, v.Notification)
	}
	// The same promotion re-derived after it was verified is another event.
	rel.Status.Stages[2].Phase = releasev1.StagePromoted
	in.Releases = []releasev1.Release{rel}
	after, _ := Derive(in)
	if eventTypes(after) != "Promoted:dev Promoted:staging Promoted:prod" || after[2].ID == v.ID || after[0].ID != events[0].ID {
		t.Errorf("after verification: %s", eventTypes(after))
	}
	// Only what the spec asks for.
	in.Notification = notification(releasev1.EventReleased)
	if none, _ := Derive(in); len(none) != 0 {
		t.Errorf("only Released wanted, got %s", eventTypes(none))
	}
}

func TestDeriveRecordRollbackForItsPostmortem(t *testing.T) {
	rel := release("checkout-1-4-3", releasev1.PhaseFailed, "prod", landed("prod", releasev1.StageRolledBack, t0, t0.Add(time.Minute)))
	rel.Spec.Version = "1.4.3"
	ss := &rel.Status.Stages[0]
	ss.Message = "analysis failed: metric error-ratio Failed"
	ss.Rollback = &releasev1.RollbackStatus{Commit: "fedcba9876543210fedcba9876543210fedcba98", Version: "1.4.2", At: mt(t0.Add(3 * time.Minute))}
	ss.Analysis = &releasev1.AnalysisStatus{Phase: "Failed", Metrics: []releasev1.MetricStatus{{Name: "error-ratio", Phase: "Failed", Count: 1, Failures: 1,
		Measurements: []releasev1.MeasurementStatus{{Phase: "Failed", Value: "0.25"}}}}}
	in := Input{Now: t0.Add(4 * time.Minute), Notification: notification(releasev1.EventRolledBack),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{rel}}
	events, wake := Derive(in)
	if len(events) != 0 || !wake.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("before the postmortem: %s, wake %s; want nothing until two minutes after the rollback", eventTypes(events), wake)
	}
	ss.Postmortem = &releasev1.IssueRef{Number: 7, URL: "https://ghe.example.com/acme/checkout/issues/7"}
	events, _ = Derive(in)
	if len(events) != 1 {
		t.Fatalf("with the postmortem: %s", eventTypes(events))
	}
	e := events[0]
	if e.Title != "checkout 1.4.3 rolled back in prod to 1.4.2" {
		t.Errorf("title %q", e.Title)
	}
	if e.Severity != SeverityCritical || e.Postmortem == nil || e.Postmortem.URL != ss.Postmortem.URL || !e.At.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("rollback event %+v", e)
	}
	if len(e.Analysis) != 1 || e.Analysis[0].Failures != 1 || e.Analysis[0].Last != "0.25" {
		t.Errorf("analysis %+v", e.Analysis)
	}
	// Without the postmortem after two minutes, it goes out without the link.
	ss.Postmortem = nil
	in.Now = t0.Add(6 * time.Minute)
	if events, _ = Derive(in); len(events) != 1 || events[0].Postmortem != nil {
		t.Errorf("late postmortem: %+v", events)
	}
}

func TestDeriveBlockedAfterTheThresholdNamesWhoCanUnblock(t *testing.T) {
	rel := release("checkout-1-5-0", releasev1.PhaseProgressing, "prod",
		landed("dev", releasev1.StagePromoted, t0, t0.Add(time.Minute)),
		landed("staging", releasev1.StagePromoted, t0.Add(2*time.Minute), t0.Add(3*time.Minute)),
		releasev1.ReleaseStageStatus{Name: "prod", Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{
			{Name: gates.NameSoak, Status: releasev1.GatePassed},
			{Name: gates.NameLaunchChecklist, Status: releasev1.GatePending, Message: "checklist launch: 1 of 3 done"},
			{Name: gates.NameApprovals, Status: releasev1.GatePending, Message: "1 of 2 approvals for prod"},
		}})
	rel.Spec.Version = "1.5.0"
	rel.Spec.Approvals = []releasev1.Approval{{Stage: "prod", By: "ann"}}
	lc := releasev1.LaunchChecklist{ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: "shop"},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}},
			{Name: "legal-review", Function: "Legal", Owners: releasev1.Owners{Users: []string{"lee"}}},
			{Name: "faq", Function: "Support"}}},
		Status: releasev1.LaunchChecklistStatus{Items: []releasev1.ChecklistItemStatus{
			{Name: "security-review", Function: "Security", State: releasev1.ItemPending, Required: true},
			{Name: "legal-review", Function: "Legal", State: releasev1.ItemFailed, Required: true},
			{Name: "faq", Function: "Support", State: releasev1.ItemDone, Required: true}}}}
	asked := 0
	n := notification(releasev1.EventBlocked)
	n.Spec.BlockedAfter = &metav1.Duration{Duration: 2 * time.Hour}
	in := Input{Notification: n, Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{rel},
		Checklists: []releasev1.LaunchChecklist{lc},
		Approvers:  func() []string { asked++; return []string{"ann", "bob", "carl", "group release-managers"} }}
	// Ready for prod once staging landed (t0+3m) and soaked an hour: blocked two hours later.
	ready := t0.Add(63 * time.Minute)
	in.Now = ready.Add(2*time.Hour - time.Second)
	if events, wake := Derive(in); len(events) != 0 || !wake.Equal(ready.Add(2*time.Hour)) {
		t.Fatalf("before the threshold: %s, wake %s; want none until %s", eventTypes(events), wake, ready.Add(2*time.Hour))
	}
	in.Now = ready.Add(3 * time.Hour)
	events, _ := Derive(in)
	if len(events) != 1 {
		t.Fatalf("after the threshold: %s", eventTypes(events))
	}
	e := events[0]
	if e.Title != "checkout 1.5.0 blocked before prod for 3h" || e.BlockedSince == nil || !e.BlockedSince.Equal(ready) || !e.At.Equal(ready.Add(2*time.Hour)) {
		t.Errorf("blocked event %q since %v at %s", e.Title, e.BlockedSince, e.At)
	}
	if e.Text != "Waiting before prod since Mon 23 Nov 10:03 UTC, held by launchChecklist, approvals." {
		t.Errorf("text %q", e.Text)
	}
	if len(e.Gates) != 2 || e.Gates[0].Name != "launchChecklist" || e.Gates[1].Name != "approvals" {
		t.Errorf("gates %+v: want the two that hold, not the soak", e.Gates)
	}
	want := []string{
		"security-review (Security, pending): group security",
		"legal-review (Legal, failed): lee",
		"approve prod: bob, group release-managers (kubectl liftoff approve release/checkout-1-5-0 --stage prod)",
	}
	if strings.Join(e.Unblockers, "\n") != strings.Join(want, "\n") {
		t.Errorf("unblockers:\n%s\nwant (ann approved already, carl created it):\n%s", strings.Join(e.Unblockers, "\n"), strings.Join(want, "\n"))
	}
	if asked != 1 {
		t.Errorf("approvers asked %d times", asked)
	}
	// Later, the same wait is the same event.
	in.Now = ready.Add(5 * time.Hour)
	if later, _ := Derive(in); len(later) != 1 || later[0].ID != e.ID {
		t.Errorf("the same wait later: %+v", later)
	}
	// Held by the soak alone it is not blocked: the plan holds it.
	rel.Status.Stages[2].Gates = []releasev1.GateStatus{{Name: gates.NameSoak, Status: releasev1.GatePending}}
	in.Releases = []releasev1.Release{rel}
	if events, _ := Derive(in); len(events) != 0 {
		t.Errorf("soaking: %s", eventTypes(events))
	}
}

func TestDeriveFreezeWithinNoticeAndMilestoneAtRisk(t *testing.T) {
	cal := releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "releases", UID: "cal"}, Spec: releasev1.ReleaseCalendarSpec{TimeZone: "Europe/Berlin"},
		Status: releasev1.ReleaseCalendarStatus{Upcoming: []releasev1.CalendarEntry{
			{Type: releasev1.EntryWindow, Title: "window train", Start: metav1.NewTime(t0.Add(time.Hour))},
			{Type: releasev1.EntryFreeze, Title: "freeze christmas", Start: metav1.NewTime(t0.Add(20 * time.Hour)), End: mt(t0.Add(92 * time.Hour)), Stages: []string{"prod"}, Detail: "reduced on-call"},
			{Type: releasev1.EntryFreeze, Title: "freeze q4-close", Start: metav1.NewTime(t0.Add(30 * time.Hour))},
		}}}
	ms := releasev1.Milestone{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5", UID: "ms"}, Spec: releasev1.MilestoneSpec{DueDate: metav1.NewTime(t0.Add(10 * 24 * time.Hour))},
		Status: releasev1.MilestoneStatus{Health: releasev1.HealthAtRisk, HealthSince: mt(t0.Add(-time.Hour)), Progress: "2/4 (50%)", BlockerCount: 1, DaysRemaining: 10,
			Blockers: []releasev1.BlockerIssue{{Number: 4, Title: "3-D Secure fails on Safari", URL: "https://github.com/acme/checkout/issues/4"}}}}
	in := Input{Now: t0, Notification: notification(releasev1.EventFreezeStarting, releasev1.EventMilestoneAtRisk),
		Calendars: []releasev1.ReleaseCalendar{cal}, Milestones: []releasev1.Milestone{ms}}
	events, wake := Derive(in)
	if eventTypes(events) != "MilestoneAtRisk: FreezeStarting:" || !wake.Equal(t0.Add(6*time.Hour)) {
		t.Fatalf("events %s wake %s; want the milestone and the freeze in 20h, and to wake when q4-close comes within a day", eventTypes(events), wake)
	}
	f := events[1]
	if f.Title != "Freeze christmas starts in 20h" || f.Freeze.Window != "christmas" || !strings.Contains(f.Text, "No promotion into prod from Tue 24 Nov 06:00 CET until Fri 27 Nov 06:00 CET. reduced on-call") {
		t.Errorf("freeze %q: %q", f.Title, f.Text)
	}
	m := events[0]
	if m.Title != "Milestone checkout-1-5 is AtRisk" || m.Severity != SeverityWarning || len(m.Milestone.Blockers) != 1 {
		t.Errorf("milestone event %+v", m)
	}
	ms.Status.Health, ms.Status.HealthSince = releasev1.HealthLate, mt(t0)
	in.Milestones = []releasev1.Milestone{ms}
	late, _ := Derive(in)
	if late[0].Type != string(releasev1.EventMilestoneAtRisk) || late[0].Severity != SeverityCritical || late[0].ID == m.ID {
		t.Errorf("turning Late is news again: %+v", late)
	}
}
