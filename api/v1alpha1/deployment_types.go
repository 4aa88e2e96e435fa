package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeploymentSpec names the GitOps agent that deploys a stage: exactly one of
// argoCD, flux or commitStatus.
// +kubebuilder:validation:XValidation:rule="[has(self.argoCD), has(self.flux), has(self.commitStatus)].filter(x, x).size() == 1",message="set exactly one of argoCD, flux or commitStatus: the agent that deploys the stage"
// +kubebuilder:validation:XValidation:rule="!has(self.kubeConfigSecretRef) || !has(self.commitStatus)",message="kubeConfigSecretRef is for an Argo CD or Flux in another cluster; commitStatus is read from GitHub: remove kubeConfigSecretRef"
type DeploymentSpec struct {
	// ArgoCD: Argo CD Applications deploy the stage. Deployed when every
	// Application's status.sync.revision is the promotion commit (or a later
	// commit of the target branch that contains it), status.sync.status is
	// Synced and status.health.status is Healthy.
	// +optional
	ArgoCD *ArgoCDDeployment `json:"argoCD,omitempty"`

	// Flux: a Flux Kustomization or HelmRelease deploys the stage. Deployed
	// when its last applied revision names the promotion commit (or a later
	// one that contains it) and its Ready condition is True for its current
	// generation.
	// +optional
	Flux *FluxDeployment `json:"flux,omitempty"`

	// CommitStatus: a commit status or check run on the promotion commit says
	// whether the stage is deployed (what Flux's notification-controller or
	// Argo CD notifications post), for agents Liftoff cannot read directly.
	// +optional
	CommitStatus *CommitStatusDeployment `json:"commitStatus,omitempty"`

	// Timeout is how long after the promotion commit landed the agent has to
	// report the stage deployed and healthy; after it the stage fails
	// (DeployTimeout) and onFailure applies. Defaults to 10m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// KubeConfigSecretRef names a Secret in the pipeline's namespace holding
	// a kubeconfig for the cluster where the Argo CD or Flux objects live,
	// when that is not the cluster Liftoff runs in. The kubeconfig must carry
	// its credentials inline (token or client certificate): exec plugins,
	// auth providers and file paths are refused. It needs get, list and
	// watch on the agent's objects there.
	// +optional
	KubeConfigSecretRef *KubeConfigSecretReference `json:"kubeConfigSecretRef,omitempty"`
}

// DefaultDeploymentTimeout is the timeout of a stage's deployment when
// spec.stages[].deployment.timeout is not set.
const DefaultDeploymentTimeout = 10 * time.Minute

