package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ReleasePipelineSpec is the release process of one application: where its
// versions come from and the ordered stages they are promoted through.
// +kubebuilder:validation:XValidation:rule="self.stages.all(s, self.stages.exists_one(t, t.name == s.name))",message="stage names must be unique"
// +kubebuilder:validation:XValidation:rule="self.stages.all(s, !has(s.target) || s.target.files.all(f, !has(f.artifact) || (has(self.artifacts) && self.artifacts.exists(a, a.name == f.artifact))))",message="a target file's artifact must name one of spec.artifacts"
// +kubebuilder:validation:XValidation:rule="self.stages.all(s, !has(s.gates) || !has(s.gates.signature) || (has(self.artifacts) && size(self.artifacts) > 0))",message="gates.signature verifies spec.artifacts: name at least one"
// +kubebuilder:validation:XValidation:rule="!has(self.source.from) || self.source.from != 'Registry' || (has(self.artifacts) && size(self.artifacts) > 0)",message="source.from Registry discovers versions from spec.artifacts: name at least one"
// +kubebuilder:validation:XValidation:rule="has(self.prometheus) || self.stages.all(s, !has(s.verify) && (!has(s.gates) || !has(s.gates.metrics)))",message="a stage with verify or gates.metrics needs spec.prometheus (the server its queries go to)"
type ReleasePipelineSpec struct {
	// GitHub is the API endpoint and the credential used for the source and
	// target repositories.
	// +optional
	GitHub GitHubSpec `json:"github,omitempty"`

	// Prometheus is the server that verification queries go to.
	// +optional
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`

	// Source is the application repository: where a Release's tag is resolved
	// and where its QA check runs and commit statuses are read.
	// +required
	Source SourceSpec `json:"source"`

	// Artifacts are the build outputs of a version in OCI registries:
	// container images and Helm charts. A Release records each one's digest
	// when it is created (status.artifacts), every promotion writes the
	// digest (target files with artifact), and before every promotion the
	// tag is resolved again: a tag that now points elsewhere blocks the
	// Release (ArtifactChanged). With source.from, discovery creates a
	// Release only once every artifact of the version is in its registry.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Artifacts []PipelineArtifact `json:"artifacts,omitempty"`

	// CalendarRef names a ReleaseCalendar in the same namespace whose windows
	// gate promotion into the stages: no promotion into a closed stage,
	// automatic or manual. Rollbacks are not held by the calendar.
	// +optional
	CalendarRef *LocalObjectReference `json:"calendarRef,omitempty"`

	// Stages, in promotion order (for example dev, staging, prod): each
	// comes after the one before it unless its after says otherwise.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Stages []Stage `json:"stages"`

	// Requires lists other services' versions that every Release of this
	// pipeline needs running before it is promoted into a stage (the
	// dependencies gate). A Release's own spec.requires adds to it and
	// replaces the entry for the same pipeline. Refused at admission: a
	// pipeline requiring itself, a required pipeline that does not exist,
	// a dependency cycle, a version that is not a semver range.
	// +optional
	// +listType=map
	// +listMapKey=pipeline
	// +kubebuilder:validation:MaxItems=20
	Requires []Requirement `json:"requires,omitempty"`

	// Rollbacks on demand: each entry writes an earlier version back into a
	// stage at once, freeze or not, and holds later Releases before the
	// stage until spec.resumes lets them go on (`kubectl liftoff rollback`).
	// Entries are appended, never edited; by, at and a missing to are
	// stamped at admission, which needs the RBAC verb rollback on the
	// pipeline.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Rollbacks []RollbackRequest `json:"rollbacks,omitempty"`

	// Resumes end the hold a rollback on demand put on its stage (`kubectl
	// liftoff resume`). Entries are appended, never edited; the RBAC verb
	// rollback on the pipeline is needed too.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Resumes []ResumeRequest `json:"resumes,omitempty"`
}

// GitHubSpec says how to reach GitHub.
type GitHubSpec struct {
	// APIURL is the REST API base URL: https://api.github.com/ (the default), a
	// GitHub Enterprise Server URL such as https://ghe.example.com/api/v3/, or a simulator.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	APIURL string `json:"apiURL,omitempty"`

	// SecretRef names a Secret in the pipeline's namespace with either a
	// `token` (a GitHub token), or a GitHub App's `appID`, `installationID`
	// and `privateKey` (the PEM the App's settings generate). It needs contents,
	// pull requests, deployments and issues (read/write), checks and statuses
	// (read) on the repositories. Pipelines using the same App installation
	// share one client: its cache, rate limit and write budget. Without it,
	// requests are anonymous.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// Deployments: Enabled (the default) records each promotion as a GitHub
	// deployment of the release commit to the stage's environment, with its
	// outcome; it costs two requests per promotion (three with verify).
	// Disabled leaves GitHub deployments alone, for repositories whose
	// environments something else reports, or to save rate limit.
	// +optional
	// +kubebuilder:validation:Enum=Enabled;Disabled
	// +kubebuilder:default=Enabled
	Deployments DeploymentsMode `json:"deployments,omitempty"`
}

