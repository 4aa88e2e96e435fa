package agents

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// FluxCondition is one kstatus condition of a Flux object.
type FluxCondition struct {
	Status, Reason, Message string
	// ObservedGeneration is the generation the condition was set for.
	ObservedGeneration int64
}

// FluxObject is what Liftoff reads of a Flux Kustomization
// (kustomize.toolkit.fluxcd.io/v1) or HelmRelease (helm.toolkit.fluxcd.io/v2).
type FluxObject struct {
	// Kind: Kustomization or HelmRelease.
	Kind string
	// Object is namespace/name.
	Object string
	// Generation is metadata.generation.
	Generation int64
	// Suspended is spec.suspend.
	Suspended bool
	// AppliedRevision is what was last applied: a Kustomization's
	// status.lastAppliedOriginRevision when it names a commit (an OCI
	// artifact built from Git), else status.lastAppliedRevision; a
	// HelmRelease's chart version of its deployed release (status.history[0]).
	AppliedRevision string
	// AttemptedRevision is status.lastAttemptedRevision.
	AttemptedRevision string
	// Ready, Reconciling and Stalled conditions, nil when absent.
	Ready, Reconciling, Stalled *FluxCondition
}

// FluxObjectFrom reads a Kustomization or HelmRelease object.
func FluxObjectFrom(u *unstructured.Unstructured) FluxObject {
	f := FluxObject{Kind: u.GetKind(), Object: u.GetNamespace() + "/" + u.GetName(), Generation: u.GetGeneration()}
	st := u.Object
	f.Suspended, _, _ = unstructured.NestedBool(st, "spec", "suspend")
	f.AttemptedRevision = str(st, "status", "lastAttemptedRevision")
	if f.Kind == HelmReleaseKind.Kind {
		if h := list(st, "status", "history"); len(h) > 0 && str(h[0], "status") == "deployed" {
			f.AppliedRevision = str(h[0], "chartVersion")
		}
	} else {
		f.AppliedRevision = str(st, "status", "lastAppliedRevision")
		if origin := str(st, "status", "lastAppliedOriginRevision"); origin != "" {
			if _, ok := CommitOf(origin); ok {
				f.AppliedRevision = origin
			}
		}
	}
	observed, _, _ := unstructured.NestedInt64(st, "status", "observedGeneration")
	for _, c := range list(st, "status", "conditions") {
		cond := &FluxCondition{Status: str(c, "status"), Reason: str(c, "reason"), Message: str(c, "message")}
		cond.ObservedGeneration, _, _ = unstructured.NestedInt64(c, "observedGeneration")
		if cond.ObservedGeneration == 0 {
			cond.ObservedGeneration = observed
		}
		switch str(c, "type") {
		case "Ready":
			f.Ready = cond
		case "Reconciling":
			f.Reconciling = cond
		case "Stalled":
			f.Stalled = cond
		}
	}
	return f
}

// fluxWaitingReasons are Ready=False reasons that are not failures: Flux
// goes on by itself. Every other Ready=False reason is a failure
// (ArtifactFailed, BuildFailed, HealthCheckFailed, PruneFailed,
// ReconciliationFailed; InstallFailed, UpgradeFailed, TestFailed,
// RollbackSucceeded, UninstallSucceeded and the like for a HelmRelease).
var fluxWaitingReasons = map[string]bool{
	"DependencyNotReady":   true,
	"Progressing":          true,
	"ProgressingWithRetry": true,
}

// DecideFlux says what a Kustomization or HelmRelease means for the commit.
// applied places its applied revision against the commit, attempted its
// last attempted revision; revision is the one shown. Every message begins
// with the object (kind namespace/name).
//
// Deployed: the applied revision is the commit or a later one containing
// it, and Ready=True for the object's current generation. Ready=False with
// a failure reason, or Stalled, while attempting the commit (or a later
// one): a failure with Flux's message. Reconciling, a dependency not ready,
// or a Ready condition of an older generation: waiting.
func DecideFlux(f FluxObject, applied, attempted Relation, revision string) ObjectObservation {
	o := ObjectObservation{Object: f.Object, Revision: revision}
	// set says what the object is or does: the subject is written here, once.
	set := func(s releasev1.DeploymentState, predicate string, args ...any) ObjectObservation {
		o.State, o.Message = s, truncate(subject(f.Kind, f.Object)+fmt.Sprintf(predicate, args...))
		return o
	}
	current := f.Ready != nil && f.Ready.ObservedGeneration == f.Generation
	ready := current && f.Ready.Status == "True"
	failing := current && f.Ready.Status == "False" && !fluxWaitingReasons[f.Ready.Reason]
	switch {
	case ready && applied.Reached():
		return set(releasev1.DeploymentDeployed, "applied %s and is Ready: %s", revision, f.Ready.Message)
	case ready && applied == RevisionUnknown:
		return set(releasev1.DeploymentUnknown, "applied revision %s, which names no Git commit: %s", revision, unknownRevisionHint(f.Kind))
	case f.Stalled != nil && f.Stalled.Status == "True" && attempted.Reached():
		return set(releasev1.DeploymentFailed, "is stalled at %s: %s: %s", f.AttemptedRevision, f.Stalled.Reason, f.Stalled.Message)
	case failing && attempted.Reached():
		return set(releasev1.DeploymentFailed, "failed at %s: %s: %s", f.AttemptedRevision, f.Ready.Reason, f.Ready.Message)
	case f.Suspended:
		return set(releasev1.DeploymentSuspended, "is suspended (spec.suspend: true): resume it to apply the commit")
	case !current:
		msg := "Flux has not reconciled it yet"
		if f.Reconciling != nil && f.Reconciling.Status == "True" {
			msg = f.Reconciling.Message
		}
		return set(releasev1.DeploymentProgressing, "generation %d: %s", f.Generation, msg)
	case ready || failing:
		// Ready, or failing, at a revision that does not contain the commit.
		if attempted.Reached() {
			return set(releasev1.DeploymentProgressing, "is applying %s: %s", f.AttemptedRevision, readyOrReconciling(f))
		}
		return set(releasev1.DeploymentPending, "is at %s (Ready=%s %s), which does not contain the commit yet", orUnknown(f.AppliedRevision), f.Ready.Status, f.Ready.Reason)
	}
	return set(releasev1.DeploymentProgressing, "is reconciling: %s", readyOrReconciling(f))
}

func readyOrReconciling(f FluxObject) string {
	if f.Reconciling != nil && f.Reconciling.Status == "True" && f.Reconciling.Message != "" {
		return f.Reconciling.Message
	}
	if f.Ready != nil {
		return f.Ready.Reason + ": " + f.Ready.Message
	}
	return "no Ready condition yet"
}

func unknownRevisionHint(kind string) string {
	if kind == HelmReleaseKind.Kind {
		return "build the chart from the GitOps repository's GitRepository with reconcileStrategy: Revision, or name in deployment.flux the Kustomization that applies the HelmRelease (with spec.wait: true)"
	}
	return "deployment.flux must name a Kustomization whose source is the stage's GitOps repository"
}
