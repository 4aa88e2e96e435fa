package notify

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// On Monday a promotion planned for Wednesday is a plan, said as one, and
// what holds a Release is said in the stakeholders' words: who or what,
// each blocker its own link, no field for an operator to edit (issue 25,
// item 4).
func TestReportSaysWhatHoldsAReleaseInPeoplesWords(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC) // Mon 7 Dec 17:00 CET
	planned := time.Date(2026, 12, 9, 17, 5, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-26 * time.Hour))
	pipe := releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout"},
		Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "staging"}, {Name: "prod", Promotion: releasev1.PromotionManual}}}}
	gate := func(r gates.Result) releasev1.GateStatus {
		return releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, URL: r.URL, Issues: r.Issues}
	}
	landed := metav1.NewTime(now.Add(-25 * time.Hour))
	release := func(name, version string, prod releasev1.ReleaseStageStatus) releasev1.Release {
		prod.Name, prod.Phase = "prod", releasev1.StageWaiting
		return releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: created},
			Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: version},
			Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseBlocked, CurrentStage: "prod", Stages: []releasev1.ReleaseStageStatus{
				{Name: "staging", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{CompletedAt: &landed}}, prod}}}
	}
	plannedAt := metav1.NewTime(planned)
	rels := []releasev1.Release{
		release("checkout-1-5-0", "1.5.0", releasev1.ReleaseStageStatus{PlannedAt: &plannedAt, Message: "planned for 2026-12-09T17:05:00Z",
			Gates: []releasev1.GateStatus{gate(gates.NotBefore(planned, now)), gate(gates.Approvals("prod", 1, nil))}}),
		release("checkout-1-6-0", "1.6.0", releasev1.ReleaseStageStatus{Message: "2 open issue(s)",
			Gates: []releasev1.GateStatus{gate(gates.Blockers(&gates.BlockerFacts{Query: "label:blocker", SearchTotal: 2, Search: []gates.Blocker{
				{Number: 12, Title: "Payment retries double-charge", URL: "https://github.com/acme/checkout/issues/12"},
				{Number: 13, Title: "Safari", URL: "https://github.com/acme/checkout/issues/13"}}}))}}),
	}
	md, _ := BuildReport(ReportInput{Now: now, PeriodStart: now.Add(-7 * 24 * time.Hour), Occurrence: now, Loc: berlin,
		Pipelines: []releasev1.ReleasePipeline{pipe}, Releases: rels})
	for _, want := range []string{
		"- **checkout 1.5.0** before prod: planned for prod on Wed 9 Dec 18:05 CET (in 2 days); waits for 1 approval for prod\n",
		"- **checkout 1.6.0** before prod: waits for 2 blocker issues to be closed: [#12 Payment retries double-charge](https://github.com/acme/checkout/issues/12), " +
			"[#13 Safari](https://github.com/acme/checkout/issues/13) (waiting since Sun 6 Dec 16:00 CET, 1d 1h)\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks\n%s--- report:\n%s", want, md)
		}
	}
	for _, never := range []string{"spec.approvals", "since Wed 9 Dec", "close them to go on"} {
		if strings.Contains(md, never) {
			t.Errorf("the report says %q:\n%s", never, md)
		}
	}
}

// A Release held by another service says which service, in which stage,
// and where that service's release stands; not the gate's field names.
func TestReportSaysWhichServiceHoldsARelease(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-time.Hour))
	pipe := releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "checkout"},
		Spec: releasev1.ReleasePipelineSpec{Stages: []releasev1.Stage{{Name: "staging"}}}}
	held := gates.Dependencies([]gates.DependencyFacts{{Pipeline: "payments", Version: ">=1.8.0", Stage: "staging", Live: "1.7.2",
		Releases: []gates.DependencyRelease{{Name: "payments-1-8-0", Version: "1.8.0", Phase: releasev1.PhaseVerifying, Stage: "staging"}}}})
	rel := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "checkout-2-3-0", CreationTimestamp: created},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: "2.3.0"},
		Status: releasev1.ReleaseStatus{Phase: releasev1.PhaseProgressing, CurrentStage: "staging", Stages: []releasev1.ReleaseStageStatus{{
			Name: "staging", Phase: releasev1.StageWaiting, Message: "dependencies: " + held.Message,
			Gates: []releasev1.GateStatus{{Name: held.Name, Status: held.State, Reason: held.Reason, Message: held.Message}}}}}}
	md, _ := BuildReport(ReportInput{Now: now, PeriodStart: now.Add(-7 * 24 * time.Hour), Occurrence: now, Loc: time.UTC,
		Pipelines: []releasev1.ReleasePipeline{pipe}, Releases: []releasev1.Release{rel}})
	want := `- **checkout 2.3.0** before staging: waits for payments \>=1.8.0 to run in staging (payments 1.8.0 is verifying in staging)`
	if !strings.Contains(md, want) {
		t.Errorf("the report lacks\n%s\n--- report:\n%s", want, md)
	}
}

// The report lists the launches of its Releases: where each stands, who
// holds it, and when it reaches the stages ahead; a launch over before the
// period is left out.
func TestReportListsLaunches(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	at := func(h int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 8, h, 0, 0, 0, time.UTC)) }
	spring := releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring"}, Status: releasev1.LaunchStatus{
		Phase: releasev1.LaunchProgressing, CurrentStage: "staging",
		Holder:  "checkout 2.3.0 waits in staging: dependencies: needs payments >=1.8.0 in staging",
		Members: []releasev1.LaunchMember{{Name: "checkout-2-3-0"}, {Name: "payments-1-8-0"}},
		Forecast: []releasev1.LaunchStageForecast{{Stage: "dev", At: at(9), Reached: true, Member: "payments 1.8.0"},
			{Stage: "staging", At: at(10), Member: "checkout 2.3.0"}, {Stage: "prod", At: at(14), Member: "checkout 2.3.0"}}}}
	over := releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "autumn"}, Status: releasev1.LaunchStatus{Phase: releasev1.LaunchReleased,
		Conditions: []metav1.Condition{{Type: releasev1.ConditionReady, LastTransitionTime: metav1.NewTime(now.Add(-30 * 24 * time.Hour))}}}}
	md, _ := BuildReport(ReportInput{Now: now, PeriodStart: now.Add(-7 * 24 * time.Hour), Occurrence: now, Loc: time.UTC,
		Launches: []releasev1.Launch{spring, over}})
	want := `- **spring** (2 members): Progressing in staging: checkout 2.3.0 waits in staging: dependencies: needs payments \>=1.8.0 in staging; ` +
		`forecast: staging Tue 8 Dec 10:00 UTC (checkout 2.3.0), prod Tue 8 Dec 14:00 UTC (checkout 2.3.0)`
	if !strings.Contains(md, "## Launches\n\n"+want+"\n") {
		t.Errorf("the report lacks\n%s\n--- report:\n%s", want, md)
	}
	if strings.Contains(md, "autumn") {
		t.Errorf("a launch over before the period is listed:\n%s", md)
	}
}
