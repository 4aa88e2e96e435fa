package milestone

import (
	"fmt"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

const week = 7 * 24 * time.Hour

func open(n int, labels ...string) Issue {
	return Issue{Number: n, Title: fmt.Sprintf("issue %d", n), URL: fmt.Sprintf("https://github.com/acme/app/issues/%d", n), Open: true, Labels: labels}
}

func closed(n int, at time.Time) Issue { return Issue{Number: n, Title: "done", ClosedAt: at} }

func TestStats(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	now := clk.Now()
	tests := []struct {
		name                  string
		issues                []Issue
		labels                []string
		progress, rate        string
		forecast              *time.Time
		blockers, blockerList int
	}{
		{name: "nothing", progress: "0/0 (0%)", rate: "0"},
		{
			// 4 closed within 4 weeks: 1 per week; 3 open: 3 weeks.
			name:     "rate over the last four weeks",
			issues:   []Issue{closed(1, now.Add(-time.Hour)), closed(2, now.Add(-week)), closed(3, now.Add(-2*week)), closed(4, now.Add(-4*week+time.Minute)), closed(5, now.Add(-5*week)), open(6), open(7), open(8)},
			progress: "5/8 (62%)", rate: "1", forecast: ptr(now.Add(3 * week)),
		},
		{
			name:     "closings older than four weeks give no rate and no forecast",
			issues:   []Issue{closed(1, now.Add(-4*week)), open(2)},
			progress: "1/2 (50%)", rate: "0",
		},
		{
			name:     "all closed: the forecast is the last closing",
			issues:   []Issue{closed(1, now.Add(-2*week)), closed(2, now.Add(-time.Hour))},
			progress: "2/2 (100%)", rate: "0.5", forecast: ptr(now.Add(-time.Hour)),
		},
		{
			name:     "fractional rate",
			issues:   []Issue{closed(1, now.Add(-time.Hour)), closed(2, now.Add(-time.Hour)), closed(3, now.Add(-time.Hour)), open(4), open(5), open(6)},
			progress: "3/6 (50%)", rate: "0.75", forecast: ptr(now.Add(4 * week)),
		},
		{
			name:     "default blocker label",
			issues:   []Issue{open(1, "release-blocker"), open(2, "bug"), closed(3, now.Add(-time.Hour))},
			progress: "1/3 (33%)", rate: "0.25", forecast: ptr(now.Add(8 * week)), blockers: 1, blockerList: 1,
		},
		{
			name:     "custom blocker labels, case-insensitive",
			issues:   []Issue{open(1, "P0"), open(2, "Blocker"), open(3, "release-blocker")},
			labels:   []string{"p0", "blocker"},
			progress: "0/3 (0%)", rate: "0", blockers: 2, blockerList: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Stats(now, tc.issues, tc.labels)
			if st.Progress != tc.progress || FormatRate(st.PerWeek) != tc.rate {
				t.Errorf("progress %q rate %q, want %q %q", st.Progress, FormatRate(st.PerWeek), tc.progress, tc.rate)
			}
			if (st.Forecast == nil) != (tc.forecast == nil) || st.Forecast != nil && !st.Forecast.Equal(*tc.forecast) {
				t.Errorf("forecast %v, want %v", st.Forecast, tc.forecast)
			}
			if int(st.BlockerCount) != tc.blockers || len(st.Blockers) != tc.blockerList {
				t.Errorf("blockers %d listed %d, want %d %d", st.BlockerCount, len(st.Blockers), tc.blockers, tc.blockerList)
			}
		})
	}
}

func TestStatsListsAtMostFiftyBlockers(t *testing.T) {
	var issues []Issue
	for n := 80; n > 0; n-- {
		issues = append(issues, open(n, "release-blocker"))
	}
	st := Stats(t0, issues, nil)
	if st.BlockerCount != 80 || len(st.Blockers) != 50 || st.Blockers[0].Number != 1 || st.Blockers[49].Number != 50 {
		t.Fatalf("count %d listed %d first %+v", st.BlockerCount, len(st.Blockers), st.Blockers[0])
	}
	if st.Blockers[0].Title != "issue 1" || st.Blockers[0].URL != "https://github.com/acme/app/issues/1" {
		t.Fatalf("blocker %+v", st.Blockers[0])
	}
}

func stages(phases ...string) []releasev1.ReleaseStageStatus {
	var out []releasev1.ReleaseStageStatus
	for _, p := range phases {
		name, phase, _ := strings.Cut(p, "=")
		out = append(out, releasev1.ReleaseStageStatus{Name: name, Phase: releasev1.StagePhase(phase)})
	}
	return out
}

