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
)

// Reasons of a stage's deployment (spec.stages[].deployment): what the
// GitOps agent says of the promotion commit. Events use the same reasons.
const (
	// ReasonDeployed: the agent applied the promotion commit (or a later
	// commit containing it) and the application is healthy.
	ReasonDeployed = "Deployed"
	// ReasonDeploying: the commit landed and the agent has not yet applied
	// it, or applies it and waits for the workloads to become healthy.
	ReasonDeploying = "Deploying"
	// ReasonDeployFailed: the agent failed to apply the commit or the
	// application is unhealthy (Argo CD Degraded, Flux Ready=False with a
	// failure reason, a failed commit status); onFailure applies.
	ReasonDeployFailed = "DeployFailed"
	// ReasonDeployTimeout: the agent did not report the commit deployed
	// within deployment.timeout; onFailure applies.
	ReasonDeployTimeout = "DeployTimeout"
	// ReasonAgentNotFound: the agent's object (or its kind: Argo CD or Flux
	// is not installed) does not exist; nothing is promoted further.
	ReasonAgentNotFound = "AgentNotFound"
	// ReasonAgentForbidden: Liftoff may not read the agent's objects; the
	// message names the RBAC rule to add.
	ReasonAgentForbidden = "AgentForbidden"
	// ReasonKubeConfigInvalid: the deployment's kubeConfigSecretRef is
	// missing, has no kubeconfig under its key, or uses credentials Liftoff
	// refuses (exec plugins, auth providers, file paths).
	ReasonKubeConfigInvalid = "KubeConfigInvalid"
	// ReasonAgentRevisionUnknown: the agent's status names no commit, so
	// Liftoff cannot tell whether the promotion is deployed.
	ReasonAgentRevisionUnknown = "AgentRevisionUnknown"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
