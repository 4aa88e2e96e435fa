// Package agenttest plays Argo CD and Flux for tests and the playground: it
// creates real Application, Kustomization and HelmRelease objects (their
// CRDs come from hack/fetch-agent-crds.sh) and writes their status the way
// those controllers document it: Argo CD's sync revision and status, health
// and operation state; Flux's last applied and attempted revisions and its
// Ready and Reconciling conditions with their observedGeneration.
package agenttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liftoff-dev/liftoff/internal/agents"
)

// CRDDirectory returns the directory of the agents' CRDs: $LIFTOFF_AGENT_CRDS,
// else what hack/fetch-agent-crds.sh (found from dir upwards) prints.
func CRDDirectory(dir string) (string, error) {
	if d := os.Getenv("LIFTOFF_AGENT_CRDS"); d != "" {
		return d, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		script := filepath.Join(d, "hack", "fetch-agent-crds.sh")
		if _, err := os.Stat(script); err == nil {
			out, err := exec.Command(script).Output()
			if err != nil {
				return "", fmt.Errorf("%s: %w", script, err)
			}
			return strings.TrimSpace(string(out)), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("hack/fetch-agent-crds.sh not found above %s: set LIFTOFF_AGENT_CRDS", dir)
		}
	}
}

// FluxRevision is a revision as Flux writes it: <branch>@sha1:<commit>.
func FluxRevision(branch, commit string) string { return branch + "@sha1:" + commit }

// ChartVersion is a HelmRelease's chart version when the chart is built
// from a Git source with reconcileStrategy: Revision: <version>+<commit>.
func ChartVersion(version, commit string) string { return version + "+" + commit }

// revisionOf is how the agent of kind names a commit.
func revisionOf(kind, branch, commit string) string {
	if kind == agents.HelmReleaseKind.Kind {
		return ChartVersion("0.1.0", commit)
	}
	return FluxRevision(branch, commit)
}

// Agent writes agent objects and their status through a client.
type Agent struct {
	Client client.Client
	// Now stamps conditions and operations; time.Now when nil.
	Now func() time.Time
}

func (a *Agent) now() metav1.Time {
	if a.Now != nil {
		return metav1.NewTime(a.Now().UTC().Truncate(time.Second))
	}
	return metav1.NewTime(time.Now().UTC().Truncate(time.Second))
}

func object(gvkKind string, key types.NamespacedName, labels map[string]string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	switch gvkKind {
	case agents.ApplicationKind.Kind:
		u.SetGroupVersionKind(agents.ApplicationKind)
	case agents.KustomizationKind.Kind:
		u.SetGroupVersionKind(agents.KustomizationKind)
	default:
		u.SetGroupVersionKind(agents.HelmReleaseKind)
	}
	u.SetNamespace(key.Namespace)
	u.SetName(key.Name)
	u.SetLabels(labels)
	return u
}

// CreateApplication creates an Argo CD Application that deploys path of
// the branch of repoURL.
func (a *Agent) CreateApplication(ctx context.Context, key types.NamespacedName, labels map[string]string, repoURL, branch, path string) error {
	return a.Client.Create(ctx, object(agents.ApplicationKind.Kind, key, labels, map[string]any{
		"project":     "default",
		"source":      map[string]any{"repoURL": repoURL, "targetRevision": branch, "path": path},
		"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "shop"},
		"syncPolicy":  map[string]any{"automated": map[string]any{"prune": true}},
	}))
}

// CreateKustomization creates a Flux Kustomization that applies path of
// the GitRepository source.
func (a *Agent) CreateKustomization(ctx context.Context, key types.NamespacedName, source, path string) error {
	return a.Client.Create(ctx, object(agents.KustomizationKind.Kind, key, nil, map[string]any{
		"interval":  "5m",
		"path":      path,
		"prune":     true,
		"wait":      true,
		"sourceRef": map[string]any{"kind": "GitRepository", "name": source},
	}))
}

