package notify

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The members of a launch move together, so their news does too: one
// message per launch event, not one per member. A launch promoted in a
// stage (every member that goes through it promoted there), released, or
// rolled back (a member failed and the others went back with it) is one
// event, with the members' release notes combined; the members' own
// Promoted, Released and RolledBack events are left out. Verifying and
// Blocked stay per member: they say what one member does.

// launchMembers maps the name of each member of in.Launches among the
// Releases to its launch.
func (d *deriver) launchMembers() map[string]*releasev1.Launch {
	out := map[string]*releasev1.Launch{}
	for i := range d.in.Launches {
		l := &d.in.Launches[i]
		for _, m := range l.Status.Members {
			out[m.Name] = l
		}
	}
	return out
}

// launchTells reports whether launch l (nil for none) tells what a
// member's stage status ss says: a promotion, or a rollback of the stage the
// launch went back in as a group.
func launchTells(l *releasev1.Launch, ss *releasev1.ReleaseStageStatus) bool {
	if l == nil {
		return false
	}
	return ss.Phase != releasev1.StageRolledBack || l.Status.Failure != nil && l.Status.Failure.Stage == ss.Name
}

// launchEvents derives the events of launch l from its members.
func (d *deriver) launchEvents(l *releasev1.Launch, members []*releasev1.Release) {
	if len(members) == 0 {
		return
	}
	if d.want[releasev1.EventPromoted] {
		for _, stage := range l.Status.Stages {
			d.launchPromoted(l, members, stage)
		}
	}
	if d.want[releasev1.EventReleased] && l.Status.Phase == releasev1.LaunchReleased {
		if c := meta.FindStatusCondition(l.Status.Conditions, releasev1.ConditionReady); c != nil {
			e := Event{Launch: l.Name, Stage: l.Status.CurrentStage, ID: Key(fmt.Sprintf("%s/launchReleased", l.UID)),
				Type: string(releasev1.EventReleased), Severity: SeverityInfo, At: c.LastTransitionTime.Time}
			e.Title = fmt.Sprintf("launch %s released: %s", l.Name, memberList(members))
			e.Text = fmt.Sprintf("Every member of launch %s is released.", l.Name)
			d.add(e)
		}
	}
	if d.want[releasev1.EventRolledBack] && l.Status.Failure != nil && len(l.Status.Failure.RolledBack) > 0 {
		d.launchRolledBack(l, members)
	}
}

// launchPromoted: every member that goes through stage is promoted there
// (one left behind after its failure, with onFailure Member, does not count).
func (d *deriver) launchPromoted(l *releasev1.Launch, members []*releasev1.Release, stage string) {
	var in []*releasev1.Release
	var at time.Time
	e := Event{Launch: l.Name, Stage: stage, Type: string(releasev1.EventPromoted), Severity: SeverityInfo}
	var lines []string
	notes := &Notes{}
	for _, rel := range members {
		ss := rel.Status.StageStatus(stage)
		if ss == nil || ss.Phase == releasev1.StageSkipped || rel.Status.Phase == releasev1.PhaseFailed && l.FailurePolicy() == releasev1.FailMember {
			continue
		}
		p := ss.Promotion
		if ss.Phase != releasev1.StagePromoted || ss.Rollback != nil || p == nil || p.CompletedAt == nil {
			return
		}
		in = append(in, rel)
		if p.CompletedAt.After(at) {
			at = p.CompletedAt.Time
		}
		line := rel.Spec.Pipeline + " " + rel.Spec.Version
		if p.PreviousVersion != "" {
			line += " (it ran " + p.PreviousVersion + ")"
		}
		lines = append(lines, line)
		if pipe := d.pipes[rel.Spec.Pipeline]; pipe != nil {
			e.Links = append(e.Links, promotionLinks(pipe, ss)...)
		}
		if n := notesOf(ss); n != nil {
			notes.Count += n.Count
			notes.Summary += fmt.Sprintf("%s %s: %s\n", rel.Spec.Pipeline, rel.Spec.Version, n.Summary)
		}
	}
	if len(in) == 0 {
		return
	}
	e.ID, e.At = Key(fmt.Sprintf("%s/%s/launchPromoted", l.UID, stage)), at
	e.Title = fmt.Sprintf("launch %s promoted to %s: %s", l.Name, stage, memberList(in))
	e.Text = fmt.Sprintf("Every member of launch %s is live in %s: %s.", l.Name, stage, strings.Join(lines, ", "))
	if notes.Summary != "" {
		notes.Summary = strings.TrimSuffix(notes.Summary, "\n")
		e.ReleaseNotes = notes
	}
	d.add(e)
}

// launchRolledBack: a member failed in a stage and the members that reached
// it were written back with it.
func (d *deriver) launchRolledBack(l *releasev1.Launch, members []*releasev1.Release) {
	f := l.Status.Failure
	e := Event{Launch: l.Name, Stage: f.Stage, Type: string(releasev1.EventRolledBack), Severity: SeverityCritical,
		ID: Key(fmt.Sprintf("%s/%s/launchRolledBack", l.UID, f.Stage))}
	var back []string
	for _, r := range f.RolledBack {
		if r.Name != f.Member {
			back = append(back, r.Name+" "+r.Version)
		}
	}
	e.Title = fmt.Sprintf("launch %s rolled back in %s: %s %s failed", l.Name, f.Stage, f.Member, f.Version)
	if len(back) > 0 {
		e.Title += "; " + strings.Join(back, ", ") + " went back with it"
	}
	e.Text = f.Message
	for _, rel := range members {
		ss := rel.Status.StageStatus(f.Stage)
		if ss == nil || ss.Rollback == nil || ss.Rollback.Commit == "" {
			continue
		}
		if ss.Rollback.At != nil && ss.Rollback.At.After(e.At) {
			e.At = ss.Rollback.At.Time
		}
		if pipe := d.pipes[rel.Spec.Pipeline]; pipe != nil && !hasLink(e.Links, ss.Rollback.Commit) {
			e.Links = append(e.Links, commitLink(pipe, ss.Name, "rollback commit", ss.Rollback.Commit))
		}
		if rel.Name == f.Member {
			e.Analysis = analysisOf(ss.Analysis)
			if ss.Postmortem != nil {
				e.Postmortem = &Link{Title: fmt.Sprintf("postmortem #%d", ss.Postmortem.Number), URL: ss.Postmortem.URL}
				e.Links = append(e.Links, *e.Postmortem)
			}
		}
	}
	if e.At.IsZero() {
		return // not recorded yet by its members
	}
	d.add(e)
}

// hasLink: a link to sha is in links already (members share a commit).
func hasLink(links []Link, sha string) bool {
	for _, l := range links {
		if strings.HasSuffix(l.URL, "/"+sha) {
			return true
		}
	}
	return false
}

// memberList names the members: "checkout 1.4.2, web 2.0.0".
func memberList(members []*releasev1.Release) string {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Spec.Pipeline + " " + m.Spec.Version
	}
	return strings.Join(names, ", ")
}
