package v1alpha1

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// wavesStage is a stage of n targets prod-1..prod-n, each writing its own
// file in acme/gitops, rolled out in waves.
func wavesStage(n int, waves ...intstr.IntOrString) Stage {
	st := Stage{Name: "prod", Waves: waves}
	for k := 1; k <= n; k++ {
		st.Targets = append(st.Targets, StageTarget{Name: fmt.Sprintf("prod-%d", k),
			Target: Target{Repository: "acme/gitops", Branch: "main", Files: []TargetFile{{Path: fmt.Sprintf("envs/prod-%d/kustomization.yaml", k)}}}})
	}
	return st
}

func TestWaveEnds(t *testing.T) {
	n, pc := intstr.FromInt32, intstr.FromString
	for _, tc := range []struct {
		name  string
		stage Stage
		ends  []int
	}{
		{"no waves: one wave of every target", wavesStage(6), []int{6}},
		{"1, 50%, 100% of 6", wavesStage(6, n(1), pc("50%"), pc("100%")), []int{1, 3, 6}},
		{"percentages round up", wavesStage(5, pc("25%"), pc("100%")), []int{2, 5}},
		{"counts", wavesStage(3, n(1), n(3)), []int{1, 3}},
		{"maxParallel 4 of 10: 4, 4 and the 2 left", parallel(wavesStage(10), 4), []int{4, 8, 10}},
		{"maxParallel dividing the targets", parallel(wavesStage(6), 3), []int{3, 6}},
		{"maxParallel past the targets: one wave", parallel(wavesStage(6), 10), []int{6}},
		{"50 targets, maxParallel 1", parallel(wavesStage(50), 1), func() []int {
			var ends []int
			for k := 1; k <= 50; k++ {
				ends = append(ends, k)
			}
			return ends
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ends, err := tc.stage.WaveEnds()
			if err != nil || !slices.Equal(ends, tc.ends) {
				t.Errorf("WaveEnds() = %v, %v; want %v", ends, err, tc.ends)
			}
		})
	}
}

// parallel sets the stage's maxParallel.
func parallel(st Stage, n int32) Stage {
	st.MaxParallel = &n
	return st
}

