package gates

import (
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/github"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestChecks(t *testing.T) {
	ok := func(n string) github.CheckResult {
		return github.CheckResult{Name: n, State: github.CheckSuccess, Detail: "success"}
	}
	running := func(n string) github.CheckResult {
		return github.CheckResult{Name: n, State: github.CheckPending, Detail: "in_progress"}
	}
	bad := func(n string) github.CheckResult {
		return github.CheckResult{Name: n, State: github.CheckFailure, Detail: "failure", URL: "https://ci/" + n}
	}
	tests := []struct {
		name     string
		required []string
		results  []github.CheckResult
		want     releasev1.GateState
		reason   string
		contains []string
		url      string
	}{
		{"nothing reported, any", nil, nil, releasev1.GatePending, "ChecksNotReported", []string{"0123456"}, ""},
		{"all green, any", nil, []github.CheckResult{ok("unit"), ok("e2e")}, releasev1.GatePassed, "ChecksPassed", []string{"e2e, unit"}, ""},
		{"one red, any", nil, []github.CheckResult{ok("unit"), bad("e2e")}, releasev1.GateFailed, "ChecksFailed", []string{"e2e (failure)", "https://ci/e2e"}, "https://ci/e2e"},
		{"required missing", []string{"qa"}, []github.CheckResult{ok("unit")}, releasev1.GatePending, "ChecksPending", []string{"not reported yet: qa"}, ""},
		{"required running", []string{"qa"}, []github.CheckResult{running("qa")}, releasev1.GatePending, "ChecksPending", []string{"running: qa (in_progress)"}, ""},
		{"required green, other red ignored", []string{"qa"}, []github.CheckResult{ok("qa"), bad("lint")}, releasev1.GatePassed, "ChecksPassed", []string{"1 passed"}, ""},
		{"failure beats pending", []string{"qa", "e2e"}, []github.CheckResult{running("qa"), bad("e2e")}, releasev1.GateFailed, "ChecksFailed", []string{"e2e"}, "https://ci/e2e"},
		{"check run and status with one name must both pass", []string{"qa"}, []github.CheckResult{ok("qa"), bad("qa")}, releasev1.GateFailed, "ChecksFailed", nil, "https://ci/qa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Checks(tt.required, tt.results, sha)
			if got.State != tt.want || got.Reason != tt.reason || got.URL != tt.url {
				t.Fatalf("got %s/%s url %q (%s), want %s/%s url %q", got.State, got.Reason, got.URL, got.Message, tt.want, tt.reason, tt.url)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got.Message, c) {
					t.Errorf("message %q does not contain %q", got.Message, c)
				}
			}
		})
	}
}

func TestSoak(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	dev := "dev"
	landed := func(ago time.Duration) *time.Time { t := now.Add(-ago); return &t }
	tests := []struct {
		name     string
		previous *string
		landedAt *time.Time
		want     releasev1.GateState
		recheck  time.Duration
	}{
		{"first stage", nil, nil, releasev1.GatePassed, 0},
		{"not landed", &dev, nil, releasev1.GatePending, 0},
		{"soaking", &dev, landed(10 * time.Minute), releasev1.GatePending, 20 * time.Minute},
		{"exactly soaked", &dev, landed(30 * time.Minute), releasev1.GatePassed, 0},
		{"long soaked", &dev, landed(3 * time.Hour), releasev1.GatePassed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Soak(30*time.Minute, tt.previous, tt.landedAt, now)
			if got.State != tt.want || got.RecheckAfter != tt.recheck {
				t.Fatalf("got %s recheck %s (%s), want %s recheck %s", got.State, got.RecheckAfter, got.Message, tt.want, tt.recheck)
			}
		})
	}
}

func TestApprovals(t *testing.T) {
	a := func(stage, by string) releasev1.Approval { return releasev1.Approval{Stage: stage, By: by} }
	tests := []struct {
		name      string
		count     int32
		approvals []releasev1.Approval
		want      releasev1.GateState
	}{
		{"none", 1, nil, releasev1.GatePending},
		{"other stage only", 1, []releasev1.Approval{a("staging", "ann")}, releasev1.GatePending},
		{"one", 1, []releasev1.Approval{a("prod", "ann")}, releasev1.GatePassed},
		{"same person twice counts once", 2, []releasev1.Approval{a("prod", "ann"), a("prod", "ann")}, releasev1.GatePending},
		{"two people", 2, []releasev1.Approval{a("prod", "ann"), a("prod", "bob")}, releasev1.GatePassed},
		{"unnamed entries count each", 2, []releasev1.Approval{a("prod", ""), a("prod", "")}, releasev1.GatePassed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Approvals("prod", tt.count, tt.approvals); got.State != tt.want {
				t.Fatalf("got %s (%s), want %s", got.State, got.Message, tt.want)
			}
		})
	}
}

func TestEvaluateAndSummary(t *testing.T) {
	rel := &releasev1.Release{Spec: releasev1.ReleaseSpec{Paused: true}}
	stage := &releasev1.Stage{Name: "prod", Promotion: releasev1.PromotionManual, Gates: &releasev1.Gates{Checks: &releasev1.ChecksGate{}}}
	res := Evaluate(Snapshot{Now: time.Now(), Release: rel, Stage: stage, Commit: sha})
	names := []string{}
	for _, r := range res {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "paused,checks,approvals" {
		t.Fatalf("gates %v", names)
	}
	state, holding := Summary(res)
	if state != releasev1.GateFailed || len(holding) != 3 {
		t.Fatalf("summary %s, holding %d", state, len(holding))
	}
	if state, holding := Summary([]Result{{State: releasev1.GatePassed}}); state != releasev1.GatePassed || holding != nil {
		t.Fatalf("all passed: %s %v", state, holding)
	}
}

func TestMetricsGate(t *testing.T) {
	m := func(name string, p analysis.Phase, v, msg string) NamedMeasurement {
		return NamedMeasurement{Name: name, Measurement: analysis.Measurement{Phase: p, Value: v, Message: msg}}
	}
	tests := []struct {
		name string
		in   []NamedMeasurement
		want releasev1.GateState
	}{
		{"all hold", []NamedMeasurement{m("budget", analysis.Successful, "0.4", "")}, releasev1.GatePassed},
		{"burning", []NamedMeasurement{m("budget", analysis.Successful, "0.4", ""), m("burn", analysis.Failed, "14", "successCondition result < 2 is false")}, releasev1.GateFailed},
		{"prometheus down waits, never passes", []NamedMeasurement{m("budget", analysis.Error, "", "connection refused")}, releasev1.GatePending},
		{"inconclusive waits", []NamedMeasurement{m("budget", analysis.Inconclusive, "", "no data")}, releasev1.GatePending},
	}
	for _, tt := range tests {
		if got := Metrics(tt.in); got.State != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, got.State, got.Message, tt.want)
		}
	}
}
