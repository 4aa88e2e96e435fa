package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

// Defaults of the spec.
const (
	DefaultBlockedAfter = time.Hour
	DefaultFreezeNotice = 24 * time.Hour
	// postmortemWait is how long a RolledBack event waits for the postmortem
	// issue of a stage that opens one, so the message can link it.
	postmortemWait = 2 * time.Minute
)

// Input is what the controller observed for one ReleaseNotification.
type Input struct {
	Now          time.Time
	Notification *releasev1.ReleaseNotification
	// Pipelines selected by the notification.
	Pipelines []releasev1.ReleasePipeline
	// Releases of those pipelines.
	Releases []releasev1.Release
	// Calendars the pipelines use.
	Calendars []releasev1.ReleaseCalendar
	// Milestones selected, or of the Releases.
	Milestones []releasev1.Milestone
	// Checklists the Releases name.
	Checklists []releasev1.LaunchChecklist
	// Launches with a member among the Releases.
	Launches []releasev1.Launch
	// Approvers lists who may approve the namespace's Releases; it is called
	// only for a Release held by its approvals gate.
	Approvers func() []string
}

// deriver is one run of Derive.
type deriver struct {
	in     Input
	want   map[releasev1.NotificationEvent]bool
	pipes  map[string]*releasev1.ReleasePipeline
	events []Event
	wake   time.Time
}

// Derive lists the events the snapshot shows now, of the kinds the spec
// wants, and the earliest later time at which time alone makes a new one (a
// wait that turns into Blocked, a freeze coming within notice, a postmortem
// waited for); wake is zero when there is none. The same snapshot always
// gives the same events with the same IDs.
func Derive(in Input) (events []Event, wake time.Time) {
	d := &deriver{in: in, want: map[releasev1.NotificationEvent]bool{}, pipes: map[string]*releasev1.ReleasePipeline{}}
	for _, e := range in.Notification.Spec.Events {
		d.want[e] = true
	}
	for i := range in.Pipelines {
		d.pipes[in.Pipelines[i].Name] = &in.Pipelines[i]
	}
	launchOf := d.launchMembers()
	members := map[*releasev1.Launch][]*releasev1.Release{}
	for i := range in.Releases {
		rel := &in.Releases[i]
		pipe := d.pipes[rel.Spec.Pipeline]
		if pipe == nil {
			continue
		}
		l := launchOf[rel.Name]
		d.stageEvents(rel, pipe, l)
		if l == nil {
			d.released(rel, pipe)
		} else {
			members[l] = append(members[l], rel)
		}
		d.blocked(rel, pipe)
	}
	for i := range in.Launches {
		d.launchEvents(&in.Launches[i], members[&in.Launches[i]])
	}
	if d.want[releasev1.EventFreezeStarting] {
		for i := range in.Calendars {
			d.freezes(&in.Calendars[i])
		}
	}
	if d.want[releasev1.EventMilestoneAtRisk] {
		for i := range in.Milestones {
			d.milestone(&in.Milestones[i])
		}
	}
	sort.SliceStable(d.events, func(i, j int) bool {
		if !d.events[i].At.Equal(d.events[j].At) {
			return d.events[i].At.Before(d.events[j].At)
		}
		return d.events[i].ID < d.events[j].ID
	})
	return d.events, d.wake
}

func (d *deriver) add(e Event) {
	e.Namespace, e.Notification = d.in.Notification.Namespace, d.in.Notification.Name
	d.events = append(d.events, e)
}

func (d *deriver) wakeAt(t time.Time) {
	if t.After(d.in.Now) && (d.wake.IsZero() || t.Before(d.wake)) {
		d.wake = t
	}
}

// base is an event about a Release in a stage.
func base(rel *releasev1.Release, stage string) Event {
	return Event{Pipeline: rel.Spec.Pipeline, Release: rel.Name, Version: rel.Spec.Version, Stage: stage}
}

