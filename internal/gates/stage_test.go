package gates

import (
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestStageBusy(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	lock := func(mod func(*LockFacts)) LockFacts {
		l := LockFacts{Stage: "prod", Holder: "checkout-1-5-0", Since: now.Add(-10 * time.Second), StaleAfter: time.Minute}
		mod(&l)
		return l
	}
	for _, tt := range []struct {
		name string
		lock LockFacts
		want releasev1.GateState
	}{
		{"holder promoting", lock(func(l *LockFacts) { l.HolderPromoting = true }), releasev1.GatePending},
		{"holder promoting for long still holds", lock(func(l *LockFacts) { l.HolderPromoting, l.Since = true, now.Add(-time.Hour) }), releasev1.GatePending},
		{"holder just took it", lock(func(*LockFacts) {}), releasev1.GatePending},
		{"holder took it and crashed", lock(func(l *LockFacts) { l.Since = now.Add(-2 * time.Minute) }), releasev1.GatePassed},
		{"holder deleted", lock(func(l *LockFacts) { l.HolderGone = true }), releasev1.GatePassed},
		{"holder finished", lock(func(l *LockFacts) { l.HolderDone, l.HolderPromoting = true, true }), releasev1.GatePassed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := StageBusy(tt.lock, now)
			if got.State != tt.want || got.Name != NameStage {
				t.Fatalf("%s %s (%s), want %s", got.Name, got.State, got.Message, tt.want)
			}
			if got.State == releasev1.GatePending && got.Message != "prod is busy: release checkout-1-5-0 is being promoted into it" {
				t.Errorf("message %q", got.Message)
			}
		})
	}
}

func TestTargetRetry(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	facts := TargetFacts{Stage: "dev", Message: "envs/qa/kustomization.yaml: file not found", FailedAt: now.Add(-20 * time.Second), RetryAfter: time.Minute}
	held := TargetRetry(facts, now)
	if held.State != releasev1.GateFailed || held.Reason != releasev1.ReasonTargetInvalid || held.RecheckAfter != 40*time.Second {
		t.Fatalf("a target found invalid 20s ago: %s/%s recheck %s", held.State, held.Reason, held.RecheckAfter)
	}
	if want := "stage dev: envs/qa/kustomization.yaml: file not found: fix the file or the pipeline's target"; held.Message != want {
		t.Errorf("message %q, want %q", held.Message, want)
	}
	if r := TargetRetry(facts, now.Add(40*time.Second)); r.State != releasev1.GatePassed {
		t.Errorf("a minute after: %s, want it tried again", r.State)
	}
	changed := facts
	changed.PipelineChanged = true
	if r := TargetRetry(changed, now); r.State != releasev1.GatePassed {
		t.Errorf("after a pipeline change: %s, want it tried again at once", r.State)
	}
}

func TestEvaluateTargetAndStageLock(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rel := &releasev1.Release{}
	checks := &releasev1.Stage{Name: "prod", Gates: &releasev1.Gates{Checks: &releasev1.ChecksGate{}}}
	busy := &LockFacts{Stage: "prod", Holder: "other", Since: now, HolderPromoting: true, StaleAfter: time.Minute}
	names := func(rs []Result) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name+"="+string(r.State))
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name string
		snap Snapshot
		want string
	}{
		{"a held target decides alone", Snapshot{Stage: checks, Lock: busy,
			Target: &TargetFacts{Stage: "prod", FailedAt: now, RetryAfter: time.Minute}}, "target=Failed"},
		{"a target tried again is not shown", Snapshot{Stage: &releasev1.Stage{Name: "prod"},
			Target: &TargetFacts{Stage: "prod", FailedAt: now.Add(-time.Hour), RetryAfter: time.Minute}}, "paused=Passed"},
		{"a busy stage shows once the other gates pass", Snapshot{Stage: &releasev1.Stage{Name: "prod"}, Lock: busy}, "paused=Passed,stage=Pending"},
		{"a waiting Release does not say who holds the stage", Snapshot{Stage: checks, Lock: busy}, "paused=Passed,checks=Pending"},
		{"a stale lock is not shown", Snapshot{Stage: &releasev1.Stage{Name: "prod"},
			Lock: &LockFacts{Stage: "prod", Holder: "other", HolderGone: true}}, "paused=Passed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.snap.Now, tt.snap.Release, tt.snap.Commit = now, rel, sha
			if got := names(Evaluate(tt.snap)); got != tt.want {
				t.Fatalf("gates %s, want %s", got, tt.want)
			}
		})
	}
}
