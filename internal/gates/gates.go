// Package gates decides, from a snapshot of what was observed, whether a
// Release may be promoted into a stage. Every function is pure: the release
// engine gathers the facts, these functions say yes, wait or no, and why.
package gates

import (
	"fmt"
	"sort"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// Gate names, as GateStatus.Name shows them, in the order Evaluate runs
// them. The doc comment of GateStatus.Name (api/v1alpha1) lists them too.
const (
	// NameTarget holds a stage whose target was found invalid (TargetRetry).
	NameTarget = "target"
	// NamePaused holds a paused Release (Paused).
	NamePaused = "paused"
	// NameNotBefore holds a stage until its planned time (NotBefore).
	NameNotBefore = "notBefore"
	// NameCalendar holds a stage closed on the pipeline's calendar (Calendar).
	NameCalendar = "calendar"
	// NameBlockers holds a stage while blocker issues are open (Blockers).
	NameBlockers = "blockers"
	// NameLaunchChecklist holds a stage until the checklist is ready (LaunchChecklist).
	NameLaunchChecklist = "launchChecklist"
	// NameChecks holds a stage until the QA checks passed (Checks).
	NameChecks = "checks"
	// NameSoak holds a stage until the version soaked in the previous one (Soak).
	NameSoak = "soak"
	// NameDependencies holds a stage until the pipelines spec.requires
	// names run matching versions in it (Dependencies).
	NameDependencies = "dependencies"
	// NameGroup holds a stage until every other member of the Release's
	// launch is promoted in the stages it comes after (Group).
	NameGroup = "group"
	// NameMetrics holds a stage until its Prometheus preconditions hold (Metrics).
	NameMetrics = "metrics"
	// NameApprovals holds a stage until it is approved (Approvals).
	NameApprovals = "approvals"
	// NameArtifacts holds a stage whose artifacts' tags no longer point to
	// the digests the Release pinned, or cannot be read (Artifacts).
	NameArtifacts = "artifacts"
	// NameStage holds a stage another Release is being promoted into (StageBusy).
	NameStage = "stage"
	// NameHold holds a stage a rollback on demand left held (StageHeld).
	NameHold = "hold"
)

// Result is the outcome of one gate.
type Result struct {
	Name    string
	State   releasev1.GateState
	Reason  string
	Message string
	URL     string
	// Issues the gate names, each with its link (the open blockers).
	Issues []releasev1.BlockerIssue
	// RecheckAfter is when a pending gate can next change by itself (soak).
	RecheckAfter time.Duration
}

// Snapshot is what the controller observed for one stage of one Release.
type Snapshot struct {
	Now     time.Time
	Release *releasev1.Release
	Stage   *releasev1.Stage
	// PreviousStage is the stage the soak counts from: of the stages this
	// one comes after, the last the Release went live in; nil for a stage
	// after none.
	PreviousStage *string
	// PreviousLandedAt is when the Release went live in PreviousStage.
	PreviousLandedAt *time.Time
	// Commit is the release commit.
	Commit string
	// Checks on the commit; only read when the stage has a checks gate.
	Checks []github.CheckResult
	// Metrics are the measurements of the stage's metrics gate, by name.
	Metrics []NamedMeasurement
	// Planned is the Release's planned time for the stage (spec.plan), if any.
	Planned *time.Time
	// Calendar is the stage on the pipeline's calendar, nil without calendarRef.
	Calendar *CalendarFacts
	// Blockers, nil when neither the stage nor the Release's milestone has any.
	Blockers *BlockerFacts
	// Checklist, read when the stage has gates.launchChecklist.
	Checklist *ChecklistFacts
	// Lock is the stage's lock when another Release holds it, nil when free.
	Lock *LockFacts
	// Target is the stage's last failed attempt to write its target, nil
	// when there was none.
	Target *TargetFacts
	// Artifacts are the Release's pinned artifacts resolved again, read
	// only once every other gate lets the Release go; nil until then.
	Artifacts []ArtifactFact
	// Signatures are the pinned artifacts' signatures for a stage with
	// gates.signature, read with Artifacts; nil until then.
	Signatures []SignatureFact
	// Hold is the rollback on demand that holds the stage, nil when none does.
	Hold *HoldFacts
	// Dependencies are the Release's requirements (spec.requires of the
	// Release and its pipeline) as found for the stage, nil without any.
	Dependencies []DependencyFacts
	// Group is the Release's launch as found for the stage, nil when the
	// Release is in none.
	Group *GroupFacts
	// LaunchApprovals replace the Release's approvals in the stage when its
	// launch approves for it; nil otherwise.
	LaunchApprovals *LaunchApprovals
}

// HoldFacts is a rollback on demand that holds a stage until a person
// resumes it.
type HoldFacts struct {
	Pipeline string
	Stage    string
	// Index of the rollback in the pipeline's spec.rollbacks.
	Index int
	// From is the version rolled back, when the rollback was made; To the
	// one written back.
	From, To   string
	By, Reason string
	At         time.Time
}

// NamedMeasurement is one precondition's measurement.
type NamedMeasurement struct {
	Name string
	analysis.Measurement
}

// Evaluate runs every gate of the stage, in a fixed order. A target found
// invalid holds the stage alone until it may be tried again. The stage's
// lock counts once every other gate lets the Release go, and shows only
// while it holds: a waiting Release need not say who promotes meanwhile.
func Evaluate(s Snapshot) []Result {
	if s.Target != nil {
		if r := TargetRetry(*s.Target, s.Now); r.State != releasev1.GatePassed {
			return []Result{r}
		}
	}
	out := []Result{Paused(s.Release.Spec.Paused)}
	if s.Hold != nil {
		out = append(out, Held(*s.Hold))
	}
	g := s.Stage.Gates
	if g == nil {
		g = &releasev1.Gates{}
	}
	if s.Planned != nil {
		out = append(out, NotBefore(*s.Planned, s.Now))
	}
	if s.Calendar != nil {
		out = append(out, Calendar(s.Calendar, s.Now))
	}
	if s.Blockers != nil {
		out = append(out, Blockers(s.Blockers))
	}
	if g.LaunchChecklist && s.Checklist != nil {
		out = append(out, LaunchChecklist(s.Checklist))
	}
	if g.Checks != nil {
		out = append(out, Checks(g.Checks.Required, s.Checks, s.Commit))
	}
	if g.Soak != nil {
		out = append(out, Soak(g.Soak.Duration, s.PreviousStage, s.PreviousLandedAt, s.Now))
	}
	if len(s.Dependencies) > 0 {
		out = append(out, Dependencies(s.Dependencies))
	}
	if s.Group != nil {
		out = append(out, Group(*s.Group))
	}
	if len(g.Metrics) > 0 {
		out = append(out, Metrics(s.Metrics))
	}
	if s.Stage.Promotion == releasev1.PromotionManual || g.Approvals != nil {
		count := int32(1)
		if g.Approvals != nil && g.Approvals.Count > 0 {
			count = g.Approvals.Count
		}
		if s.LaunchApprovals != nil {
			out = append(out, ApprovalsOfLaunch(s.Stage.Name, count, *s.LaunchApprovals))
		} else {
			out = append(out, Approvals(s.Stage.Name, count, s.Release.Spec.Approvals))
		}
	}
	if s.Artifacts != nil {
		out = append(out, Artifacts(s.Artifacts, s.Now))
	}
	if s.Signatures != nil {
		out = append(out, Signature(s.Signatures))
	}
	if s.Lock != nil {
		if state, _ := Summary(out); state == releasev1.GatePassed {
			if r := StageBusy(*s.Lock, s.Now); r.State != releasev1.GatePassed {
				out = append(out, r)
			}
		}
	}
	return out
}

// Summary folds gate results: Failed beats Pending beats Passed. It returns
// the overall state and the results that hold the promotion.
func Summary(results []Result) (releasev1.GateState, []Result) {
	state := releasev1.GatePassed
	var holding []Result
	for _, r := range results {
		switch r.State {
		case releasev1.GateFailed:
			state = releasev1.GateFailed
			holding = append(holding, r)
		case releasev1.GatePending:
			if state == releasev1.GatePassed {
				state = releasev1.GatePending
			}
			holding = append(holding, r)
		}
	}
	return state, holding
}

// Paused holds every promotion while the Release is paused.
func Paused(paused bool) Result {
	if paused {
		return Result{Name: NamePaused, State: releasev1.GateFailed, Reason: releasev1.ReasonPaused, Message: "the Release is paused: set spec.paused to false to go on"}
	}
	return Result{Name: NamePaused, State: releasev1.GatePassed, Reason: releasev1.ReasonNotPaused, Message: "not paused"}
}

// Held holds a stage a rollback on demand left held: the version rolled
// back is not promoted again, nor any other, until a person says so.
func Held(h HoldFacts) Result {
	what := "a rollback"
	if h.From != "" {
		what = "the rollback of " + h.From
	}
	return Result{Name: NameHold, State: releasev1.GateFailed, Reason: releasev1.ReasonStageHeld,
		Message: fmt.Sprintf("%s is held since %s to %s, asked by %s at %s: %s; when it is safe to promote into %s again: kubectl liftoff resume pipeline/%s --stage %s",
			h.Stage, what, h.To, h.By, h.At.UTC().Format("2006-01-02 15:04 MST"), h.Reason, h.Stage, h.Pipeline, h.Stage)}
}

// Checks requires the named check runs and statuses (or, with no names, every
// reported one, and at least one) to have succeeded on the commit.
func Checks(required []string, results []github.CheckResult, commit string) Result {
	r := Result{Name: NameChecks}
	byName := map[string][]github.CheckResult{}
	for _, c := range results {
		byName[c.Name] = append(byName[c.Name], c)
	}
	names := required
	if len(names) == 0 {
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			r.State, r.Reason = releasev1.GatePending, releasev1.ReasonChecksNotReported
			r.Message = fmt.Sprintf("no check run or commit status reported on %s yet", github.ShortSHA(commit))
			return r
		}
	}
	var failed, pending, missing []string
	for _, n := range names {
		got, ok := byName[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		for _, c := range got {
			switch c.State {
			case github.CheckFailure:
				failed = append(failed, fmt.Sprintf("%s (%s)", n, c.Detail))
				if r.URL == "" {
					r.URL = c.URL
				}
			case github.CheckPending:
				pending = append(pending, fmt.Sprintf("%s (%s)", n, c.Detail))
			}
		}
	}
	switch {
	case len(failed) > 0:
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonChecksFailed
		r.Message = "failed on " + github.ShortSHA(commit) + ": " + strings.Join(failed, ", ")
		if r.URL != "" {
			r.Message += " " + r.URL
		}
	case len(pending)+len(missing) > 0:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonChecksPending
		var parts []string
		if len(pending) > 0 {
			parts = append(parts, "running: "+strings.Join(pending, ", "))
		}
		if len(missing) > 0 {
			parts = append(parts, "not reported yet: "+strings.Join(missing, ", "))
		}
		r.Message = "waiting on " + github.ShortSHA(commit) + ": " + strings.Join(parts, "; ")
	default:
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonChecksPassed
		r.Message = fmt.Sprintf("%d passed on %s: %s", len(names), github.ShortSHA(commit), strings.Join(names, ", "))
	}
	return r
}

// Metrics requires every precondition to hold. A query error or an
// inconclusive measurement waits; a failed one blocks until it holds again.
func Metrics(ms []NamedMeasurement) Result {
	r := Result{Name: NameMetrics}
	var failed, waiting, ok []string
	for _, m := range ms {
		desc := m.Name
		if m.Value != "" {
			desc += " = " + m.Value
		}
		switch m.Phase {
		case analysis.Successful:
			ok = append(ok, desc)
		case analysis.Failed:
			failed = append(failed, desc+" ("+m.Message+")")
		default:
			waiting = append(waiting, desc+" ("+m.Message+")")
		}
	}
	switch {
	case len(failed) > 0:
		r.State, r.Reason, r.Message = releasev1.GateFailed, releasev1.ReasonMetricsFailed, "precondition not met: "+strings.Join(failed, ", ")
	case len(waiting) > 0:
		r.State, r.Reason, r.Message = releasev1.GatePending, releasev1.ReasonMetricsPending, "cannot tell yet: "+strings.Join(waiting, ", ")
	default:
		r.State, r.Reason, r.Message = releasev1.GatePassed, releasev1.ReasonMetricsPassed, strings.Join(ok, ", ")
	}
	return r
}

// Soak requires the Release to have been live in the previous stage for d
// (of a fan-in, the last of the stages before it to go live).
func Soak(d time.Duration, previous *string, landedAt *time.Time, now time.Time) Result {
	r := Result{Name: NameSoak}
	switch {
	case previous == nil:
		r.State, r.Reason, r.Message = releasev1.GatePassed, releasev1.ReasonFirstStage, "no stage before this one: nothing to soak in"
	case landedAt == nil:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonNotLanded
		r.Message = fmt.Sprintf("waiting for the Release to land in %s", *previous)
	default:
		left := landedAt.Add(d).Sub(now)
		if left <= 0 {
			r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonSoaked
			r.Message = fmt.Sprintf("live in %s for %s (soak %s)", *previous, now.Sub(*landedAt).Round(time.Second), d)
			return r
		}
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonSoaking
		r.Message = fmt.Sprintf("soaking in %s: %s left of %s, until %s", *previous, left.Round(time.Second), d, landedAt.Add(d).UTC().Format(time.RFC3339))
		r.RecheckAfter = left
	}
	return r
}

// Approvals requires count distinct approvals of stage. Approvals by the same
// person count once; an approval without a name counts on its own.
func Approvals(stage string, count int32, approvals []releasev1.Approval) Result {
	r := Result{Name: NameApprovals}
	seen := map[string]bool{}
	var who []string
	anonymous := 0
	for _, a := range approvals {
		if a.Stage != stage {
			continue
		}
		if a.By == "" {
			anonymous++
			continue
		}
		if !seen[a.By] {
			seen[a.By] = true
			who = append(who, a.By)
		}
	}
	got := int32(len(who) + anonymous)
	if got >= count {
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonApproved
		r.Message = fmt.Sprintf("%d of %d approvals", got, count)
		if len(who) > 0 {
			r.Message += " (" + strings.Join(who, ", ") + ")"
		}
		return r
	}
	r.State, r.Reason = releasev1.GatePending, releasev1.ReasonAwaitingApproval
	r.Message = fmt.Sprintf("%d of %d approvals for %s: add an entry with stage %q to spec.approvals", got, count, stage, stage)
	return r
}