// stageEvents: Verifying, Promoted and RolledBack, one per promotion. A
// member of launch l (nil for none) has no Promoted of its own, nor a
// RolledBack of the stage where its launch rolled back as a group: the
// launch tells those.
func (d *deriver) stageEvents(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, l *releasev1.Launch) {
	for i := range rel.Status.Stages {
		ss := &rel.Status.Stages[i]
		p := ss.Promotion
		if p == nil || p.StartedAt == nil || p.CompletedAt == nil {
			continue
		}
		if d.waveEvents(rel, pipe, ss) {
			continue
		}
		natural := fmt.Sprintf("%s/%s/%%s/%d", rel.UID, ss.Name, p.StartedAt.Unix())
		e := base(rel, ss.Name)
		e.PreviousVersion = p.PreviousVersion
		e.Links = promotionLinks(pipe, ss)
		e.ReleaseNotes = notesOf(ss)
		switch {
		case ss.Phase == releasev1.StageVerifying && d.want[releasev1.EventVerifying]:
			e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf(natural, "verifying")), string(releasev1.EventVerifying), SeverityInfo, p.CompletedAt.Time
			e.Title = fmt.Sprintf("%s %s landed in %s: verifying", rel.Spec.Pipeline, rel.Spec.Version, ss.Name)
			e.Text = fmt.Sprintf("The analysis of %s in %s runs before the next stage. %s", rel.Spec.Version, ss.Name, ss.Message)
			e.Analysis = analysisOf(ss.Analysis)
			e.Facts = stageFacts(rel, ss)
			d.add(e)
		case launchTells(l, ss):
		case (ss.Phase == releasev1.StagePromoted || ss.Phase == releasev1.StageSuperseded) && ss.Rollback == nil && d.want[releasev1.EventPromoted]:
			e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf(natural, "promoted")), string(releasev1.EventPromoted), SeverityInfo, p.CompletedAt.Time
			e.Title = fmt.Sprintf("%s %s promoted to %s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name)
			e.Text = fmt.Sprintf("%s is live in %s", rel.Spec.Version, ss.Name)
			if p.PreviousVersion != "" {
				e.Text += fmt.Sprintf(" (it ran %s)", p.PreviousVersion)
			}
			e.Text += "."
			if ss.Analysis != nil {
				e.Text += " Its analysis passed."
				e.Analysis = analysisOf(ss.Analysis)
			}
			e.Facts = stageFacts(rel, ss)
			d.add(e)
		case ss.Phase == releasev1.StageRolledBack && d.want[releasev1.EventRolledBack]:
			at := p.CompletedAt.Time
			if ss.Rollback != nil && ss.Rollback.At != nil {
				at = ss.Rollback.At.Time
			}
			if wantsPostmortem(pipe, ss.Name) && ss.Postmortem == nil && d.in.Now.Before(at.Add(postmortemWait)) {
				d.wakeAt(at.Add(postmortemWait))
				continue
			}
			e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf(natural, "rolledBack")), string(releasev1.EventRolledBack), SeverityCritical, at
			back := p.PreviousVersion
			if ss.Rollback != nil && ss.Rollback.Version != "" {
				back = ss.Rollback.Version
			}
			e.Title = fmt.Sprintf("%s %s rolled back in %s%s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name, afterWave(ss))
			if back != "" {
				e.Title += " to " + back
			}
			e.Text = ss.Message
			e.Analysis = analysisOf(ss.Analysis)
			if ss.Postmortem != nil {
				e.Postmortem = &Link{Title: fmt.Sprintf("postmortem #%d", ss.Postmortem.Number), URL: ss.Postmortem.URL}
				e.Links = append(e.Links, *e.Postmortem)
			}
			if ss.Rollback != nil {
				if ss.Rollback.PullRequest != nil && ss.Rollback.PullRequest.URL != "" {
					e.Links = append(e.Links, Link{Title: fmt.Sprintf("rollback pull request #%d", ss.Rollback.PullRequest.Number), URL: ss.Rollback.PullRequest.URL})
				} else if ss.Rollback.Commit != "" {
					e.Links = append(e.Links, commitLink(pipe, ss.Name, "rollback commit", ss.Rollback.Commit))
				}
			}
			e.Facts = stageFacts(rel, ss)
			d.add(e)
		}
	}
}

