package v1alpha1

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// A stage with targets rolls them out in waves. These functions read the
// waves; they are shared by the admission webhook and the engine.

// HasTargets reports whether the stage has several targets (targets[])
// rather than one (target).
func (st *Stage) HasTargets() bool { return len(st.Targets) > 0 }

// WaveEnds are the ends of the stage's waves: wave k (from 0) holds the
// targets from WaveEnds[k-1] (0 for the first) up to WaveEnds[k], in the
// order of targets. Without waves it is waves of maxParallel targets, or one
// wave of every target. An error says what to fix, with the field.
func (st *Stage) WaveEnds() ([]int, error) {
	n := len(st.Targets)
	if st.MaxParallel != nil {
		return parallelEnds(st, n)
	}
	if st.Waves == nil {
		return []int{n}, nil
	}
	if len(st.Waves) == 0 {
		return nil, fmt.Errorf("waves: the list is empty: name at least one wave, or remove waves for one wave of every target")
	}
	ends := make([]int, 0, len(st.Waves))
	for k, w := range st.Waves {
		end, err := waveEnd(w, n)
		if err != nil {
			return nil, fmt.Errorf("waves[%d]: %v", k, err)
		}
		switch {
		case end > n:
			return nil, fmt.Errorf("waves[%d]: %s is more than the stage's %d targets", k, w.String(), n)
		case k > 0 && end <= ends[k-1]:
			return nil, fmt.Errorf("waves[%d]: %s (%d targets) does not grow past waves[%d] (%d targets): waves count the targets live at the end of each, strictly increasing", k, w.String(), end, k-1, ends[k-1])
		}
		ends = append(ends, end)
	}
	if last := ends[len(ends)-1]; last < n {
		return nil, fmt.Errorf("waves[%d]: the last wave reaches %d of the stage's %d targets: end the waves with \"100%%\" or %d", len(ends)-1, last, n, n)
	}
	return ends, nil
}

// parallelEnds are the ends of waves of maxParallel targets each, the last
// one holding what is left.
func parallelEnds(st *Stage, n int) ([]int, error) {
	size := int(*st.MaxParallel)
	switch {
	case st.Waves != nil:
		return nil, fmt.Errorf("maxParallel: set waves (how many targets run the version after each wave) or maxParallel (waves of that many targets), not both")
	case size < 1:
		return nil, fmt.Errorf("maxParallel: %d: a wave holds at least one target", size)
	}
	var ends []int
	for end := size; ; end += size {
		if end >= n {
			return append(ends, n), nil
		}
		ends = append(ends, end)
	}
}

// waveEnd is the number of targets a wave entry reaches: a count, or a
// percentage of n rounded up.
func waveEnd(w intstr.IntOrString, n int) (int, error) {
	if w.Type == intstr.Int {
		if w.IntVal < 1 {
			return 0, fmt.Errorf("%d: a wave reaches at least one target", w.IntVal)
		}
		return int(w.IntVal), nil
	}
	p, ok := strings.CutSuffix(w.StrVal, "%")
	v, err := strconv.Atoi(p)
	if !ok || err != nil || v < 1 || v > 100 {
		return 0, fmt.Errorf("%q: a wave is a count of targets or a percentage from 1%% to 100%%", w.StrVal)
	}
	return (v*n + 99) / 100, nil
}

