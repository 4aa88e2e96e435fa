package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

// MaxReport is the size of a report kept in status and sent.
const MaxReport = 16 << 10

// DefaultLookahead is how far ahead a report's "Coming up" reaches.
const DefaultLookahead = 7 * 24 * time.Hour

// ReportInput is what a release report is written from.
type ReportInput struct {
	// Now is when it is written; it covers PeriodStart to Now.
	Now, PeriodStart time.Time
	// Occurrence of the schedule it is for.
	Occurrence time.Time
	// Loc is the time zone of its times.
	Loc *time.Location
	// Lookahead of "Coming up".
	Lookahead  time.Duration
	Pipelines  []releasev1.ReleasePipeline
	Releases   []releasev1.Release
	Calendars  []releasev1.ReleaseCalendar
	Milestones []releasev1.Milestone
	// Launches with a member among the Releases.
	Launches []releasev1.Launch
}

// BuildReport writes the release report a release manager sends to
// stakeholders, in Markdown: what shipped since the last report per pipeline
// and stage with the slip against plan, what is in flight and what holds it,
// the rollbacks and their postmortems, the freezes and planned promotions
// coming up, and the milestones' health and forecast. It is cut at MaxReport.
func BuildReport(in ReportInput) (string, bool) {
	if in.Loc == nil {
		in.Loc = time.UTC
	}
	if in.Lookahead <= 0 {
		in.Lookahead = DefaultLookahead
	}
	r := &reporter{in: in, pipes: map[string]*releasev1.ReleasePipeline{}}
	for i := range in.Pipelines {
		r.pipes[in.Pipelines[i].Name] = &in.Pipelines[i]
	}
	shipped, landed := r.shipped()
	rollbacks := r.rollbacks()
	inFlight := r.inFlight()
	var b strings.Builder
	fmt.Fprintf(&b, "# Release report, %s\n\n", r.t(in.Occurrence))
	fmt.Fprintf(&b, "From %s to %s: %s landed, %s, %s in flight.\n\n", r.t(in.PeriodStart), r.t(in.Now),
		notes.Count(landed, "promotion"), notes.Count(len(rollbacks), "rollback"), notes.Count(len(inFlight), "release"))
	section(&b, "Shipped", shipped, "Nothing landed in this period.")
	section(&b, "In flight", inFlight, "Nothing in flight.")
	section(&b, "Rollbacks", rollbacks, "No rollback.")
	section(&b, "Coming up", r.comingUp(), fmt.Sprintf("No freeze or planned promotion in the next %s.", Duration(in.Lookahead)))
	section(&b, "Launches", r.launches(), "No launch.")
	section(&b, "Milestones", r.milestones(), "No milestone.")
	return cut(b.String(), MaxReport)
}

type reporter struct {
	in    ReportInput
	pipes map[string]*releasev1.ReleasePipeline
}

func (r *reporter) t(t time.Time) string { return FormatTime(t, r.in.Loc) }

func (r *reporter) day(t time.Time) string { return t.In(r.in.Loc).Format("Mon 2 Jan 2006") }

func section(b *strings.Builder, title string, lines []string, none string) {
	fmt.Fprintf(b, "## %s\n\n", title)
	if len(lines) == 0 {
		b.WriteString(none + "\n\n")
		return
	}
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
}

func (r *reporter) inPeriod(t time.Time) bool {
	return !t.Before(r.in.PeriodStart) && !t.After(r.in.Now)
}