// ArgoCDDeployment selects Argo CD Applications by name or by label selector.
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.selector)",message="set either name (one Application) or selector (every Application it matches), not both"
// +kubebuilder:validation:XValidation:rule="!has(self.selector) || (has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) || (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",message="selector needs matchLabels or matchExpressions: an empty selector would match every Application in the namespace"
type ArgoCDDeployment struct {
	// Name of the Application.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`

	// Selector matches the labels of the Applications; all of them must be
	// deployed, and at least one must match.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// Namespace of the Applications. Defaults to argocd.
	// +optional
	// +kubebuilder:default=argocd
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// FluxKind is the kind of the Flux object that deploys a stage.
// +kubebuilder:validation:Enum=Kustomization;HelmRelease
type FluxKind string

// Flux kinds.
const (
	// FluxKustomization: kustomize.toolkit.fluxcd.io Kustomization.
	FluxKustomization FluxKind = "Kustomization"
	// FluxHelmRelease: helm.toolkit.fluxcd.io HelmRelease.
	FluxHelmRelease FluxKind = "HelmRelease"
)

// FluxDeployment names one Flux Kustomization or HelmRelease.
type FluxDeployment struct {
	// Kind is Kustomization (the default) or HelmRelease. A HelmRelease
	// names a commit only when its chart comes from the GitOps repository
	// (a GitRepository source with reconcileStrategy: Revision, so the chart
	// version ends in +<commit>); otherwise name the Kustomization that
	// applies the HelmRelease, with spec.wait: true.
	// +optional
	// +kubebuilder:default=Kustomization
	Kind FluxKind `json:"kind,omitempty"`

	// Name of the object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`

	// Namespace of the object. Defaults to flux-system.
	// +optional
	// +kubebuilder:default=flux-system
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// CommitStatusDeployment names the commit status or check run that reports
// the deployment of the promotion commit.
type CommitStatusDeployment struct {
	// Context is the commit status context or check run name, exactly as the
	// agent posts it on the GitOps commit. success means deployed, pending
	// means in progress, failure or error means the deployment failed.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Context string `json:"context"`
}

// KubeConfigSecretReference names a Secret holding a kubeconfig.
type KubeConfigSecretReference struct {
	// Name of the Secret, in the pipeline's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key of the kubeconfig in the Secret. Defaults to value (the key
	// Cluster API and Flux use).
	// +optional
	// +kubebuilder:default=value
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// DeploymentState is what the agent says of the promotion commit.
// +kubebuilder:validation:Enum=Pending;OutOfSync;Progressing;Suspended;Deployed;Degraded;Failed;Missing;Forbidden;Unknown
type DeploymentState string

// Deployment states.
const (
	// DeploymentPending: the agent has not picked up the commit yet (it is on
	// an earlier revision, or no status was reported on the commit).
	DeploymentPending DeploymentState = "Pending"
	// DeploymentOutOfSync: Argo CD compared the commit but has not synced it.
	DeploymentOutOfSync DeploymentState = "OutOfSync"
	// DeploymentProgressing: the agent applies the commit or waits for the
	// workloads to become healthy.
	DeploymentProgressing DeploymentState = "Progressing"
	// DeploymentSuspended: the agent is suspended (Flux spec.suspend, Argo CD
	// health Suspended) and will not go on by itself.
	DeploymentSuspended DeploymentState = "Suspended"
	// DeploymentDeployed: applied at the commit (or a later one containing
	// it) and healthy.
	DeploymentDeployed DeploymentState = "Deployed"
	// DeploymentDegraded: applied, but the application is unhealthy (Argo CD
	// health Degraded or Missing).
	DeploymentDegraded DeploymentState = "Degraded"
	// DeploymentFailed: the agent failed to apply the commit (Flux Ready=False
	// with a failure reason, a failed Argo CD sync, a failed commit status).
	DeploymentFailed DeploymentState = "Failed"
	// DeploymentMissing: the agent's object, or its kind, does not exist.
	DeploymentMissing DeploymentState = "Missing"
	// DeploymentForbidden: Liftoff may not read the agent's objects (RBAC).
	DeploymentForbidden DeploymentState = "Forbidden"
	// DeploymentUnknown: the agent's status cannot tell which commit it
	// applied (for example a HelmRelease whose chart version names no commit).
	DeploymentUnknown DeploymentState = "Unknown"
)

// DeploymentStatus is what the stage's GitOps agent last said about the
// promotion commit.
type DeploymentStatus struct {
	// Agent: ArgoCD, Flux or CommitStatus.
	// +optional
	Agent string `json:"agent,omitempty"`
	// Kind of the agent's object: Application, Kustomization, HelmRelease,
	// or CommitStatus.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Object read: namespace/name, namespace/<selector> for Applications
	// selected by labels, or the commit status context.
	// +optional
	Object string `json:"object,omitempty"`
	// Cluster is the kubeconfig Secret of the agent's cluster; empty for the
	// cluster Liftoff runs in.
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// State of the deployment of the promotion commit.
	// +optional
	State DeploymentState `json:"state,omitempty"`
	// Reason in UpperCamelCase (Deployed, Deploying, DeployFailed,
	// DeployTimeout, AgentNotFound, AgentForbidden, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Revision the agent is on (a commit SHA, or the agent's own revision
	// string when it names no commit).
	// +optional
	Revision string `json:"revision,omitempty"`
	// Message is the agent's own message (a health message, a failed
	// condition, a sync error), or what Liftoff waits for.
	// +optional
	Message string `json:"message,omitempty"`
	// LastChecked is when the agent was last read (refreshed at least every
	// five minutes while nothing changes).
	// +optional
	LastChecked *metav1.Time `json:"lastChecked,omitempty"`
	// Deadline is when the stage fails with DeployTimeout unless the agent
	// reports the commit deployed: the commit's time plus timeout, or, after
	// the agent could not be read (Missing, Forbidden, Unknown), the time it
	// could be read again plus timeout.
	// +optional
	Deadline *metav1.Time `json:"deadline,omitempty"`
}
