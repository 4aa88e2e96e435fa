package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RollbackRequest asks for an earlier version to be written back into a
// stage, now, whatever the gates and the calendar say: the mitigation of an
// incident found after the version passed its analysis. The Release whose
// version the stage runs writes the rollback commit, marks its GitHub
// deployment, opens the stage's postmortem and ends RolledBack; later
// Releases hold before the stage until a person resumes it (spec.resumes).
type RollbackRequest struct {
	// Stage to roll back.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
	// To is the version written back: one that ran in the stage, per the
	// pipeline's promotion history (status.stages[].history). Defaults to
	// the version the stage ran before the current one; it is stamped at
	// admission.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	To string `json:"to,omitempty"`
	// Reason for the rollback, for the commit, the postmortem, the
	// notifications and the calendar.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason"`
	// By is who asked, stamped at admission from the authenticated request.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	By string `json:"by,omitempty"`
	// At is when, stamped at admission.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
}

// ResumeRequest lets Releases be promoted into a stage again after a
// rollback on demand held it.
type ResumeRequest struct {
	// Stage to resume.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
	// Rollback is the index in spec.rollbacks of the rollback whose hold
	// ends (earlier ones of the stage end with it). Defaults to the
	// stage's latest rollback; it is stamped at admission.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Rollback *int32 `json:"rollback,omitempty"`
	// Comment is free text: why it is safe to go on.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment string `json:"comment,omitempty"`
	// By is who resumed, stamped at admission.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	By string `json:"by,omitempty"`
	// At is when, stamped at admission.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
}

// RollbackPhase is where a rollback on demand stands.
// +kubebuilder:validation:Enum=RollingBack;RolledBack;Failed
type RollbackPhase string

// Rollback phases.
const (
	// RollbackRunning: the Release is writing the rollback (or waits for
	// its pull request to be merged).
	RollbackRunning RollbackPhase = "RollingBack"
	// RollbackDone: the version is written back.
	RollbackDone RollbackPhase = "RolledBack"
	// RollbackFailed: the rollback cannot be made; the message says why.
	RollbackFailed RollbackPhase = "Failed"
)

// RollbackRecord is where one rollback on demand stands.
type RollbackRecord struct {
	// Index of the request in spec.rollbacks.
	Index int32 `json:"index"`
	// Stage rolled back.
	Stage string `json:"stage"`
	// From is the version rolled back.
	// +optional
	From string `json:"from,omitempty"`
	// To is the version written back.
	// +optional
	To string `json:"to,omitempty"`
	// Release that makes the rollback: the one whose version the stage ran.
	// +optional
	Release string `json:"release,omitempty"`
	// Phase: RollingBack, RolledBack or Failed.
	Phase RollbackPhase `json:"phase"`
	// Commit that wrote the version back.
	// +optional
	Commit string `json:"commit,omitempty"`
	// At is when the rollback landed.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// Targets written back, for a stage with targets: those that ran the
	// version (Commit is the last of their commits, one per repository).
	// +optional
	Targets []string `json:"targets,omitempty"`
	// Message for people.
	// +optional
	Message string `json:"message,omitempty"`
}

// RollbackTarget is a version a stage can be rolled back to: one that ran
// there, and where its files are found in the GitOps repository.
// +kubebuilder:object:generate=false
type RollbackTarget struct {
	// Version that ran in the stage.
	Version string
	// Commit whose files held the version (Parent: the parent of Commit's).
	Commit string
	// Parent: the files as they were before Commit, which replaced the version.
	Parent bool
}

// RollbackTargets lists the versions stage ran before its current one, newest
// first, from its promotion history: each version a commit put there, and
// the one each commit replaced (for the oldest, possibly one that ran before
// Liftoff promoted anything).
func (p *ReleasePipeline) RollbackTargets(stage string) []RollbackTarget {
	ps := p.Status.StageStatus(stage)
	if ps == nil {
		return nil
	}
	var out []RollbackTarget
	seen := map[string]bool{ps.Version: true}
	add := func(t RollbackTarget) {
		if t.Version != "" && !seen[t.Version] {
			seen[t.Version] = true
			out = append(out, t)
		}
	}
	for i, h := range ps.History {
		if i > 0 {
			add(RollbackTarget{Version: h.Version, Commit: h.Commit})
		}
		if h.Commit != "" {
			add(RollbackTarget{Version: h.PreviousVersion, Commit: h.Commit, Parent: true})
		}
	}
	return out
}

// RollbackTargetFor finds the version to roll stage back to: to, or the one
// it ran before the current one when to is empty.
func (p *ReleasePipeline) RollbackTargetFor(stage, to string) (RollbackTarget, bool) {
	for _, t := range p.RollbackTargets(stage) {
		if to == "" || t.Version == to {
			return t, true
		}
	}
	return RollbackTarget{}, false
}

// HeldBy returns the index in spec.rollbacks of the rollback on demand that
// holds stage (its latest one no resume ended), or -1.
func (p *ReleasePipeline) HeldBy(stage string) int {
	held := -1
	for i, rb := range p.Spec.Rollbacks {
		if rb.Stage == stage {
			held = i
		}
	}
	for _, r := range p.Spec.Resumes {
		if r.Stage == stage && r.Rollback != nil && int(*r.Rollback) >= held {
			return -1
		}
	}
	return held
}

// RollbackRecordOf returns the status record of spec.rollbacks[index], or nil.
func (s *ReleasePipelineStatus) RollbackRecordOf(index int) *RollbackRecord {
	for i := range s.Rollbacks {
		if int(s.Rollbacks[i].Index) == index {
			return &s.Rollbacks[i]
		}
	}
	return nil
}
