package gates

import (
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

func TestGroup(t *testing.T) {
	member := func(name, version string, phase releasev1.ReleasePhase, stages ...string) GroupMember {
		m := GroupMember{Name: name, Version: version, Phase: phase}
		for i := 0; i+1 < len(stages); i += 2 {
			m.Stages = append(m.Stages, releasev1.LaunchMemberStage{Name: stages[i], Phase: releasev1.StagePhase(stages[i+1])})
		}
		return m
	}
	facts := func(stage string, after []string, members ...GroupMember) GroupFacts {
		return GroupFacts{Launch: "spring", OnFailure: releasev1.FailGroup, Stage: stage, After: after, Members: members}
	}
	promotedInDev := member("worker", "3.0.1", releasev1.PhaseProgressing, "dev", "Promoted", "staging", "Pending")
	tests := []struct {
		name    string
		facts   GroupFacts
		state   releasev1.GateState
		reason  string
		message string
	}{
		{"the first stage is not held", facts("dev", nil, member("web", "1.2.0", releasev1.PhasePending)),
			releasev1.GatePassed, releasev1.ReasonGroupReady, "dev is the first stage of launch spring"},
		{"every other member is promoted in dev", facts("staging", []string{"dev"}, promotedInDev,
			member("web", "1.2.0", releasev1.PhaseProgressing, "dev", "Promoted", "staging", "Waiting")),
			releasev1.GatePassed, releasev1.ReasonGroupReady, "every member of launch spring is promoted in dev"},
		{"a member still verifying in dev holds staging, named", facts("staging", []string{"dev"}, promotedInDev,
			member("web", "1.2.0", releasev1.PhaseVerifying, "dev", "Verifying", "staging", "Pending")),
			releasev1.GatePending, releasev1.ReasonGroupPending, "waits for web 1.2.0 to finish dev (verifying) (launch spring)"},
		{"every one that holds is named", facts("staging", []string{"dev"},
			member("worker", "3.0.1", releasev1.PhaseDeploying, "dev", "AwaitingMerge"),
			member("web", "1.2.0", releasev1.PhaseVerifying, "dev", "Verifying")),
			releasev1.GatePending, releasev1.ReasonGroupPending,
			"waits for worker 3.0.1 to finish dev (awaiting merge); waits for web 1.2.0 to finish dev (verifying) (launch spring)"},
		{"a member whose pipeline lacks the stage does not hold it", facts("prod", []string{"staging"},
			member("web", "1.2.0", releasev1.PhaseVerifying, "dev", "Verifying")),
			releasev1.GatePassed, releasev1.ReasonGroupReady, "every member of launch spring is promoted in staging"},
		{"a skipped stage counts as done", facts("prod", []string{"staging"},
			member("web", "1.2.0", releasev1.PhaseProgressing, "staging", "Skipped", "prod", "Waiting")),
			releasev1.GatePassed, releasev1.ReasonGroupReady, "every member of launch spring is promoted in staging"},
		{"fan-in: both stages it comes after", facts("prod", []string{"staging-eu", "staging-us"},
			member("web", "1.2.0", releasev1.PhaseVerifying, "staging-eu", "Promoted", "staging-us", "Deploying")),
			releasev1.GatePending, releasev1.ReasonGroupPending, "waits for web 1.2.0 to finish staging-us (deploying) (launch spring)"},
		{"a member that has not started holds", facts("staging", []string{"dev"}, member("web", "1.2.0", "")),
			releasev1.GatePending, releasev1.ReasonGroupPending, "waits for web 1.2.0 to start (launch spring)"},
		{"a member that does not exist holds, with what to do", facts("staging", []string{"dev"}, GroupMember{Name: "web", Missing: true}),
			releasev1.GatePending, releasev1.ReasonGroupPending, "waits for web, which does not exist: create it or remove it from the launch (launch spring)"},
		{"a failed member halts the group", facts("staging", []string{"dev"}, promotedInDev,
			member("web", "1.2.0", releasev1.PhaseFailed, "dev", "Failed")),
			releasev1.GateFailed, releasev1.ReasonGroupMemberFailed, "web 1.2.0 failed in dev: launch spring halts (onFailure: Group)"},
		{"a member rolled back after it failed is named with its stage", facts("staging", []string{"dev"},
			member("web", "1.2.0", releasev1.PhaseFailed, "dev", "RolledBack")),
			releasev1.GateFailed, releasev1.ReasonGroupMemberFailed, "web 1.2.0 failed in dev: launch spring halts (onFailure: Group)"},
		{"the member that failed on its own is named, not one rolled back with it", func() GroupFacts {
			with := member("checkout", "2.3.0", releasev1.PhaseFailed, "dev", "Promoted", "staging", "RolledBack")
			with.WithLaunch = true
			return facts("prod", []string{"staging"}, with, member("web", "1.2.0", releasev1.PhaseFailed, "dev", "Promoted", "staging", "RolledBack"))
		}(), releasev1.GateFailed, releasev1.ReasonGroupMemberFailed, "web 1.2.0 failed in staging: launch spring halts (onFailure: Group)"},
		{"with onFailure Member it is left behind", func() GroupFacts {
			f := facts("staging", []string{"dev"}, promotedInDev, member("web", "1.2.0", releasev1.PhaseFailed, "dev", "Failed"))
			f.OnFailure = releasev1.FailMember
			return f
		}(), releasev1.GatePassed, releasev1.ReasonGroupReady, "every member of launch spring is promoted in dev"},
		{"a superseded member does not hold", facts("staging", []string{"dev"}, member("web", "1.2.0", releasev1.PhaseSuperseded, "dev", "Superseded")),
			releasev1.GatePassed, releasev1.ReasonGroupReady, "every member of launch spring is promoted in dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Group(tt.facts)
			if r.Name != NameGroup || r.State != tt.state || r.Reason != tt.reason || r.Message != tt.message {
				t.Errorf("Group() = %s %s %s %q, want %s %s %q", r.Name, r.State, r.Reason, r.Message, tt.state, tt.reason, tt.message)
			}
		})
	}
}

