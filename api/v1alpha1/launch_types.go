package v1alpha1

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// LaunchSpec names several Releases shipped as one unit: the launch ships
// api, web and worker together. No member enters a stage until every member
// is deployed and verified in the stages it comes after (the group gate).
// +kubebuilder:validation:XValidation:rule="has(self.members) != has(self.selector)",message="name the launch's Releases in spec.members or pick them with spec.selector, not both"
type LaunchSpec struct {
	// Members are the names of the Releases of the launch, in its
	// namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=253
	Members []string `json:"members,omitempty"`

	// Selector picks the launch's Releases by label instead of members.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// OnFailure says what a member's failure does to the others. Group (the
	// default): when the failed member is rolled back in a stage, every
	// other member that reached that stage is rolled back with it, one
	// commit per GitOps repository, and the rest halts (the group gate
	// fails naming the failed member). Member: the failed member alone is
	// rolled back (as its stage's onFailure says) and the others go on
	// without it.
	// +optional
	// +kubebuilder:default=Group
	OnFailure LaunchFailurePolicy `json:"onFailure,omitempty"`

	// Milestone names a Milestone in the namespace the launch belongs to:
	// a member without a spec.milestone of its own belongs to it (the
	// milestone's blockers hold it at the milestone's target stage).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Milestone string `json:"milestone,omitempty"`

	// LaunchChecklist names a LaunchChecklist in the namespace: a member's
	// stage with gates.launchChecklist waits until it is ready, unless the
	// member names a checklist of its own.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LaunchChecklist string `json:"launchChecklist,omitempty"`

	// Plan is the launch's planned promotion time per stage: no member is
	// promoted into the stage before it (a member's own plan for the stage
	// holds it longer when it is later).
	// +optional
	// +listType=map
	// +listMapKey=stage
	// +kubebuilder:validation:MaxItems=20
	Plan []PlannedPromotion `json:"plan,omitempty"`

	// ApprovalStages are the stages where the launch's approvals replace
	// each member's: a member's approvals gate in such a stage counts the
	// launch's spec.approvals for it, not the member's own.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=63
	ApprovalStages []string `json:"approvalStages,omitempty"`

	// Approvals of the launch, for its approvalStages. Entries are
	// appended, never edited; by and at are stamped at admission from who
	// made the request, who must hold the approve verb on the launch and
	// must not have created it.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Approvals []Approval `json:"approvals,omitempty"`
}

// LaunchFailurePolicy is what a member's failure does to its launch.
// +kubebuilder:validation:Enum=Member;Group
type LaunchFailurePolicy string

// Failure policies of a launch.
const (
	// FailMember: a failed member is left behind; the others go on.
	FailMember LaunchFailurePolicy = "Member"
	// FailGroup: a failed member halts the whole launch.
	FailGroup LaunchFailurePolicy = "Group"
)

// LaunchPhase summarises a launch.
type LaunchPhase string

// Launch phases.
const (
	// LaunchPending: no member has started.
	LaunchPending LaunchPhase = "Pending"
	// LaunchProgressing: members are on their way through a stage.
	LaunchProgressing LaunchPhase = "Progressing"
	// LaunchBlocked: the member that holds the launch is blocked.
	LaunchBlocked LaunchPhase = "Blocked"
	// LaunchReleased: every member is released.
	LaunchReleased LaunchPhase = "Released"
	// LaunchFailed: a member failed and the launch halts (onFailure: Group).
	LaunchFailed LaunchPhase = "Failed"
)

// LaunchStatus is where the launch's members stand, stage by stage.
type LaunchStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase summarises the launch.
	// +optional
	Phase LaunchPhase `json:"phase,omitempty"`
	// CurrentStage is the first stage not every member is promoted in (the
	// last one once all are).
	// +optional
	CurrentStage string `json:"currentStage,omitempty"`
	// Holder says which member holds the launch and why: "checkout 2.3.0
	// waits in staging: dependencies: needs payments >=1.8.0 …".
	// +optional
	Holder string `json:"holder,omitempty"`
	// Stages of the members' pipelines, in order.
	// +optional
	// +listType=atomic
	Stages []string `json:"stages,omitempty"`
	// Forecast is when the launch reaches each stage (every member
	// promoted there) and the member on the critical path there, from the
	// members' soak times, verifications, plans and calendars.
	// +optional
	// +listType=atomic
	Forecast []LaunchStageForecast `json:"forecast,omitempty"`
	// CriticalPath names the member the launch's last stage waits for
	// longest ("web 1.2.0, prod at 2026-12-08T14:00:00Z"); empty once the
	// launch is over.
	// +optional
	CriticalPath string `json:"criticalPath,omitempty"`
	// Failure is what a member's failure did to the launch (onFailure:
	// Group): who failed where, and the members written back with it.
	// +optional
	Failure *LaunchFailure `json:"failure,omitempty"`
	// Members and their phase in each stage (members × stages).
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []LaunchMember `json:"members,omitempty"`
	// Conditions: Ready (every member found; the phase as reason).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LaunchMember is one Release of the launch.