// TargetsError says what is wrong with the stages' targets and waves, with
// the field to fix, or "": a file's path that is absolute or holds '..'
// (of a target or of targets), waves, maxParallel or rollback without targets,
// rollback with onFailure Halt, waves that do not split the targets (WaveEnds),
// two targets of a stage with one name, or two targets of a stage writing
// one file (the same repository, branch and path), a target's file taking
// an artifact the pipeline has not, a target written by pull requests.
func (s *ReleasePipelineSpec) TargetsError() string {
	for i := range s.Stages {
		st := &s.Stages[i]
		for k, f := range st.Target.Files {
			if msg := pathError(f.Path); msg != "" {
				return fmt.Sprintf("spec.stages[%d].target.files[%d].path: %s", i, k, msg)
			}
		}
		for j, t := range st.Targets {
			for k, f := range t.Target.Files {
				if msg := pathError(f.Path); msg != "" {
					return fmt.Sprintf("spec.stages[%d].targets[%d].target.files[%d].path: %s", i, j, k, msg)
				}
			}
		}
		if !st.HasTargets() {
			switch {
			case st.Waves != nil:
				return fmt.Sprintf("spec.stages[%d].waves: waves split a stage's targets: set targets, or remove waves", i)
			case st.MaxParallel != nil:
				return fmt.Sprintf("spec.stages[%d].maxParallel: maxParallel splits a stage's targets into waves: set targets, or remove maxParallel", i)
			case st.Rollback != "":
				return fmt.Sprintf("spec.stages[%d].rollback: rollback says which of a stage's targets a failure writes back: set targets, or remove rollback", i)
			}
			continue
		}
		if st.Rollback != "" && st.OnFailure == FailureHalt {
			return fmt.Sprintf("spec.stages[%d].rollback: rollback says what onFailure Rollback writes back: remove it, or set onFailure Rollback", i)
		}
		if _, err := st.WaveEnds(); err != nil {
			return fmt.Sprintf("spec.stages[%d].%v", i, err)
		}
		names := map[string]int{}
		files := map[string]int{}
		for k, t := range st.Targets {
			if j, ok := names[t.Name]; ok {
				return fmt.Sprintf("spec.stages[%d].targets[%d].name: %q is the name of targets[%d] too: name each target once", i, k, t.Name, j)
			}
			names[t.Name] = k
			if t.Target.Strategy == StrategyPullRequest {
				return fmt.Sprintf("spec.stages[%d].targets[%d].target.strategy: a stage's targets are written by commits (a wave's in one commit per repository); pull requests are not supported there yet", i, k)
			}
			for _, f := range t.Target.Files {
				if f.Artifact != "" && !slices.ContainsFunc(s.Artifacts, func(a PipelineArtifact) bool { return a.Name == f.Artifact }) {
					return fmt.Sprintf("spec.stages[%d].targets[%d].target.files: %s: artifact %q is not one of spec.artifacts", i, k, f.Path, f.Artifact)
				}
				key := t.Target.Repository + "@" + branchOrMain(t.Target.Branch) + ":" + f.Path
				if j, ok := files[key]; ok && j != k {
					return fmt.Sprintf("spec.stages[%d].targets[%d].target.files: %s on %s of %s is written by targets[%d] (%s) too: give each target its own files",
						i, k, f.Path, branchOrMain(t.Target.Branch), t.Target.Repository, j, st.Targets[j].Name)
				}
				files[key] = k
			}
		}
	}
	return ""
}

// pathError says what is wrong with a target file's path, or "".
func pathError(path string) string {
	if strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return fmt.Sprintf("%q: the path must be relative to the repository root and must not contain '..'", path)
	}
	return ""
}

func branchOrMain(b string) string {
	if b == "" {
		return "main"
	}
	return b
}

// WaveState is where one wave of a stage with targets stands, for people:
// its targets grouped by phase.
// +kubebuilder:object:generate=false
type WaveState struct {
	// Wave, from 1.
	Wave int32
	// Targets of the wave, in the order of the stage's targets.
	Targets int
	// Phases of its targets, each with their names, in the order first
	// seen among the targets.
	Phases []TargetsInPhase
}

// TargetsInPhase are the names of the targets of a wave in one phase.
// +kubebuilder:object:generate=false
type TargetsInPhase struct {
	Phase TargetPhase
	Names []string
}

// WaveStates groups the stage's targets by wave, and in each wave by phase:
// what the plugin's tree, the dashboard and the notifications say of a
// stage with targets, as short for 50 targets as for 5.
func (ss *ReleaseStageStatus) WaveStates() []WaveState {
	var out []WaveState
	for _, t := range ss.Targets {
		if len(out) == 0 || out[len(out)-1].Wave != t.Wave {
			out = append(out, WaveState{Wave: t.Wave})
		}
		w := &out[len(out)-1]
		w.Targets++
		k := slices.IndexFunc(w.Phases, func(p TargetsInPhase) bool { return p.Phase == t.Phase })
		if k < 0 {
			w.Phases = append(w.Phases, TargetsInPhase{Phase: t.Phase})
			k = len(w.Phases) - 1
		}
		w.Phases[k].Names = append(w.Phases[k].Names, t.Name)
	}
	return out
}

// Summary says a wave's targets by phase, naming them when there are few:
// "Deployed prod-1; Deploying prod-2, prod-3" or "Pending 12 targets".
func (w WaveState) Summary() string {
	parts := make([]string, 0, len(w.Phases))
	for _, p := range w.Phases {
		parts = append(parts, fmt.Sprintf("%s %s", p.Phase, NameFew(p.Names)))
	}
	return strings.Join(parts, "; ")
}

// NameFew names up to 4 targets, or counts them with the first and the
// last: "prod-1, prod-2" or "12 targets (prod-5 … prod-16)".
func NameFew(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%d targets (%s … %s)", len(names), names[0], names[len(names)-1])
}