// CreateHelmRelease creates a Flux HelmRelease whose chart is built from
// the GitRepository source with reconcileStrategy: Revision (so its chart
// version names the commit).
func (a *Agent) CreateHelmRelease(ctx context.Context, key types.NamespacedName, source, chart string) error {
	return a.Client.Create(ctx, object(agents.HelmReleaseKind.Kind, key, nil, map[string]any{
		"interval": "5m",
		"chart": map[string]any{"spec": map[string]any{
			"chart": chart, "reconcileStrategy": "Revision",
			"sourceRef": map[string]any{"kind": "GitRepository", "name": source},
		}},
	}))
}

// ArgoStatus is an Application's status as Argo CD writes it.
type ArgoStatus struct {
	// Revision compared (status.sync.revision).
	Revision string
	// Sync: Synced, OutOfSync or Unknown.
	Sync string
	// Health: Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
	Health string
	// Operation is the last sync operation's phase ("" for none): Running,
	// Succeeded, Failed or Error; it synced Revision.
	Operation string
	// Message: the operation's message, and for a Degraded or Missing
	// health the health message of the Deployment that is not healthy.
	Message string
	// Conditions by type (ComparisonError, SyncError, ...) and message.
	Conditions map[string]string
}

// SetApplication writes an Application's status (its CRD has no status
// subresource: Argo CD updates the whole object).
func (a *Agent) SetApplication(ctx context.Context, key types.NamespacedName, st ArgoStatus) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(agents.ApplicationKind)
	if err := a.Client.Get(ctx, key, u); err != nil {
		return err
	}
	now := a.now().Format(time.RFC3339)
	status := map[string]any{
		"sync":         map[string]any{"status": st.Sync, "revision": st.Revision},
		"health":       map[string]any{"status": st.Health, "lastTransitionTime": now},
		"reconciledAt": now,
		"sourceType":   "Kustomize",
	}
	health := map[string]any{"status": st.Health}
	if (st.Health == "Degraded" || st.Health == "Missing" || st.Health == "Progressing") && st.Message != "" {
		health["message"] = st.Message
	}
	status["resources"] = []any{map[string]any{
		"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop", "name": "web",
		"status": st.Sync, "health": health,
	}}
	if st.Operation != "" {
		op := map[string]any{
			"phase":      st.Operation,
			"message":    st.Message,
			"startedAt":  now,
			"operation":  map[string]any{"sync": map[string]any{"revision": st.Revision}, "initiatedBy": map[string]any{"automated": true}},
			"syncResult": map[string]any{"revision": st.Revision, "source": map[string]any{"repoURL": "https://github.com/acme/gitops"}},
		}
		if st.Operation != "Running" {
			op["finishedAt"] = now
		}
		status["operationState"] = op
	}
	var conds []any
	for t, m := range st.Conditions {
		conds = append(conds, map[string]any{"type": t, "message": m, "lastTransitionTime": now})
	}
	if len(conds) > 0 {
		status["conditions"] = conds
	}
	u.Object["status"] = status
	return a.Client.Update(ctx, u)
}

// FluxStatus is a Kustomization's or HelmRelease's status as Flux writes it.
type FluxStatus struct {
	// Applied is the last applied revision (FluxRevision; for a HelmRelease
	// the chart version of the deployed release, ChartVersion). Empty: what
	// was applied before stays.
	Applied string
	// Attempted is the last attempted revision; Applied when empty.
	Attempted string
	// Ready is the Ready condition's status: True, False or Unknown.
	Ready metav1.ConditionStatus
	// Reason and Message of the Ready condition (ReconciliationSucceeded,
	// HealthCheckFailed, BuildFailed, Progressing, UpgradeFailed, ...).
	Reason, Message string
	// Reconciling adds Reconciling=True (Flux is at work).
	Reconciling bool
	// ObservedGeneration of the conditions; the object's generation when 0.
	ObservedGeneration int64
}

// SetKustomization writes a Kustomization's status.
func (a *Agent) SetKustomization(ctx context.Context, key types.NamespacedName, st FluxStatus) error {
	return a.setFlux(ctx, agents.KustomizationKind.Kind, key, st)
}

