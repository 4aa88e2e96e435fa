package v1alpha1

// Condition types. Every Liftoff kind writes the kstatus three: Ready
// summarises; Reconciling is True while work is under way (a promotion, a
// wait, a retry after GitHub failed); Stalled is True when nothing goes on
// until a person changes the spec or something it references. Reconciling
// and Stalled are present only while True, and at most one of Ready,
// Reconciling and Stalled is True. A Release also writes Progressing and
// Blocked, and RecordsPending while it owes GitHub records.
const (
	// ConditionReady is True when the object reached what its spec asks for:
	// a Release live in its target stage, a pipeline and a calendar that can
	// be used, a milestone read, a checklist whose required items are done.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the controller works toward Ready:
	// a Release on its way (as Progressing), another kind retrying GitHub.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller cannot go on without a change
	// to the spec or to something it references (a Secret, a file, a pipeline).
	ConditionStalled = "Stalled"
	// ConditionProgressing is True while a Release's promotion or a wait is
	// under way.
	ConditionProgressing = "Progressing"
	// ConditionBlocked is True while a gate, a pause or a stall holds a
	// Release's next promotion.
	ConditionBlocked = "Blocked"
	// ConditionRecordsPending is True while GitHub records a Release owes
	// (status.pendingRecords: deployments and their statuses, postmortem
	// issues) wait to be written, with the reason of the last refusal
	// (GitHubWriteBudget, GitHubRateLimited, GitHubUnavailable, ...); absent
	// otherwise. It never holds the Release: records may lag.
	ConditionRecordsPending = "RecordsPending"
)