// DeploymentsMode says whether promotions are recorded as GitHub deployments.
type DeploymentsMode string

// Deployment modes.
const (
	DeploymentsEnabled  DeploymentsMode = "Enabled"
	DeploymentsDisabled DeploymentsMode = "Disabled"
)

// PrometheusSpec says how to reach Prometheus.
type PrometheusSpec struct {
	// Address of the Prometheus HTTP API, for example http://prometheus.monitoring:9090.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address"`
	// SecretRef names a Secret whose keys are sent as HTTP headers with every
	// query (for example Authorization).
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Timeout of one query. Defaults to 30s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// DiscoverySource is where new versions are discovered.
// +kubebuilder:validation:Enum=Releases;Tags;Registry
type DiscoverySource string

// Discovery sources.
const (
	// DiscoverReleases: published GitHub releases (drafts are ignored).
	DiscoverReleases DiscoverySource = "Releases"
	// DiscoverTags: tags of the repository.
	DiscoverTags DiscoverySource = "Tags"
	// DiscoverRegistry: the tags of the pipeline's artifacts in their
	// registries; a version is discovered once every artifact has it.
	DiscoverRegistry DiscoverySource = "Registry"
)

// PipelineArtifact is a build output of every version, in an OCI registry:
// a container image or a Helm chart, exactly one.
// +kubebuilder:validation:XValidation:rule="[has(self.image), has(self.chart)].filter(x, x).size() == 1",message="set exactly one of image (a container image repository) or chart (an oci:// chart reference)"
type PipelineArtifact struct {
	// Name of the artifact, unique in the pipeline; target files name it
	// (files[].artifact), and a Release's spec.artifacts entry of the same
	// name may pin its digest.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Image is the container image repository, without tag or digest: for
	// example ghcr.io/acme/checkout, or docker.io/library/nginx.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]+)?/)?[a-z0-9]+((\\\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\\\.|_|__|-+)[a-z0-9]+)*)*$')",message="image must be a repository without tag or digest, for example ghcr.io/acme/checkout (lower case; the version names the tag)"
	Image string `json:"image,omitempty"`

	// Chart is a Helm chart's OCI reference without version, for example
	// oci://ghcr.io/acme/charts/checkout. Its tag is the chart version
	// (Helm writes + as _ in tags).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^oci://[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]+)?(/[a-z0-9]+((\\\\.|_|__|-+)[a-z0-9]+)*)+$')",message="chart must be oci://registry/path without version, for example oci://ghcr.io/acme/charts/checkout (lower case; the version names the tag)"
	Chart string `json:"chart,omitempty"`

	// VersionConstraint is a semver range (">=1.4.0 <2.0.0"): discovery
	// creates a Release only for a version in every artifact's range (and in
	// source.versionConstraint). Defaults to every version.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	VersionConstraint string `json:"versionConstraint,omitempty"`

	// TagTemplate makes the tag of a version: {{.Version}} (the default) or
	// with a prefix or suffix, for example v{{.Version}} or {{.Version}}-alpine.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.contains('{{.Version}}') && self.indexOf('{{.Version}}') == self.lastIndexOf('{{.Version}}') && self.replace('{{.Version}}', '').matches('^[A-Za-z0-9_.-]*$')",message="tagTemplate must contain {{.Version}} once, with letters, digits, '.', '_' or '-' around it, for example v{{.Version}}"
	TagTemplate string `json:"tagTemplate,omitempty"`

	// SecretRef names a kubernetes.io/dockerconfigjson Secret in the
	// pipeline's namespace with the registry's credentials (the kind
	// `kubectl create secret docker-registry` makes). Without it the
	// registry is read anonymously.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// SourceSpec names the application repository and, optionally, how new
// versions in it become Releases.
// +kubebuilder:validation:XValidation:rule="has(self.from) || (!has(self.versionConstraint) && !has(self.interval) && !has(self.releaseTemplate))",message="versionConstraint, interval and releaseTemplate configure discovery: set from (Releases or Tags) too"
type SourceSpec struct {
	// Repository is owner/name of the application repository.
	// +required
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository"`

	// From turns on automatic discovery: every new published GitHub release
	// (Releases) or tag (Tags) whose version is in versionConstraint becomes a
	// Release of this pipeline. Without it, Releases are created by hand.
	// +optional
	From DiscoverySource `json:"from,omitempty"`

	// VersionConstraint is a semver range (">=1.4.0 <2.0.0", "~1.4", "^2").
	// Pre-releases match only a range that names one. Defaults to every version.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	VersionConstraint string `json:"versionConstraint,omitempty"`

	// Interval between polls of the repository (conditional requests, so an
	// unchanged repository costs no rate limit). A signed webhook delivery to
	// /hooks/github triggers discovery at once. Defaults to 5m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Interval *metav1.Duration `json:"interval,omitempty"`

	// ReleaseTemplate is copied into each discovered Release.
	// +optional
	ReleaseTemplate *ReleaseTemplate `json:"releaseTemplate,omitempty"`
}

// ReleaseTemplate is what a discovered Release gets besides its version and commit.
type ReleaseTemplate struct {
	// Labels of the Release (for example to match a Milestone's selector).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Artifacts of the Release; digests are left empty.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// TargetStage of the Release.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	TargetStage string `json:"targetStage,omitempty"`
	// Milestone of the Release.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Milestone string `json:"milestone,omitempty"`
	// LaunchChecklist of the Release.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LaunchChecklist string `json:"launchChecklist,omitempty"`
}

// PromotionMode says whether a stage is promoted into as soon as its gates pass.
// +kubebuilder:validation:Enum=Auto;Manual
type PromotionMode string

const (
	// PromotionAuto promotes as soon as every gate passes.
	PromotionAuto PromotionMode = "Auto"
	// PromotionManual also waits for approvals recorded on the Release.
	PromotionManual PromotionMode = "Manual"
)

// Stage is one environment the application is promoted into.
// +kubebuilder:validation:XValidation:rule="!has(self.after) || !(self.name in self.after)",messageExpression="'stage ' + self.name + ' cannot come after itself: remove it from after'",fieldPath=".after"
// +kubebuilder:validation:XValidation:rule="!has(self.promotion) || self.promotion != 'Manual' || (has(self.gates) && has(self.gates.approvals))",message="a Manual stage needs gates.approvals (how many approvals it waits for)"
// +kubebuilder:validation:XValidation:rule="has(self.target) != has(self.targets)",message="set target (one GitOps target) or targets (several, rolled out in waves), not both",fieldPath=".targets"
// +kubebuilder:validation:XValidation:rule="!has(self.targets) || !has(self.deployment)",message="a stage with targets names each target's deployment (targets[].deployment), not the stage's",fieldPath=".deployment"
// +kubebuilder:validation:XValidation:rule="!has(self.waves) || has(self.targets)",message="waves split a stage's targets: set targets, or remove waves",fieldPath=".waves"
// +kubebuilder:validation:XValidation:rule="!has(self.maxParallel) || has(self.targets)",message="maxParallel splits a stage's targets into waves: set targets, or remove maxParallel",fieldPath=".maxParallel"
// +kubebuilder:validation:XValidation:rule="!has(self.maxParallel) || !has(self.waves)",message="set waves (how many targets run the version after each wave) or maxParallel (waves of that many targets), not both",fieldPath=".maxParallel"
// +kubebuilder:validation:XValidation:rule="!has(self.rollback) || has(self.targets)",message="rollback says which of a stage's targets a failure writes back: set targets, or remove rollback",fieldPath=".rollback"
// +kubebuilder:validation:XValidation:rule="!has(self.rollback) || !has(self.onFailure) || self.onFailure != 'Halt'",message="rollback says what onFailure Rollback writes back: remove it, or set onFailure Rollback",fieldPath=".rollback"
type Stage struct {
	// Name of the stage, unique in the pipeline (dev, staging, prod).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// After names the stages this stage comes after: a Release is promoted
	// into it once its version is deployed in every one of them (and, with
	// gates.soak, has soaked in the last of them to be deployed). Omitted,
	// the stage comes after the one before it in the list (the first stage
	// after none), so a list of stages is a line. An empty list makes the
	// stage a root: it starts as soon as its own gates pass. Several stages
	// after one fan out (promoted in parallel, each with its own gates,
	// lock, commit and verification); one stage after several fans in. The
	// stages must not form a cycle.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(a, a.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="after names stages: lowercase letters, digits and dashes"
	After *[]string `json:"after,omitempty"`

	// Environment is the GitHub deployment environment recorded for this stage.
	// Defaults to the stage name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Environment string `json:"environment,omitempty"`

	// Promotion is Auto (promote once the gates pass, the default) or Manual
	// (also wait for gates.approvals on the Release).
	// +optional
	// +kubebuilder:default=Auto
	Promotion PromotionMode `json:"promotion,omitempty"`

	// Target is where the version is written. A stage has target, or
	// targets (several, rolled out in waves), not both.
	// +optional
	Target Target `json:"target,omitzero"`

	// Targets are the stage's GitOps targets when it has several (regions,
	// clusters): each its own files and its own deployment agent, rolled
	// out in waves. The gates, verify, onFailure and postmortem are the
	// stage's. At most 50.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	Targets []StageTarget `json:"targets,omitempty"`

	// Waves split the targets, in their order, into waves rolled out one
	// after another: each wave is written, deployed and verified before the
	// next starts. Each entry is the cumulative number of targets live at
	// the end of its wave: a count (1) or a percentage of the targets
	// ("25%", rounded up); strictly increasing, the last covering every
	// target ("100%" or their count). Omitted: waves of maxParallel
	// targets, or, without it, one wave of every target.
	// The admission webhook refuses waves that do not split the targets so.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Waves []intstr.IntOrString `json:"waves,omitempty"`

	// MaxParallel splits the targets, in their order, into waves of at most
	// this many targets each, rolled out one after another (the
	// alternative to waves: 10 targets with maxParallel 4 are waves of 4, 4
	// and 2).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxParallel *int32 `json:"maxParallel,omitempty"`

	// Gates must all pass before a Release is promoted into this stage.
	// +optional
	Gates *Gates `json:"gates,omitempty"`

	// Deployment names what deploys the stage (a GitOps agent), so that the
	// stage counts as live once the agent applied the promotion commit and the
	// application is healthy, not when the commit landed. Without it a
	// committed version counts as live.
	// +optional
	Deployment *DeploymentSpec `json:"deployment,omitempty"`

	// Verify watches the stage through Prometheus once the version is
	// deployed (landed, for a stage without deployment); the promotion
	// counts as done only when the analysis succeeds.
	// +optional
	Verify *Verify `json:"verify,omitempty"`

	// OnFailure is what a failed deployment (the agent reports it failed or
	// Degraded, or not deployed within deployment.timeout) or a failed
	// verification does: Rollback (the default) writes the previous version
	// back in one commit, and follows it until the agent applied it; Halt
	// keeps the version and stops the Release.
	// +optional
	// +kubebuilder:default=Rollback
	OnFailure FailurePolicy `json:"onFailure,omitempty"`

	// Rollback says, for a stage with targets and onFailure Rollback,
	// which targets a failure writes back: Target (the target whose agent
	// reported it failed or timed out; a failed analysis of the wave, which
	// names no target, writes back the wave), Wave (every target of the
	// failed wave) or Stage (every target the version reached in the stage,
	// the default). The targets left keep the version; the waves after the
	// failed one never start.
	// +optional
	Rollback RollbackScope `json:"rollback,omitempty"`

	// Postmortem opens one GitHub issue when the deployment or the
	// verification fails, with the
	// timeline and the "What went well" / "What can be improved" sections.
	// +optional
	Postmortem *PostmortemSpec `json:"postmortem,omitempty"`
}

// PipelineTargetStatus is the version one target of a stage runs.
type PipelineTargetStatus struct {
	// Name of the target.
	Name string `json:"name"`
	// Version last committed into the target.
	// +optional
	Version string `json:"version,omitempty"`
	// Commit that put it there.
	// +optional
	Commit string `json:"commit,omitempty"`
	// DeployedAt is when its agent reported the commit deployed; unset
	// while it waits.
	// +optional
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`
}

// StageTarget is one of a stage's GitOps targets.
type StageTarget struct {
	// Name of the target, unique in the stage (prod-eu-1).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Target is where the version is written for this target.
	// +required
	Target Target `json:"target"`

	// Deployment names the GitOps agent that deploys this target. Without
	// it a committed version counts as live.
	// +optional
	Deployment *DeploymentSpec `json:"deployment,omitempty"`
}

// PostmortemSpec says where postmortem issues go.
type PostmortemSpec struct {
	// Repository (owner/name) of the issue. Defaults to the source repository.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository,omitempty"`
	// Labels of the issue.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=50
	Labels []string `json:"labels,omitempty"`
}

// FailurePolicy says what a failed deployment or verification does.
// +kubebuilder:validation:Enum=Rollback;Halt
type FailurePolicy string

// Failure policies.
const (
	FailureRollback FailurePolicy = "Rollback"
	FailureHalt     FailurePolicy = "Halt"
)

// RollbackScope says which of a stage's targets a failure writes back.
// +kubebuilder:validation:Enum=Target;Wave;Stage
type RollbackScope string

// Rollback scopes.
const (
	// RollbackScopeTarget writes back the target that failed.
	RollbackScopeTarget RollbackScope = "Target"
	// RollbackScopeWave writes back every target of the failed wave.
	RollbackScopeWave RollbackScope = "Wave"
	// RollbackScopeStage writes back every target the version reached in the stage.
	RollbackScopeStage RollbackScope = "Stage"
)

// Verify is the post-promotion verification of a stage.
type Verify struct {
	// Rollout waits until the new version serves before the analysis starts.
	// +optional
	Rollout *RolloutCheck `json:"rollout,omitempty"`
	// Analysis measures Prometheus queries after the promotion.
	// +required
	Analysis AnalysisSpec `json:"analysis"`
}

// RolloutCheck is a PromQL query that turns true once the new version serves,
// for example `sum(up{job="checkout", version="{{ .Version }}"}) > 0`.
type RolloutCheck struct {
	// Query: a Go template like the analysis queries. True means a non-empty
	// result with a non-zero value.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
	// Timeout after the commit landed; when the version does not serve by
	// then, verification fails. Defaults to 10m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// AnalysisSpec measures every metric count times, interval apart, after initialDelay.
type AnalysisSpec struct {
	// InitialDelay before the first measurement. Defaults to 0.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	InitialDelay *metav1.Duration `json:"initialDelay,omitempty"`
	// Interval between measurements. Defaults to 30s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Count of successful measurements each metric needs. Defaults to 5.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Count int32 `json:"count,omitempty"`
	// ConsecutiveErrorLimit is how many query errors in a row a metric
	// tolerates (Prometheus down, a bad answer). Defaults to 4.
	// +optional
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	ConsecutiveErrorLimit int32 `json:"consecutiveErrorLimit,omitempty"`
	// Metrics to measure.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	Metrics []AnalysisMetric `json:"metrics"`
}

// NoDataPolicy says what an empty query result counts as.
// +kubebuilder:validation:Enum=Fail;Inconclusive;Pass
type NoDataPolicy string

// AnalysisMetric is one Prometheus query and its conditions.
// +kubebuilder:validation:XValidation:rule="has(self.successCondition) || has(self.failureCondition)",message="set successCondition or failureCondition (CEL over result)"
type AnalysisMetric struct {
	// Name of the metric.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Query is PromQL, a Go template over .Version, .PreviousVersion, .Stage and .Release.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
	// SuccessCondition is CEL over result (a number, or a list for a vector)
	// that must hold, for example `result < 0.01`.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	SuccessCondition string `json:"successCondition,omitempty"`
	// FailureCondition is CEL over result that fails the measurement when it holds.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many failed measurements are tolerated. Defaults to 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	FailureLimit int32 `json:"failureLimit,omitempty"`
	// NoData is what an empty result counts as: Fail (the default), Inconclusive or Pass.
	// +optional
	// +kubebuilder:default=Fail
	NoData NoDataPolicy `json:"noData,omitempty"`
}

// PromotionStrategy says how the change reaches the target branch.
// +kubebuilder:validation:Enum=Commit;PullRequest
type PromotionStrategy string

const (
	// StrategyCommit commits straight onto the target branch.
	StrategyCommit PromotionStrategy = "Commit"
	// StrategyPullRequest opens a pull request against the target branch.
	StrategyPullRequest PromotionStrategy = "PullRequest"
)

// Target is the GitOps repository, branch and files a stage's version lives in.
// +kubebuilder:validation:XValidation:rule="!has(self.autoMerge) || !self.autoMerge || self.strategy == 'PullRequest'",message="autoMerge applies only to strategy PullRequest"
type Target struct {
	// Repository is owner/name of the GitOps repository.
	// +required
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`
	Repository string `json:"repository"`

	// Branch the stage's files live on. Defaults to main.
	// +optional
	// +kubebuilder:default=main
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[^\s~^:?*\[\\]+$`
	Branch string `json:"branch,omitempty"`

	// Strategy is Commit (straight onto the branch, the default) or PullRequest.
	// +optional
	// +kubebuilder:default=Commit
	Strategy PromotionStrategy `json:"strategy,omitempty"`

	// AutoMerge merges the promotion's pull request as soon as it is open.
	// Without it Liftoff waits for someone to merge it.
	// +optional
	AutoMerge bool `json:"autoMerge,omitempty"`

	// Files to update; all of them change in one commit. Each path appears once.
	// +required
	// +listType=map
	// +listMapKey=path
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	Files []TargetFile `json:"files"`
}

// TargetFile is one file and the one updater that writes the version into it.
// +kubebuilder:validation:XValidation:rule="[has(self.kustomizeImage), has(self.yamlPath)].filter(x, x).size() == 1",message="set exactly one updater per file: kustomizeImage or yamlPath"
// +kubebuilder:validation:XValidation:rule="!has(self.value) || self.value == 'Version' || has(self.artifact)",message="value Tag, Digest or TagAndDigest writes an artifact's: set artifact too"
// +kubebuilder:validation:XValidation:rule="!has(self.value) || has(self.yamlPath)",message="value applies to a yamlPath updater (kustomizeImage writes the tag and the digest)"
type TargetFile struct {
	// Path of the file in the repository, for example envs/prod/kustomization.yaml:
	// relative to the repository root, without '..' (the pipeline webhook
	// checks it: a CEL rule per file of up to 50 targets of 20 stages is
	// past the API server's budget).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path"`

	// KustomizeImage sets newTag (and digest, when the Release's artifact for this
	// image has one) of an images[] entry of a kustomization.yaml.
	// +optional
	KustomizeImage *KustomizeImageUpdater `json:"kustomizeImage,omitempty"`

	// YAMLPath sets the scalar at this dotted path (a.b.c, a.list[0].c) to the version.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	YAMLPath string `json:"yamlPath,omitempty"`

	// Artifact names one of the pipeline's spec.artifacts whose pinned
	// digest this file takes: a kustomizeImage gets the artifact's tag as
	// newTag and its digest; a yamlPath gets what value says.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Artifact string `json:"artifact,omitempty"`

	// Value is what a yamlPath gets: Version (the default: the Release's
	// version, a chart version for a chart artifact), Tag (the artifact's
	// tag), Digest (sha256:...) or TagAndDigest (tag@sha256:...).
	// +optional
	// +kubebuilder:validation:Enum=Version;Tag;Digest;TagAndDigest
	Value FileValue `json:"value,omitempty"`
}

// FileValue is what a yamlPath updater writes.
type FileValue string

// File values.
const (
	ValueVersion      FileValue = "Version"
	ValueTag          FileValue = "Tag"
	ValueDigest       FileValue = "Digest"
	ValueTagAndDigest FileValue = "TagAndDigest"
)

// KustomizeImageUpdater names the image entry to update.
type KustomizeImageUpdater struct {
	// Name is the image's `name` in the kustomization's images[].
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`
}

// Gates hold a promotion into a stage until every one of them passes.
type Gates struct {
	// Checks are QA results on the release commit: check runs and commit statuses.
	// +optional
	Checks *ChecksGate `json:"checks,omitempty"`

	// Soak is how long the Release must have been live in the previous stage,
	// for example 30m or 24h: from its deployedAt (the agent reported it
	// deployed; for a stage without deployment, the commit).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Soak *metav1.Duration `json:"soak,omitempty"`

	// Approvals is how many approvals for this stage the Release must carry.
	// +optional
	Approvals *ApprovalsGate `json:"approvals,omitempty"`

	// LaunchChecklist holds the promotion until the Release's
	// spec.launchChecklist is ready (every required item Done or Waived).
	// +optional
	LaunchChecklist bool `json:"launchChecklist,omitempty"`

	// Blockers holds the promotion while a GitHub issue search finds open
	// issues. The Release's Milestone blockers hold its target stage whether or
	// not this is set.
	// +optional
	Blockers *BlockersGate `json:"blockers,omitempty"`

	// Metrics are Prometheus preconditions, measured once per evaluation (for
	// example: the stage's error budget is not burning). A condition that
	// does not hold blocks the promotion until it does.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	Metrics []AnalysisMetric `json:"metrics,omitempty"`

	// Signature holds the promotion until every artifact's pinned digest is
	// signed (cosign's format), verified offline: by the public key in a
	// Secret (key), or keyless by a certificate identity under the trust
	// roots in a Secret (identity). Unsigned, another signer, or a
	// signature of another digest blocks the Release.
	// +optional
	Signature *SignatureGate `json:"signature,omitempty"`
}

// SignatureGate names whom the artifacts must be signed by: a public key,
// or a certificate identity (keyless).
// +kubebuilder:validation:XValidation:rule="!(has(self.key) && has(self.identity))",message="set key (the Secret's key holding the signer's PEM public key; cosign.pub when neither is set) or identity (keyless: the certificate's subject and issuer), not both"
type SignatureGate struct {
	// SecretRef names a Secret in the pipeline's namespace holding the
	// signer's PEM public key (under key), or, for identity, the trust
	// roots: the Fulcio CA bundle (root and intermediates, PEM; a
	// signature's own chain may give intermediates that chain to a root)
	// under fulcio.crt.pem and the Rekor log's PEM public key under
	// rekor.pub.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
	// Key is the Secret's key holding the signer's PEM public key
	// (cosign.pub as `cosign generate-key-pair` writes it), the default
	// when identity is not set either. Not with identity.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
	// Identity is the certificate identity keyless signatures must carry,
	// as cosign's --certificate-identity and --certificate-oidc-issuer. Not
	// with key.
	// +optional
	Identity *SignatureIdentity `json:"identity,omitempty"`
	// Artifacts to verify, by name. Defaults to every one of spec.artifacts.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MaxLength=63
	Artifacts []string `json:"artifacts,omitempty"`
}

// SignatureIdentity is the identity in a keyless signature's Fulcio
// certificate: its subject (SAN) and OIDC issuer.
// +kubebuilder:validation:XValidation:rule="has(self.subject) != has(self.subjectRegExp)",message="set subject (exact) or subjectRegExp, exactly one"
type SignatureIdentity struct {
	// Subject is the certificate's subject alternative name, exactly: an
	// e-mail (release@acme.dev) or a URI (a GitHub workflow's
	// https://github.com/acme/checkout/.github/workflows/release.yml@refs/heads/main).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Subject string `json:"subject,omitempty"`
	// SubjectRegExp is a regular expression (Go's RE2 syntax) the subject
	// must match, as cosign's --certificate-identity-regexp.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
	// Issuer is the OIDC issuer the certificate names (Fulcio's extension
	// 1.3.6.1.4.1.57264.1.8), for example
	// https://token.actions.githubusercontent.com.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Issuer string `json:"issuer"`
}

// Secret keys of the keyless trust roots.
const (
	SecretKeyFulcioBundle = "fulcio.crt.pem"
	SecretKeyRekorKey     = "rekor.pub"
)

// KeyName is the Secret's key holding the public key: key, or cosign.pub
// when neither key nor identity is set.
func (g *SignatureGate) KeyName() string {
	if g.Key == "" {
		return "cosign.pub"
	}
	return g.Key
}

// Covers reports whether the gate verifies the named artifact.
func (g *SignatureGate) Covers(artifact string) bool {
	if len(g.Artifacts) == 0 {
		return true
	}
	for _, a := range g.Artifacts {
		if a == artifact {
			return true
		}
	}
	return false
}

// ChecksGate requires green QA results on the release commit.
type ChecksGate struct {
	// Required are check-run names or commit-status contexts that must succeed.
	// When empty, every check run and status reported on the commit must
	// succeed, and at least one must be reported.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Required []string `json:"required,omitempty"`
}

// BlockersGate is a GitHub issue search that must find no open issue.
type BlockersGate struct {
	// Query in GitHub's issue search syntax, for example
	// `repo:acme/checkout label:release-blocker`. is:issue and is:open are added.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Query string `json:"query"`
}

// ApprovalsGate requires approvals recorded in Release.spec.approvals.
type ApprovalsGate struct {
	// Count of distinct approvals for the stage.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	Count int32 `json:"count,omitempty"`
}

// ReleasePipelineStatus is what the controller observed of the pipeline.
type ReleasePipelineStatus struct {
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Live summarises what is live where, in stage order: each stage's live
	// version (deployed by its GitOps agent; the last committed for a stage
	// without deployment), "-" when none yet, and in brackets a version
	// committed that the agent has not deployed yet, for example
	// "dev=1.4.2 staging=1.4.2 prod=1.4.1 (1.4.2 committed)".
	// +optional
	Live string `json:"live,omitempty"`

	// Stages: the last version committed into each stage and what is live
	// there, the promotion in flight, the history.
	// +optional
	// +listType=map
	// +listMapKey=name
	Stages []PipelineStageStatus `json:"stages,omitempty"`

	// Discovery is the record of automatic discovery.
	// +optional
	Discovery *DiscoveryStatus `json:"discovery,omitempty"`

	// Rollbacks: where each rollback on demand (spec.rollbacks) stands.
	// +optional
	// +listType=map
	// +listMapKey=index
	// +kubebuilder:validation:MaxItems=100
	Rollbacks []RollbackRecord `json:"rollbacks,omitempty"`

	// Conditions: Ready, Reconciling (discovery retries GitHub), Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DiscoveryStatus records what discovery found, so a restart never creates a
// Release twice.
type DiscoveryStatus struct {
	// LatestVersion is the newest version discovered; only newer ones become Releases.
	// +optional
	LatestVersion string `json:"latestVersion,omitempty"`
	// LatestRelease is the Release created for it.
	// +optional
	LatestRelease string `json:"latestRelease,omitempty"`
	// LastChecked is when the repository was last read.
	// +optional
	LastChecked *metav1.Time `json:"lastChecked,omitempty"`
	// Message: what the last poll found, or why it failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// PipelineStageStatus is the state of one stage of the pipeline: the last
// version committed into it (version, release, commit, promotedAt: what
// locking and crash recovery go by) and what its GitOps agent deployed
// (deployedAt, live).
type PipelineStageStatus struct {
	// Name of the stage.
	Name string `json:"name"`

	// Version last committed into the stage, by a promotion or a rollback.
	// It is live once deployedAt is set.
	// +optional
	Version string `json:"version,omitempty"`

	// Release whose version was committed last (for a rollback, the Release
	// that first promoted the version written back).
	// +optional
	Release string `json:"release,omitempty"`

	// Commit in the GitOps repository that put the version there.
	// +optional
	Commit string `json:"commit,omitempty"`

	// PromotedAt is when the commit landed in the stage.
	// +optional
	PromotedAt *metav1.Time `json:"promotedAt,omitempty"`

	// DeployedAt is when the stage's GitOps agent reported the commit applied
	// and healthy; for a stage without deployment, when it landed (committed
	// counts as live). Unset while the agent has not deployed it, or after it
	// failed to.
	// +optional
	DeployedAt *metav1.Time `json:"deployedAt,omitempty"`

	// Live is the version the stage runs: the last one deployed there. While
	// a committed version waits for the agent (no deployedAt), it is the one
	// before.
	// +optional
	Live *LiveVersion `json:"live,omitempty"`

	// Targets: the version each target of a stage with targets runs.
	// +optional
	// +listType=map
	// +listMapKey=name
	Targets []PipelineTargetStatus `json:"targets,omitempty"`

	// InFlight is the promotion under way into this stage; one at a time.
	// +optional
	InFlight *InFlightPromotion `json:"inFlight,omitempty"`

	// History of the last promotions into the stage, newest first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	History []PromotionRecord `json:"history,omitempty"`
}

// LiveVersion is the version deployed in a stage.
type LiveVersion struct {
	// Version deployed.
	Version string `json:"version"`
	// Release that promoted the version.
	// +optional
	Release string `json:"release,omitempty"`
	// Commit the agent applied.
	// +optional
	Commit string `json:"commit,omitempty"`
	// DeployedAt is when the agent reported it applied and healthy (for a
	// stage without deployment, when it landed; for a version found in the
	// GitOps files, when Liftoff read it there).
	DeployedAt metav1.Time `json:"deployedAt"`
	// Origin says where Liftoff learned the version: unset when a promotion
	// or rollback of Liftoff put it there; GitOpsFiles when it ran there
	// before Liftoff promoted anything into the stage, read from the stage's
	// GitOps files by Liftoff's first promotion into it (the version it
	// replaces). It stays live until the stage's agent deploys Liftoff's commit.
	// +optional
	Origin LiveOrigin `json:"origin,omitempty"`
}

// LiveOrigin is where Liftoff learned a stage's live version.
// +kubebuilder:validation:Enum=GitOpsFiles
type LiveOrigin string

// LiveFromGitOpsFiles is the origin of a version the stage's GitOps files
// held when Liftoff first promoted into it.
const LiveFromGitOpsFiles LiveOrigin = "GitOpsFiles"

// InFlightPromotion is the lock one Release holds on a stage while it promotes.
type InFlightPromotion struct {
	// Release holding the stage.
	Release string `json:"release"`
	// Version being promoted.
	Version string `json:"version"`
	// Since when the Release holds the stage.
	Since metav1.Time `json:"since"`
}

// PromotionRecord is one finished promotion.
type PromotionRecord struct {
	// Release that was promoted.
	Release string `json:"release"`
	// Version that was promoted.
	Version string `json:"version"`
	// Commit that landed it.
	// +optional
	Commit string `json:"commit,omitempty"`
	// PreviousVersion is the version the commit replaced.
	// +optional
	PreviousVersion string `json:"previousVersion,omitempty"`
	// At is when it landed.
	At metav1.Time `json:"at"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rp;pipeline,categories=liftoff
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source.repository`
// +kubebuilder:printcolumn:name="Live",type=string,JSONPath=`.status.live`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ReleasePipeline is the release process of one application: the stages a
// version is promoted through and the gates of each.
type ReleasePipeline struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleasePipelineSpec   `json:"spec,omitempty"`
	Status ReleasePipelineStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ReleasePipelineList is a list of ReleasePipelines.
type ReleasePipelineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ReleasePipeline `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ReleasePipeline{}, &ReleasePipelineList{})
}

// StageIndex returns the position of the named stage, or -1.
func (p *ReleasePipeline) StageIndex(name string) int {
	for i := range p.Spec.Stages {
		if p.Spec.Stages[i].Name == name {
			return i
		}
	}
	return -1
}

// StageNames lists the stages' names, in order, for messages ("dev, staging, prod").
func (p *ReleasePipeline) StageNames() string {
	out := ""
	for i, st := range p.Spec.Stages {
		if i > 0 {
			out += ", "
		}
		out += st.Name
	}
	return out
}

// StageStatus returns the status entry of the named stage, or nil.
func (s *ReleasePipelineStatus) StageStatus(name string) *PipelineStageStatus {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}

// LiveIn is what the named stage runs: the last version deployed there
// (nil when none yet), and the stage's status when a version committed into
// it is not deployed yet (nil otherwise: its version and release name it).
// A stage without deployment runs what was committed last.
func (p *ReleasePipeline) LiveIn(stage string) (live *LiveVersion, committed *PipelineStageStatus) {
	ps := p.Status.StageStatus(stage)
	if ps == nil {
		return nil, nil
	}
	if ps.Version == "" {
		// Liftoff committed nothing there: what the GitOps files held
		// runs, once read (live.origin GitOpsFiles).
		return ps.Live, nil
	}
	if i := p.StageIndex(stage); i >= 0 && p.Spec.Stages[i].Deployment == nil {
		at := ps.DeployedAt
		if at == nil {
			at = ps.PromotedAt
		}
		live = &LiveVersion{Version: ps.Version, Release: ps.Release, Commit: ps.Commit}
		if at != nil {
			live.DeployedAt = *at
		}
		return live, nil
	}
	if ps.DeployedAt == nil {
		committed = ps
	}
	return ps.Live, committed
}

// LiveSummary renders what is live in each stage, in pipeline order (see
// ReleasePipelineStatus.Live).
func (p *ReleasePipeline) LiveSummary() string {
	out := ""
	for _, st := range p.Spec.Stages {
		v := "-"
		live, committed := p.LiveIn(st.Name)
		if live != nil {
			v = live.Version
		}
		if committed != nil {
			v += " (" + committed.Version + " committed)"
		}
		if out != "" {
			out += " "
		}
		out += st.Name + "=" + v
	}
	return out
}

// GitOpsRepository is the repository the stage writes: its target's, or
// its first target's when it has several (for links; each target's own
// repository is in its target).
func (s *Stage) GitOpsRepository() string {
	if s.Target.Repository == "" && len(s.Targets) > 0 {
		return s.Targets[0].Target.Repository
	}
	return s.Target.Repository
}

// EnvironmentName is the GitHub deployment environment of the stage.
func (s *Stage) EnvironmentName() string {
	if s.Environment != "" {
		return s.Environment
	}
	return s.Name
}
