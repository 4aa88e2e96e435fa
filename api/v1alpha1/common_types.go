package v1alpha1

// Condition types shared by Liftoff kinds. They follow kstatus: Ready summarises,
// Stalled means a person must fix something, Reconciling/Progressing means work
// is under way.
const (
	// ConditionReady is True when the object reached what its spec asks for.
	ConditionReady = "Ready"
	// ConditionProgressing is True while a promotion or a wait is under way.
	ConditionProgressing = "Progressing"
	// ConditionBlocked is True while a gate holds the next promotion.
	ConditionBlocked = "Blocked"
	// ConditionStalled is True when the controller cannot go on without a change
	// to the spec or to something it references (a Secret, a file, a pipeline).
	ConditionStalled = "Stalled"
)

// Condition and event reasons. Events use the same reasons.
const (
	ReasonPipelineNotFound    = "PipelineNotFound"
	ReasonStageNotFound       = "StageNotFound"
	ReasonSecretNotFound      = "SecretNotFound"
	ReasonSecretInvalid       = "SecretInvalid"
	ReasonCommitNotFound      = "CommitNotFound"
	ReasonRepositoryNotFound  = "RepositoryNotFound"
	ReasonTargetInvalid       = "TargetInvalid"
	ReasonGitHubUnavailable   = "GitHubUnavailable"
	ReasonGitHubRateLimited   = "GitHubRateLimited"
	ReasonGitHubUnauthorized  = "GitHubUnauthorized"
	ReasonGatesPending        = "GatesPending"
	ReasonGateFailed          = "GateFailed"
	ReasonPaused              = "Paused"
	ReasonPromoting           = "Promoting"
	ReasonPromoted            = "Promoted"
	ReasonAwaitingMerge       = "AwaitingMerge"
	ReasonPullRequestClosed   = "PullRequestClosed"
	ReasonReleased            = "Released"
	ReasonSuperseded          = "Superseded"
	ReasonStageBusy           = "StageBusy"
	ReasonReconciled          = "Reconciled"
	ReasonInvalidSpec         = "InvalidSpec"
	ReasonWaitingForRelease   = "WaitingForRelease"
	ReasonNewerVersionPresent = "NewerVersionPresent"

	ReasonVerifying               = "Verifying"
	ReasonVerified                = "Verified"
	ReasonVerificationFailed      = "VerificationFailed"
	ReasonRolledBack              = "RolledBack"
	ReasonAnalysisInconclusive    = "AnalysisInconclusive"
	ReasonInvalidAnalysis         = "InvalidAnalysis"
	ReasonPrometheusNotConfigured = "PrometheusNotConfigured"
	ReasonDeploymentNotRecorded   = "DeploymentNotRecorded"
)

// AnnotationVerdict lets a person settle an Inconclusive analysis on a
// Release: "continue" accepts the version, "rollback" rolls it back.
const AnnotationVerdict = "release.liftoff.dev/verdict"

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