// released: the Release reached its target stage.
func (d *deriver) released(rel *releasev1.Release, pipe *releasev1.ReleasePipeline) {
	if !d.want[releasev1.EventReleased] || rel.Status.Phase != releasev1.PhaseReleased {
		return
	}
	c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionReady)
	if c == nil || c.Status != "True" {
		return
	}
	stage := rel.Status.CurrentStage
	e := base(rel, stage)
	e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf("%s/released", rel.UID)), string(releasev1.EventReleased), SeverityInfo, c.LastTransitionTime.Time
	e.Title = fmt.Sprintf("%s %s released", rel.Spec.Pipeline, rel.Spec.Version)
	e.Text = c.Message
	if ss := rel.Status.StageStatus(rel.Status.FirstCurrentStage()); ss != nil {
		e.Links = promotionLinks(pipe, ss)
		e.ReleaseNotes = notesOf(ss)
		if ss.Promotion != nil {
			e.PreviousVersion = ss.Promotion.PreviousVersion
		}
		e.Facts = stageFacts(rel, ss)
	}
	d.add(e)
}

// blocked: the Release has waited before its current stage longer than
// blockedAfter since it could have gone (the previous stage landed and soaked,
// the planned time came).
func (d *deriver) blocked(rel *releasev1.Release, pipe *releasev1.ReleasePipeline) {
	if !d.want[releasev1.EventBlocked] {
		return
	}
	switch rel.Status.Phase {
	case releasev1.PhaseProgressing, releasev1.PhaseBlocked, releasev1.PhasePending:
	default:
		return
	}
	// Every stage the Release waits before: several in a fan-out.
	for i := range pipe.Spec.Stages {
		if ss := rel.Status.StageStatus(pipe.Spec.Stages[i].Name); ss != nil && ss.Phase == releasev1.StageWaiting {
			d.blockedBefore(rel, pipe, i, ss)
		}
	}
}

// blockedBefore: the Release has waited before stage i (its status ss).
func (d *deriver) blockedBefore(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, i int, ss *releasev1.ReleaseStageStatus) {
	var holding []Gate
	for _, g := range ss.Gates {
		if g.Status == releasev1.GatePassed || g.Name == gates.NameSoak || g.Name == gates.NameNotBefore {
			continue
		}
		holding = append(holding, Gate{Name: g.Name, Status: string(g.Status), Message: clip(g.Message, 400), URL: g.URL})
	}
	if len(holding) == 0 {
		return // only time holds it, as planned
	}
	since := readyAt(rel, pipe, i)
	after := DefaultBlockedAfter
	if ba := d.in.Notification.Spec.BlockedAfter; ba != nil {
		after = ba.Duration
	}
	at := since.Add(after)
	if d.in.Now.Before(at) {
		d.wakeAt(at)
		return
	}
	e := base(rel, ss.Name)
	e.ID, e.Type, e.At = Key(fmt.Sprintf("%s/%s/blocked/%d", rel.UID, ss.Name, since.Unix())), string(releasev1.EventBlocked), at
	e.Severity = SeverityWarning
	e.Title = fmt.Sprintf("%s %s blocked before %s for %s", rel.Spec.Pipeline, rel.Spec.Version, ss.Name, Since(since, d.in.Now))
	e.BlockedSince = &since
	e.Gates = holding
	names := make([]string, 0, len(holding))
	for _, g := range holding {
		names = append(names, g.Name)
	}
	e.Text = fmt.Sprintf("Waiting before %s since %s, held by %s.", ss.Name, FormatTime(since, time.UTC), strings.Join(names, ", "))
	e.Unblockers = d.unblockers(rel, ss)
	e.Facts = []Fact{{"Pipeline", rel.Spec.Pipeline}, {"Version", rel.Spec.Version}, {"Stage", ss.Name}, {"Waiting since", FormatTime(since, time.UTC)}}
	for _, g := range holding {
		if g.URL != "" {
			e.Links = append(e.Links, Link{Title: g.Name, URL: g.URL})
		}
	}
	d.add(e)
}

