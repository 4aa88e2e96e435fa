package gates

import (
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// CalendarFacts is what the controller observed of the pipeline's calendar
// for one stage.
type CalendarFacts struct {
	// Name of the ReleaseCalendar.
	Name string
	// Problem is set when the calendar cannot be used (missing, invalid): the
	// gate then blocks, since promoting through an unknown freeze is worse
	// than waiting.
	Problem string
	// Open and Reason: the stage's state now.
	Open   bool
	Reason string
	// Next is when the state changes; zero when it does not within the lookahead.
	Next time.Time
	// Location renders times for people.
	Location *time.Location
}

// Calendar holds a promotion while the stage is closed on the calendar.
func Calendar(c *CalendarFacts, now time.Time) Result {
	r := Result{Name: NameCalendar}
	switch {
	case c.Problem != "":
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonCalendarInvalid
		r.Message = fmt.Sprintf("calendar %s: %s", c.Name, c.Problem)
	case c.Open:
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonWindowOpen
		r.Message = fmt.Sprintf("calendar %s: %s", c.Name, c.Reason)
	default:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonWindowClosed
		r.Message = fmt.Sprintf("calendar %s: %s", c.Name, c.Reason)
		if c.Next.IsZero() {
			r.Message += "; no opening in the next 400 days"
		} else {
			r.Message += "; opens at " + c.Next.In(loc(c.Location)).Format("2006-01-02 15:04 MST")
			r.RecheckAfter = c.Next.Sub(now)
		}
	}
	return r
}

// NotBefore holds a promotion until the Release's planned time for the stage.
func NotBefore(planned time.Time, now time.Time) Result {
	r := Result{Name: NameNotBefore}
	if !now.Before(planned) {
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonPlannedTimeReached
		r.Message = "planned for " + planned.UTC().Format(time.RFC3339)
		return r
	}
	r.State, r.Reason = releasev1.GatePending, releasev1.ReasonPlannedLater
	left := planned.Sub(now)
	r.Message = fmt.Sprintf("planned for %s (in %s): spec.plan holds it until then", planned.UTC().Format(time.RFC3339), left.Round(time.Second))
	r.RecheckAfter = left
	return r
}

// Blocker is an open issue that blocks.
type Blocker struct {
	Number int
	Title  string
	URL    string
}

// BlockerFacts is what the controller found of the stage's blockers.
type BlockerFacts struct {
	// Query of the stage's blockers gate, "" when it has none.
	Query string
	// QueryProblem is GitHub's refusal of the query, if it refused it.
	QueryProblem string
	// SearchTotal and Search are the open issues the query finds.
	SearchTotal int
	Search      []Blocker
	// Milestone of the Release whose blockers hold this stage, "" when none.
	Milestone string
	// MilestoneProblem is set when the Milestone cannot be read (not found).
	MilestoneProblem string
	// MilestoneTotal and MilestoneBlockers are its open blockers.
	MilestoneTotal    int
	MilestoneBlockers []Blocker
}

// maxListed bounds the blockers named in a message.
const maxListed = 5

// Blockers holds a promotion while open blocker issues exist. The gate is
// Pending, not Failed: closing the issue lets the Release go on by itself.
func Blockers(f *BlockerFacts) Result {
	r := Result{Name: NameBlockers}
	if f.QueryProblem != "" {
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonBlockersQueryInvalid
		r.Message = fmt.Sprintf("GitHub refused the search %q: %s: fix gates.blockers.query", f.Query, f.QueryProblem)
		return r
	}
	var parts []string
	if f.Query != "" && f.SearchTotal > 0 {
		parts = append(parts, fmt.Sprintf("%d open issue(s) match %q: %s", f.SearchTotal, f.Query, list(f.Search, f.SearchTotal)))
		if r.URL == "" && len(f.Search) > 0 {
			r.URL = f.Search[0].URL
		}
	}
	if f.MilestoneProblem != "" {
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonMilestoneNotFound
		r.Message = fmt.Sprintf("milestone %s: %s", f.Milestone, f.MilestoneProblem)
		return r
	}
	if f.Milestone != "" && f.MilestoneTotal > 0 {
		parts = append(parts, fmt.Sprintf("milestone %s has %d open blocker(s): %s", f.Milestone, f.MilestoneTotal, list(f.MilestoneBlockers, f.MilestoneTotal)))
		if r.URL == "" && len(f.MilestoneBlockers) > 0 {
			r.URL = f.MilestoneBlockers[0].URL
		}
	}
	if len(parts) > 0 {
		r.Issues = append(issues(f.Search), issues(f.MilestoneBlockers)...)
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonBlockersOpen
		r.Message = strings.Join(parts, "; ") + ": close them to go on"
		return r
	}
	r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonNoBlockers
	var what []string
	if f.Query != "" {
		what = append(what, fmt.Sprintf("no open issue matches %q", f.Query))
	}
	if f.Milestone != "" {
		what = append(what, fmt.Sprintf("milestone %s has no open blocker", f.Milestone))
	}
	r.Message = strings.Join(what, "; ")
	return r
}

func list(bs []Blocker, total int) string {
	var out []string
	for i, b := range bs {
		if i == maxListed {
			break
		}
		out = append(out, fmt.Sprintf("#%d %s", b.Number, b.Title))
	}
	s := strings.Join(out, ", ")
	if total > len(out) {
		s += fmt.Sprintf(" and %d more", total-len(out))
	}
	return s
}

// issues are the blockers a message names (the first maxListed), with their links.
func issues(bs []Blocker) []releasev1.BlockerIssue {
	var out []releasev1.BlockerIssue
	for i, b := range bs {
		if i == maxListed {
			break
		}
		out = append(out, releasev1.BlockerIssue{Number: b.Number, Title: b.Title, URL: b.URL})
	}
	return out
}

func loc(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// ChecklistFacts is the Release's launch checklist as observed.
type ChecklistFacts struct {
	// Name of the LaunchChecklist, "" when the Release names none.
	Name string
	// Problem: the checklist is missing.
	Problem     string
	Ready       bool
	Done, Total int32
	// Open names the required items still open and their owners.
	Open string
}

// LaunchChecklist holds a promotion until the Release's checklist is ready.
func LaunchChecklist(f *ChecklistFacts) Result {
	r := Result{Name: NameLaunchChecklist}
	switch {
	case f.Name == "":
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonNoChecklist
		r.Message = "the stage needs a launch checklist: set the Release's spec.launchChecklist"
	case f.Problem != "":
		r.State, r.Reason, r.Message = releasev1.GateFailed, releasev1.ReasonChecklistNotFound, f.Problem
	case f.Ready:
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonChecklistReady
		r.Message = fmt.Sprintf("checklist %s ready: %d of %d done or waived", f.Name, f.Done, f.Total)
	default:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonChecklistOpen
		r.Message = fmt.Sprintf("checklist %s: %d of %d done; open: %s", f.Name, f.Done, f.Total, f.Open)
	}
	return r
}
