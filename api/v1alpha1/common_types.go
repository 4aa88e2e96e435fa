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

// Reasons of a GitHub App credential (spec.github.secretRef with appID,
// installationID and privateKey) that cannot be used. The condition's message
// says what to fix; it never holds the key. A Secret with both or neither
// kinds of keys, or an appID or installationID that is not a number, is
// ReasonSecretInvalid.
const (
	// ReasonGitHubAppKeyInvalid: privateKey is not a PEM-encoded RSA private
	// key. Put the .pem file the App's settings generate.
	ReasonGitHubAppKeyInvalid = "GitHubAppKeyInvalid"
	// ReasonGitHubAppKeyRefused: GitHub refused the JWT signed with privateKey:
	// the key is not (or no longer) one of the App's, or appID is another App's.
	ReasonGitHubAppKeyRefused = "GitHubAppKeyRefused"
	// ReasonGitHubAppInstallationNotFound: the App has no installation
	// installationID (a wrong number, or the App was uninstalled).
	ReasonGitHubAppInstallationNotFound = "GitHubAppInstallationNotFound"
	// ReasonGitHubAppNotInstalled: a repository the object uses is not among
	// the repositories of the App's installation (GitHub answers 404): add it
	// to the installation's repository access.
	ReasonGitHubAppNotInstalled = "GitHubAppNotInstalled"
	// ReasonGitHubAppClockSkew: GitHub refused the JWT's issued-at or expiry
	// time: the controller's clock differs from GitHub's by over a minute.
	ReasonGitHubAppClockSkew = "GitHubAppClockSkew"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
