// Package agents reads what the GitOps agents say about a promotion commit:
// Argo CD Applications, Flux Kustomizations and HelmReleases (through
// unstructured objects, never their Go modules), or a commit status on the
// GitOps commit. It decides with pure functions whether the commit is
// deployed, watches only the agent objects pipelines reference, and wakes
// the Releases waiting on them when those objects change.
//
// The Release engine's "wait for deployed" step, between the commit landing
// and soak/verify, reads the agent and decides:
//
//	obs, err := watcher.Observe(ctx, agents.Request{
//		Release: releaseKey, Namespace: pipe.Namespace, Stage: stage.Name, Spec: stage.Deployment,
//		Commits: agents.CommitsFor(pipe, stage.Name, commit), GitHub: gh,
//	})
//	// err: transient, retry with backoff.
//	d := agents.Decide(obs, stage.Deployment, committedAt, now, poll)
//	status.Deployment = obs.Status(now)
//	// d.Next: NextDeployed (deployedAt = now, go on), NextWait (requeue at
//	// d.RecheckAt), NextFail (d.Reason DeployFailed or DeployTimeout:
//	// onFailure), NextBlocked (Blocked condition with d.Reason, d.Message).
//
// The manager runs the Watcher (mgr.Add) and the Release controller watches
// Watcher.Source; the engine calls Watcher.Forget when a Release stops
// waiting. A stage without deployment keeps "committed = live".
package agents

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// The manager reads the agents' objects and never writes them.
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;list;watch
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations,verbs=get;list;watch
// +kubebuilder:rbac:groups=helm.toolkit.fluxcd.io,resources=helmreleases,verbs=get;list;watch

// Agent names.
const (
	AgentArgoCD       = "ArgoCD"
	AgentFlux         = "Flux"
	AgentCommitStatus = "CommitStatus"
)

// The agents' kinds, at the versions Liftoff reads (Argo CD v2 and v3,
// Flux v2.x).
var (
	ApplicationKind   = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}
	KustomizationKind = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
	HelmReleaseKind   = schema.GroupVersionKind{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"}
)

// resourceOf is the plural resource of an agent kind, for RBAC messages.
func resourceOf(gvk schema.GroupVersionKind) string {
	return strings.ToLower(gvk.Kind) + "s"
}

// rbacRule is the rule to add when Liftoff may not read an agent's kind.
func rbacRule(gvk schema.GroupVersionKind) string {
	return fmt.Sprintf("{apiGroups: [%s], resources: [%s], verbs: [get, list, watch]}", gvk.Group, resourceOf(gvk))
}

// ObjectObservation is what one agent object says of the commit.
type ObjectObservation struct {
	// Object is namespace/name of the agent object (or the status context).
	Object string
	// State of the deployment of the commit.
	State releasev1.DeploymentState
	// Revision the agent is on: a commit SHA when its status names one,
	// else the agent's own revision string.
	Revision string
	// Message: the agent's own message, or what Liftoff waits for.
	Message string
}

// Observation is what the stage's agent says of the commit, over every
// object it names (one Application, Kustomization or HelmRelease, every
// Application a selector matches, or one commit status context).
type Observation struct {
	// Agent: ArgoCD, Flux or CommitStatus.
	Agent string
	// Kind of the agent's objects: Application, Kustomization, HelmRelease
	// or CommitStatus.
	Kind string
	// Object: namespace/name, namespace/<selector>, or the status context.
	Object string
	// Cluster: the kubeconfig Secret's name, empty for the local cluster.
	Cluster string
	// State summarises Objects: a failure first, then what blocks, then the
	// least advanced wait; Deployed only when every object is.
	State releasev1.DeploymentState
	// Reason is the condition/event reason of State (releasev1.Reason*).
	Reason string
	// Revision the agent is on.
	Revision string
	// Message for people: the agent's own words, or what to fix.
	Message string
	// Objects, one per agent object read.
	Objects []ObjectObservation
}

// Deployed reports whether the agent applied the commit (or a later one containing it)
// and the application is healthy.
func (o Observation) Deployed() bool { return o.State == releasev1.DeploymentDeployed }

// Failed reports whether the agent failed to apply the commit or the application is
// unhealthy; the stage's onFailure applies.
func (o Observation) Failed() bool {
	return o.State == releasev1.DeploymentFailed || o.State == releasev1.DeploymentDegraded
}

// Blocked reports whether the agent cannot be read or cannot tell (missing object or kind,
// RBAC, a bad kubeconfig, a status that names no commit); a person must fix
// it, and nothing is promoted further meanwhile.
func (o Observation) Blocked() bool {
	switch o.State {
	case releasev1.DeploymentMissing, releasev1.DeploymentForbidden, releasev1.DeploymentUnknown:
		return true
	}
	return false
}

// reasonOf maps a state to its reason.
func reasonOf(s releasev1.DeploymentState) string {
	switch s {
	case releasev1.DeploymentDeployed:
		return releasev1.ReasonDeployed
	case releasev1.DeploymentFailed, releasev1.DeploymentDegraded:
		return releasev1.ReasonDeployFailed
	case releasev1.DeploymentMissing:
		return releasev1.ReasonAgentNotFound
	case releasev1.DeploymentForbidden:
		return releasev1.ReasonAgentForbidden
	case releasev1.DeploymentUnknown:
		return releasev1.ReasonAgentRevisionUnknown
	}
	return releasev1.ReasonDeploying
}
