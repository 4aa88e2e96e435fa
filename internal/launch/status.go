// Package launch decides where a Launch stands from its members: the
// members × stages matrix, the group's stage, and the member that holds it.
package launch

import (
	"fmt"
	"slices"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Decision is a Launch's status, computed.
type Decision struct {
	Phase        releasev1.LaunchPhase
	CurrentStage string
	Holder       string
	Stages       []string
	Members      []releasev1.LaunchMember
	// Missing says which named members do not exist, "" when all do.
	Missing string
	// Failure is the failure that halted the launch, nil while none did.
	Failure *releasev1.LaunchFailure
}

// Decide computes where the launch stands from its members (sorted by
// name), the names of spec.members no Release has, and its failure policy.
// The group's stage is the first one some member still on its way is not
// promoted in; the holder is the member furthest behind there.
func Decide(members []releasev1.Release, missing []string, policy releasev1.LaunchFailurePolicy) Decision {
	d := Decision{Phase: releasev1.LaunchPending}
	for i := range members {
		rel := &members[i]
		d.Members = append(d.Members, releasev1.LaunchMember{Name: rel.Name, Version: rel.Spec.Version, Phase: rel.Status.Phase, Stages: rel.StagePhases()})
		for _, s := range rel.Status.Stages {
			if !slices.Contains(d.Stages, s.Name) {
				d.Stages = append(d.Stages, s.Name)
			}
		}
	}
	for _, name := range missing {
		d.Members = append(d.Members, releasev1.LaunchMember{Name: name})
	}
	if len(missing) > 0 {
		d.Missing = fmt.Sprintf("%s %s not exist: create %s or remove %s from spec.members",
			strings.Join(missing, ", "), plural(len(missing), "does", "do"), plural(len(missing), "it", "them"), plural(len(missing), "it", "them"))
		d.Holder = d.Missing
	}
	if len(members) == 0 {
		if d.Holder == "" {
			d.Holder = "no Release matches spec.selector yet"
		}
		return d
	}
	if k := failed(members); k >= 0 && policy != releasev1.FailMember {
		d.Phase, d.Failure = releasev1.LaunchFailed, failureOf(members, k)
		d.CurrentStage = d.Failure.Stage
		d.Members[k].Holder = true
		d.Holder = failureWords(d.Failure)
		return d
	}
	k, stage := holder(members, d.Stages)
	switch {
	case k < 0:
		d.Phase = releasev1.LaunchReleased
		if len(d.Stages) > 0 {
			d.CurrentStage = d.Stages[len(d.Stages)-1]
		}
		return d
	case members[k].Status.Phase == releasev1.PhaseBlocked:
		d.Phase = releasev1.LaunchBlocked
	case started(members):
		d.Phase = releasev1.LaunchProgressing
	}
	d.CurrentStage = stage
	d.Members[k].Holder = true
	if d.Missing == "" {
		d.Holder = holderWords(&members[k], stage)
	}
	return d
}

// holder is the index of the member furthest behind in the first stage
// some member on its way has not finished, and that stage; -1 when every
// member is through.
func holder(members []releasev1.Release, stages []string) (int, string) {
	for k := range members {
		if len(members[k].Status.Stages) == 0 && onItsWay(&members[k]) {
			return k, firstOr(stages)
		}
	}
	for _, stage := range stages {
		best, rank := -1, 0
		for k := range members {
			ss := members[k].Status.StageStatus(stage)
			if ss == nil || !onItsWay(&members[k]) || ss.Phase == releasev1.StagePromoted || ss.Phase == releasev1.StageSkipped {
				continue
			}
			if r := progress(ss.Phase); best < 0 || r < rank {
				best, rank = k, r
			}
		}
		if best >= 0 {
			return best, stage
		}
	}
	return -1, ""
}

// onItsWay: neither released, failed nor superseded.
func onItsWay(rel *releasev1.Release) bool {
	switch rel.Status.Phase {
	case releasev1.PhaseReleased, releasev1.PhaseFailed, releasev1.PhaseSuperseded:
		return false
	}
	return true
}

// progress ranks how far a member went in a stage.
func progress(p releasev1.StagePhase) int {
	return slices.Index([]releasev1.StagePhase{releasev1.StageWaiting, releasev1.StagePromoting, releasev1.StageAwaitingMerge,
		releasev1.StageDeploying, releasev1.StageVerifying}, p) + 1
}

// holderWords says what the holding member does in stage and, while it
// waits, which gates hold it: "checkout 2.3.0 waits in staging:
// dependencies: needs payments >=1.8.0 …".
func holderWords(rel *releasev1.Release, stage string) string {
	who := rel.Name + " " + rel.Spec.Version
	ss := rel.Status.StageStatus(stage)
	if ss == nil {
		return who + " has not started"
	}
	var doing string
	switch ss.Phase {
	case releasev1.StagePromoting:
		doing = "is being promoted into " + stage
	case releasev1.StageAwaitingMerge:
		doing = "waits for its pull request to be merged in " + stage
	case releasev1.StageDeploying:
		doing = "is deploying to " + stage
	case releasev1.StageVerifying:
		doing = "is verifying in " + stage
	default:
		doing = "waits in " + stage
	}
	var held []string
	for _, g := range ss.Gates {
		if g.Status != releasev1.GatePassed {
			held = append(held, g.Name+": "+g.Message)
		}
	}
	if len(held) == 0 {
		return who + " " + doing
	}
	return who + " " + doing + ": " + strings.Join(held, "; ")
}

// failed is the index of the first member that failed on its own, else of
// the first that failed with the launch, or -1.
func failed(members []releasev1.Release) int {
	if k := slices.IndexFunc(members, func(r releasev1.Release) bool {
		return r.Status.Phase == releasev1.PhaseFailed && !r.FailedWithLaunch()
	}); k >= 0 {
		return k
	}
	return slices.IndexFunc(members, func(r releasev1.Release) bool { return r.Status.Phase == releasev1.PhaseFailed })
}

// failureOf is what the failure of members[k] did to the launch: the stage
// it failed in, why, and the members written back there, it first, then
// those rolled back with the launch.
func failureOf(members []releasev1.Release, k int) *releasev1.LaunchFailure {
	rel := &members[k]
	f := &releasev1.LaunchFailure{Member: rel.Name, Version: rel.Spec.Version, Stage: rel.Status.CurrentStage}
	for _, ss := range rel.Status.Stages {
		if ss.Phase == releasev1.StageRolledBack || ss.Phase == releasev1.StageFailed {
			f.Stage, f.Message = ss.Name, ss.Message
			break
		}
	}
	order := []int{k}
	for i := range members {
		if i != k {
			order = append(order, i)
		}
	}
	for _, i := range order {
		m := &members[i]
		ss := m.Status.StageStatus(f.Stage)
		if ss == nil || ss.Phase != releasev1.StageRolledBack || ss.Rollback == nil || ss.Rollback.Commit == "" || i != k && ss.Rollback.Launch == "" {
			continue
		}
		f.RolledBack = append(f.RolledBack, releasev1.LaunchRollback{Name: m.Name, Version: m.Spec.Version, To: ss.Rollback.Version, Commit: ss.Rollback.Commit})
	}
	return f
}

// failureWords says what the failure did: "web 2.0.0 failed in prod: the
// launch rolled back checkout 1.4.2, worker 3.0.0 with it (commit
// 1a2b3c4) and halts (onFailure: Group)".
func failureWords(f *releasev1.LaunchFailure) string {
	head := fmt.Sprintf("%s %s failed in %s: the launch", f.Member, f.Version, f.Stage)
	var names, commits []string
	for _, r := range f.RolledBack {
		if !slices.Contains(commits, short(r.Commit)) {
			commits = append(commits, short(r.Commit))
		}
		if r.Name != f.Member {
			names = append(names, r.Name+" "+r.Version)
		}
	}
	if len(names) == 0 {
		return head + " halts (onFailure: Group)"
	}
	return fmt.Sprintf("%s rolled back %s with it (%s %s) and halts (onFailure: Group)",
		head, strings.Join(names, ", "), plural(len(commits), "commit", "commits"), strings.Join(commits, ", "))
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// started: some member has left Pending.
func started(members []releasev1.Release) bool {
	return slices.ContainsFunc(members, func(r releasev1.Release) bool {
		return r.Status.Phase != "" && r.Status.Phase != releasev1.PhasePending
	})
}

func firstOr(stages []string) string {
	if len(stages) == 0 {
		return ""
	}
	return stages[0]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
