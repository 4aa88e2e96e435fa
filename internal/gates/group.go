package gates

import (
	"fmt"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// GroupFacts is the Release's launch as found for one stage.
type GroupFacts struct {
	// Launch is the name of the Launch the Release is a member of.
	Launch string
	// OnFailure is the launch's policy (defaulted).
	OnFailure releasev1.LaunchFailurePolicy
	// Stage gated and After, the stages it comes after in the Release's
	// pipeline (none for a first stage).
	Stage string
	After []string
	// Members are the launch's other members.
	Members []GroupMember
}

// GroupMember is where one other member of the launch stands.
type GroupMember struct {
	Name, Version string
	// Missing: no Release of that name exists.
	Missing bool
	Phase   releasev1.ReleasePhase
	// WithLaunch: it failed only because another member did (it was
	// rolled back or halted with the launch).
	WithLaunch bool
	// Stages are its phase in each stage of its pipeline, in order; empty
	// before it started.
	Stages []releasev1.LaunchMemberStage
}

// Group lets a member of a launch into a stage only once every other
// member is promoted (deployed and verified) in every stage this one comes
// after. Stages are compared by name: a member whose pipeline lacks one
// does not hold it. A failed member fails the gate when the launch's
// onFailure is Group; with Member it is left behind.
func Group(f GroupFacts) Result {
	r := Result{Name: NameGroup, State: releasev1.GatePassed, Reason: releasev1.ReasonGroupReady}
	if m := firstFailed(f.Members); m != nil && f.OnFailure != releasev1.FailMember {
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonGroupMemberFailed
		r.Message = fmt.Sprintf("%s %s failed%s: launch %s halts (onFailure: Group)", m.Name, m.Version, failedWhere(*m), f.Launch)
		return r
	}
	var waits []string
	for _, m := range f.Members {
		if m.Phase == releasev1.PhaseFailed || m.Phase == releasev1.PhaseSuperseded {
			continue
		}
		if w := memberWait(m, f.After); w != "" {
			waits = append(waits, w)
		}
	}
	if len(waits) > 0 {
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonGroupPending
		r.Message = strings.Join(waits, "; ") + " (launch " + f.Launch + ")"
		return r
	}
	if len(f.After) == 0 {
		r.Message = fmt.Sprintf("%s is the first stage of launch %s", f.Stage, f.Launch)
	} else {
		r.Message = fmt.Sprintf("every member of launch %s is promoted in %s", f.Launch, strings.Join(f.After, ", "))
	}
	return r
}

// firstFailed is the first member that failed on its own, else the first
// that failed with the launch, or nil.
func firstFailed(members []GroupMember) *GroupMember {
	var out *GroupMember
	for k := range members {
		if m := &members[k]; m.Phase == releasev1.PhaseFailed && (out == nil || out.WithLaunch && !m.WithLaunch) {
			out = m
		}
	}
	return out
}

// memberWait says what m has still to finish of the stages after, or "".
func memberWait(m GroupMember, after []string) string {
	if m.Missing {
		return "waits for " + m.Name + ", which does not exist: create it or remove it from the launch"
	}
	if len(after) > 0 && len(m.Stages) == 0 {
		return fmt.Sprintf("waits for %s %s to start", m.Name, m.Version)
	}
	var unfinished []string
	for _, s := range after {
		for _, ms := range m.Stages {
			if ms.Name == s && ms.Phase != releasev1.StagePromoted && ms.Phase != releasev1.StageSkipped {
				unfinished = append(unfinished, s+" ("+stagePhaseWords(ms.Phase)+")")
			}
		}
	}
	if len(unfinished) == 0 {
		return ""
	}
	return fmt.Sprintf("waits for %s %s to finish %s", m.Name, m.Version, strings.Join(unfinished, ", "))
}

// failedWhere is " in STAGE" for the stage a failed member failed in
// (and was rolled back in, when it was).
func failedWhere(m GroupMember) string {
	for _, s := range m.Stages {
		if s.Phase == releasev1.StageFailed || s.Phase == releasev1.StageRolledBack {
			return " in " + s.Name
		}
	}
	return ""
}

// stagePhaseWords says a stage phase in lower case words.
func stagePhaseWords(p releasev1.StagePhase) string {
	switch p {
	case releasev1.StageAwaitingMerge:
		return "awaiting merge"
	case releasev1.StageRolledBack:
		return "rolled back"
	case "":
		return "pending"
	}
	return strings.ToLower(string(p))
}

// groupWords says which member a Release waits for, from the message
// Group wrote.
func groupWords(_ string, g releasev1.GateStatus, _ Clock) string {
	switch g.Reason {
	case releasev1.ReasonGroupPending:
		msg, _, _ := strings.Cut(g.Message, " (launch ")
		return msg
	case releasev1.ReasonGroupMemberFailed:
		return "halted by its launch: " + g.Message
	}
	return ""
}

// LaunchApprovals are the approvals of a member's launch, which replace the
// member's own in a stage the launch approves for (its approvalStages).
type LaunchApprovals struct {
	Launch    string
	Approvals []releasev1.Approval
}

// ApprovalsOfLaunch is the approvals gate of a member of a launch that
// approves for stage: count distinct approvals of the launch, as Approvals
// counts a Release's, saying whose.
func ApprovalsOfLaunch(stage string, count int32, a LaunchApprovals) Result {
	r := Approvals(stage, count, a.Approvals)
	r.Message += " of launch " + a.Launch
	return r
}