// Reasons of conditions and of the events that announce them: an event uses
// the reason of the condition it announces. UpperCamelCase.
const (
	// ReasonPipelineNotFound: the Release's pipeline (or, for a milestone,
	// the pipeline whose credential it uses) does not exist, or is in
	// another shard. Stalled.
	ReasonPipelineNotFound = "PipelineNotFound"
	// ReasonStageNotFound: the Release's targetStage is not a stage of its
	// pipeline. Stalled.
	ReasonStageNotFound = "StageNotFound"
	// ReasonInvalidStageGraph: the stages' after lists do not form a graph
	// (a name that is no stage, a cycle): admission refuses such a pipeline,
	// this says so when one exists anyway. Stalled.
	ReasonInvalidStageGraph = "InvalidStageGraph"
	// ReasonSecretNotFound: the Secret a credential (or a notification
	// receiver's URL) is read from does not exist. Stalled.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonSecretInvalid: the credential's Secret has no usable `token`
	// key, or an incomplete GitHub App credential (appID, installationID,
	// privateKey; both IDs positive numbers), or both kinds; or a
	// notification receiver's Secret has no `url` (a Webhook's no `secret`),
	// or a `url` that is not an http(s) URL. Stalled.
	ReasonSecretInvalid = "SecretInvalid"
	// ReasonInvalidSpec: the spec cannot be acted on (a bad GitHub API URL,
	// version range, label selector, calendar window, report schedule, or a
	// request GitHub refused as invalid). Stalled.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonRepositoryNotFound: GitHub answered 404 for a repository,
	// branch or file the spec names (or the token cannot see it). Stalled.
	ReasonRepositoryNotFound = "RepositoryNotFound"
	// ReasonGitHubUnauthorized: GitHub refused the credential or its
	// permissions. Stalled.
	ReasonGitHubUnauthorized = "GitHubUnauthorized"
	// ReasonGitHubUnavailable: GitHub failed (5xx, a timeout, no answer);
	// retried with backoff, nothing recorded is lost.
	ReasonGitHubUnavailable = "GitHubUnavailable"
	// ReasonGitHubRateLimited: GitHub's rate limit; retried when it resets
	// (at least a second later).
	ReasonGitHubRateLimited = "GitHubRateLimited"
	// ReasonGitHubWriteBudget: a write waits for its slot in the
	// credential's write budget, which paces writes under GitHub's secondary
	// limits (--github-writes-per-minute, --github-writes-per-hour); nothing
	// was sent to GitHub, and the write goes when the slot comes ("waiting
	// for GitHub's write budget, next slot at ..."). Progressing; also the
	// reason of RecordsPending while a record waits for the budget.
	ReasonGitHubWriteBudget = "GitHubWriteBudget"

	// Reasons of a GitHub App credential (spec.github.secretRef with appID,
	// installationID and privateKey) that cannot be used. Stalled; the
	// message says what to fix and never holds the key.

	// ReasonGitHubAppKeyInvalid: privateKey is not a PEM-encoded RSA private
	// key. Put the .pem file the App's settings generate.
	ReasonGitHubAppKeyInvalid = "GitHubAppKeyInvalid"
	// ReasonGitHubAppKeyRefused: GitHub refused the JWT signed with
	// privateKey: the key is not (or no longer) one of the App's, or appID
	// is another App's.
	ReasonGitHubAppKeyRefused = "GitHubAppKeyRefused"
	// ReasonGitHubAppInstallationNotFound: the App has no installation
	// installationID (a wrong number, or the App was uninstalled).
	ReasonGitHubAppInstallationNotFound = "GitHubAppInstallationNotFound"
	// ReasonGitHubAppNotInstalled: a repository the object uses is not among
	// the repositories of the App's installation (GitHub answers 404): add
	// it to the installation's repository access.
	ReasonGitHubAppNotInstalled = "GitHubAppNotInstalled"
	// ReasonGitHubAppClockSkew: GitHub refused the JWT's issued-at or expiry
	// time: the controller's clock differs from GitHub's by over a minute.
	ReasonGitHubAppClockSkew = "GitHubAppClockSkew"
	// ReasonGitHubAppPermissionMissing: GitHub refused a request as
	// "Resource not accessible by integration": the App's installation lacks
	// a permission the request needs (the message names it, as GitHub's
	// X-Accepted-GitHub-Permissions does). Grant it in the App's settings >
	// Permissions and accept it on the installation; the next try takes a
	// new installation token, which carries it. Also the reason of
	// RecordsPending when a GitHub record waits for the permission.
	ReasonGitHubAppPermissionMissing = "GitHubAppPermissionMissing"
	// ReasonTargetInvalid: a stage's target file cannot take the version (a
	// missing file, image entry or path). Stalled; also the reason of the
	// Release's `target` gate.
	ReasonTargetInvalid = "TargetInvalid"
	// ReasonInvalidAnalysis: a stage's verify or metrics gate does not
	// compile (query template, CEL condition). Stalled before anything is
	// promoted.
	ReasonInvalidAnalysis = "InvalidAnalysis"
	// ReasonPrometheusNotConfigured: a stage verifies but the pipeline has
	// no usable spec.prometheus. Stalled.
	ReasonPrometheusNotConfigured = "PrometheusNotConfigured"
	// ReasonMilestoneNotFound: the GitHub milestone a Milestone tracks, or
	// the Milestone a Release names, does not exist. Stalled; also a
	// reason of the `blockers` gate.
	ReasonMilestoneNotFound = "MilestoneNotFound"
	// ReasonWaitingForRelease: a Milestone has no GitHub credential of its
	// own and no Release yet whose pipeline's it could use. Stalled.
	ReasonWaitingForRelease = "WaitingForRelease"

	// ReasonCommitNotFound: the Release's version has no tag in the source
	// repository (and no spec.commit). Blocked; read again every poll.
	ReasonCommitNotFound = "CommitNotFound"
	// ReasonArtifactChanged: an artifact's tag points to another digest
	// than the one the Release pinned (the tag was pushed again): the
	// message names both digests; nothing is promoted. Blocked; reason of
	// the failed `artifacts` gate.
	ReasonArtifactChanged = "ArtifactChanged"
	// ReasonArtifactNotFound: an artifact's tag is not in its registry.
	// Blocked; read again every poll.
	ReasonArtifactNotFound = "ArtifactNotFound"
	// ReasonArtifactsPinned: every artifact's tag still points to the
	// digest the Release pinned. Reason of the passed `artifacts` gate.
	ReasonArtifactsPinned = "ArtifactsPinned"
	// ReasonSignatureVerified: every artifact the signature gate covers is
	// signed by its key. Reason of the passed `signature` gate.
	ReasonSignatureVerified = "SignatureVerified"
	// ReasonArtifactUnsigned: an artifact's digest has no signature.
	// Blocked; reason of the failed `signature` gate.
	ReasonArtifactUnsigned = "ArtifactUnsigned"
	// ReasonSignatureWrongSigner: an artifact is signed, not by the gate's
	// key. Blocked.
	ReasonSignatureWrongSigner = "SignatureWrongSigner"
	// ReasonSignatureDigestMismatch: the gate's key signed another digest
	// than the artifact's. Blocked.
	ReasonSignatureDigestMismatch = "SignatureDigestMismatch"
	// ReasonSignatureWrongIdentity: an artifact's keyless signature names
	// another subject or OIDC issuer than the gate's identity. Blocked.
	ReasonSignatureWrongIdentity = "SignatureWrongIdentity"
	// ReasonSignatureUntrustedCertificate: an artifact's keyless signature
	// has a certificate that does not chain to the gate's CA bundle. Blocked.
	ReasonSignatureUntrustedCertificate = "SignatureUntrustedCertificate"
	// ReasonSignatureCertificateExpired: an artifact's keyless signature was
	// logged when its certificate was not valid. Blocked.
	ReasonSignatureCertificateExpired = "SignatureCertificateExpired"
	// ReasonSignatureUntrustedLog: an artifact's keyless signature has no
	// transparency log entry signed by the gate's Rekor key. Blocked.
	ReasonSignatureUntrustedLog = "SignatureUntrustedLog"
	// ReasonRegistryUnavailable: an artifact's registry could not be read
	// (unreachable, 5xx); the message holds the error. Progressing; retried.
	ReasonRegistryUnavailable = "RegistryUnavailable"
	// ReasonRegistryRateLimited: an artifact's registry asked to wait (429,
	// Docker Hub's pull limit); nothing is sent to it before the time it
	// gave. Progressing.
	ReasonRegistryRateLimited = "RegistryRateLimited"
	// ReasonRegistryCredentialsRefused: an artifact's registry refused its
	// credentials (401/403); the message names the Secret. Stalled.
	ReasonRegistryCredentialsRefused = "RegistryCredentialsRefused"
	// ReasonGatesPending: a gate of the next stage waits (QA running, soak,
	// approvals, a closed window). Progressing.
	ReasonGatesPending = "GatesPending"
	// ReasonGateFailed: a gate of the next stage failed (QA red, a
	// precondition not met, a missing checklist). Blocked.
	ReasonGateFailed = "GateFailed"
	// ReasonPaused: the Release is paused (spec.paused). Blocked; also the
	// reason of the failed `paused` gate.
	ReasonPaused = "Paused"
	// ReasonStageBusy: another Release is being promoted into the stage
	// (one promotion in flight per stage). Reason of the `stage` gate.
	ReasonStageBusy = "StageBusy"
	// ReasonStageHeld: a rollback on demand holds the stage until a person
	// resumes it (spec.resumes of the pipeline). Blocked.
	ReasonStageHeld = "StageHeld"
	// ReasonPromoting: the version is being written into the stage's
	// GitOps files.
	ReasonPromoting = "Promoting"
	// ReasonAwaitingMerge: the promotion's pull request waits for a merge.
	ReasonAwaitingMerge = "AwaitingMerge"
	// ReasonPromoted: the version is live in a stage without verification:
	// landed, and deployed when the stage names its GitOps agent.
	ReasonPromoted = "Promoted"
	// ReasonVerifying: the version is deployed; the stage's rollout check or
	// analysis runs.
	ReasonVerifying = "Verifying"
	// ReasonVerified: the stage's analysis succeeded (or a person accepted
	// an inconclusive one).
	ReasonVerified = "Verified"
	// ReasonAnalysisInconclusive: the analysis could not decide; a person
	// settles it with the AnnotationVerdict annotation. Blocked.
	ReasonAnalysisInconclusive = "AnalysisInconclusive"
	// ReasonVerificationFailed: the stage's verification failed and
	// onFailure is Halt (or there was nothing to roll back). Failed.
	ReasonVerificationFailed = "VerificationFailed"
	// ReasonRolledBack: the stage's deployment or verification failed and
	// the previous version was written back in Git. Failed.
	ReasonRolledBack = "RolledBack"
	// ReasonPullRequestClosed: a person closed the promotion's pull request
	// without merging it. Failed.
	ReasonPullRequestClosed = "PullRequestClosed"
	// ReasonReleased: the version is live in the Release's target stage. Ready.
	ReasonReleased = "Released"
	// ReasonSuperseded: a newer Release overtook this one. Final.
	ReasonSuperseded = "Superseded"
	// ReasonNotBlocked: nothing holds the Release (Blocked=False).
	ReasonNotBlocked = "NotBlocked"

	// ReasonReconciled: a pipeline or calendar is usable as specified. Ready.
	ReasonReconciled = "Reconciled"
	// ReasonReady: every required item of a launch checklist is done or
	// waived. Ready.
	ReasonReady = "Ready"
	// ReasonItemsOpen: a required item of a launch checklist is still open.
	ReasonItemsOpen = "ItemsOpen"
	// ReasonDelivering: every receiver of a ReleaseNotification takes its
	// messages. Ready.
	ReasonDelivering = "Delivering"
	// ReasonDeliveryFailing: a receiver of a ReleaseNotification failed (an
	// error answer, no answer); its messages are retried with back-off.
	// Reconciling; also the Warning event when a receiver starts failing.
	// A receiver whose Secret is missing or invalid is not retried: the
	// notification is Stalled with SecretNotFound or SecretInvalid.
	ReasonDeliveryFailing = "DeliveryFailing"
	// A Milestone's Ready reason is its health (OnTrack, AtRisk, Late,
	// Completed, Missed; see MilestoneHealth).
)

