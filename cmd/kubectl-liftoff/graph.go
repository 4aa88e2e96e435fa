package main

import (
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// isGraph reports whether any stage of the pipeline says what it comes
// after: a line of stages reads as the STAGE tree alone.
func isGraph(pipe *releasev1.ReleasePipeline) bool {
	for _, st := range pipe.Spec.Stages {
		if st.After != nil {
			return true
		}
	}
	return false
}

// graphLines draws the pipeline's stages in columns by depth (a stage is
// one column right of the deepest stage it comes after), each with the
// Release's phase there: stages that fan out from one stage stand one above
// the other in the next column.
//
//	✔ dev-a  ◌ e2e  ⧗ staging  ⧗ prod-eu
//	✔ dev-b                    ⧗ prod-us
func graphLines(pipe *releasev1.ReleasePipeline, rel *releasev1.Release) []string {
	depths := pipe.Spec.Depths()
	var cols [][]string
	for i, st := range pipe.Spec.Stages {
		for len(cols) <= depths[i] {
			cols = append(cols, nil)
		}
		phase := releasev1.StagePending
		if ss := rel.Status.StageStatus(st.Name); ss != nil {
			phase = ss.Phase
		}
		cols[depths[i]] = append(cols[depths[i]], symbol(string(phase))+" "+st.Name)
	}
	rows := 0
	widths := make([]int, len(cols))
	for c, col := range cols {
		rows = max(rows, len(col))
		for _, cell := range col {
			widths[c] = max(widths[c], len([]rune(cell)))
		}
	}
	lines := make([]string, rows)
	for r := range lines {
		var b strings.Builder
		for c, col := range cols {
			cell := ""
			if r < len(col) {
				cell = col[r]
			}
			if c < len(cols)-1 {
				cell += strings.Repeat(" ", widths[c]-len([]rune(cell))+2)
			}
			b.WriteString(cell)
		}
		lines[r] = strings.TrimRight(b.String(), " ")
	}
	return lines
}

// afterNote says what a stage of a graph comes after, for its STAGE line.
func afterNote(pipe *releasev1.ReleasePipeline, stage string) string {
	i := pipe.StageIndex(stage)
	if i < 0 {
		return ""
	}
	names := pipe.Spec.AfterNames(i)
	if len(names) == 0 {
		return "  (first)"
	}
	return "  (after " + strings.Join(names, ", ") + ")"
}