// pipelineNames are the pipelines of the report, sorted.
func (r *reporter) pipelineNames() []string {
	names := make([]string, 0, len(r.pipes))
	for n := range r.pipes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// shipped lists, per pipeline and stage in order, the versions that landed
// in the period with their slip against plan.
func (r *reporter) shipped() ([]string, int) {
	var out []string
	total := 0
	for _, name := range r.pipelineNames() {
		pipe := r.pipes[name]
		var lines []string
		for _, st := range pipe.Spec.Stages {
			type landing struct {
				at   time.Time
				line string
			}
			var ls []landing
			for _, rel := range r.sortedReleases() {
				ss := rel.Status.StageStatus(st.Name)
				if rel.Spec.Pipeline != name || ss == nil || ss.Promotion == nil || ss.Promotion.CompletedAt == nil || !r.inPeriod(ss.Promotion.CompletedAt.Time) {
					continue
				}
				at := ss.Promotion.CompletedAt.Time
				line := fmt.Sprintf("  - %s: %s, %s", st.Name, rel.Spec.Version, r.t(at))
				if ss.PlannedAt != nil {
					line += fmt.Sprintf(" (planned %s, %s)", r.t(ss.PlannedAt.Time), slip(ss))
				}
				switch ss.Phase {
				case releasev1.StageRolledBack:
					line += ", rolled back"
				case releasev1.StageVerifying:
					line += ", verifying"
				case releasev1.StageFailed:
					line += ", failed"
				}
				line += targetsNote(ss)
				ls = append(ls, landing{at, line})
			}
			sort.SliceStable(ls, func(i, j int) bool { return ls[i].at.Before(ls[j].at) })
			for _, l := range ls {
				lines = append(lines, l.line)
			}
			total += len(ls)
		}
		if len(lines) > 0 {
			out = append(out, fmt.Sprintf("- **%s**, live: %s", name, pipe.Status.Live))
			out = append(out, lines...)
		}
	}
	return out, total
}

func slip(ss *releasev1.ReleaseStageStatus) string {
	if ss.Slip == nil || ss.Slip.Duration < time.Minute {
		return "on time"
	}
	return Duration(ss.Slip.Duration) + " late"
}

// inFlight lists the Releases on their way and what holds each.
func (r *reporter) inFlight() []string {
	var out []string
	for _, rel := range r.sortedReleases() {
		pipe := r.pipes[rel.Spec.Pipeline]
		switch rel.Status.Phase {
		case releasev1.PhasePending, releasev1.PhaseProgressing, releasev1.PhaseVerifying, releasev1.PhaseBlocked:
		default:
			continue
		}
		i, ss := stageIndex(rel, pipe, rel.Status.FirstCurrentStage())
		head := fmt.Sprintf("- **%s %s**", rel.Spec.Pipeline, rel.Spec.Version)
		if ss == nil {
			out = append(out, head+": "+string(rel.Status.Phase))
			continue
		}
		switch ss.Phase {
		case releasev1.StageWaiting:
			out = append(out, head+" before "+ss.Name+": "+r.holding(rel, pipe, i, ss))
		case releasev1.StageVerifying:
			out = append(out, fmt.Sprintf("%s verifying in %s: %s", head, ss.Name, notes.EscapeMarkdown(clip(ss.Message, 300))))
		case releasev1.StageAwaitingMerge:
			l := head + " awaits the merge of its pull request into " + ss.Name
			if p := ss.Promotion; p != nil && p.PullRequest != nil {
				l += fmt.Sprintf(": [#%d](%s)", p.PullRequest.Number, p.PullRequest.URL)
			}
			out = append(out, l)
		default:
			out = append(out, fmt.Sprintf("%s %s in %s: %s", head, strings.ToLower(string(ss.Phase)), ss.Name, notes.EscapeMarkdown(clip(ss.Message, 300))))
		}
	}
	return out
}

// holding says what holds a waiting Release before a stage, in the words
// of the people who read the report (gates.Words: who or what, never the
// field an operator edits; that stays in the Release's status), and since
// when it waits: not before its planned time, which is no wait but a plan.
func (r *reporter) holding(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, i int, ss *releasev1.ReleaseStageStatus) string {
	clock := gates.Clock{Now: r.in.Now, Loc: r.in.Loc, Relative: true}
	var said []string
	for _, g := range ss.Gates {
		if g.Status == releasev1.GatePassed {
			continue
		}
		w := notes.EscapeMarkdown(clip(gates.Words(ss.Name, g, clock), 400))
		var links []string
		for _, is := range g.Issues {
			links = append(links, markdownLink(Link{Title: fmt.Sprintf("#%d %s", is.Number, is.Title), URL: is.URL}))
		}
		if len(links) > 0 {
			w += ": " + strings.Join(links, ", ")
		}
		said = append(said, w)
	}
	if len(said) == 0 {
		said = append(said, notes.EscapeMarkdown(clip(ss.Message, 400)))
	}
	l := strings.Join(said, "; ")
	if since := readyAt(rel, pipe, i); !since.After(r.in.Now) {
		l += fmt.Sprintf(" (waiting since %s, %s)", r.t(since), Since(since, r.in.Now))
	}
	return l
}

// rollbacks lists the rollbacks of the period with their analysis and postmortem.
func (r *reporter) rollbacks() []string {
	var out []string
	for _, rel := range r.sortedReleases() {
		for _, ss := range rel.Status.Stages {
			if ss.Phase != releasev1.StageRolledBack || ss.Rollback == nil || ss.Rollback.At == nil || !r.inPeriod(ss.Rollback.At.Time) {
				continue
			}
			l := fmt.Sprintf("- **%s %s** in %s, %s: back to %s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name, r.t(ss.Rollback.At.Time), ss.Rollback.Version)
			for _, m := range analysisOf(ss.Analysis) {
				if m.Phase == "Failed" || m.Phase == "Error" || m.Phase == "Inconclusive" {
					l += fmt.Sprintf("; %s %s (%d of %d failed", notes.EscapeMarkdown(m.Name), m.Phase, m.Failures, m.Measurements)
					if m.Last != "" {
						l += ", last " + notes.EscapeMarkdown(m.Last)
					}
					l += ")"
				}
			}
			if back := rolledBackTargets(&ss); len(back) > 0 {
				l += "; targets written back: " + releasev1.NameFew(back)
			}
			if ss.Postmortem != nil {
				l += fmt.Sprintf("; [postmortem #%d](%s)", ss.Postmortem.Number, ss.Postmortem.URL)
			}
			out = append(out, l)
		}
	}
	return out
}

// comingUp lists the freezes of the pipelines' calendars, the planned
// promotions and the milestone due dates within the lookahead.
func (r *reporter) comingUp() []string {
	end := r.in.Now.Add(r.in.Lookahead)
	type item struct {
		at   time.Time
		line string
	}
	var items []item
	seen := map[string]bool{}
	within := func(t time.Time) bool { return !t.Before(r.in.Now) && !t.After(end) }
	for _, rc := range r.in.Calendars {
		for _, u := range rc.Status.Upcoming {
			if u.Type != releasev1.EntryFreeze || !within(u.Start.Time) {
				continue
			}
			key := fmt.Sprintf("%s|%d", u.Title, u.Start.Unix())
			if seen[key] {
				continue
			}
			seen[key] = true
			stages := "every stage"
			if len(u.Stages) > 0 {
				stages = strings.Join(u.Stages, ", ")
			}
			l := fmt.Sprintf("- %s: **%s** of %s", r.t(u.Start.Time), u.Title, stages)
			if u.End != nil {
				l += " until " + r.t(u.End.Time)
			}
			if u.Detail != "" {
				l += ": " + notes.EscapeMarkdown(u.Detail)
			}
			items = append(items, item{u.Start.Time, l})
		}
	}
	for _, rel := range r.in.Releases {
		for _, p := range rel.Spec.Plan {
			ss := rel.Status.StageStatus(p.Stage)
			done := ss != nil && ss.Promotion != nil && ss.Promotion.CompletedAt != nil
			if done || !within(p.At.Time) || rel.Status.Phase == releasev1.PhaseFailed || rel.Status.Phase == releasev1.PhaseSuperseded {
				continue
			}
			items = append(items, item{p.At.Time, fmt.Sprintf("- %s: %s %s planned into %s", r.t(p.At.Time), rel.Spec.Pipeline, rel.Spec.Version, p.Stage)})
		}
	}
	for _, ms := range r.in.Milestones {
		if within(ms.Spec.DueDate.Time) {
			items = append(items, item{ms.Spec.DueDate.Time, fmt.Sprintf("- %s: milestone %s due (%s)", r.t(ms.Spec.DueDate.Time), ms.Name, ms.Status.Health)})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].at.Before(items[j].at) })
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.line)
	}
	return out
}