func TestGroupWords(t *testing.T) {
	g := releasev1.GateStatus{Name: NameGroup, Status: releasev1.GatePending, Reason: releasev1.ReasonGroupPending,
		Message: "waits for web 1.2.0 to finish dev (verifying) (launch spring)"}
	if got, want := Words("staging", g, Clock{}), "waits for web 1.2.0 to finish dev (verifying)"; got != want {
		t.Errorf("Words() = %q, want %q", got, want)
	}
}

func TestApprovalsOfLaunch(t *testing.T) {
	a := func(stage, by string) releasev1.Approval { return releasev1.Approval{Stage: stage, By: by} }
	tests := []struct {
		name      string
		approvals []releasev1.Approval
		state     releasev1.GateState
		message   string
	}{
		{"the launch approved the stage", []releasev1.Approval{a("prod", "ann")}, releasev1.GatePassed, "1 of 1 approvals (ann) of launch spring"},
		{"an approval of another stage does not count", []releasev1.Approval{a("staging", "ann")}, releasev1.GatePending,
			`0 of 1 approvals for prod: add an entry with stage "prod" to spec.approvals of launch spring`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ApprovalsOfLaunch("prod", 1, LaunchApprovals{Launch: "spring", Approvals: tt.approvals})
			if r.Name != NameApprovals || r.State != tt.state || r.Message != tt.message {
				t.Errorf("ApprovalsOfLaunch() = %s %s %q, want %s %q", r.Name, r.State, r.Message, tt.state, tt.message)
			}
		})
	}
}

// A member's own approvals do not count where its launch approves: the
// launch's do.
func TestEvaluateCountsTheLaunchsApprovalsWhereItApproves(t *testing.T) {
	rel := &releasev1.Release{Spec: releasev1.ReleaseSpec{Approvals: []releasev1.Approval{{Stage: "prod", By: "bob"}}}}
	stage := &releasev1.Stage{Name: "prod", Promotion: releasev1.PromotionManual}
	snap := Snapshot{Release: rel, Stage: stage, LaunchApprovals: &LaunchApprovals{Launch: "spring"}}
	for _, r := range Evaluate(snap) {
		if r.Name == NameApprovals && r.State != releasev1.GatePending {
			t.Errorf("approvals = %s %q, want Pending: bob approved the member, not the launch", r.State, r.Message)
		}
	}
	snap.LaunchApprovals.Approvals = []releasev1.Approval{{Stage: "prod", By: "ann"}}
	found := false
	for _, r := range Evaluate(snap) {
		if r.Name == NameApprovals {
			found = true
			if r.State != releasev1.GatePassed || r.Message != "1 of 1 approvals (ann) of launch spring" {
				t.Errorf("approvals = %s %q, want Passed by ann of launch spring", r.State, r.Message)
			}
		}
	}
	if !found {
		t.Error("no approvals gate")
	}
}
