package launch

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// member is a Release of name at version in phase, with its phase in each
// stage ("dev", "Promoted", "staging", "Waiting", …).
func member(name, version string, phase releasev1.ReleasePhase, stages ...string) releasev1.Release {
	r := releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: releasev1.ReleaseSpec{Version: version}}
	r.Status.Phase = phase
	for i := 0; i+1 < len(stages); i += 2 {
		r.Status.Stages = append(r.Status.Stages, releasev1.ReleaseStageStatus{Name: stages[i], Phase: releasev1.StagePhase(stages[i+1])})
		r.Status.CurrentStage = stages[i]
	}
	return r
}

// rolledBack is m with its stage stage rolled back in commit, with the
// launch when launch is not "", and m Failed.
func rolledBack(m releasev1.Release, stage, commit, launch string) releasev1.Release {
	m.Status.Phase = releasev1.PhaseFailed
	ss := m.Status.StageStatus(stage)
	ss.Phase, ss.Message = releasev1.StageRolledBack, "analysis failed; rolled back to 1.0.0"
	ss.Rollback = &releasev1.RollbackStatus{Version: "1.0.0", Commit: commit, Launch: launch}
	return m
}

func TestDecide(t *testing.T) {
	waitingOnPayments := member("checkout", "2.3.0", releasev1.PhaseProgressing, "dev", "Promoted", "staging", "Waiting", "prod", "Pending")
	waitingOnPayments.Status.Stages[1].Gates = []releasev1.GateStatus{
		{Name: "approvals", Status: releasev1.GatePassed, Message: "1 of 1 approvals"},
		{Name: "dependencies", Status: releasev1.GatePending, Message: "needs payments >=1.8.0 in staging: staging runs 1.7.2"},
	}
	tests := []struct {
		name    string
		members []releasev1.Release
		missing []string
		policy  releasev1.LaunchFailurePolicy
		phase   releasev1.LaunchPhase
		stage   string
		holder  string
		holds   string
	}{
		{"the member furthest behind in the first unfinished stage holds", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseVerifying, "dev", "Promoted", "staging", "Verifying"),
			waitingOnPayments,
			member("web", "1.2.0", releasev1.PhaseDeploying, "dev", "Promoted", "staging", "Deploying"),
		}, nil, releasev1.FailGroup, releasev1.LaunchProgressing, "staging",
			"checkout 2.3.0 waits in staging: dependencies: needs payments >=1.8.0 in staging: staging runs 1.7.2", "checkout"},
		{"an earlier stage first, whatever the others do later", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseVerifying, "dev", "Verifying", "staging", "Pending"),
			member("web", "1.2.0", releasev1.PhaseProgressing, "dev", "Promoted", "staging", "Waiting"),
		}, nil, releasev1.FailGroup, releasev1.LaunchProgressing, "dev", "api 1.0.0 is verifying in dev", "api"},
		{"a member whose pipeline lacks a stage is not waited for there", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseReleased, "dev", "Promoted", "staging", "Promoted"),
			member("web", "1.2.0", releasev1.PhaseDeploying, "dev", "Promoted", "staging", "Promoted", "prod", "Deploying"),
		}, nil, releasev1.FailGroup, releasev1.LaunchProgressing, "prod", "web 1.2.0 is deploying to prod", "web"},
		{"a blocked holder blocks the launch", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseBlocked, "dev", "Waiting"),
			member("web", "1.2.0", releasev1.PhaseProgressing, "dev", "Promoting"),
		}, nil, releasev1.FailGroup, releasev1.LaunchBlocked, "dev", "api 1.0.0 waits in dev", "api"},
		{"a member that has not started holds from the start", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseProgressing, "dev", "Promoted", "staging", "Waiting"),
			member("web", "1.2.0", ""),
		}, nil, releasev1.FailGroup, releasev1.LaunchProgressing, "dev", "web 1.2.0 has not started", "web"},
		{"nothing started yet", []releasev1.Release{member("web", "1.2.0", "")}, nil, releasev1.FailGroup,
			releasev1.LaunchPending, "", "web 1.2.0 has not started", "web"},
		{"every member released", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseReleased, "dev", "Promoted", "prod", "Promoted"),
			member("web", "1.2.0", releasev1.PhaseReleased, "dev", "Promoted", "prod", "Promoted"),
		}, nil, releasev1.FailGroup, releasev1.LaunchReleased, "prod", "", ""},
		{"a failed member fails the group", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseFailed, "dev", "Promoted", "prod", "Failed"),
			member("web", "1.2.0", releasev1.PhaseProgressing, "dev", "Promoted", "prod", "Promoted"),
		}, nil, releasev1.FailGroup, releasev1.LaunchFailed, "prod", "api 1.0.0 failed in prod: the launch halts (onFailure: Group)", "api"},
		{"the member that failed on its own holds, with the members rolled back with it", []releasev1.Release{
			rolledBack(member("api", "1.0.0", "", "dev", "Promoted", "prod", "Verifying"), "prod", "1a2b3c4d5e", "spring"),
			rolledBack(member("checkout", "2.3.0", "", "dev", "Promoted", "prod", "Promoted"), "prod", "1a2b3c4d5e", "spring"),
			rolledBack(member("web", "1.2.0", "", "dev", "Promoted", "prod", "Verifying"), "prod", "1a2b3c4d5e", ""),
		}, nil, releasev1.FailGroup, releasev1.LaunchFailed, "prod",
			"web 1.2.0 failed in prod: the launch rolled back api 1.0.0, checkout 2.3.0 with it (commit 1a2b3c4) and halts (onFailure: Group)", "web"},
		{"with onFailure Member the others go on", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseFailed, "dev", "Failed"),
			member("web", "1.2.0", releasev1.PhaseVerifying, "dev", "Promoted", "prod", "Verifying"),
		}, nil, releasev1.FailMember, releasev1.LaunchProgressing, "prod", "web 1.2.0 is verifying in prod", "web"},
		{"a named member that does not exist", []releasev1.Release{
			member("api", "1.0.0", releasev1.PhaseProgressing, "dev", "Promoted", "prod", "Waiting"),
		}, []string{"web"}, releasev1.FailGroup, releasev1.LaunchProgressing, "prod",
			"web does not exist: create it or remove it from spec.members", "api"},
		{"a selector that matches nothing", nil, nil, releasev1.FailGroup, releasev1.LaunchPending, "", "no Release matches spec.selector yet", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.members, tt.missing, tt.policy)
			if d.Phase != tt.phase || d.CurrentStage != tt.stage || d.Holder != tt.holder {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Phase, d.CurrentStage, d.Holder, tt.phase, tt.stage, tt.holder)
			}
			holds := ""
			for _, m := range d.Members {
				if m.Holder {
					holds += m.Name
				}
			}
			if holds != tt.holds {
				t.Errorf("holder marked on %q, want %q", holds, tt.holds)
			}
			if (d.Failure != nil) != (tt.phase == releasev1.LaunchFailed) {
				t.Errorf("Decide().Failure = %+v with phase %s", d.Failure, tt.phase)
			}
		})
	}
}