// Reasons of events that announce no condition.
const (
	// ReasonDiscovered: discovery created a Release for a new version.
	ReasonDiscovered = "Discovered"
	// ReasonHealthChanged: a Milestone's health changed.
	ReasonHealthChanged = "HealthChanged"
	// ReasonDeploymentNotRecorded: a GitHub deployment, its status or a
	// postmortem issue could not be written yet; the promotion went on, and
	// the record waits in status.pendingRecords to be written later.
	ReasonDeploymentNotRecorded = "DeploymentNotRecorded"
	// ReasonBlocked: a gate failed or the Release was paused (the condition
	// says GateFailed, Paused or CommitNotFound).
	ReasonBlocked = "Blocked"
	// ReasonPromotionFailed: a stage failed (deployment or verification
	// halted, pull request closed).
	ReasonPromotionFailed = "PromotionFailed"
	// ReasonDeliveryRecovered: a receiver of a ReleaseNotification that
	// failed took a message again.
	ReasonDeliveryRecovered = "DeliveryRecovered"
	// ReasonReportWritten: a ReleaseNotification wrote its release report
	// (on schedule, or asked for with the report annotation).
	ReasonReportWritten = "ReportWritten"
)

// Reasons of gates (GateStatus.Reason), by gate.
const (
	// ReasonNotPaused: the `paused` gate passes.
	ReasonNotPaused = "NotPaused"
	// ReasonPlannedLater: `notBefore` waits for the stage's planned time.
	ReasonPlannedLater = "PlannedLater"
	// ReasonPlannedTimeReached: `notBefore` passes.
	ReasonPlannedTimeReached = "PlannedTimeReached"
	// ReasonWindowClosed: `calendar` waits for the stage's window to open.
	ReasonWindowClosed = "WindowClosed"
	// ReasonWindowOpen: `calendar` passes.
	ReasonWindowOpen = "WindowOpen"
	// ReasonCalendarInvalid: the pipeline's calendar is missing or does not
	// compile; `calendar` fails rather than promote through an unknown freeze.
	ReasonCalendarInvalid = "CalendarInvalid"
	// ReasonBlockersOpen: `blockers` waits for open blocker issues.
	ReasonBlockersOpen = "BlockersOpen"
	// ReasonBlockersQueryInvalid: GitHub refused the `blockers` search.
	ReasonBlockersQueryInvalid = "BlockersQueryInvalid"
	// ReasonNoBlockers: `blockers` passes.
	ReasonNoBlockers = "NoBlockers"
	// ReasonNoChecklist: `launchChecklist` fails: the Release names none.
	ReasonNoChecklist = "NoChecklist"
	// ReasonChecklistNotFound: `launchChecklist` fails: the checklist does
	// not exist.
	ReasonChecklistNotFound = "ChecklistNotFound"
	// ReasonChecklistOpen: `launchChecklist` waits for required items.
	ReasonChecklistOpen = "ChecklistOpen"
	// ReasonChecklistReady: `launchChecklist` passes.
	ReasonChecklistReady = "ChecklistReady"
	// ReasonChecksNotReported: `checks` waits: nothing reported on the commit yet.
	ReasonChecksNotReported = "ChecksNotReported"
	// ReasonChecksPending: `checks` waits for required checks.
	ReasonChecksPending = "ChecksPending"
	// ReasonChecksFailed: `checks` fails: a required check failed.
	ReasonChecksFailed = "ChecksFailed"
	// ReasonChecksPassed: `checks` passes.
	ReasonChecksPassed = "ChecksPassed"
	// ReasonFirstStage: `soak` passes in the first stage.
	ReasonFirstStage = "FirstStage"
	// ReasonNotLanded: `soak` waits for the version to land in the previous stage.
	ReasonNotLanded = "NotLanded"
	// ReasonSoaking: `soak` waits for the soak time to pass.
	ReasonSoaking = "Soaking"
	// ReasonSoaked: `soak` passes.
	ReasonSoaked = "Soaked"
	// ReasonDependencyPending: `dependencies` waits for a required
	// pipeline to run a matching version in the corresponding stage.
	ReasonDependencyPending = "DependencyPending"
	// ReasonDependencyNotFound: `dependencies` fails: a required pipeline
	// (or the stage spec.requires maps to) does not exist.
	ReasonDependencyNotFound = "DependencyNotFound"
	// ReasonDependencyInvalid: `dependencies` fails: a requirement's
	// version is not a semver range.
	ReasonDependencyInvalid = "DependencyInvalid"
	// ReasonDependenciesMet: `dependencies` passes: every required
	// pipeline runs a matching version (or has no corresponding stage).
	ReasonDependenciesMet = "DependenciesMet"
	// ReasonGroupPending: `group` waits for another member of the
	// Release's launch to be promoted in the stages this one comes after.
	ReasonGroupPending = "GroupPending"
	// ReasonGroupMemberFailed: `group` fails: a member of the launch failed
	// and the launch's onFailure is Group.
	ReasonGroupMemberFailed = "GroupMemberFailed"
	// ReasonGroupReady: `group` passes: every member of the launch is
	// promoted in the stages this one comes after.
	ReasonGroupReady = "GroupReady"
	// ReasonMemberNotFound: a Launch names a Release that does not exist.
	ReasonMemberNotFound = "MemberNotFound"
	// ReasonMetricsPending: `metrics` cannot tell yet (an error, no data).
	ReasonMetricsPending = "MetricsPending"
	// ReasonMetricsFailed: `metrics` fails: a precondition does not hold.
	ReasonMetricsFailed = "MetricsFailed"
	// ReasonMetricsPassed: `metrics` passes.
	ReasonMetricsPassed = "MetricsPassed"
	// ReasonAwaitingApproval: `approvals` waits for approvals.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonApproved: `approvals` passes.
	ReasonApproved = "Approved"
	// ReasonStageFree: the `stage` gate passes (not shown: the gate shows
	// only while another Release holds the stage).
	ReasonStageFree = "StageFree"
	// ReasonRetryingTarget: the `target` gate lets a stage whose target was
	// invalid be tried again (not shown: the gate shows only while it holds).
	ReasonRetryingTarget = "RetryingTarget"
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
	// failure reason, a failed commit status); onFailure applies. Also the
	// Ready reason of a Release halted by it.
	ReasonDeployFailed = "DeployFailed"
	// ReasonDeployTimeout: the agent did not report the commit deployed
	// within deployment.timeout; onFailure applies. Also the Ready reason
	// of a Release halted by it.
	ReasonDeployTimeout = "DeployTimeout"
	// ReasonAgentNotFound: the agent's object (or its kind: Argo CD or Flux
	// is not installed) does not exist; nothing is promoted further.
	// Stalled, and never times out.
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

// AnnotationVerdict lets a person settle an Inconclusive analysis on a
// Release: "continue" accepts the version, "rollback" rolls it back.
const AnnotationVerdict = "release.liftoff.dev/verdict"
