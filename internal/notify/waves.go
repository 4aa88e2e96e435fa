package notify

import (
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// waveEvents are the events of a stage with targets that speak of one wave
// (one message per wave, whatever its number of targets): Verifying once
// the wave under way landed and its analysis runs, and Promoted for each
// wave done before the last (the last is the stage's own Promoted). A
// rollback is the stage's RolledBack, which names the wave. It returns
// true when the stage's own events are not to be derived (its Verifying is
// the wave's).
func (d *deriver) waveEvents(rel *releasev1.Release, pipe *releasev1.ReleasePipeline, ss *releasev1.ReleaseStageStatus) bool {
	if len(ss.Targets) == 0 {
		return false
	}
	p := ss.Promotion
	states := ss.WaveStates()
	for _, w := range states {
		natural := fmt.Sprintf("%s/%s/%d/wave-%d-%%s", rel.UID, ss.Name, p.StartedAt.Unix(), w.Wave)
		e := base(rel, ss.Name)
		e.PreviousVersion = p.PreviousVersion
		e.Links = promotionLinks(pipe, ss)
		e.Facts = append(stageFacts(rel, ss), Fact{"Wave", fmt.Sprintf("%d of %d", w.Wave, ss.Waves)}, Fact{"Targets", w.Summary()})
		switch {
		case w.Wave == ss.Wave && ss.Phase == releasev1.StageVerifying && d.want[releasev1.EventVerifying]:
			e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf(natural, "verifying")), string(releasev1.EventVerifying), SeverityInfo, waveDeployedAt(ss, w.Wave, p.CompletedAt.Time)
			e.Title = fmt.Sprintf("%s %s wave %d of %d deployed in %s: verifying", rel.Spec.Pipeline, rel.Spec.Version, w.Wave, ss.Waves, ss.Name)
			e.Text = strings.TrimSpace(fmt.Sprintf("The analysis of %s in %s runs before the next wave. %s", releasev1.NameFew(namesOf(w)), ss.Name, ss.Message))
			e.Analysis = analysisOf(ss.Analysis)
			d.add(e)
		case w.Wave < ss.Waves && waveDone(ss, w) && d.want[releasev1.EventPromoted]:
			e.ID, e.Type, e.Severity, e.At = Key(fmt.Sprintf(natural, "done")), string(releasev1.EventPromoted), SeverityInfo, waveDeployedAt(ss, w.Wave, p.CompletedAt.Time)
			e.Title = fmt.Sprintf("%s %s wave %d of %d done in %s", rel.Spec.Pipeline, rel.Spec.Version, w.Wave, ss.Waves, ss.Name)
			e.Text = fmt.Sprintf("%s %s; wave %d next.", releasev1.NameFew(namesOf(w)), verb(w), w.Wave+1)
			d.add(e)
		}
	}
	return ss.Phase == releasev1.StageVerifying
}

// afterWave names the wave a stage with targets failed in, for the title
// of its rollback (not of a rollback on demand, which is of the stage).
func afterWave(ss *releasev1.ReleaseStageStatus) string {
	if len(ss.Targets) == 0 || ss.Rollback != nil && ss.Rollback.Request != nil {
		return ""
	}
	return fmt.Sprintf(" after wave %d of %d", ss.Wave, ss.Waves)
}

// waveDone: every target of wave w was deployed (and, with verify, the
// wave verified), and a later wave started.
func waveDone(ss *releasev1.ReleaseStageStatus, w releasev1.WaveState) bool {
	later := ss.Wave > w.Wave || ss.Phase == releasev1.StagePromoted || ss.Phase == releasev1.StageSuperseded
	return later && len(w.Phases) == 1 && w.Phases[0].Phase == releasev1.TargetDeployed
}

// waveDeployedAt is when the last target of the wave was deployed, or def.
func waveDeployedAt(ss *releasev1.ReleaseStageStatus, wave int32, def time.Time) time.Time {
	var at time.Time
	for _, t := range ss.Targets {
		if t.Wave == wave && t.DeployedAt != nil && t.DeployedAt.After(at) {
			at = t.DeployedAt.Time
		}
	}
	if at.IsZero() {
		return def
	}
	return at
}

func namesOf(w releasev1.WaveState) []string {
	var out []string
	for _, p := range w.Phases {
		out = append(out, p.Names...)
	}
	return out
}

// verb says a done wave's targets run the version: "runs it" for one.
func verb(w releasev1.WaveState) string {
	if w.Targets == 1 {
		return "runs it"
	}
	return "run it"
}

// targetsNote is what the report says of a stage's targets after its
// landing line: how many in how many waves once promoted, else the wave
// it reached and how many targets ran the version.
func targetsNote(ss *releasev1.ReleaseStageStatus) string {
	if len(ss.Targets) == 0 {
		return ""
	}
	if ss.Phase == releasev1.StagePromoted || ss.Phase == releasev1.StageSuperseded {
		return fmt.Sprintf(", %d targets in %d waves", len(ss.Targets), ss.Waves)
	}
	live := 0
	for _, t := range ss.Targets {
		if t.Phase == releasev1.TargetDeployed {
			live++
		}
	}
	return fmt.Sprintf(", wave %d of %d, %d/%d targets on it", ss.Wave, ss.Waves, live, len(ss.Targets))
}

// rolledBackTargets are the stage's targets written back.
func rolledBackTargets(ss *releasev1.ReleaseStageStatus) []string {
	var out []string
	for _, t := range ss.Targets {
		if t.Phase == releasev1.TargetRolledBack {
			out = append(out, t.Name)
		}
	}
	return out
}
