package notify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// prodInWaves is prod of 40 targets in waves of 1, 9 and 30, wave 2
// verifying: wave 1 deployed at t0+10m, wave 2 at t0+20m.
func prodInWaves() releasev1.ReleaseStageStatus {
	ss := landed("prod", releasev1.StageVerifying, t0, t0.Add(15*time.Minute))
	ss.Wave, ss.Waves = 2, 3
	for k := 1; k <= 40; k++ {
		ts := releasev1.TargetStatus{Name: fmt.Sprintf("prod-%d", k), Wave: 3, Phase: releasev1.TargetPending}
		switch {
		case k == 1:
			ts.Wave, ts.Phase, ts.DeployedAt = 1, releasev1.TargetDeployed, mt(t0.Add(10*time.Minute))
		case k <= 10:
			ts.Wave, ts.Phase, ts.DeployedAt = 2, releasev1.TargetDeployed, mt(t0.Add(time.Duration(10+k)*time.Minute))
		}
		ss.Targets = append(ss.Targets, ts)
	}
	return ss
}

// A stage of 40 targets speaks of its waves: one Verifying message for the
// wave under way and one Promoted message per wave done, each naming its
// targets briefly; never one per target. Derived again, the same IDs.
func TestDeriveOneMessagePerWave(t *testing.T) {
	rel := release("checkout-1-4-2", releasev1.PhaseVerifying, "prod 10/40 on 1.4.2, wave 2 of 3", prodInWaves())
	in := Input{Now: t0.Add(time.Hour), Notification: notification(releasev1.EventPromoted, releasev1.EventVerifying),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: []releasev1.Release{rel}}
	events, _ := Derive(in)
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s: %s [%s]", e.Type, e.At.Sub(t0), e.Title, e.Text))
	}
	want := []string{
		"Promoted 10m0s: checkout 1.4.2 wave 1 of 3 done in prod [prod-1 runs it; wave 2 next.]",
		"Verifying 20m0s: checkout 1.4.2 wave 2 of 3 deployed in prod: verifying [The analysis of 9 targets (prod-2 … prod-10) in prod runs before the next wave.]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	again, _ := Derive(in)
	for k := range events {
		if events[k].ID != again[k].ID {
			t.Errorf("event %d: ID %s, then %s", k, events[k].ID, again[k].ID)
		}
	}

	// Wave 2 fails and is rolled back: one RolledBack for the stage, naming
	// the wave; wave 2 is not "done".
	ss := &rel.Status.Stages[0]
	ss.Phase, ss.Message = releasev1.StageRolledBack, "analysis failed; rolled back 9 targets (prod-2 … prod-10) in 1 commits"
	for k := 1; k < 10; k++ {
		ss.Targets[k].Phase = releasev1.TargetRolledBack
	}
	ss.Postmortem = &releasev1.IssueRef{Number: 7, URL: "https://ghe.example.com/acme/checkout/issues/7"}
	in.Notification = notification(releasev1.EventPromoted, releasev1.EventVerifying, releasev1.EventRolledBack)
	in.Releases = []releasev1.Release{rel}
	events, _ = Derive(in)
	if got := eventTypes(events); got != "Promoted:prod RolledBack:prod" {
		t.Fatalf("events %s", got)
	}
	if e := events[1]; e.Title != "checkout 1.4.2 rolled back in prod after wave 2 of 3 to 1.4.1" {
		t.Errorf("title %q", e.Title)
	}
}

// The report says how far a stage with targets got, and which targets a
// rollback wrote back, in a line each.
func TestReportSaysTheTargets(t *testing.T) {
	inFlight := prodInWaves()
	inFlight.Phase = releasev1.StageDeploying
	back := prodInWaves()
	back.Phase, back.Rollback = releasev1.StageRolledBack, &releasev1.RollbackStatus{Version: "1.4.1", At: mt(t0.Add(30 * time.Minute))}
	for k := 0; k < 10; k++ {
		back.Targets[k].Phase = releasev1.TargetRolledBack
	}
	rels := []releasev1.Release{release("a", releasev1.PhaseProgressing, "prod", inFlight), release("b", releasev1.PhaseFailed, "prod", back)}
	rels[1].Spec.Version = "1.4.3"
	md, _ := BuildReport(ReportInput{Now: t0.Add(time.Hour), PeriodStart: t0.Add(-time.Hour), Occurrence: t0.Add(time.Hour),
		Pipelines: []releasev1.ReleasePipeline{pipeline()}, Releases: rels})
	for _, want := range []string{
		"  - prod: 1.4.2, Mon 23 Nov 09:15 UTC, wave 2 of 3, 10/40 targets on it\n",
		"- **checkout 1.4.3** in prod, Mon 23 Nov 09:30 UTC: back to 1.4.1; targets written back: 10 targets (prod-1 … prod-10)\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks\n%s--- report:\n%s", want, md)
		}
	}
}
