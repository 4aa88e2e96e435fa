// Package milestone computes a Milestone's status from a snapshot: its GitHub
// issues, its Releases, the due date and the time. The functions are pure so
// every rule is table-tested without a cluster or GitHub.
//
// Health, first rule that applies:
//
//  1. Completed: every issue of the GitHub milestone is closed, no blocker is
//     open and every Release of the milestone is done (live in the target
//     stage), on or before the due date. Without a GitHub part the Releases
//     decide alone; with neither issues nor Releases there is nothing to
//     complete, so the milestone is never Completed. Once complete it stays
//     so: completedAt is recorded and later reopened issues change nothing.
//  2. Missed: the due date passed before completion (also when completion
//     came after the due date).
//  3. Late: the forecast is after the due date, or issues remain open and
//     none closed in the last four weeks (no forecast).
//  4. AtRisk: blockers are open, or the forecast is within two days before
//     the due date.
//  5. OnTrack otherwise.
package milestone

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

const (
	// RateWindow is how far back closings count towards the closing rate.
	RateWindow = 4 * 7 * 24 * time.Hour
	// AtRiskMargin means a forecast this close before the due date is at risk.
	AtRiskMargin = 48 * time.Hour
	// MaxBlockersListed bounds status.blockers; blockerCount has the total.
	MaxBlockersListed = 50
	// DefaultBlockerLabel is the blocker label when spec.blockerLabels is empty.
	DefaultBlockerLabel = "release-blocker"
)

// Issue is an issue or pull request of the GitHub milestone.
type Issue struct {
	Number              int
	Title, URL          string
	Open                bool
	Labels              []string
	CreatedAt, ClosedAt time.Time
}

// IssueStats is what the issues say, as stored in status.
type IssueStats struct {
	Open, Closed, Percent int32
	// Progress is "closed/total (percent%)".
	Progress string
	// Blockers: open issues with a blocker label, lowest number first, at most MaxBlockersListed.
	Blockers     []releasev1.BlockerIssue
	BlockerCount int32
	// PerWeek is the closing rate over RateWindow.
	PerWeek float64
	// Forecast: now + open/rate; the last closing when nothing is open; nil
	// when issues are open and nothing closed in RateWindow.
	Forecast *time.Time
}

// Stats computes the issue part of the status at now.
func Stats(now time.Time, issues []Issue, blockerLabels []string) IssueStats {
	if len(blockerLabels) == 0 {
		blockerLabels = []string{DefaultBlockerLabel}
	}
	var st IssueStats
	var lastClosed time.Time
	recent := 0
	for _, is := range issues {
		if is.Open {
			st.Open++
			if hasAny(is.Labels, blockerLabels) {
				st.BlockerCount++
				st.Blockers = append(st.Blockers, releasev1.BlockerIssue{Number: is.Number, Title: is.Title, URL: is.URL})
			}
			continue
		}
		st.Closed++
		if is.ClosedAt.After(lastClosed) {
			lastClosed = is.ClosedAt
		}
		if !is.ClosedAt.After(now) && now.Sub(is.ClosedAt) < RateWindow {
			recent++
		}
	}
	sort.Slice(st.Blockers, func(i, j int) bool { return st.Blockers[i].Number < st.Blockers[j].Number })
	if len(st.Blockers) > MaxBlockersListed {
		st.Blockers = st.Blockers[:MaxBlockersListed]
	}
	if total := st.Open + st.Closed; total > 0 {
		st.Percent = int32(int64(st.Closed) * 100 / int64(total))
	}
	st.Progress = fmt.Sprintf("%d/%d (%d%%)", st.Closed, st.Open+st.Closed, st.Percent)
	st.PerWeek = float64(recent) / (RateWindow.Hours() / (7 * 24))
	switch {
	case st.Open == 0 && st.Closed > 0:
		t := lastClosed
		st.Forecast = &t
	case st.Open > 0 && st.PerWeek > 0:
		weeks := float64(st.Open) / st.PerWeek
		t := now.Add(time.Duration(weeks * 7 * 24 * float64(time.Hour))).Truncate(time.Second)
		st.Forecast = &t
	}
	return st
}