// readyAt is when the Release could have entered stage i: the latest of its
// creation, the landing in each stage it comes after plus the stage's soak,
// and its planned time.
func readyAt(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, i int) time.Time {
	t := rel.CreationTimestamp.Time
	for _, j := range pipe.Spec.AfterIndexes(i) {
		if prev := rel.Status.StageStatus(pipe.Spec.Stages[j].Name); prev != nil && prev.Promotion != nil && prev.Promotion.CompletedAt != nil {
			landed := prev.Promotion.CompletedAt.Time
			if g := pipe.Spec.Stages[i].Gates; g != nil && g.Soak != nil {
				landed = landed.Add(g.Soak.Duration)
			}
			if landed.After(t) {
				t = landed
			}
		}
	}
	if ss := rel.Status.StageStatus(pipe.Spec.Stages[i].Name); ss != nil && ss.PlannedAt != nil && ss.PlannedAt.After(t) {
		t = ss.PlannedAt.Time
	}
	return t.Truncate(time.Second)
}

// unblockers says who can act on each holding gate: the owners of the open
// checklist items, the people allowed to approve.
func (d *deriver) unblockers(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus) []string {
	var out []string
	for _, g := range ss.Gates {
		if g.Status == releasev1.GatePassed {
			continue
		}
		switch g.Name {
		case gates.NameApprovals:
			who := "anyone granted the verb approve on releases"
			if d.in.Approvers != nil {
				if list := exclude(d.in.Approvers(), approvedBy(rel, ss.Name, rel.Annotations[releasev1.AnnotationCreatedBy])); len(list) > 0 {
					who = strings.Join(list, ", ")
				}
			}
			out = append(out, fmt.Sprintf("approve %s: %s (kubectl liftoff approve release/%s --stage %s)", ss.Name, who, rel.Name, ss.Name))
		case gates.NameLaunchChecklist:
			out = append(out, d.checklistOwners(rel.Spec.LaunchChecklist)...)
		case gates.NamePaused:
			out = append(out, fmt.Sprintf("whoever paused it: unset spec.paused of release/%s", rel.Name))
		}
	}
	return out
}

// approvedBy lists the people who cannot approve (again): those who did and
// the Release's creator.
func approvedBy(rel *releasev1.Release, stage, creator string) []string {
	out := []string{}
	if creator != "" {
		out = append(out, creator)
	}
	for _, a := range rel.Spec.Approvals {
		if a.Stage == stage && a.By != "" {
			out = append(out, a.By)
		}
	}
	return out
}

func exclude(list, drop []string) []string {
	out := []string{}
	for _, s := range list {
		skip := false
		for _, x := range drop {
			if s == x {
				skip = true
			}
		}
		if !skip {
			out = append(out, s)
		}
	}
	return out
}

// checklistOwners names each open required item with its owners.
func (d *deriver) checklistOwners(name string) []string {
	for i := range d.in.Checklists {
		lc := &d.in.Checklists[i]
		if lc.Name != name {
			continue
		}
		var out []string
		for _, it := range checklist.OpenItems(lc) {
			out = append(out, fmt.Sprintf("%s (%s, %s): %s", it.Name, it.Function, strings.ToLower(string(it.State)), checklist.OwnersText(it.Item.Owners)))
		}
		return out
	}
	return nil
}