func TestReleaseStatus(t *testing.T) {
	tests := []struct {
		name   string
		rel    Release
		target string
		done   bool
	}{
		{"promoted into the last stage", Release{Phase: releasev1.PhaseReleased, CurrentStage: "prod", Stages: stages("dev=Promoted", "prod=Promoted")}, "", true},
		{"not yet in the last stage", Release{Phase: releasev1.PhaseProgressing, CurrentStage: "prod", Stages: stages("dev=Promoted", "prod=Promoting")}, "", false},
		{"milestone target reached before the last stage", Release{Phase: releasev1.PhaseProgressing, CurrentStage: "prod", Stages: stages("dev=Promoted", "staging=Promoted", "prod=Pending")}, "staging", true},
		{"release's own targetStage", Release{Phase: releasev1.PhaseReleased, CurrentStage: "staging", SpecTarget: "staging", Stages: stages("dev=Promoted", "staging=Promoted", "prod=Skipped")}, "", true},
		{"released and superseded in the stage still counts as reached", Release{Phase: releasev1.PhaseReleased, CurrentStage: "prod", Stages: stages("dev=Promoted", "prod=Superseded")}, "prod", true},
		{"released short of the milestone's target", Release{Phase: releasev1.PhaseReleased, CurrentStage: "staging", SpecTarget: "staging", Stages: stages("staging=Promoted", "prod=Skipped")}, "prod", false},
		{"no status yet", Release{Phase: releasev1.PhasePending}, "", false},
		{"a fan-out's last stage in the list is not its whole way", Release{Phase: releasev1.PhaseProgressing, CurrentStage: "prod-eu",
			Stages: stages("staging=Promoted", "prod-eu=Verifying", "prod-us=Promoted")}, "", false},
		{"every branch of a fan-out promoted", Release{Phase: releasev1.PhaseProgressing, CurrentStage: "prod-eu, prod-us",
			Stages: stages("staging=Promoted", "prod-eu=Promoted", "prod-us=Promoted")}, "", true},
		{"target stage not in the pipeline", Release{Phase: releasev1.PhaseReleased, CurrentStage: "prod", Stages: stages("prod=Promoted")}, "qa", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rel.Name, tc.rel.Version = "r", "1.0.0"
			got := ReleaseStatus(tc.rel, tc.target)
			if got.Done != tc.done || got.Name != "r" || got.Stage != tc.rel.CurrentStage {
				t.Errorf("got %+v, want done=%v", got, tc.done)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	due := t0.Add(3 * week)
	done := releasev1.MilestoneRelease{Name: "a", Done: true}
	notDone := releasev1.MilestoneRelease{Name: "b"}
	gh := func(issues ...Issue) *IssueStats { st := Stats(clk.Now(), issues, nil); return &st }
	recent := func(n int) Issue { return closed(n, t0.Add(-time.Hour)) }

	tests := []struct {
		name      string
		in        Input
		step      time.Duration // clock step before deciding
		health    releasev1.MilestoneHealth
		message   string
		completed bool
	}{
		{name: "on track: forecast well before due",
			in:     Input{GitHub: gh(recent(1), recent(2), recent(3), recent(4), open(5))}, // 1/week, 1 week
			health: releasev1.HealthOnTrack, message: "1 of 5 issues open"},
		{name: "at risk: a blocker is open",
			in:     Input{GitHub: gh(recent(1), recent(2), recent(3), recent(4), open(5, "release-blocker"))},
			health: releasev1.HealthAtRisk, message: "1 blockers open: #5 issue 5"},
		{name: "at risk: forecast within two days of due",
			in:     Input{GitHub: gh(recent(1), recent(2), recent(3), recent(4), open(5), open(6), open(7))}, // 3 weeks: exactly due
			health: releasev1.HealthAtRisk, message: "within 2 days"},
		{name: "late: forecast after due",
			in:     Input{GitHub: gh(recent(1), open(2), open(3))}, // 0.25/week: 8 weeks
			health: releasev1.HealthLate, message: "is after the due date"},
		{name: "late beats at risk: forecast after due with a blocker",
			in:     Input{GitHub: gh(recent(1), open(2, "release-blocker"), open(3))},
			health: releasev1.HealthLate},
		{name: "late: zero rate with open issues",
			in:     Input{GitHub: gh(closed(1, t0.Add(-5*week)), open(2))},
			health: releasev1.HealthLate, message: "none closed in the last 4 weeks"},
		{name: "late: a launch that tracks the milestone reaches its stage after due",
			in: Input{Releases: []releasev1.MilestoneRelease{notDone},
				Launches: []Launch{{Name: "spring", Stage: "prod", Reaches: ptr(due.Add(24 * time.Hour)), CriticalPath: "web 1.2.0"}}},
			health: releasev1.HealthLate, message: "launch spring reaches prod on " + day(due.Add(24*time.Hour)) + ", after the due date " + day(due) + " (critical path: web 1.2.0)"},
		{name: "at risk: the launch reaches its stage within two days of due",
			in: Input{Releases: []releasev1.MilestoneRelease{notDone},
				Launches: []Launch{{Name: "spring", Stage: "prod", Reaches: ptr(due.Add(-24 * time.Hour)), CriticalPath: "web 1.2.0"}}},
			health: releasev1.HealthAtRisk, message: "within 2 days of the due date"},
		{name: "on track: the launch reaches its stage well before due",
			in: Input{Releases: []releasev1.MilestoneRelease{notDone},
				Launches: []Launch{{Name: "spring", Stage: "prod", Reaches: ptr(t0.Add(week)), CriticalPath: "web 1.2.0"}}},
			health: releasev1.HealthOnTrack, message: "1 of 1 releases not live"},
		{name: "completed: all closed, release done",
			in:     Input{GitHub: gh(recent(1)), Releases: []releasev1.MilestoneRelease{done}},
			health: releasev1.HealthCompleted, completed: true},
		{name: "not completed while a release is not live",
			in:     Input{GitHub: gh(recent(1)), Releases: []releasev1.MilestoneRelease{done, notDone}},
			health: releasev1.HealthOnTrack, message: "1 of 2 releases not live in the target stage"},
		{name: "completed stays completed after issues reopen and due passes",
			in:     Input{GitHub: gh(open(1, "release-blocker")), CompletedAt: ptr(t0.Add(-time.Hour))},
			step:   4 * week,
			health: releasev1.HealthCompleted, completed: true},
		{name: "missed: due passed before completion",
			in:     Input{GitHub: gh(recent(1), open(2))},
			step:   3*week + time.Second,
			health: releasev1.HealthMissed, message: "1 of 2 issues open"},
		{name: "not missed at the due instant",
			in:     Input{GitHub: gh(recent(1), recent(2), recent(3), recent(4), recent(5), recent(6), recent(7), recent(8), open(9))},
			step:   3 * week,
			health: releasev1.HealthOnTrack},
		{name: "completed after due is missed, with completedAt",
			in:     Input{GitHub: gh(recent(1)), Releases: []releasev1.MilestoneRelease{done}},
			step:   4 * week,
			health: releasev1.HealthMissed, message: "after the due date", completed: true},
		{name: "no GitHub part: releases decide",
			in:     Input{Releases: []releasev1.MilestoneRelease{done}},
			health: releasev1.HealthCompleted, completed: true},
		{name: "no GitHub part, release not live: on track",
			in:     Input{Releases: []releasev1.MilestoneRelease{notDone}},
			health: releasev1.HealthOnTrack},
		{name: "neither issues nor releases: never completed",
			in:     Input{},
			health: releasev1.HealthOnTrack, message: "no issues and no releases yet"},
		{name: "neither, after due: missed",
			in:     Input{},
			step:   4 * week,
			health: releasev1.HealthMissed},
		{name: "empty GitHub milestone without releases is not completed",
			in:     Input{GitHub: gh()},
			health: releasev1.HealthOnTrack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			clk.Step(tc.step)
			tc.in.Now, tc.in.Due = clk.Now(), due
			got := Decide(tc.in)
			if got.Health != tc.health || !strings.Contains(got.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", got.Health, got.Message, tc.health, tc.message)
			}
			if (got.CompletedAt != nil) != tc.completed {
				t.Errorf("completedAt %v, want set=%v", got.CompletedAt, tc.completed)
			}
			if tc.in.CompletedAt != nil && !got.CompletedAt.Equal(*tc.in.CompletedAt) {
				t.Errorf("completedAt moved from %v to %v", tc.in.CompletedAt, got.CompletedAt)
			}
		})
	}
}

func TestDaysRemaining(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int32
	}{{36 * time.Hour, 1}, {24 * time.Hour, 1}, {time.Hour, 0}, {0, 0}, {-time.Hour, -1}, {-49 * time.Hour, -3}} {
		if got := DaysRemaining(t0, t0.Add(tc.d)); got != tc.want {
			t.Errorf("%v before due: %d, want %d", tc.d, got, tc.want)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }
