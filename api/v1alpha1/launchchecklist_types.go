package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LaunchChecklistSpec is the launch readiness of a release across functions.
type LaunchChecklistSpec struct {
	// Description for people, for example "Checkout 2.0 general availability".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// Items every function must get done or waive.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Items []ChecklistItem `json:"items"`

	// SignOffs are the decisions people recorded on manual items (and waivers
	// of any item). Entries are appended, never edited or removed; `by` and `at`
	// are stamped by the admission webhook from the authenticated request.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	SignOffs []SignOff `json:"signOffs,omitempty"`
}

// ChecklistItem is one thing a function must get done before the launch.
// +kubebuilder:validation:XValidation:rule="[has(self.check.manual), has(self.check.githubIssue), has(self.check.githubPullRequest), has(self.check.githubChecks), has(self.check.prometheus), has(self.check.release)].filter(x, x).size() == 1",message="set exactly one check: manual, githubIssue, githubPullRequest, githubChecks, prometheus or release"
type ChecklistItem struct {
	// Name of the item, unique in the checklist, for example security-review.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Function responsible: Engineering, QA, SRE, Security, Privacy, Legal,
	// Marketing, Product, Support, or any other name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Function string `json:"function"`
	// Description of what must be true.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
	// Owners may sign the item off: Kubernetes user names and groups as the
	// API server authenticates them.
	// +optional
	Owners Owners `json:"owners,omitempty"`
	// Required items must be Done or Waived for the checklist to be ready.
	// Defaults to true.
	// +optional
	// +kubebuilder:default=true
	Required *bool `json:"required,omitempty"`
	// Check decides when the item is done.
	// +required
	Check ItemCheck `json:"check"`
}

// Owners are the people who may sign an item off.
type Owners struct {
	// Users by their Kubernetes user name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=253
	Users []string `json:"users,omitempty"`
	// Groups by their Kubernetes group name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=253
	Groups []string `json:"groups,omitempty"`
}

// ItemCheck is how an item gets done: by a person, or by something observed.
type ItemCheck struct {
	// Manual: done when an owner signs it off with decision Approve.
	// +optional
	Manual *ManualCheck `json:"manual,omitempty"`
	// GitHubIssue: done when the issue is closed.
	// +optional
	GitHubIssue *GitHubItemRef `json:"githubIssue,omitempty"`
	// GitHubPullRequest: done when the pull request is merged.
	// +optional
	GitHubPullRequest *GitHubItemRef `json:"githubPullRequest,omitempty"`
	// GitHubChecks: done when the check runs and statuses on a ref are green.
	// +optional
	GitHubChecks *GitHubChecksRef `json:"githubChecks,omitempty"`
	// Prometheus: done while a query's result satisfies a condition.
	// +optional
	Prometheus *PrometheusCheck `json:"prometheus,omitempty"`
	// Release: done when a Release reached a stage.
	// +optional
	Release *ReleaseCheck `json:"release,omitempty"`
}

// ManualCheck is signed off by an owner.
type ManualCheck struct{}

// GitHubItemRef names an issue or pull request.
type GitHubItemRef struct {
	// Repository owner/name.
	// +required
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository"`
	// Number of the issue or pull request.
	// +required
	// +kubebuilder:validation:Minimum=1
	Number int `json:"number"`
}

// GitHubChecksRef requires green QA results on a ref.
type GitHubChecksRef struct {
	// Repository owner/name.
	// +required
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository"`
	// Ref: a branch, tag or commit SHA.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Ref string `json:"ref"`
	// Required check-run names or status contexts; empty means every reported one.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=255
	Required []string `json:"required,omitempty"`
}

// PrometheusCheck is a query and a CEL condition over its result.
type PrometheusCheck struct {
	// Address of the Prometheus HTTP API; defaults to the spec.prometheus of the
	// pipeline of the Releases that use the checklist.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address,omitempty"`
	// Query in PromQL.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
	// Condition in CEL over result, for example `result < 0.001`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Condition string `json:"condition"`
}

// ReleaseCheck requires a Release to have reached a stage.
type ReleaseCheck struct {
	// Name of the Release in the checklist's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Stage it must be live in.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
}

// SignOffDecision is what a person decided on an item.
// +kubebuilder:validation:Enum=Approve;Waive;Reject
type SignOffDecision string

// Sign-off decisions.
const (
	DecisionApprove SignOffDecision = "Approve"
	DecisionWaive   SignOffDecision = "Waive"
	DecisionReject  SignOffDecision = "Reject"
)

// SignOff is one person's decision on one item.
type SignOff struct {
	// Item signed off.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Item string `json:"item"`
	// Decision: Approve (a manual item is done), Waive (the item no longer
	// holds the launch) or Reject (it fails until a later Approve).
	// +required
	Decision SignOffDecision `json:"decision"`
	// Comment: why.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment string `json:"comment,omitempty"`
	// By is who signed, stamped by the admission webhook.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	By string `json:"by,omitempty"`
	// At is when, stamped by the admission webhook.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
}

// ItemState is where a checklist item stands.
// +kubebuilder:validation:Enum=Done;Pending;Failed;Waived
type ItemState string

// Item states.
const (
	ItemDone    ItemState = "Done"
	ItemPending ItemState = "Pending"
	ItemFailed  ItemState = "Failed"
	ItemWaived  ItemState = "Waived"
)

// ChecklistItemStatus is one item's state, who decided it and why.
type ChecklistItemStatus struct {
	// Name of the item.
	Name string `json:"name"`
	// Function of the item.
	Function string `json:"function"`
	// State of the item.
	State ItemState `json:"state"`
	// Required mirrors the item's required.
	Required bool `json:"required"`
	// By is who signed it off (manual items and waivers).
	// +optional
	By string `json:"by,omitempty"`
	// At is when the state was reached.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// Message: why, for example "issue #12 closed" or the sign-off's comment.
	// +optional
	Message string `json:"message,omitempty"`
	// URL of what decided it.
	// +optional
	URL string `json:"url,omitempty"`
}

// FunctionProgress counts one function's items.
type FunctionProgress struct {
	Function string `json:"function"`
	// Done counts Done and Waived items.
	Done  int32 `json:"done"`
	Total int32 `json:"total"`
}

// LaunchChecklistStatus is the readiness of the launch.
type LaunchChecklistStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Ready is true when every required item is Done or Waived.
	// +optional
	Ready bool `json:"ready"`
	// Done counts Done and Waived items.
	// +optional
	Done int32 `json:"done"`
	// Total counts the items.
	// +optional
	Total int32 `json:"total"`
	// Items, in spec order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Items []ChecklistItemStatus `json:"items,omitempty"`
	// Functions: progress per function.
	// +optional
	// +listType=map
	// +listMapKey=function
	Functions []FunctionProgress `json:"functions,omitempty"`
	// Conditions: Ready (every required item done or waived), Reconciling
	// (GitHub could not be read; retried), Stalled (an item or the credential
	// needs a person).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lc;checklist,categories=liftoff
// +kubebuilder:printcolumn:name="Ready",type=boolean,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Done",type=integer,JSONPath=`.status.done`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.total`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// LaunchChecklist is launch readiness across functions: items each function
// gets done (checked automatically or signed off by its owners), with a
// durable record of who decided what.
type LaunchChecklist struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   LaunchChecklistSpec   `json:"spec,omitempty"`
	Status LaunchChecklistStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LaunchChecklistList is a list of LaunchChecklists.
type LaunchChecklistList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LaunchChecklist `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LaunchChecklist{}, &LaunchChecklistList{})
}
