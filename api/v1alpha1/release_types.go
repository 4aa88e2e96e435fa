package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReleaseSpec is one version of the application on its way through a pipeline.
type ReleaseSpec struct {
	// Pipeline is the name of the ReleasePipeline, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="pipeline is immutable; create a new Release instead"
	Pipeline string `json:"pipeline"`

	// Version is the semantic version (1.4.2, v1.4.2, 2.0.0-rc.1). It is also the
	// tag resolved in the source repository unless commit is set.
	// +required
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="version is immutable; create a new Release instead"
	Version string `json:"version"`

	// Commit is the full SHA of the release commit in the source repository.
	// When empty it is resolved from the tag named by version (or v+version).
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="commit is immutable; create a new Release instead"
	Commit string `json:"commit,omitempty"`

	// Artifacts built from the commit. A kustomizeImage updater writes the
	// digest of the artifact whose image equals its name. An entry named
	// like one of the pipeline's spec.artifacts pins that artifact's digest
	// (otherwise it is resolved from the registry when the Release starts).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	Artifacts []Artifact `json:"artifacts,omitempty"`

	// TargetStage is the last stage to promote into: the Release goes
	// through it and the stages it comes after, and no further (the others
	// are Skipped). Without it, every stage of the pipeline.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	TargetStage string `json:"targetStage,omitempty"`

	// Plan is the planned promotion time per stage: no promotion into the
	// stage before it; it is shown on the calendar and the slip is recorded.
	// +optional
	// +listType=map
	// +listMapKey=stage
	// +kubebuilder:validation:MaxItems=20
	Plan []PlannedPromotion `json:"plan,omitempty"`

	// Milestone names a Milestone in the namespace this Release belongs to.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Milestone string `json:"milestone,omitempty"`

	// LaunchChecklist names a LaunchChecklist in the namespace; a stage with
	// gates.launchChecklist waits until it is ready.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LaunchChecklist string `json:"launchChecklist,omitempty"`

	// Requires lists other services' versions this Release needs running
	// before it is promoted into a stage (the dependencies gate), besides
	// its pipeline's spec.requires; an entry for the same pipeline replaces
	// the pipeline's.
	// +optional
	// +listType=map
	// +listMapKey=pipeline
	// +kubebuilder:validation:MaxItems=20
	Requires []Requirement `json:"requires,omitempty"`

	// Approvals for Manual stages. Entries are appended, never edited.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Approvals []Approval `json:"approvals,omitempty"`

	// Paused holds every further promotion of this Release until it is unset.
	// A promotion already committed is completed.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// PlannedPromotion is when a stage is planned to receive the Release.
type PlannedPromotion struct {
	// Stage of the pipeline.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
	// At: not before this time (RFC 3339).
	// +required
	At metav1.Time `json:"at"`
}

// Artifact is one build output of the release commit.
type Artifact struct {
	// Name of the artifact, unique in the Release.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Image reference without tag, for example ghcr.io/acme/checkout.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`
	// Digest of the image, for example sha256:4f2c...
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`
	// +kubebuilder:validation:MaxLength=200
	Digest string `json:"digest,omitempty"`
}

// ArtifactStatus is one artifact pinned by digest.
type ArtifactStatus struct {
	// Name of the pipeline's artifact.
	Name string `json:"name"`
	// Reference is the tag the digest was resolved from, for example
	// ghcr.io/acme/checkout:v1.4.2 (oci://... for a chart).
	Reference string `json:"reference"`
	// Digest of the manifest the tag pointed to, sha256:...
	Digest string `json:"digest"`
	// ResolvedAt is when the tag was resolved (or the digest taken from spec.artifacts).
	ResolvedAt metav1.Time `json:"resolvedAt"`
	// Signer is who signed the digest, once a stage's signature gate
	// verified it: the public key's Secret and key (Secret "cosign"
	// key cosign.pub), or a keyless certificate's identity
	// (release@acme.dev via https://token.actions.githubusercontent.com).
	// +optional
	Signer string `json:"signer,omitempty"`
}

// Tag is the tag part of the reference.
func (a *ArtifactStatus) Tag() string {
	i := strings.LastIndex(a.Reference, ":")
	if i < 0 || i < strings.LastIndex(a.Reference, "/") {
		return ""
	}
	return a.Reference[i+1:]
}

// Repository is the reference without its tag.
func (a *ArtifactStatus) Repository() string {
	if t := a.Tag(); t != "" {
		return strings.TrimSuffix(a.Reference, ":"+t)
	}
	return a.Reference
}

// Summary is the pin for people: the tag, the digest's first 12 digits
// and the signer, for example
// `ghcr.io/acme/checkout:v1.4.2 4f2c0e0b8a6d, signed by Secret "cosign" key cosign.pub`.
func (a *ArtifactStatus) Summary() string {
	s := a.Reference + " " + ShortDigest(a.Digest)
	if a.Signer != "" {
		s += ", signed by " + a.Signer
	}
	return s
}

// ShortDigest is the digest's first 12 hexadecimal digits, for people.
func ShortDigest(digest string) string {
	_, hex, ok := strings.Cut(digest, ":")
	if !ok {
		hex = digest
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// Approval lets a Release into a Manual stage.
type Approval struct {
	// Stage approved.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
	// By is who approved. Approvals by the same person count once.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	By string `json:"by,omitempty"`
	// At is when.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// Comment is free text.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment string `json:"comment,omitempty"`
}

// ReleasePhase summarises where a Release stands. A Release whose target
// stage was rolled back is Failed: the stage says RolledBack, the Ready
// condition's reason too.
// +kubebuilder:validation:Enum=Pending;Progressing;Deploying;Verifying;Blocked;Released;Failed;Superseded
type ReleasePhase string

// Release phases.
const (
	PhasePending     ReleasePhase = "Pending"
	PhaseProgressing ReleasePhase = "Progressing"
	// PhaseDeploying: the version landed in the current stage and the
	// stage's GitOps agent has not reported it deployed yet.
	PhaseDeploying  ReleasePhase = "Deploying"
	PhaseVerifying  ReleasePhase = "Verifying"
	PhaseBlocked    ReleasePhase = "Blocked"
	PhaseReleased   ReleasePhase = "Released"
	PhaseFailed     ReleasePhase = "Failed"
	PhaseSuperseded ReleasePhase = "Superseded"
)

// StagePhase is where a Release stands in one stage.
// +kubebuilder:validation:Enum=Pending;Waiting;Promoting;AwaitingMerge;Deploying;Verifying;Promoted;Failed;RolledBack;Superseded;Skipped
type StagePhase string

// Stage phases.
const (
	// StagePending: an earlier stage is not done yet.
	StagePending StagePhase = "Pending"
	// StageWaiting: gates are being evaluated and at least one holds.
	StageWaiting StagePhase = "Waiting"
	// StagePromoting: the GitOps change is being written.
	StagePromoting StagePhase = "Promoting"
	// StageAwaitingMerge: the promotion's pull request waits for a merge.
	StageAwaitingMerge StagePhase = "AwaitingMerge"
	// StageDeploying: the version landed (committedAt); the stage's GitOps
	// agent (spec.stages[].deployment) has not reported it applied and
	// healthy yet. A stage without deployment never waits here.
	StageDeploying StagePhase = "Deploying"
	// StageVerifying: the version is deployed; its analysis is running.
	StageVerifying StagePhase = "Verifying"
	// StageRolledBack: the deployment or the verification failed and the
	// previous version was written back.
	StageRolledBack StagePhase = "RolledBack"
	// StagePromoted: the version is live in the stage.
	StagePromoted StagePhase = "Promoted"
	// StageFailed: the promotion failed and needs a person.
	StageFailed StagePhase = "Failed"
	// StageSuperseded: a newer Release reached this stage.
	StageSuperseded StagePhase = "Superseded"
	// StageSkipped: the stage is not on the way to the Release's
	// targetStage (neither the target nor a stage it comes after).
	StageSkipped StagePhase = "Skipped"
)

// GateState is the outcome of one gate.
// +kubebuilder:validation:Enum=Passed;Pending;Failed
type GateState string

// Gate states.
const (
	GatePassed  GateState = "Passed"
	GatePending GateState = "Pending"
	GateFailed  GateState = "Failed"
)

// GateStatus is the last evaluation of one gate of a stage.
type GateStatus struct {
	// Name of the gate: target (a target found invalid, until it is tried
	// again), paused, notBefore (spec.plan), calendar, blockers,
	// launchChecklist, checks, soak, dependencies (other services' versions
	// spec.requires names), group (the other members of its Launch,
	// promoted in the stages this one comes after), metrics, approvals, hold (a rollback on demand
	// holds the stage), artifacts (the pinned artifacts' tags, resolved
	// again once every other gate passed), signature (their cosign
	// signatures, verified then too), and stage (another Release is being
	// promoted into the stage).
	Name string `json:"name"`
	// Status: Passed, Pending or Failed.
	Status GateState `json:"status"`
	// Reason in UpperCamelCase.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message for people: what holds and what to do.
	// +optional
	Message string `json:"message,omitempty"`
	// URL of what failed, for example the failing check run.
	// +optional
	URL string `json:"url,omitempty"`
	// Issues the gate names, each with its link: the open blocker issues
	// of the blockers gate (up to 5 of its search and 5 of the milestone).
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Issues []BlockerIssue `json:"issues,omitempty"`
	// LastChecked is when the gate was last evaluated.
	// +optional
	LastChecked *metav1.Time `json:"lastChecked,omitempty"`
}

// PullRequestRef is the pull request of a PullRequest promotion.
type PullRequestRef struct {
	// Number of the pull request.
	Number int `json:"number"`
	// URL of the pull request.
	// +optional
	URL string `json:"url,omitempty"`
	// Branch of the pull request.
	// +optional
	Branch string `json:"branch,omitempty"`
	// State: open, merged or closed.
	// +optional
	State string `json:"state,omitempty"`
}

// PromotionStatus is the GitOps change that put the Release into a stage.
type PromotionStatus struct {
	// Commit that landed the version on the target branch (for a pull request,
	// the merge commit).
	// +optional
	Commit string `json:"commit,omitempty"`
	// PullRequest of a PullRequest promotion.
	// +optional
	PullRequest *PullRequestRef `json:"pullRequest,omitempty"`
	// DeploymentID of the GitHub deployment recorded for the stage.
	// +optional
	DeploymentID int64 `json:"deploymentID,omitempty"`
	// PreviousVersion is the version the target files held before (for a
	// kustomizeImage updater the previous newTag).
	// +optional
	PreviousVersion string `json:"previousVersion,omitempty"`
	// StartedAt is when the promotion began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// CompletedAt is when the version landed: when the promotion commit (for
	// a pull request, its merge) was on the target branch. It is the commit
	// time, not the deployment's: see the stage's committedAt and deployedAt.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// NoChange is true when the files already held the version: nothing was committed.
	// +optional
	NoChange bool `json:"noChange,omitempty"`
}

// ReleaseStageStatus is where the Release stands in one stage.
type ReleaseStageStatus struct {
	// Name of the stage.
	Name string `json:"name"`
	// Phase in this stage.
	Phase StagePhase `json:"phase"`
	// Message for people.
	// +optional
	Message string `json:"message,omitempty"`
	// Gates: the last evaluation of each gate of the stage.
	// +optional
	// +listType=map
	// +listMapKey=name
	Gates []GateStatus `json:"gates,omitempty"`
	// Promotion into the stage.
	// +optional
	Promotion *PromotionStatus `json:"promotion,omitempty"`
	// CommittedAt is when the promotion commit landed on the target branch
	// (the same instant as promotion.completedAt).
	// +optional
	CommittedAt *metav1.Time `json:"committedAt,omitempty"`
	// DeployedAt is when the stage's GitOps agent (spec.stages[].deployment)
	// reported the promotion commit applied and healthy. Without a
	// deployment it equals committedAt: committed counts as live.
	// +optional
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`
	// Deployment is what the stage's GitOps agent last said about the
	// promotion commit (rollback.deployment: about the rollback commit).
	// +optional
	Deployment *DeploymentStatus `json:"deployment,omitempty"`
	// PlannedAt is the stage's planned time from spec.plan.
	// +optional
	PlannedAt *metav1.Time `json:"plannedAt,omitempty"`
	// Slip is how long after its planned time the version landed.
	// +optional
	Slip *metav1.Duration `json:"slip,omitempty"`
	// RolloutReadyAt is when the new version was seen serving (verify.rollout).
	// +optional
	RolloutReadyAt *metav1.Time `json:"rolloutReadyAt,omitempty"`
	// Analysis of the stage after the promotion.
	// +optional
	Analysis *AnalysisStatus `json:"analysis,omitempty"`
	// Rollback that wrote the previous version back.
	// +optional
	Rollback *RollbackStatus `json:"rollback,omitempty"`
	// Postmortem issue opened when the deployment or the verification failed.
	// +optional
	Postmortem *IssueRef `json:"postmortem,omitempty"`
	// ReleaseNotes of the promotion: the pull requests merged between the
	// version the stage ran before (promotion.previousVersion) and this one.
	// +optional
	ReleaseNotes *ReleaseNotes `json:"releaseNotes,omitempty"`
	// Wave is the wave under way (from 1) in a stage with targets; with
	// the stage promoted, its last.
	// +optional
	Wave int32 `json:"wave,omitempty"`
	// Waves is how many waves the stage's targets are rolled out in.
	// +optional
	Waves int32 `json:"waves,omitempty"`
	// Targets: where the version stands in each target of a stage with
	// targets, in the pipeline's order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Targets []TargetStatus `json:"targets,omitempty"`
}

// TargetPhase is where a Release stands in one target of a stage.
// +kubebuilder:validation:Enum=Pending;Deploying;Deployed;Failed;RollingBack;RolledBack
type TargetPhase string

// Target phases.
const (
	// TargetPending: its wave has not started.
	TargetPending TargetPhase = "Pending"
	// TargetDeploying: the version landed in its files (its wave's
	// commit); its agent has not deployed it yet.
	TargetDeploying TargetPhase = "Deploying"
	// TargetDeployed: its agent deployed the commit (or, without one, it
	// landed).
	TargetDeployed TargetPhase = "Deployed"
	// TargetFailed: its agent failed to deploy it (and the stage halts).
	TargetFailed TargetPhase = "Failed"
	// TargetRollingBack: a failure in the stage writes the version it ran
	// before back (the stage's rollback chose it); not written yet.
	TargetRollingBack TargetPhase = "RollingBack"
	// TargetRolledBack: the version it ran before was written back.
	TargetRolledBack TargetPhase = "RolledBack"
)

// TargetStatus is where a Release stands in one target of a stage.
type TargetStatus struct {
	// Name of the target.
	Name string `json:"name"`
	// Wave the target is rolled out in (from 1).
	Wave int32 `json:"wave"`
	// Phase in this target.
	Phase TargetPhase `json:"phase"`
	// Commit that landed the version in the target's files.
	// +optional
	Commit string `json:"commit,omitempty"`
	// PreviousVersion the target's files held before.
	// +optional
	PreviousVersion string `json:"previousVersion,omitempty"`
	// CommittedAt is when the commit landed.
	// +optional
	CommittedAt *metav1.Time `json:"committedAt,omitempty"`
	// DeployedAt is when the target's agent reported the commit applied
	// and healthy (committedAt, without one).
	// +optional
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`
	// Deployment is what the target's agent last said.
	// +optional
	Deployment *DeploymentStatus `json:"deployment,omitempty"`
	// DeploymentID is the GitHub deployment recording the commit in the
	// target's environment (STAGE/TARGET), in the target's repository.
	// +optional
	DeploymentID int64 `json:"deploymentID,omitempty"`
	// RollbackCommit wrote the previous version back into the target.
	// +optional
	RollbackCommit string `json:"rollbackCommit,omitempty"`
	// RollbackDeployment is what the target's agent last said about the
	// rollback commit.
	// +optional
	RollbackDeployment *DeploymentStatus `json:"rollbackDeployment,omitempty"`
	// RollbackDeployedAt is when the target's agent reported the rollback
	// commit applied and healthy: the target runs the previous version
	// again (rollbackCommit's landing, for a target without an agent).
	// +optional
	RollbackDeployedAt *metav1.Time `json:"rollbackDeployedAt,omitempty"`
	// Message for people.
	// +optional
	Message string `json:"message,omitempty"`
}

// ReleaseNotes summarise what a promotion brings into a stage; the whole list
// is on GitHub (url) and in `kubectl liftoff notes`.
type ReleaseNotes struct {
	// From is the version the notes start from (the stage's previous version).
	// +optional
	From string `json:"from,omitempty"`
	// Count of pull requests merged between from and this version.
	Count int32 `json:"count"`
	// Summary for people, at most 512 characters, for example
	// "3 pull requests since 1.4.2: #12 Retry payments (alice), ...".
	// +optional
	Summary string `json:"summary,omitempty"`
	// URL of the comparison of both versions on GitHub.
	// +optional
	URL string `json:"url,omitempty"`
	// Truncated is true when the range was too long to list every pull request.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
}

// RecordKind is a kind of GitHub record a Release writes.
// +kubebuilder:validation:Enum=Deployment;Postmortem
type RecordKind string

// Kinds of records.
const (
	// RecordDeployment: the stage's GitHub deployment of the release commit
	// and its latest status.
	RecordDeployment RecordKind = "Deployment"
	// RecordPostmortem: the stage's postmortem issue.
	RecordPostmortem RecordKind = "Postmortem"
)

// PendingRecord is a GitHub record a Release owes for one stage: its write
// was turned away and a later reconcile makes it. A deployment found again
// by its payload and a postmortem by its marker are not written twice.
type PendingRecord struct {
	// Kind of record: Deployment or Postmortem.
	Kind RecordKind `json:"kind"`
	// Stage the record is about.
	// +kubebuilder:validation:MaxLength=63
	Stage string `json:"stage"`
	// Target is the stage's target the deployment record is about; empty
	// for the stage's own.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Target string `json:"target,omitempty"`
	// State is the deployment status owed: in_progress, success or failure;
	// empty for the deployment alone. A status owed is replaced by a later
	// one before it is written: GitHub shows a deployment's latest status.
	// +optional
	// +kubebuilder:validation:Enum=in_progress;success;failure
	State string `json:"state,omitempty"`
	// Description of the deployment status, or what failed for a postmortem.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
	// Since is when the record was first owed.
	Since metav1.Time `json:"since"`
	// Message says why it waits, for example "deployment record of prod
	// (success) waiting for GitHub's write budget", or GitHub's error.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// IssueRef is a GitHub issue.
type IssueRef struct {
	// Number of the issue.
	Number int `json:"number"`
	// URL of the issue.
	// +optional
	URL string `json:"url,omitempty"`
}

// AnalysisStatus is the running record of a stage's verification. It is the
// whole state: a restarted controller resumes counting from it.
type AnalysisStatus struct {
	// Phase: Running, Succeeded, Failed, Inconclusive or Error.
	Phase string `json:"phase"`
	// Message for people.
	// +optional
	Message string `json:"message,omitempty"`
	// StartedAt is when the analysis began.
	StartedAt metav1.Time `json:"startedAt"`
	// Metrics, each with its counters and last measurements.
	// +optional
	// +listType=map
	// +listMapKey=name
	Metrics []MetricStatus `json:"metrics,omitempty"`
}

// MetricStatus is one metric's record.
type MetricStatus struct {
	Name              string `json:"name"`
	Phase             string `json:"phase"`
	Count             int32  `json:"count"`
	Successes         int32  `json:"successes"`
	Failures          int32  `json:"failures"`
	Inconclusives     int32  `json:"inconclusives"`
	Errors            int32  `json:"errors"`
	ConsecutiveErrors int32  `json:"consecutiveErrors"`
	// Measurements, the last ten.
	// +optional
	// +listType=atomic
	Measurements []MeasurementStatus `json:"measurements,omitempty"`
}

// MeasurementStatus is one measurement.
type MeasurementStatus struct {
	At    metav1.Time `json:"at"`
	Phase string      `json:"phase"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// RollbackStatus is the commit that wrote the previous version back, after a
// failure or on demand (the pipeline's spec.rollbacks).
type RollbackStatus struct {
	// Commit on the target branch.
	// +optional
	Commit string `json:"commit,omitempty"`
	// Version written back.
	// +optional
	Version string `json:"version,omitempty"`
	// At is when the rollback landed.
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// DeployedAt is when the stage's GitOps agent reported the rollback
	// commit applied and healthy: the stage is back on the previous version.
	// Unset for a stage without deployment (committed counts as live).
	// +optional
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`
	// Deployment is what the stage's GitOps agent last said about the
	// rollback commit.
	// +optional
	Deployment *DeploymentStatus `json:"deployment,omitempty"`
	// Message says where the rollback stands: waiting for the agent, back on
	// the previous version since deployedAt, or why it was not deployed.
	// +optional
	Message string `json:"message,omitempty"`
	// PullRequest of a PullRequest stage.
	// +optional
	PullRequest *PullRequestRef `json:"pullRequest,omitempty"`
	// Launch names the launch the stage was rolled back with: another of
	// its members failed in this stage (onFailure: Group).
	// +optional
	Launch string `json:"launch,omitempty"`
	// Request is the index in the pipeline's spec.rollbacks of the rollback
	// on demand this was; unset for a rollback after a failure.
	// +optional
	Request *int32 `json:"request,omitempty"`
	// RequestedBy is who asked for the rollback on demand.
	// +optional
	RequestedBy string `json:"requestedBy,omitempty"`
	// Reason they gave.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ReleaseStatus is what the controller observed of the Release.
type ReleaseStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase summarises the Release.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`
	// CurrentStage is the stage being worked on, or the last one reached;
	// in a stage graph, every stage in flight or reached side by side
	// ("prod-eu, prod-us"; past 40 characters the first and how many more,
	// "prod-eu +3").
	// +optional
	CurrentStage string `json:"currentStage,omitempty"`
	// Commit is the release commit in the source repository (spec.commit or resolved from the tag).
	// +optional
	Commit string `json:"commit,omitempty"`
	// Stages in pipeline order.
	// +optional
	// +listType=map
	// +listMapKey=name
	Stages []ReleaseStageStatus `json:"stages,omitempty"`
	// PipelineGeneration is the generation of the pipeline last acted on: a
	// change to the pipeline retries a stage whose target was invalid at once.
	// +optional
	PipelineGeneration int64 `json:"pipelineGeneration,omitempty"`
	// Artifacts are the pipeline's artifacts as this Release pinned them
	// when it started: the tag each one was resolved from and its digest.
	// Every promotion writes these digests and first checks that the tags
	// still point to them.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Artifacts []ArtifactStatus `json:"artifacts,omitempty"`
	// PendingRecords are the GitHub records the Release still owes: GitHub
	// deployments and their statuses, postmortem issues that GitHub's write
	// budget (or GitHub) turned away. Later reconciles write them, each
	// exactly once, even after the Release is done; the RecordsPending
	// condition says they lag. Empty when nothing is owed.
	// +optional
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=stage
	// +kubebuilder:validation:MaxItems=64
	PendingRecords []PendingRecord `json:"pendingRecords,omitempty"`
	// Conditions: Ready, Reconciling, Stalled, Progressing, Blocked, and
	// RecordsPending while GitHub records lag.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rel,categories=liftoff
// +kubebuilder:printcolumn:name="Pipeline",type=string,JSONPath=`.spec.pipeline`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.currentStage`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Release is one version of an application promoted through a ReleasePipeline.
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseSpec   `json:"spec,omitempty"`
	Status ReleaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleaseList is a list of Releases.
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Release `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Release{}, &ReleaseList{})
}

// StageStatus returns the status entry of the named stage, or nil.
func (s *ReleaseStatus) StageStatus(name string) *ReleaseStageStatus {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}
