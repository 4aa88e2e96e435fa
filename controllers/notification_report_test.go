package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/notify"
)

// The weekly report at Monday 09:00 in Berlin, with the clock injected, across
// the end of summer time (2026-10-25): each occurrence once, at 09:00 local,
// covering the week since the last report; after an outage, only the latest.
func TestReportScheduleAcrossDaylightSavingAndItsContent(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mt := func(s string) *metav1.Time { v := metav1.NewTime(at(s)); return &v }
	created := at("2026-10-15 12:00")
	n := &releasev1.ReleaseNotification{
		ObjectMeta: metav1.ObjectMeta{Name: "weekly", Namespace: "shop", CreationTimestamp: metav1.NewTime(created)},
		Spec: releasev1.ReleaseNotificationSpec{Pipelines: releasev1.ObjectSelector{Names: []string{"checkout"}},
			Report: &releasev1.ReportSchedule{RRule: "FREQ=WEEKLY;BYDAY=MO", Start: "2026-10-19T09:00:00"}},
		Status: releasev1.ReleaseNotificationStatus{Since: &metav1.Time{Time: created}},
	}
	pipe := releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout"},
		Spec: releasev1.ReleasePipelineSpec{CalendarRef: &releasev1.LocalObjectReference{Name: "releases"},
			Stages: []releasev1.Stage{{Name: "staging"}, {Name: "prod"}}},
		Status: releasev1.ReleasePipelineStatus{Live: "staging=1.4.3 prod=1.4.2"}}
	stage := func(name string, phase releasev1.StagePhase, landed string) releasev1.ReleaseStageStatus {
		return releasev1.ReleaseStageStatus{Name: name, Phase: phase, Promotion: &releasev1.PromotionStatus{StartedAt: mt(landed), CompletedAt: mt(landed)}}
	}
	good := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-4-2"}, Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2"},
		Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseReleased, CurrentStage: "prod", Stages: []releasev1.ReleaseStageStatus{
			stage("staging", releasev1.StagePromoted, "2026-10-20 10:00"), stage("prod", releasev1.StagePromoted, "2026-10-22 14:30")}}}
	good.Status.Stages[1].PlannedAt, good.Status.Stages[1].Slip = mt("2026-10-22 10:00"), &metav1.Duration{Duration: 4*time.Hour + 30*time.Minute}
	bad := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-4-3"}, Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.3"},
		Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseFailed, CurrentStage: "prod", Stages: []releasev1.ReleaseStageStatus{
			stage("staging", releasev1.StagePromoted, "2026-10-23 09:00"), stage("prod", releasev1.StageRolledBack, "2026-10-23 11:00")}}}
	rb := &bad.Status.Stages[1]
	rb.Rollback = &releasev1.RollbackStatus{Version: "1.4.2", At: mt("2026-10-23 11:05")}
	rb.Postmortem = &releasev1.IssueRef{Number: 3, URL: "https://github.com/acme/checkout/issues/3"}
	rb.Analysis = &releasev1.AnalysisStatus{Phase: "Failed", Metrics: []releasev1.MetricStatus{{Name: "error-ratio", Phase: "Failed", Count: 1, Failures: 1,
		Measurements: []releasev1.MeasurementStatus{{Value: "0.25"}}}}}
	next := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5-0", CreationTimestamp: metav1.NewTime(at("2026-10-24 09:00"))},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.5.0", Plan: []releasev1.PlannedPromotion{{Stage: "prod", At: metav1.NewTime(at("2026-10-28 10:00"))}}},
		Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseProgressing, CurrentStage: "staging", Stages: []releasev1.ReleaseStageStatus{
			{Name: "staging", Phase: releasev1.StageWaiting, Message: "checks: qa is in_progress on 0123abc"}}}}
	cal := releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Name: "releases"}, Spec: releasev1.ReleaseCalendarSpec{TimeZone: "Europe/Berlin"},
		Status: releasev1.ReleaseCalendarStatus{Upcoming: []releasev1.CalendarEntry{{Type: releasev1.EntryFreeze, Title: "freeze q4-close",
			Start: metav1.NewTime(at("2026-10-30 18:00")), End: mt("2026-11-02 08:00"), Stages: []string{"prod"}, Detail: "Q4 financial close"}}}}
	ms := releasev1.Milestone{ObjectMeta: metav1.ObjectMeta{Name: "checkout-1-5"}, Spec: releasev1.MilestoneSpec{DueDate: metav1.NewTime(at("2026-12-15 17:00"))},
		Status: releasev1.MilestoneStatus{Health: releasev1.HealthAtRisk, Progress: "2/4 (50%)", DaysRemaining: 50, BlockerCount: 1, Forecast: mt("2026-12-10 00:00"),
			Blockers: []releasev1.BlockerIssue{{Number: 4, Title: "3-D Secure fails on Safari", URL: "https://github.com/acme/checkout/issues/4"}}}}
	snap := &snapshot{input: notify.Input{Notification: n, Pipelines: []releasev1.ReleasePipeline{pipe}, Releases: []releasev1.Release{good, bad, next},
		Calendars: []releasev1.ReleaseCalendar{cal}, Milestones: []releasev1.Milestone{ms}}}
	r := &ReleaseNotificationReconciler{}

	for _, step := range []struct {
		now        string
		occurrence string // "" when no report is due
		nextUTC    string
		title      string
		period     string
	}{
		{"2026-10-19 08:59", "", "2026-10-19T07:00:00Z", "", ""},
		{"2026-10-19 09:00", "2026-10-19 09:00", "2026-10-26T08:00:00Z", "Release report, Mon 19 Oct 09:00 CEST", "2026-10-15 12:00"},
		{"2026-10-21 12:00", "", "2026-10-26T08:00:00Z", "", ""},
		{"2026-10-26 09:00", "2026-10-26 09:00", "2026-11-02T08:00:00Z", "Release report, Mon 26 Oct 09:00 CET", "2026-10-19 09:00"},
		{"2026-10-26 09:01", "", "2026-11-02T08:00:00Z", "", ""},
		// Down for two weeks: one report, for the latest Monday, covering all since the last.
		{"2026-11-10 10:00", "2026-11-09 09:00", "2026-11-16T08:00:00Z", "Release report, Mon 9 Nov 09:00 CET", "2026-10-26 09:00"},
	} {
		before := n.Status.Report
		e, wake, err := r.report(n, snap, at(step.now))
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Status.NextReport.UTC().Format(time.RFC3339); got != step.nextUTC || !wake.Equal(n.Status.NextReport.Time) {
			t.Errorf("at %s: next report %s (wake %s), want %s", step.now, got, wake, step.nextUTC)
		}
		if step.occurrence == "" {
			if e != nil || n.Status.Report != before {
				t.Errorf("at %s: a report %v, want none", step.now, e)
			}
			continue
		}
		if e == nil {
			t.Fatalf("at %s: no report, want the one of %s", step.now, step.occurrence)
		}
		if !e.At.Equal(at(step.occurrence)) || e.Title != step.title || !n.Status.Report.PeriodStart.Time.Equal(at(step.period)) || e.Report.Markdown != n.Status.Report.Markdown {
			t.Errorf("at %s: report %q at %s covering from %s", step.now, e.Title, e.At, n.Status.Report.PeriodStart)
		}
		if step.occurrence != "2026-10-26 09:00" {
			continue
		}
		// The week of 19 to 26 October, as a release manager sends it.
		md := n.Status.Report.Markdown
		for _, want := range []string{
			"# Release report, Mon 26 Oct 09:00 CET",
			"From Mon 19 Oct 09:00 CEST to Mon 26 Oct 09:00 CET: 4 promotions landed, 1 rollback, 1 release in flight.",
			"- **checkout**, live: staging=1.4.3 prod=1.4.2\n  - staging: 1.4.2, Tue 20 Oct 10:00 CEST\n  - staging: 1.4.3, Fri 23 Oct 09:00 CEST\n" +
				"  - prod: 1.4.2, Thu 22 Oct 14:30 CEST (planned Thu 22 Oct 10:00 CEST, 4h 30m late)\n  - prod: 1.4.3, Fri 23 Oct 11:00 CEST, rolled back",
			"## In flight\n\n- **checkout 1.5.0** before staging: checks: qa is in\\_progress on 0123abc (waiting since Sat 24 Oct 09:00 CEST, 2d 1h)",
			"## Rollbacks\n\n- **checkout 1.4.3** in prod, Fri 23 Oct 11:05 CEST: back to 1.4.2; error-ratio Failed (1 of 1 failed, last 0.25); [postmortem #3](https://github.com/acme/checkout/issues/3)",
			"## Coming up\n\n- Wed 28 Oct 10:00 CET: checkout 1.5.0 planned into prod\n- Fri 30 Oct 18:00 CET: **freeze q4-close** of prod until Mon 2 Nov 08:00 CET: Q4 financial close",
			"## Milestones\n\n- **checkout-1-5**: AtRisk, due Tue 15 Dec 2026 (50 days), forecast Thu 10 Dec 2026, issues 2/4 (50%), 1 open blocker: [#4 3-D Secure fails on Safari](https://github.com/acme/checkout/issues/4)",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("the report lacks\n%s\n--- report:\n%s", want, md)
			}
		}
	}

	n.Spec.Report.RRule = "FREQ=FORTNIGHTLY"
	if _, _, err := r.report(n, snap, at("2026-11-10 10:00")); err == nil || !strings.Contains(err.Error(), "spec.report: rrule") {
		t.Errorf("an invalid rule: %v", err)
	}
}
