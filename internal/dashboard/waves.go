package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// WaveView is one wave of a stage with targets: its state at a glance,
// its targets by phase in a line (named when few, counted past four), and
// each target under a disclosure, so 50 targets stay a short table.
type WaveView struct {
	Wave int32 `json:"wave"`
	Of   int32 `json:"of"`
	// State: done (every target deployed), running (one in flight), failed
	// (one failed or written back) or pending (none started).
	State   string       `json:"state"`
	Summary string       `json:"summary"`
	Targets []TargetView `json:"targets"`
}

// TargetView is one target of a wave: what it runs and its commit.
type TargetView struct {
	Name      string `json:"name"`
	Phase     string `json:"phase"`
	Commit    string `json:"commit,omitempty"`
	CommitURL string `json:"commitURL,omitempty"`
	Note      string `json:"note,omitempty"`
}

// waveViews are the waves of stage ss (spec its pipeline's stage), each
// target's commit linked to its own repository.
func waveViews(ss *releasev1.ReleaseStageStatus, spec *releasev1.Stage, web string, loc *time.Location) []WaveView {
	repos := map[string]string{}
	if spec != nil {
		for _, t := range spec.Targets {
			repos[t.Name] = t.Target.Repository
		}
	}
	var out []WaveView
	for _, w := range ss.WaveStates() {
		wv := WaveView{Wave: w.Wave, Of: ss.Waves, State: waveState(w), Summary: w.Summary()}
		for _, t := range ss.Targets {
			if t.Wave != w.Wave {
				continue
			}
			tv := TargetView{Name: t.Name, Phase: string(t.Phase), Commit: t.Commit, Note: inZone(t.Message, loc)}
			if t.RollbackCommit != "" {
				tv.Commit = t.RollbackCommit
			}
			tv.CommitURL = commitURL(web, repos[t.Name], tv.Commit)
			wv.Targets = append(wv.Targets, tv)
		}
		out = append(out, wv)
	}
	return out
}

// waveState is a wave's state at a glance.
func waveState(w releasev1.WaveState) string {
	deployed, pending := 0, 0
	for _, p := range w.Phases {
		switch p.Phase {
		case releasev1.TargetFailed, releasev1.TargetRollingBack, releasev1.TargetRolledBack:
			return "failed"
		case releasev1.TargetDeployed:
			deployed += len(p.Names)
		case releasev1.TargetPending:
			pending += len(p.Names)
		}
	}
	switch w.Targets {
	case deployed:
		return "done"
	case pending:
		return "pending"
	}
	return "running"
}

// targetsLine says which target of stage st runs what, per the pipeline's
// status, versions in the order of the targets: "1.5.0 on prod-1, prod-2;
// 1.4.2 on 10 targets (prod-3 … prod-12)"; a target Liftoff has not written
// yet is "not promoted yet". "" for a stage with one target.
func targetsLine(p *releasev1.ReleasePipeline, st *releasev1.Stage) string {
	if !st.HasTargets() {
		return ""
	}
	var runs []releasev1.PipelineTargetStatus
	if ps := p.Status.StageStatus(st.Name); ps != nil {
		runs = ps.Targets
	}
	var versions []string
	on := map[string][]string{}
	for _, t := range st.Targets {
		v := "not promoted yet"
		if k := slices.IndexFunc(runs, func(r releasev1.PipelineTargetStatus) bool { return r.Name == t.Name }); k >= 0 && runs[k].Version != "" {
			v = runs[k].Version
		}
		if _, ok := on[v]; !ok {
			versions = append(versions, v)
		}
		on[v] = append(on[v], t.Name)
	}
	parts := make([]string, len(versions))
	for k, v := range versions {
		parts[k] = fmt.Sprintf("%s on %s", v, releasev1.NameFew(on[v]))
	}
	return strings.Join(parts, "; ")
}
