package gates

import (
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestDependencies(t *testing.T) {
	payments := func(mod ...func(*DependencyFacts)) DependencyFacts {
		f := DependencyFacts{Pipeline: "payments", Version: ">=1.8.0", Stage: "staging"}
		for _, m := range mod {
			m(&f)
		}
		return f
	}
	live := func(v string) func(*DependencyFacts) { return func(f *DependencyFacts) { f.Live = v } }
	releases := func(rs ...DependencyRelease) func(*DependencyFacts) {
		return func(f *DependencyFacts) { f.Releases = rs }
	}
	rel := func(v string, phase releasev1.ReleasePhase, stage string) DependencyRelease {
		return DependencyRelease{Name: "payments-" + v, Version: v, Phase: phase, Stage: stage}
	}
	tests := []struct {
		name    string
		facts   []DependencyFacts
		state   releasev1.GateState
		reason  string
		message string
	}{
		{"a matching version runs there", []DependencyFacts{payments(live("1.8.0"))},
			releasev1.GatePassed, releasev1.ReasonDependenciesMet, "payments 1.8.0 runs in staging (needs >=1.8.0)"},
		{"a newer one too", []DependencyFacts{payments(live("v1.9.2"))},
			releasev1.GatePassed, releasev1.ReasonDependenciesMet, "payments v1.9.2 runs in staging (needs >=1.8.0)"},
		{"an older one runs, the matching one verifies there",
			[]DependencyFacts{payments(live("1.7.2"), releases(rel("1.7.2", releasev1.PhaseReleased, "prod"), rel("1.8.0", releasev1.PhaseVerifying, "staging")))},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs payments >=1.8.0 in staging: staging runs 1.7.2; payments 1.8.0 is verifying in staging"},
		{"committed is not running: the agent has not deployed it",
			[]DependencyFacts{payments(live("1.7.2"), func(f *DependencyFacts) { f.Committed = "1.8.0" }, releases(rel("1.8.0", releasev1.PhaseDeploying, "staging")))},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs payments >=1.8.0 in staging: staging runs 1.7.2 (1.8.0 committed, not deployed yet); payments 1.8.0 is deploying to staging"},
		{"nothing runs there and no release matches",
			[]DependencyFacts{payments(releases(rel("1.7.2", releasev1.PhaseProgressing, "dev")))},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs payments >=1.8.0 in staging: staging runs nothing yet; no payments release matches >=1.8.0 yet"},
		{"the lowest matching release on its way is named, not a failed one",
			[]DependencyFacts{payments(live("1.7.2"), releases(
				rel("1.9.0", releasev1.PhaseFailed, "staging"), rel("1.8.1", releasev1.PhaseBlocked, "staging"), rel("1.8.3", releasev1.PhasePending, "")))},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs payments >=1.8.0 in staging: staging runs 1.7.2; payments 1.8.1 is blocked before staging"},
		{"only failed ones match: the newest is named",
			[]DependencyFacts{payments(live("1.7.2"), releases(rel("1.8.0", releasev1.PhaseFailed, "staging"), rel("1.8.1", releasev1.PhaseFailed, "dev")))},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs payments >=1.8.0 in staging: staging runs 1.7.2; payments 1.8.1 failed in dev"},
		{"a stage with no counterpart is not held",
			[]DependencyFacts{payments(func(f *DependencyFacts) { f.Stage, f.NoStage = "dev", true })},
			releasev1.GatePassed, releasev1.ReasonDependenciesMet, "payments has no stage dev: not held here"},
		{"a mapping to a stage that does not exist fails",
			[]DependencyFacts{payments(func(f *DependencyFacts) { f.Stage, f.NoStage, f.Mapped = "production", true, true })},
			releasev1.GateFailed, releasev1.ReasonDependencyNotFound,
			"payments has no stage production, which the requirement's stages map this stage to: fix spec.requires"},
		{"the required pipeline was deleted",
			[]DependencyFacts{payments(func(f *DependencyFacts) { f.Missing = true })},
			releasev1.GateFailed, releasev1.ReasonDependencyNotFound,
			"required pipeline payments does not exist: create it or remove the requirement from spec.requires"},
		{"a version that is not a range fails",
			[]DependencyFacts{payments(live("1.8.0"), func(f *DependencyFacts) { f.Version = "newest" })},
			releasev1.GateFailed, releasev1.ReasonDependencyInvalid,
			`the requirement of payments: version "newest" is not a semver range (improper constraint: "newest"): fix spec.requires`},
		{"every requirement must hold; only those that hold are named",
			[]DependencyFacts{payments(live("1.8.0")), {Pipeline: "ledger", Version: "^2", Stage: "staging", Live: "1.9.0"}},
			releasev1.GatePending, releasev1.ReasonDependencyPending,
			"needs ledger ^2 in staging: staging runs 1.9.0; no ledger release matches ^2 yet"},
		{"a failure beats a wait",
			[]DependencyFacts{{Pipeline: "ledger", Version: "^2", Stage: "staging"}, payments(func(f *DependencyFacts) { f.Missing = true })},
			releasev1.GateFailed, releasev1.ReasonDependencyNotFound,
			"needs ledger ^2 in staging: staging runs nothing yet; no ledger release matches ^2 yet. required pipeline payments does not exist: create it or remove the requirement from spec.requires"},
		{"all met are all named",
			[]DependencyFacts{payments(live("1.8.0")), {Pipeline: "ledger", Version: "^2", Stage: "staging", Live: "2.0.1"}},
			releasev1.GatePassed, releasev1.ReasonDependenciesMet,
			"payments 1.8.0 runs in staging (needs >=1.8.0); ledger 2.0.1 runs in staging (needs ^2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Dependencies(tt.facts)
			if got.Name != NameDependencies || got.State != tt.state || got.Reason != tt.reason || got.Message != tt.message {
				t.Errorf("got %s %s/%s %q\nwant %s/%s %q", got.Name, got.State, got.Reason, got.Message, tt.state, tt.reason, tt.message)
			}
		})
	}
}

func TestEvaluateShowsDependenciesOnlyWhenRequired(t *testing.T) {
	stage := &releasev1.Stage{Name: "staging"}
	s := Snapshot{Release: &releasev1.Release{}, Stage: stage}
	for _, r := range Evaluate(s) {
		if r.Name == NameDependencies {
			t.Fatalf("a Release without requires shows %v", r)
		}
	}
	s.Dependencies = []DependencyFacts{{Pipeline: "payments", Version: ">=1.8.0", Stage: "staging", Live: "1.7.2"}}
	state, holding := Summary(Evaluate(s))
	if state != releasev1.GatePending || len(holding) != 1 || holding[0].Name != NameDependencies {
		t.Fatalf("got %s, holding %v", state, holding)
	}
}

func TestDependenciesWords(t *testing.T) {
	held := Dependencies([]DependencyFacts{
		{Pipeline: "payments", Version: ">=1.8.0", Stage: "staging", Live: "1.7.2",
			Releases: []DependencyRelease{{Version: "1.8.0", Phase: releasev1.PhaseVerifying, Stage: "staging"}}},
		{Pipeline: "ledger", Version: "^2", Stage: "staging"},
	})
	g := releasev1.GateStatus{Name: held.Name, Status: held.State, Reason: held.Reason, Message: held.Message}
	want := "waits for payments >=1.8.0 to run in staging (payments 1.8.0 is verifying in staging); waits for ledger ^2 to run in staging (no ledger release matches ^2 yet)"
	if got := Words("staging", g, Clock{}); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	gone := Dependencies([]DependencyFacts{{Pipeline: "payments", Version: ">=1.8.0", Missing: true}})
	g = releasev1.GateStatus{Name: gone.Name, Status: gone.State, Reason: gone.Reason, Message: gone.Message}
	if got := Words("staging", g, Clock{}); got != "depends on a service the operators must fix in spec.requires: "+gone.Message {
		t.Errorf("got %q", got)
	}
}