func TestFailureListsTheMembersWrittenBack(t *testing.T) {
	d := Decide([]releasev1.Release{
		rolledBack(member("checkout", "2.3.0", "", "dev", "Promoted", "prod", "Verifying"), "prod", "1a2b3c4d5e", "spring"),
		// Rolled back in prod for a failure of its own, before the launch's.
		rolledBack(member("payments", "1.8.0", "", "dev", "Promoted", "prod", "Verifying"), "prod", "9f9f9f9f9f", ""),
		rolledBack(member("web", "1.2.0", "", "dev", "Promoted", "prod", "Verifying"), "prod", "1a2b3c4d5e", ""),
	}, nil, releasev1.FailGroup)
	f := d.Failure
	if f == nil || f.Member != "payments" || f.Stage != "prod" || f.Message != "analysis failed; rolled back to 1.0.0" {
		t.Fatalf("Failure = %+v, want payments in prod", f)
	}
	want := []releasev1.LaunchRollback{
		{Name: "payments", Version: "1.8.0", To: "1.0.0", Commit: "9f9f9f9f9f"},
		{Name: "checkout", Version: "2.3.0", To: "1.0.0", Commit: "1a2b3c4d5e"},
	}
	if len(f.RolledBack) != len(want) || f.RolledBack[0] != want[0] || f.RolledBack[1] != want[1] {
		t.Errorf("RolledBack = %+v, want %+v (web failed on its own: not rolled back with the launch)", f.RolledBack, want)
	}
}