// freezes: a Deny window of a calendar starts within freezeNotice.
func (d *deriver) freezes(rc *releasev1.ReleaseCalendar) {
	notice := DefaultFreezeNotice
	if fn := d.in.Notification.Spec.FreezeNotice; fn != nil {
		notice = fn.Duration
	}
	loc := time.UTC
	if l, err := time.LoadLocation(rc.Spec.TimeZone); err == nil {
		loc = l
	}
	for _, u := range rc.Status.Upcoming {
		if u.Type != releasev1.EntryFreeze {
			continue
		}
		start := u.Start.Time
		if !start.After(d.in.Now) {
			continue
		}
		if start.After(d.in.Now.Add(notice)) {
			d.wakeAt(start.Add(-notice))
			continue
		}
		window := strings.TrimPrefix(u.Title, "freeze ")
		f := &Freeze{Calendar: rc.Name, Window: window, Start: start, Stages: u.Stages, Reason: u.Detail}
		if u.End != nil {
			f.End = u.End.Time
		}
		stages := "every stage"
		if len(u.Stages) > 0 {
			stages = strings.Join(u.Stages, ", ")
		}
		e := Event{ID: Key(fmt.Sprintf("%s/freeze/%s/%d", rc.UID, window, start.Unix())), Type: string(releasev1.EventFreezeStarting),
			Severity: SeverityWarning, At: start, Freeze: f}
		e.Title = fmt.Sprintf("Freeze %s starts in %s", window, Until(d.in.Now, start))
		e.Text = fmt.Sprintf("No promotion into %s from %s", stages, FormatTime(start, loc))
		if !f.End.IsZero() {
			e.Text += " until " + FormatTime(f.End, loc)
		}
		e.Text += "."
		if u.Detail != "" {
			e.Text += " " + u.Detail
		}
		e.Facts = []Fact{{"Calendar", rc.Name}, {"Stages", stages}, {"Starts", FormatTime(start, loc)}}
		if !f.End.IsZero() {
			e.Facts = append(e.Facts, Fact{"Ends", FormatTime(f.End, loc)})
		}
		d.add(e)
	}
}

// milestone: health turned AtRisk or Late.
func (d *deriver) milestone(ms *releasev1.Milestone) {
	h := ms.Status.Health
	if h != releasev1.HealthAtRisk && h != releasev1.HealthLate {
		return
	}
	since := ms.CreationTimestamp.Time
	if ms.Status.HealthSince != nil {
		since = ms.Status.HealthSince.Time
	} else if c := meta.FindStatusCondition(ms.Status.Conditions, releasev1.ConditionReady); c != nil {
		since = c.LastTransitionTime.Time
	}
	m := &Milestone{Name: ms.Name, Health: string(h), Due: ms.Spec.DueDate.Time, Progress: ms.Status.Progress}
	if ms.Status.Forecast != nil {
		f := ms.Status.Forecast.Time
		m.Forecast = &f
	}
	for _, b := range ms.Status.Blockers {
		m.Blockers = append(m.Blockers, Link{Title: fmt.Sprintf("#%d %s", b.Number, b.Title), URL: b.URL})
	}
	sev := SeverityWarning
	if h == releasev1.HealthLate {
		sev = SeverityCritical
	}
	e := Event{ID: Key(fmt.Sprintf("%s/health/%s/%d", ms.UID, h, since.Unix())), Type: string(releasev1.EventMilestoneAtRisk), Severity: sev, At: since, Milestone: m}
	e.Title = fmt.Sprintf("Milestone %s is %s", ms.Name, h)
	if c := meta.FindStatusCondition(ms.Status.Conditions, releasev1.ConditionReady); c != nil {
		e.Text = c.Message
	}
	e.Facts = []Fact{{"Due", FormatTime(ms.Spec.DueDate.Time, time.UTC) + fmt.Sprintf(" (%d days)", ms.Status.DaysRemaining)}}
	if m.Forecast != nil {
		e.Facts = append(e.Facts, Fact{"Forecast", FormatTime(*m.Forecast, time.UTC)})
	}
	if m.Progress != "" {
		e.Facts = append(e.Facts, Fact{"Progress", m.Progress})
	}
	e.Facts = append(e.Facts, Fact{"Open blockers", fmt.Sprint(ms.Status.BlockerCount)})
	d.add(e)
}

