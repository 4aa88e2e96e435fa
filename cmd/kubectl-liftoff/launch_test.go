package main

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestLaunchTreeShowsMembersByStageAndMarksTheHolder(t *testing.T) {
	stages := func(phases ...releasev1.StagePhase) []releasev1.LaunchMemberStage {
		var out []releasev1.LaunchMemberStage
		for i, p := range phases {
			out = append(out, releasev1.LaunchMemberStage{Name: []string{"dev", "staging", "prod"}[i], Phase: p})
		}
		return out
	}
	l := &releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: "shop"}, Status: releasev1.LaunchStatus{
		Phase: releasev1.LaunchProgressing, CurrentStage: "dev", Holder: "web 2.0.0 is deploying to dev",
		Stages: []string{"dev", "staging", "prod"},
		Members: []releasev1.LaunchMember{
			{Name: "checkout", Version: "1.4.2", Phase: releasev1.PhaseBlocked, Stages: stages(releasev1.StagePromoted, releasev1.StageWaiting, releasev1.StagePending)},
			{Name: "web", Version: "2.0.0", Phase: releasev1.PhaseDeploying, Holder: true, Stages: stages(releasev1.StageDeploying, releasev1.StagePending, releasev1.StagePending)},
			{Name: "worker", Version: "3.0.0", Phase: releasev1.PhaseBlocked, Stages: stages(releasev1.StagePromoted, releasev1.StageWaiting)},
			{Name: "search"},
		},
	}}
	want := `Name:       spring
Namespace:  shop
Phase:      ◌ Progressing
Stage:      dev
Holder:     web 2.0.0 is deploying to dev

MEMBER                 dev          staging    prod
├─ checkout 1.4.2      ✔ Promoted   ⧗ Waiting  ⧗ Pending
├─ web 2.0.0 ◀ holds   ◌ Deploying  ⧗ Pending  ⧗ Pending
├─ worker 3.0.0        ✔ Promoted   ⧗ Waiting  -
└─ search (missing)    -            -          -
`
	if got := launchTree(l); got != want {
		t.Errorf("launchTree() =\n%s\nwant\n%s", got, want)
	}
}