// FormatRate renders a closing rate for status.closingRate, for example "2.5".
func FormatRate(perWeek float64) string {
	return strconv.FormatFloat(math.Round(perWeek*100)/100, 'f', -1, 64)
}

func hasAny(labels, want []string) bool {
	for _, l := range labels {
		for _, w := range want {
			if strings.EqualFold(l, w) {
				return true
			}
		}
	}
	return false
}

// Release is what the milestone needs of one of its Releases.
type Release struct {
	Name, Version string
	Phase         releasev1.ReleasePhase
	CurrentStage  string
	// SpecTarget is the Release's spec.targetStage ("" for the pipeline's last stage).
	SpecTarget string
	// Stages is the Release's status.stages, in pipeline order.
	Stages []releasev1.ReleaseStageStatus
}

// ReleaseStatus says where a Release stands against the target stage (""
// for the Release's own last stage: spec.targetStage, else the last stage of
// its pipeline). It is done when its stage status there is Promoted, or when
// it is Released having reached that stage.
func ReleaseStatus(rel Release, targetStage string) releasev1.MilestoneRelease {
	out := releasev1.MilestoneRelease{Name: rel.Name, Version: rel.Version, Phase: rel.Phase, Stage: rel.CurrentStage}
	target := targetStage
	if target == "" {
		target = rel.SpecTarget
	}
	if target == "" {
		// No stage named: the Release's whole way, every stage of a line
		// or every branch of a stage graph (a fan-out's last stage in the
		// list is only one of its ends).
		out.Done = rel.Phase == releasev1.PhaseReleased || everyStagePromoted(rel.Stages)
		return out
	}
	targetIdx, currentIdx := -1, -1
	for i, ss := range rel.Stages {
		if ss.Name == target {
			targetIdx = i
			if ss.Phase == releasev1.StagePromoted {
				out.Done = true
			}
		}
		if ss.Name == rel.CurrentStage {
			currentIdx = i
		}
	}
	if rel.Phase == releasev1.PhaseReleased && targetIdx >= 0 && currentIdx >= targetIdx {
		out.Done = true
	}
	return out
}

// everyStagePromoted: the Release is promoted in every stage it goes
// through (the others were skipped).
func everyStagePromoted(stages []releasev1.ReleaseStageStatus) bool {
	promoted := 0
	for _, ss := range stages {
		switch ss.Phase {
		case releasev1.StagePromoted:
			promoted++
		case releasev1.StageSkipped:
		default:
			return false
		}
	}
	return promoted > 0
}

// Launch is a launch that tracks the milestone (its spec.milestone), and
// when it reaches the milestone's target stage.
type Launch struct {
	Name, Stage string
	// Reaches is the launch's forecast for Stage; nil once it reached it
	// (or without a forecast).
	Reaches *time.Time
	// CriticalPath names the member it waits for there.
	CriticalPath string
}

// Input is the snapshot health is decided on.
type Input struct {
	Now, Due time.Time
	// GitHub is nil when the milestone has no GitHub part.
	GitHub *IssueStats
	// Releases of the milestone.
	Releases []releasev1.MilestoneRelease
	// Launches that track the milestone: their forecasts count as the
	// issues' does.
	Launches []Launch
	// CompletedAt from the status: once set, the milestone stays complete.
	CompletedAt *time.Time
}

// Decision is the health with its reason and message.
type Decision struct {
	Health  releasev1.MilestoneHealth
	Message string
	// CompletedAt is set once the milestone is complete (kept from the input).
	CompletedAt *time.Time
}