// stageIndex finds a stage in the pipeline and the Release's status.
func stageIndex(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, stage string) (int, *releasev1.ReleaseStageStatus) {
	for i, s := range pipe.Spec.Stages {
		if s.Name == stage {
			return i, rel.Status.StageStatus(stage)
		}
	}
	return -1, nil
}

func wantsPostmortem(pipe *releasev1.ReleasePipeline, stage string) bool {
	for _, s := range pipe.Spec.Stages {
		if s.Name == stage {
			return s.Postmortem != nil
		}
	}
	return false
}

func notesOf(ss *releasev1.ReleaseStageStatus) *Notes {
	if ss.ReleaseNotes == nil {
		return nil
	}
	n := ss.ReleaseNotes
	return &Notes{From: n.From, Count: n.Count, Summary: n.Summary, URL: n.URL}
}

func stageFacts(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus) []Fact {
	out := []Fact{{"Pipeline", rel.Spec.Pipeline}, {"Version", rel.Spec.Version}, {"Stage", ss.Name}}
	if p := ss.Promotion; p != nil {
		if p.PreviousVersion != "" {
			out = append(out, Fact{"Previous", p.PreviousVersion})
		}
		if p.CompletedAt != nil {
			out = append(out, Fact{"Landed", FormatTime(p.CompletedAt.Time, time.UTC)})
		}
	}
	if ss.Slip != nil && ss.Slip.Duration > 0 {
		out = append(out, Fact{"Slip", Duration(ss.Slip.Duration)})
	}
	for _, a := range rel.Status.Artifacts {
		out = append(out, Fact{"Artifact " + a.Name, a.Summary()})
	}
	return out
}

func analysisOf(a *releasev1.AnalysisStatus) []Metric {
	if a == nil {
		return nil
	}
	out := make([]Metric, 0, len(a.Metrics))
	for _, m := range a.Metrics {
		x := Metric{Name: m.Name, Phase: m.Phase, Measurements: m.Count, Successes: m.Successes, Failures: m.Failures, Inconclusive: m.Inconclusives, Errors: m.Errors}
		if n := len(m.Measurements); n > 0 {
			x.Last = m.Measurements[n-1].Value
		}
		out = append(out, x)
	}
	return out
}

// promotionLinks: the pull request or commit of a promotion, and its notes.
func promotionLinks(pipe *releasev1.ReleasePipeline, ss *releasev1.ReleaseStageStatus) []Link {
	var out []Link
	p := ss.Promotion
	switch {
	case p == nil:
	case p.PullRequest != nil && p.PullRequest.URL != "":
		out = append(out, Link{Title: fmt.Sprintf("pull request #%d", p.PullRequest.Number), URL: p.PullRequest.URL})
	case p.Commit != "":
		out = append(out, commitLink(pipe, ss.Name, "commit "+github.ShortSHA(p.Commit), p.Commit))
	}
	if ss.ReleaseNotes != nil && ss.ReleaseNotes.URL != "" {
		out = append(out, Link{Title: fmt.Sprintf("changes since %s", ss.ReleaseNotes.From), URL: ss.ReleaseNotes.URL})
	}
	return out
}

// commitLink links a commit of the stage's GitOps repository on GitHub.
func commitLink(pipe *releasev1.ReleasePipeline, stage, title, sha string) Link {
	repo := ""
	for _, s := range pipe.Spec.Stages {
		if s.Name == stage {
			repo = s.GitOpsRepository()
		}
	}
	return Link{Title: title, URL: github.WebURL(pipe.Spec.GitHub.APIURL) + "/" + repo + "/commit/" + sha}
}

func clip(s string, n int) string { return notes.Truncate(s, n) }
