package v1alpha1

import (
	"slices"

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
	// default): the others do not start their next stage; the group gate
	// fails naming the failed member. Member: the failed member is left
	// behind and the others go on without it. Rolling the others back is
	// not done yet.
	// +optional
	// +kubebuilder:default=Group
	OnFailure LaunchFailurePolicy `json:"onFailure,omitempty"`
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