// Decide applies the health rules of the package comment.
func Decide(in Input) Decision {
	if in.CompletedAt != nil {
		return completed(*in.CompletedAt, in.Due)
	}
	if ok, _ := complete(in); ok {
		return completed(in.Now, in.Due)
	}
	_, missing := complete(in)
	if in.Now.After(in.Due) {
		return Decision{Health: releasev1.HealthMissed, Message: fmt.Sprintf("due %s passed: %s", day(in.Due), missing)}
	}
	gh := in.GitHub
	if gh != nil && gh.Open > 0 {
		if gh.Forecast == nil {
			return Decision{Health: releasev1.HealthLate, Message: fmt.Sprintf("%d issues open and none closed in the last 4 weeks", gh.Open)}
		}
		if gh.Forecast.After(in.Due) {
			return Decision{Health: releasev1.HealthLate, Message: fmt.Sprintf("forecast %s is after the due date %s at %s issues closed per week", day(*gh.Forecast), day(in.Due), FormatRate(gh.PerWeek))}
		}
	}
	if l := launchAfter(in.Launches, in.Due); l != nil {
		return Decision{Health: releasev1.HealthLate, Message: fmt.Sprintf("launch %s reaches %s on %s, after the due date %s (critical path: %s)",
			l.Name, l.Stage, day(*l.Reaches), day(in.Due), l.CriticalPath)}
	}
	if gh != nil && gh.BlockerCount > 0 {
		return Decision{Health: releasev1.HealthAtRisk, Message: blockerMessage(gh)}
	}
	if l := launchAfter(in.Launches, in.Due.Add(-AtRiskMargin)); l != nil {
		return Decision{Health: releasev1.HealthAtRisk, Message: fmt.Sprintf("launch %s reaches %s on %s, within 2 days of the due date %s (critical path: %s)",
			l.Name, l.Stage, day(*l.Reaches), day(in.Due), l.CriticalPath)}
	}
	if gh != nil && gh.Open > 0 && gh.Forecast.After(in.Due.Add(-AtRiskMargin)) {
		return Decision{Health: releasev1.HealthAtRisk, Message: fmt.Sprintf("forecast %s is within 2 days of the due date %s", day(*gh.Forecast), day(in.Due))}
	}
	return Decision{Health: releasev1.HealthOnTrack, Message: "on track: " + missing}
}

// launchAfter is the first launch forecast to reach its stage after t, or
// nil.
func launchAfter(launches []Launch, t time.Time) *Launch {
	for i := range launches {
		if l := &launches[i]; l.Reaches != nil && l.Reaches.After(t) {
			return l
		}
	}
	return nil
}

func completed(at, due time.Time) Decision {
	at = at.Truncate(time.Second)
	if at.After(due) {
		return Decision{Health: releasev1.HealthMissed, CompletedAt: &at, Message: fmt.Sprintf("completed %s, after the due date %s", day(at), day(due))}
	}
	return Decision{Health: releasev1.HealthCompleted, CompletedAt: &at, Message: fmt.Sprintf("completed %s", day(at))}
}

// complete reports whether everything is done, else what remains.
func complete(in Input) (bool, string) {
	var remains []string
	gh := in.GitHub
	if gh != nil {
		if gh.Open > 0 {
			remains = append(remains, fmt.Sprintf("%d of %d issues open", gh.Open, gh.Open+gh.Closed))
		}
		if gh.BlockerCount > 0 {
			remains = append(remains, fmt.Sprintf("%d blockers open", gh.BlockerCount))
		}
	}
	notDone := 0
	for _, r := range in.Releases {
		if !r.Done {
			notDone++
		}
	}
	if notDone > 0 {
		remains = append(remains, fmt.Sprintf("%d of %d releases not live in the target stage", notDone, len(in.Releases)))
	}
	if len(remains) > 0 {
		return false, strings.Join(remains, ", ")
	}
	if (gh == nil || gh.Open+gh.Closed == 0) && len(in.Releases) == 0 {
		return false, "no issues and no releases yet"
	}
	return true, ""
}

func blockerMessage(gh *IssueStats) string {
	var parts []string
	for i, b := range gh.Blockers {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("#%d %s", b.Number, b.Title))
	}
	return fmt.Sprintf("%d blockers open: %s", gh.BlockerCount, strings.Join(parts, ", "))
}

// DaysRemaining is whole days until due, negative once it passed.
func DaysRemaining(now, due time.Time) int32 {
	return int32(math.Floor(due.Sub(now).Hours() / 24))
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
