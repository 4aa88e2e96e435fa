package main

import (
	"fmt"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// waveLines are the lines of a stage with targets: one per wave, its
// targets by phase ("wave 2 of 3 ◌ Deployed prod-2; Deploying prod-3"),
// waves not started after the one under way run together ("waves 4-12 of
// 12 ⧗ Pending 27 targets (prod-14 … prod-40)"), so 50 targets read in a
// few lines.
func waveLines(ss *releasev1.ReleaseStageStatus) []string {
	states := ss.WaveStates()
	var lines []string
	for k := 0; k < len(states); k++ {
		w := states[k]
		if pending(w) && k+1 < len(states) {
			j, names := k, w.Phases[0].Names
			for j+1 < len(states) && pending(states[j+1]) {
				j++
				names = append(names, states[j].Phases[0].Names...)
			}
			if j > k {
				lines = append(lines, fmt.Sprintf("waves %d-%d of %d %s Pending %s", w.Wave, states[j].Wave, ss.Waves, symbol("Pending"), releasev1.NameFew(names)))
				k = j
				continue
			}
		}
		lines = append(lines, fmt.Sprintf("wave %d of %d %s %s", w.Wave, ss.Waves, waveSymbol(w), w.Summary()))
	}
	return lines
}

// pending: no target of the wave started.
func pending(w releasev1.WaveState) bool {
	return len(w.Phases) == 1 && w.Phases[0].Phase == releasev1.TargetPending
}

// waveSymbol is a wave's state at a glance: failed or written back once
// one of its targets is, in flight while one is, done once all are.
func waveSymbol(w releasev1.WaveState) string {
	worst := ""
	for _, p := range w.Phases {
		switch s := symbol(string(p.Phase)); {
		case s == "✖", worst == "✖":
			worst = "✖"
		case s == "◌" || p.Phase == releasev1.TargetRollingBack:
			worst = "◌"
		case worst == "":
			worst = s
		}
	}
	return worst
}