// SetHelmRelease writes a HelmRelease's status; a Ready=True release
// records Applied as its deployed chart version.
func (a *Agent) SetHelmRelease(ctx context.Context, key types.NamespacedName, st FluxStatus) error {
	return a.setFlux(ctx, agents.HelmReleaseKind.Kind, key, st)
}

func (a *Agent) setFlux(ctx context.Context, kind string, key types.NamespacedName, st FluxStatus) error {
	u := object(kind, key, nil, nil)
	if err := a.Client.Get(ctx, key, u); err != nil {
		return err
	}
	gen := st.ObservedGeneration
	if gen == 0 {
		gen = u.GetGeneration()
	}
	now := a.now().Format(time.RFC3339)
	attempted := st.Attempted
	if attempted == "" {
		attempted = st.Applied
	}
	cond := func(t string, s metav1.ConditionStatus, reason, msg string) map[string]any {
		return map[string]any{"type": t, "status": string(s), "reason": reason, "message": msg, "observedGeneration": gen, "lastTransitionTime": now}
	}
	conds := []any{cond("Ready", st.Ready, st.Reason, st.Message)}
	if st.Reconciling {
		conds = append(conds, cond("Reconciling", metav1.ConditionTrue, "Progressing", "Reconciliation in progress: "+attempted))
	}
	status := map[string]any{"observedGeneration": gen, "lastAttemptedRevision": attempted, "conditions": conds}
	// What was applied before stays until something else is applied.
	for _, f := range []string{"lastAppliedRevision", "history"} {
		if v, ok, _ := unstructured.NestedFieldCopy(u.Object, "status", f); ok {
			status[f] = v
		}
	}
	if kind == agents.HelmReleaseKind.Kind {
		if st.Applied != "" {
			status["history"] = []any{map[string]any{
				"chartName": key.Name, "chartVersion": st.Applied, "configDigest": "sha256:0", "digest": "sha256:0",
				"firstDeployed": now, "lastDeployed": now, "name": key.Name, "namespace": key.Namespace,
				"status": "deployed", "version": int64(1),
			}}
		}
	} else if st.Applied != "" {
		status["lastAppliedRevision"] = st.Applied
	}
	u.Object["status"] = status
	return a.Client.Status().Update(ctx, u)
}

// Rollout plays an agent rolling a commit out: Progressing, then after
// delay Healthy (Argo CD) or Ready (Flux). The playground's demo deployer
// calls it for each commit; it returns when the second status is written
// or ctx ends.
func (a *Agent) Rollout(ctx context.Context, kind string, key types.NamespacedName, branch, commit string, delay time.Duration) error {
	first, second := a.progressing(kind, key, branch, commit), a.healthy(kind, key, branch, commit)
	if err := first(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(delay):
	}
	return second(ctx)
}

func (a *Agent) progressing(kind string, key types.NamespacedName, branch, commit string) func(context.Context) error {
	return func(ctx context.Context) error {
		if kind == agents.ApplicationKind.Kind {
			return a.SetApplication(ctx, key, ArgoStatus{Revision: commit, Sync: "Synced", Health: "Progressing", Operation: "Succeeded",
				Message: `Waiting for rollout to finish: 1 old replicas are pending termination...`})
		}
		return a.setFlux(ctx, kind, key, FluxStatus{Attempted: revisionOf(kind, branch, commit), Ready: metav1.ConditionUnknown,
			Reason: "Progressing", Message: "Reconciliation in progress", Reconciling: true})
	}
}

func (a *Agent) healthy(kind string, key types.NamespacedName, branch, commit string) func(context.Context) error {
	return func(ctx context.Context) error {
		if kind == agents.ApplicationKind.Kind {
			return a.SetApplication(ctx, key, ArgoStatus{Revision: commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced (all tasks run)"})
		}
		rev := revisionOf(kind, branch, commit)
		return a.setFlux(ctx, kind, key, FluxStatus{Applied: rev, Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: " + rev})
	}
}
