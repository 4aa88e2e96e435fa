package release

import (
	"context"
	"fmt"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The targets of a stage, as the steps of waves and their write-backs name,
// group and ask them.

// inWave are the positions of stage i's targets in its wave under way.
func inWave(ss *releasev1.ReleaseStageStatus) []int {
	var out []int
	for k, t := range ss.Targets {
		if t.Wave == ss.Wave {
			out = append(out, k)
		}
	}
	return out
}

// waveProgress is the short summary of a stage with targets: "prod 2/6 on
// 1.5.0, wave 1 of 3".
func waveProgress(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus) string {
	live := 0
	for _, t := range ss.Targets {
		if t.Phase == releasev1.TargetDeployed {
			live++
		}
	}
	return fmt.Sprintf("%s %d/%d on %s, wave %d of %d", ss.Name, live, len(ss.Targets), rel.Spec.Version, ss.Wave, ss.Waves)
}

// byBranch groups the targets k of stage i by repository and branch, in
// their order: each group is one commit.
func byBranch(stage *releasev1.Stage, ks []int, req func(k int) *promotion.Request) ([][2]string, map[[2]string][]*promotion.Request, map[*promotion.Request]int) {
	var order [][2]string
	groups := map[[2]string][]*promotion.Request{}
	of := map[*promotion.Request]int{}
	for _, k := range ks {
		t := stage.Targets[k].Target
		key := [2]string{t.Repository, orDefault(t.Branch, "main")}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		r := req(k)
		r.Target.Branch = key[1]
		groups[key] = append(groups[key], r)
		of[r] = k
	}
	return order, groups, of
}

// askTarget asks the agent of target k of stage i whether commit is
// deployed, as askAgent does.
func (s *step) askTarget(ctx context.Context, i, k int, commit string, landed *metav1.Time, status **releasev1.DeploymentStatus) (agents.Decision, error) {
	stage := &s.pipe.Spec.Stages[i]
	t := &stage.Targets[k]
	return s.askAgent(ctx, targetWhere(stage.Name, t.Name), t.Deployment, agents.Commits{Commit: commit, Repository: t.Target.Repository}, landed, status)
}