func TestTargetsErrorSaysWhatToFix(t *testing.T) {
	n, pc := intstr.FromInt32, intstr.FromString
	sameFile := wavesStage(3)
	sameFile.Targets[2].Target.Files[0].Path = "envs/prod-1/kustomization.yaml"
	otherBranch := wavesStage(2)
	otherBranch.Targets[1].Target.Files[0].Path = "envs/prod-1/kustomization.yaml"
	otherBranch.Targets[1].Target.Branch = "prod"
	dupName := wavesStage(2)
	dupName.Targets[1].Name = "prod-1"
	single := Stage{Name: "dev", Waves: []intstr.IntOrString{n(1)}, Target: Target{Repository: "acme/gitops"}}
	for _, tc := range []struct {
		name  string
		stage Stage
		error string
	}{
		{"waves that split the targets", wavesStage(6, n(1), pc("50%"), pc("100%")), ""},
		{"one file per target, another branch", otherBranch, ""},
		{"empty waves", wavesStage(2, []intstr.IntOrString{}...), "spec.stages[1].waves: the list is empty: name at least one wave, or remove waves for one wave of every target"},
		{"not increasing", wavesStage(6, n(3), pc("50%"), pc("100%")),
			"spec.stages[1].waves[1]: 50% (3 targets) does not grow past waves[0] (3 targets): waves count the targets live at the end of each, strictly increasing"},
		{"more than the targets", wavesStage(3, n(1), n(4)), "spec.stages[1].waves[1]: 4 is more than the stage's 3 targets"},
		{"the last short of every target", wavesStage(6, n(1), pc("50%")),
			`spec.stages[1].waves[1]: the last wave reaches 3 of the stage's 6 targets: end the waves with "100%" or 6`},
		{"a percentage out of range", wavesStage(6, pc("150%")), `spec.stages[1].waves[0]: "150%": a wave is a count of targets or a percentage from 1% to 100%`},
		{"a name twice", dupName, `spec.stages[1].targets[1].name: "prod-1" is the name of targets[0] too: name each target once`},
		{"one file written by two targets", sameFile,
			"spec.stages[1].targets[2].target.files: envs/prod-1/kustomization.yaml on main of acme/gitops is written by targets[0] (prod-1) too: give each target its own files"},
		{"a target's path escaping the repository", func() Stage {
			st := wavesStage(3)
			st.Targets[2].Target.Files[0].Path = "../secrets.yaml"
			return st
		}(), `spec.stages[1].targets[2].target.files[0].path: "../secrets.yaml": the path must be relative to the repository root and must not contain '..'`},
		{"an absolute path", Stage{Name: "dev", Target: Target{Repository: "acme/gitops", Files: []TargetFile{{Path: "/etc/passwd"}}}},
			`spec.stages[1].target.files[0].path: "/etc/passwd": the path must be relative to the repository root and must not contain '..'`},
		{"waves without targets", single, "spec.stages[1].waves: waves split a stage's targets: set targets, or remove waves"},
		{"maxParallel", parallel(wavesStage(6), 2), ""},
		{"maxParallel and waves", parallel(wavesStage(6, n(1), pc("100%")), 2),
			"spec.stages[1].maxParallel: set waves (how many targets run the version after each wave) or maxParallel (waves of that many targets), not both"},
		{"maxParallel 0", parallel(wavesStage(6), 0), "spec.stages[1].maxParallel: 0: a wave holds at least one target"},
		{"maxParallel without targets", parallel(Stage{Name: "dev", Target: Target{Repository: "acme/gitops"}}, 2),
			"spec.stages[1].maxParallel: maxParallel splits a stage's targets into waves: set targets, or remove maxParallel"},
		{"rollback of the failed target", rollback(wavesStage(6), RollbackScopeTarget, FailureRollback), ""},
		{"rollback without targets", rollback(Stage{Name: "dev", Target: Target{Repository: "acme/gitops"}}, RollbackScopeWave, FailureRollback),
			"spec.stages[1].rollback: rollback says which of a stage's targets a failure writes back: set targets, or remove rollback"},
		{"rollback with onFailure Halt", rollback(wavesStage(6), RollbackScopeWave, FailureHalt),
			"spec.stages[1].rollback: rollback says what onFailure Rollback writes back: remove it, or set onFailure Rollback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &ReleasePipelineSpec{Stages: []Stage{{Name: "staging"}, tc.stage}}
			if got := spec.TargetsError(); got != tc.error {
				t.Errorf("TargetsError() =\n  %s\nwant\n  %s", got, tc.error)
			}
		})
	}
}

// rollback sets the stage's rollback and onFailure.
func rollback(st Stage, scope RollbackScope, onFailure FailurePolicy) Stage {
	st.Rollback, st.OnFailure = scope, onFailure
	return st
}

// Links to a stage's commits name a repository even when the stage has
// several targets.
func TestGitOpsRepositoryOfAStageWithTargets(t *testing.T) {
	one := Stage{Target: Target{Repository: "acme/gitops"}}
	many := Stage{Targets: []StageTarget{{Name: "eu", Target: Target{Repository: "acme/gitops-eu"}}, {Name: "us", Target: Target{Repository: "acme/gitops-us"}}}}
	if one.GitOpsRepository() != "acme/gitops" || many.GitOpsRepository() != "acme/gitops-eu" {
		t.Errorf("got %q and %q", one.GitOpsRepository(), many.GitOpsRepository())
	}
}

// A stage's targets grouped by wave and phase read short for 50 targets.
func TestWaveStatesSummariseTheWaves(t *testing.T) {
	ss := ReleaseStageStatus{Wave: 2, Waves: 3}
	for k := 1; k <= 50; k++ {
		ts := TargetStatus{Name: fmt.Sprintf("prod-%d", k), Wave: 3, Phase: TargetPending}
		switch {
		case k == 1:
			ts.Wave, ts.Phase = 1, TargetDeployed
		case k <= 13:
			ts.Wave, ts.Phase = 2, TargetDeployed
			if k > 11 {
				ts.Phase = TargetDeploying
			}
		}
		ss.Targets = append(ss.Targets, ts)
	}
	var got []string
	for _, w := range ss.WaveStates() {
		got = append(got, fmt.Sprintf("wave %d (%d): %s", w.Wave, w.Targets, w.Summary()))
	}
	want := []string{
		"wave 1 (1): Deployed prod-1",
		"wave 2 (12): Deployed 10 targets (prod-2 … prod-11); Deploying prod-12, prod-13",
		"wave 3 (37): Pending 37 targets (prod-14 … prod-50)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
