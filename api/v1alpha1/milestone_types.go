package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MilestoneSpec is a dated goal: a GitHub milestone's issues closed and the
// milestone's releases live in a stage by a due date.
type MilestoneSpec struct {
	// DueDate, an RFC 3339 time (2026-12-15T17:00:00Z).
	// +required
	DueDate metav1.Time `json:"dueDate"`

	// Description for people.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// GitHub is the milestone whose issues measure progress.
	// +optional
	GitHub *MilestoneGitHub `json:"github,omitempty"`

	// BlockerLabels: an open issue of the milestone with one of these labels is
	// a blocker. Blockers hold the milestone's releases at the blockers gate of
	// the target stage. Defaults to release-blocker.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=50
	BlockerLabels []string `json:"blockerLabels,omitempty"`

	// TargetStage: the milestone is done when its releases are live there, and
	// its blockers hold promotion into it. Defaults to each release's last stage.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	TargetStage string `json:"targetStage,omitempty"`

	// Selector picks the milestone's Releases by label, in addition to those
	// whose spec.milestone names it.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// PollInterval for the GitHub milestone. Defaults to 5m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	PollInterval *metav1.Duration `json:"pollInterval,omitempty"`
}

// MilestoneGitHub names a GitHub milestone.
type MilestoneGitHub struct {
	// Repository is owner/name; it uses the credential of the pipeline of the
	// milestone's releases, or spec.secretRef.
	// +required
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository"`
	// Milestone is the GitHub milestone's title, or its number.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Milestone string `json:"milestone"`
	// APIURL of GitHub; defaults to https://api.github.com/.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	APIURL string `json:"apiURL,omitempty"`
	// SecretRef names a Secret with a `token`, or a GitHub App's `appID`,
	// `installationID` and `privateKey`, that can read the repository's issues.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// MilestoneHealth is how a milestone stands against its due date.
// +kubebuilder:validation:Enum=OnTrack;AtRisk;Late;Completed;Missed
type MilestoneHealth string

// Milestone health.
const (
	// HealthOnTrack: the forecast is before the due date and nothing blocks.
	HealthOnTrack MilestoneHealth = "OnTrack"
	// HealthAtRisk: blockers are open, or the forecast is within two days of the due date.
	HealthAtRisk MilestoneHealth = "AtRisk"
	// HealthLate: the forecast is after the due date (or nothing closes at all).
	HealthLate MilestoneHealth = "Late"
	// HealthCompleted: every issue closed and every release live in the target stage.
	HealthCompleted MilestoneHealth = "Completed"
	// HealthMissed: the due date passed before completion.
	HealthMissed MilestoneHealth = "Missed"
)

// MilestoneStatus is the milestone's progress and forecast.
type MilestoneStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Health against the due date.
	// +optional
	Health MilestoneHealth `json:"health,omitempty"`
	// HealthSince is when health last changed.
	// +optional
	HealthSince *metav1.Time `json:"healthSince,omitempty"`
	// Progress, for example "12/20 (60%)".
	// +optional
	Progress string `json:"progress,omitempty"`
	// OpenIssues of the GitHub milestone.
	// +optional
	OpenIssues int32 `json:"openIssues,omitempty"`
	// ClosedIssues of the GitHub milestone.
	// +optional
	ClosedIssues int32 `json:"closedIssues,omitempty"`
	// Percent of issues closed.
	// +optional
	Percent int32 `json:"percent,omitempty"`
	// Blockers: open issues with a blocker label.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Blockers []BlockerIssue `json:"blockers,omitempty"`
	// BlockerCount is the number of open blockers (blockers lists at most 50).
	// +optional
	// +kubebuilder:default=0
	BlockerCount int32 `json:"blockerCount"`
	// ClosingRate is issues closed per week, over the last four weeks.
	// +optional
	ClosingRate string `json:"closingRate,omitempty"`
	// Forecast is when the last open issue should close at the recent rate.
	// +optional
	Forecast *metav1.Time `json:"forecast,omitempty"`
	// DaysRemaining until the due date (negative once passed).
	// +optional
	DaysRemaining int32 `json:"daysRemaining"`
	// CompletedAt is when the milestone was first seen completed.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// Releases of the milestone and where they stand (with the members of
	// the launches that track it).
	// +optional
	// +listType=atomic
	Releases []MilestoneRelease `json:"releases,omitempty"`
	// Launches that track the milestone (their spec.milestone) and when
	// each reaches the target stage: their forecasts count toward health.
	// +optional
	// +listType=atomic
	Launches []MilestoneLaunch `json:"launches,omitempty"`
	// LastSynced is when GitHub was last read.
	// +optional
	LastSynced *metav1.Time `json:"lastSynced,omitempty"`
	// Conditions: Ready (GitHub read; the health as reason), Reconciling
	// (GitHub failed; retried, the last figures kept), Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BlockerIssue is an open blocking issue.
type BlockerIssue struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	URL    string `json:"url,omitempty"`
}

// MilestoneLaunch is a launch that tracks the milestone.
type MilestoneLaunch struct {
	// Name of the Launch.
	Name string `json:"name"`
	// Stage it must reach: the milestone's targetStage, else the launch's
	// last stage.
	// +optional
	Stage string `json:"stage,omitempty"`
	// Forecast is when the launch reaches Stage (the launch's
	// status.forecast); unset once it did or without a forecast.
	// +optional
	Forecast *metav1.Time `json:"forecast,omitempty"`
	// CriticalPath names the member the launch waits for there.
	// +optional
	CriticalPath string `json:"criticalPath,omitempty"`
	// Reached is true once every member is promoted in Stage.
	// +optional
	Reached bool `json:"reached,omitempty"`
}

// MilestoneRelease is one Release of the milestone.
type MilestoneRelease struct {
	// Name of the Release.
	Name string `json:"name"`
	// Version of the Release.
	Version string `json:"version"`
	// Phase of the Release.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`
	// Stage: the current or last reached stage.
	// +optional
	Stage string `json:"stage,omitempty"`
	// Done is true when the Release is live in the milestone's target stage.
	Done bool `json:"done"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ms,categories=liftoff
// +kubebuilder:printcolumn:name="Due",type=string,JSONPath=`.spec.dueDate`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health`
// +kubebuilder:printcolumn:name="Progress",type=string,JSONPath=`.status.progress`
// +kubebuilder:printcolumn:name="Blockers",type=integer,JSONPath=`.status.blockerCount`
// +kubebuilder:printcolumn:name="Forecast",type=string,JSONPath=`.status.forecast`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Milestone is a dated goal: GitHub issue progress, open blockers, a forecast
// and health, and the releases that must be live by the due date.
type Milestone struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MilestoneSpec   `json:"spec,omitempty"`
	Status MilestoneStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MilestoneList is a list of Milestones.
type MilestoneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Milestone `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Milestone{}, &MilestoneList{})
}
