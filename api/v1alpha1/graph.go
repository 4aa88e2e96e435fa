package v1alpha1

import (
	"fmt"
	"slices"
	"strings"
)

// The stages of a pipeline form a graph: each stage comes after the stages
// its after names (by default the stage before it in the list; the first
// stage comes after none). These functions read that graph; they are shared
// by the admission webhook, the engine, the plugin and the dashboard.

// AfterIndexes are the positions of the stages stage i comes after. Names
// that are not stages are left out (GraphError says so).
func (s *ReleasePipelineSpec) AfterIndexes(i int) []int {
	st := &s.Stages[i]
	if st.After == nil {
		if i == 0 {
			return nil
		}
		return []int{i - 1}
	}
	out := make([]int, 0, len(*st.After))
	for _, name := range *st.After {
		if j := s.stageIndex(name); j >= 0 && !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}

// AfterNames are the names of the stages stage i comes after.
func (s *ReleasePipelineSpec) AfterNames(i int) []string {
	idx := s.AfterIndexes(i)
	out := make([]string, len(idx))
	for k, j := range idx {
		out[k] = s.Stages[j].Name
	}
	return out
}

// OnTheWay marks stage target and every stage it comes after, directly or
// not: the stages a Release whose targetStage is target goes through.
func (s *ReleasePipelineSpec) OnTheWay(target int) []bool {
	on := make([]bool, len(s.Stages))
	var visit func(i int)
	visit = func(i int) {
		if on[i] {
			return
		}
		on[i] = true
		for _, j := range s.AfterIndexes(i) {
			visit(j)
		}
	}
	visit(target)
	return on
}

// Leaves are the stages no other stage comes after: where a Release without
// targetStage ends.
func (s *ReleasePipelineSpec) Leaves() []int {
	followed := make([]bool, len(s.Stages))
	for i := range s.Stages {
		for _, j := range s.AfterIndexes(i) {
			followed[j] = true
		}
	}
	var out []int
	for i, f := range followed {
		if !f {
			out = append(out, i)
		}
	}
	return out
}

// Depths is each stage's column when the graph is drawn: 0 for a stage
// after none, else one more than the deepest stage it comes after. A stage
// in a cycle (refused at admission) gets the depth its walk reached.
func (s *ReleasePipelineSpec) Depths() []int {
	depth := make([]int, len(s.Stages))
	state := make([]int, len(s.Stages)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		if state[i] != 0 {
			return depth[i]
		}
		state[i] = 1
		for _, j := range s.AfterIndexes(i) {
			depth[i] = max(depth[i], visit(j)+1)
		}
		state[i] = 2
		return depth[i]
	}
	for i := range s.Stages {
		visit(i)
	}
	return depth
}

// GraphError says what is wrong with the stages' after lists, with the field
// path to fix, or "" when they form a graph Liftoff can run: every name is a
// stage of the pipeline, named once, not the stage itself, and no stage
// comes (directly or not) after itself. Several stages after none (roots) are
// allowed: each starts on its own.
func (s *ReleasePipelineSpec) GraphError() string {
	for i, st := range s.Stages {
		if st.After == nil {
			continue
		}
		for k, name := range *st.After {
			field := fmt.Sprintf("spec.stages[%d].after[%d]", i, k)
			switch {
			case name == st.Name:
				return fmt.Sprintf("%s: stage %s cannot come after itself", field, st.Name)
			case s.stageIndex(name) < 0:
				return fmt.Sprintf("%s: %q is not a stage of this pipeline (stages: %s)", field, name, s.stageNames())
			case slices.Index(*st.After, name) < k:
				return fmt.Sprintf("%s: %q is named twice: name each stage once", field, name)
			}
		}
	}
	if c := s.cycle(); c != nil {
		return fmt.Sprintf("spec.stages: the stages form a cycle: %s: remove one of these from the after of the next", strings.Join(c, " -> "))
	}
	return ""
}

// cycle is a cycle of stages, each after the one before it, its first stage
// repeated at its end; nil when there is none.
func (s *ReleasePipelineSpec) cycle() []string {
	state := make([]int, len(s.Stages)) // 0 new, 1 on the path, 2 done
	var path []int
	var found []string
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = 1
		path = append(path, i)
		for _, j := range s.AfterIndexes(i) {
			if state[j] == 1 {
				// path from j to i is a chain of "comes after": read it
				// backwards, the way the stages would run.
				at := slices.Index(path, j)
				found = append(found, s.Stages[j].Name)
				for k := len(path) - 1; k > at; k-- {
					found = append(found, s.Stages[path[k]].Name)
				}
				found = append(found, s.Stages[j].Name)
				return true
			}
			if state[j] == 0 && visit(j) {
				return true
			}
		}
		path = path[:len(path)-1]
		state[i] = 2
		return false
	}
	for i := range s.Stages {
		if state[i] == 0 && visit(i) {
			return found
		}
	}
	return nil
}

func (s *ReleasePipelineSpec) stageIndex(name string) int {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return i
		}
	}
	return -1
}

func (s *ReleasePipelineSpec) stageNames() string {
	names := make([]string, len(s.Stages))
	for i, st := range s.Stages {
		names[i] = st.Name
	}
	return strings.Join(names, ", ")
}

// FirstCurrentStage is the first stage status.currentStage names: the
// stage, or the first of several in flight side by side ("prod-eu, prod-us",
// "prod-eu +3").
func (s *ReleaseStatus) FirstCurrentStage() string {
	first, _, _ := strings.Cut(s.CurrentStage, ", ")
	first, _, _ = strings.Cut(first, " +")
	return first
}