// launches lists each launch that is not over, or ended in the period:
// its phase and stage, who holds it and why, and when it is forecast to
// reach each stage it has not reached yet.
func (r *reporter) launches() []string {
	var out []string
	for _, l := range r.in.Launches {
		st := l.Status
		if l.Done() && !r.endedInPeriod(&l) {
			continue
		}
		line := fmt.Sprintf("- **%s** (%s): %s", l.Name, notes.Count(len(st.Members), "member"), orWord(string(st.Phase), "Pending"))
		if st.CurrentStage != "" {
			line += " in " + st.CurrentStage
		}
		if st.Holder != "" {
			line += ": " + notes.EscapeMarkdown(clip(st.Holder, 400))
		}
		var ahead []string
		for _, f := range st.Forecast {
			if !f.Reached && l.Status.Phase != releasev1.LaunchFailed {
				ahead = append(ahead, fmt.Sprintf("%s %s (%s)", f.Stage, r.t(f.At.Time), f.Member))
			}
		}
		if len(ahead) > 0 {
			line += "; forecast: " + strings.Join(ahead, ", ")
		}
		out = append(out, line)
	}
	return out
}

// endedInPeriod: the launch's members last moved in the period (the
// launch's Ready condition changed then).
func (r *reporter) endedInPeriod(l *releasev1.Launch) bool {
	for _, c := range l.Status.Conditions {
		if c.Type == releasev1.ConditionReady {
			return r.inPeriod(c.LastTransitionTime.Time)
		}
	}
	return false
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// milestones lists each milestone's health, due date, forecast and blockers.
func (r *reporter) milestones() []string {
	ms := append([]releasev1.Milestone(nil), r.in.Milestones...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Spec.DueDate.Before(&ms[j].Spec.DueDate) })
	var out []string
	for _, m := range ms {
		health := string(m.Status.Health)
		if health == "" {
			health = "not assessed yet"
		}
		l := fmt.Sprintf("- **%s**: %s, due %s (%d days)", m.Name, health, r.day(m.Spec.DueDate.Time), m.Status.DaysRemaining)
		if m.Status.Forecast != nil {
			l += ", forecast " + r.day(m.Status.Forecast.Time)
		}
		if m.Status.Progress != "" {
			l += ", issues " + m.Status.Progress
		}
		if m.Status.BlockerCount > 0 {
			var bs []string
			for _, b := range m.Status.Blockers {
				bs = append(bs, markdownLink(Link{Title: fmt.Sprintf("#%d %s", b.Number, b.Title), URL: b.URL}))
			}
			l += fmt.Sprintf(", %s: %s", notes.Count(int(m.Status.BlockerCount), "open blocker"), strings.Join(bs, ", "))
		}
		out = append(out, l)
	}
	return out
}

func (r *reporter) sortedReleases() []*releasev1.Release {
	out := make([]*releasev1.Release, 0, len(r.in.Releases))
	for i := range r.in.Releases {
		if r.pipes[r.in.Releases[i].Spec.Pipeline] != nil {
			out = append(out, &r.in.Releases[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Spec.Pipeline != out[j].Spec.Pipeline {
			return out[i].Spec.Pipeline < out[j].Spec.Pipeline
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// cut keeps a report within limit bytes, at a line end, and says so.
func cut(md string, limit int) (string, bool) {
	if len(md) <= limit {
		return md, false
	}
	const note = "\n\n_The report is longer than 16 KiB and was cut here: the Releases and `kubectl get liftoff` have the rest._\n"
	md = md[:limit-len(note)]
	if i := strings.LastIndex(md, "\n"); i > 0 {
		md = md[:i]
	}
	return md + note, true
}
