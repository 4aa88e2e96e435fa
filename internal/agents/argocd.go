package agents

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// ArgoApplication is what Liftoff reads of an Argo CD Application's status
// (argoproj.io/v1alpha1, as Argo CD v2 and v3 write it).
type ArgoApplication struct {
	// Object is namespace/name.
	Object string
	// SyncStatus is status.sync.status: Synced, OutOfSync or Unknown.
	SyncStatus string
	// Revisions: status.sync.revision, or status.sync.revisions of a
	// multi-source Application: what Argo CD compared the cluster with.
	Revisions []string
	// Health is status.health.status: Healthy, Progressing, Degraded,
	// Suspended, Missing or Unknown.
	Health string
	// HealthMessage is status.health.message (Argo CD v2; v3 leaves it empty
	// and reports health per resource).
	HealthMessage string
	// ErrorConditions are the messages of status.conditions whose type is
	// an error (ComparisonError, InvalidSpecError, SyncError, UnknownError).
	ErrorConditions []string
	// OperationPhase is status.operationState.phase: Running, Terminating,
	// Failed, Error or Succeeded.
	OperationPhase string
	// OperationMessage is status.operationState.message.
	OperationMessage string
	// OperationRevisions: the revision(s) the last sync operation synced
	// (status.operationState.syncResult, else the operation it ran).
	OperationRevisions []string
	// ResourceMessages: "Kind namespace/name: message" of each managed
	// resource whose health is Degraded or Missing (status.resources).
	ResourceMessages []string
	// ProgressingMessages: the same for resources still Progressing.
	ProgressingMessages []string
}

// ArgoApplicationFrom reads an Application object.
func ArgoApplicationFrom(u *unstructured.Unstructured) ArgoApplication {
	app := ArgoApplication{Object: u.GetNamespace() + "/" + u.GetName()}
	st := u.Object
	app.SyncStatus = str(st, "status", "sync", "status")
	app.Revisions = revisions(st, "status", "sync")
	app.Health = str(st, "status", "health", "status")
	app.HealthMessage = str(st, "status", "health", "message")
	for _, c := range list(st, "status", "conditions") {
		if t := str(c, "type"); strings.HasSuffix(t, "Error") {
			app.ErrorConditions = append(app.ErrorConditions, t+": "+str(c, "message"))
		}
	}
	app.OperationPhase = str(st, "status", "operationState", "phase")
	app.OperationMessage = str(st, "status", "operationState", "message")
	app.OperationRevisions = revisions(st, "status", "operationState", "syncResult")
	if len(app.OperationRevisions) == 0 {
		app.OperationRevisions = revisions(st, "status", "operationState", "operation", "sync")
	}
	for _, r := range list(st, "status", "resources") {
		h := str(r, "health", "status")
		what := str(r, "kind") + " " + strings.TrimPrefix(str(r, "namespace")+"/"+str(r, "name"), "/")
		msg := what + ": " + orDefault(str(r, "health", "message"), h)
		switch h {
		case "Degraded", "Missing":
			app.ResourceMessages = append(app.ResourceMessages, msg)
		case "Progressing":
			app.ProgressingMessages = append(app.ProgressingMessages, msg)
		}
	}
	return app
}

// revisions reads revision, or revisions, of the map at path.
func revisions(obj map[string]any, path ...string) []string {
	if r := str(obj, append(path, "revision")...); r != "" {
		return []string{r}
	}
	rs, _, _ := unstructured.NestedStringSlice(obj, append(path, "revisions")...)
	return rs
}

// DecideArgoCD says what an Application means for the commit. rel places
// its sync revision(s) against the commit, opRel those of its last sync
// operation; revision is the one shown. Every message begins with the
// Application (kind namespace/name), whatever it says: the timeout, the
// stage's message, the Ready condition and the events built on it then say
// which Application holds the stage.
//
// Deployed: the sync revision is the commit or a later one containing it,
// Synced and Healthy, and no sync operation running. Degraded or Missing health once synced there, a
// failed sync of it, or an error condition (its manifests do not render):
// a failure with Argo CD's own message. OutOfSync, a running operation,
// Progressing health: waiting.
func DecideArgoCD(app ArgoApplication, rel, opRel Relation, revision string) ObjectObservation {
	o := ObjectObservation{Object: app.Object, Revision: revision}
	// set says what the Application is or does: the subject is written here, once.
	set := func(s releasev1.DeploymentState, predicate string, args ...any) ObjectObservation {
		o.State, o.Message = s, truncate(subject(ApplicationKind.Kind, app.Object)+fmt.Sprintf(predicate, args...))
		return o
	}
	opFailed := app.OperationPhase == "Failed" || app.OperationPhase == "Error"
	at := shortSHA(revision)
	switch rel {
	case RevisionNone:
		return set(releasev1.DeploymentPending, "has not compared any revision yet")
	case RevisionUnknown:
		return set(releasev1.DeploymentUnknown, "is on revision %s, which names no Git commit: point deployment.argoCD at Applications whose source is the stage's GitOps repository", revision)
	case RevisionEarlier:
		if opFailed && opRel.Reached() {
			return set(releasev1.DeploymentFailed, "failed to sync the commit: %s; it is still on %s", orDefault(joinMessages(app.OperationMessage), "sync operation "+strings.ToLower(app.OperationPhase)), at)
		}
		return set(releasev1.DeploymentPending, "is on %s (%s, %s), which does not contain the commit yet", at, orUnknown(app.SyncStatus), orUnknown(app.Health))
	}
	if app.OperationPhase == "Running" || app.OperationPhase == "Terminating" {
		// Synced and Healthy may be said before the sync's hooks ran.
		return set(releasev1.DeploymentProgressing, "is syncing %s: %s", at, orDefault(app.OperationMessage, "sync operation "+strings.ToLower(app.OperationPhase)))
	}
	if app.SyncStatus != "Synced" {
		switch {
		case opFailed && opRel.Reached():
			return set(releasev1.DeploymentFailed, "failed to sync %s: %s", at, orDefault(joinMessages(app.OperationMessage, strings.Join(app.ErrorConditions, "; ")), "sync operation "+strings.ToLower(app.OperationPhase)))
		case len(app.ErrorConditions) > 0:
			return set(releasev1.DeploymentFailed, "cannot sync %s: %s", at, strings.Join(app.ErrorConditions, "; "))
		case app.SyncStatus == "OutOfSync":
			return set(releasev1.DeploymentOutOfSync, "is OutOfSync at %s: waiting for Argo CD to sync it", at)
		}
		return set(releasev1.DeploymentProgressing, "compared %s; sync status %s", at, orUnknown(app.SyncStatus))
	}
	msg := joinMessages(app.HealthMessage, strings.Join(app.ResourceMessages, "; "))
	switch app.Health {
	case "Healthy":
		return set(releasev1.DeploymentDeployed, "is Synced and Healthy at %s", at)
	case "Degraded", "Missing":
		return set(releasev1.DeploymentDegraded, "is %s at %s: %s", app.Health, at, orDefault(msg, joinMessages(app.OperationMessage)))
	case "Suspended":
		return set(releasev1.DeploymentSuspended, "is Suspended at %s: %s", at, orDefault(msg, "a resource is paused"))
	}
	msg = joinMessages(app.HealthMessage, strings.Join(app.ProgressingMessages, "; "))
	return set(releasev1.DeploymentProgressing, "is Synced at %s, health %s: %s", at, orUnknown(app.Health), orDefault(msg, "waiting for it to become Healthy"))
}
