package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// waveEntries are the calendar entries of a stage with targets since from:
// one per wave that started (not one per target), from when its last
// target was deployed (or its commit, while it deploys), its outcome the
// wave's (Promoted once every target runs the version, else its targets'
// phase: Deploying, RolledBack, Failed), its detail its targets.
func waveEntries(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, from time.Time) []releasev1.CalendarEntry {
	var out []releasev1.CalendarEntry
	for _, w := range ss.WaveStates() {
		var start *metav1.Time
		commit, deployed, outcome := "", 0, ""
		for _, t := range ss.Targets {
			if t.Wave != w.Wave || t.Commit == "" {
				continue
			}
			commit = t.Commit
			at := t.DeployedAt
			if at == nil {
				at = t.CommittedAt
			}
			if at != nil && (start == nil || start.Before(at)) {
				start = at
			}
			switch t.Phase {
			case releasev1.TargetDeployed:
				deployed++
			default:
				outcome = string(t.Phase)
			}
		}
		if start == nil || start.Time.Before(from) {
			continue
		}
		if deployed == w.Targets {
			outcome = string(releasev1.StagePromoted)
		}
		out = append(out, releasev1.CalendarEntry{Type: releasev1.EntryPromotion,
			Title: fmt.Sprintf("%s %s -> %s wave %d of %d", rel.Spec.Pipeline, rel.Spec.Version, ss.Name, w.Wave, ss.Waves), Start: *start,
			Stages: []string{ss.Name}, Release: rel.Name, Version: rel.Spec.Version, Outcome: outcome, Planned: ss.PlannedAt,
			Detail: fmt.Sprintf("%s; commit %s", w.Summary(), github.ShortSHA(commit))})
	}
	return out
}
