package notify

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

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