type LaunchMember struct {
	// Name of the Release.
	Name string `json:"name"`
	// Version of the Release; empty when it does not exist.
	// +optional
	Version string `json:"version,omitempty"`
	// Phase of the Release; empty when it does not exist.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`
	// Holder is true for the member that holds the launch.
	// +optional
	Holder bool `json:"holder,omitempty"`
	// Stages: the member's phase in each stage of its pipeline.
	// +optional
	// +listType=atomic
	Stages []LaunchMemberStage `json:"stages,omitempty"`
}

// LaunchStageForecast is when a launch reaches one stage.
type LaunchStageForecast struct {
	// Stage of the members' pipelines.
	Stage string `json:"stage"`
	// At is when every member is promoted in the stage: when the last one
	// was, once Reached, else the forecast.
	At metav1.Time `json:"at"`
	// Member on the critical path there: promoted last ("web 1.2.0").
	// +optional
	Member string `json:"member,omitempty"`
	// Reached is true once every member is promoted there.
	// +optional
	Reached bool `json:"reached,omitempty"`
}

// LaunchFailure is the failure that halted a launch.
type LaunchFailure struct {
	// Member that failed, with its Version.
	Member  string `json:"member"`
	Version string `json:"version,omitempty"`
	// Stage it failed in.
	Stage string `json:"stage"`
	// Message is why it failed, as its stage says.
	// +optional
	Message string `json:"message,omitempty"`
	// RolledBack are the members written back in the stage, the failed one
	// first, each with its rollback commit (members sharing a GitOps
	// repository share one).
	// +optional
	// +listType=atomic
	RolledBack []LaunchRollback `json:"rolledBack,omitempty"`
}

// LaunchRollback is one member written back with its launch.
type LaunchRollback struct {
	// Name and Version of the member.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Version written back.
	// +optional
	To string `json:"to,omitempty"`
	// Commit of the rollback.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// LaunchMemberStage is a member's phase in one stage.
type LaunchMemberStage struct {
	Name  string     `json:"name"`
	Phase StagePhase `json:"phase"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lch,categories=liftoff
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.currentStage`
// +kubebuilder:printcolumn:name="Holder",type=string,JSONPath=`.status.holder`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Launch is several Releases shipped as one unit, moving stage by stage
// together.
type Launch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   LaunchSpec   `json:"spec,omitempty"`
	Status LaunchStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LaunchList is a list of Launches.
type LaunchList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Launch `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Launch{}, &LaunchList{})
}

// Includes tells whether rel is a member of the launch: named in members
// or matched by the selector (an invalid selector matches nothing).
func (l *Launch) Includes(rel *Release) bool {
	if rel.Namespace != l.Namespace {
		return false
	}
	if l.Spec.Selector == nil {
		return slices.Contains(l.Spec.Members, rel.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(l.Spec.Selector)
	return err == nil && sel.Matches(labels.Set(rel.Labels))
}

// Done tells whether the launch is over: released, or failed.
func (l *Launch) Done() bool {
	return l.Status.Phase == LaunchReleased || l.Status.Phase == LaunchFailed
}

// FailurePolicy is spec.onFailure with its default.
func (l *Launch) FailurePolicy() LaunchFailurePolicy {
	if l.Spec.OnFailure == "" {
		return FailGroup
	}
	return l.Spec.OnFailure
}

// StagePhases is the Release's phase in each stage, in pipeline order.
func (r *Release) StagePhases() []LaunchMemberStage {
	out := make([]LaunchMemberStage, 0, len(r.Status.Stages))
	for _, s := range r.Status.Stages {
		out = append(out, LaunchMemberStage{Name: s.Name, Phase: s.Phase})
	}
	return out
}

// FailedWithLaunch reports whether the Release failed only because another
// member of its launch did (onFailure: Group): rolled back with it, or
// halted with it.
func (r *Release) FailedWithLaunch() bool {
	if r.Status.Phase != PhaseFailed {
		return false
	}
	for _, ss := range r.Status.Stages {
		if ss.Rollback != nil && ss.Rollback.Launch != "" {
			return true
		}
	}
	c := meta.FindStatusCondition(r.Status.Conditions, ConditionReady)
	return c != nil && c.Reason == ReasonGroupMemberFailed
}

// ApprovesFor reports whether the launch's approvals replace its members'
// in stage.
func (l *Launch) ApprovesFor(stage string) bool {
	return slices.Contains(l.Spec.ApprovalStages, stage)
}

// PlannedFor is the launch's planned time for stage, or nil.
func (l *Launch) PlannedFor(stage string) *metav1.Time {
	for i := range l.Spec.Plan {
		if l.Spec.Plan[i].Stage == stage {
			return &l.Spec.Plan[i].At
		}
	}
	return nil
}
