package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// GitHub is what Observe asks GitHub: whether a commit contains another (an
// agent on a commit Liftoff did not write), and a commit's statuses
// (commitStatus). internal/github's Client is one.
type GitHub interface {
	Comparer
	Checks(ctx context.Context, repo, sha string, required []string) ([]github.CheckResult, error)
}

// Request is one look at a stage's agent.
type Request struct {
	// Release waiting on the agent: a change of the agent's objects wakes
	// it through Source. Empty: nobody is woken.
	Release types.NamespacedName
	// Namespace of the pipeline, where kubeConfigSecretRef's Secret lives.
	Namespace string
	// Stage, for messages.
	Stage string
	// Spec is the stage's deployment.
	Spec *releasev1.DeploymentSpec
	// Commits: the commit to follow and those Liftoff wrote around it.
	Commits Commits
	// GitHub of the pipeline's credential. Without it a revision Liftoff
	// did not write is Unknown, and commitStatus cannot be read.
	GitHub GitHub
}

// Observe reads what the stage's agent says of the commit. Reading an Argo
// CD or Flux object costs no request once its watch is filled (the first
// look starts it); placing a revision Liftoff did not write costs one
// GitHub request per pair of commits, once. A missing object or kind, a
// forbidden read or a bad kubeconfig is an Observation that blocks, with
// what to fix; an error is transient (GitHub, the API server, a watch still
// filling): look again later.
func (w *Watcher) Observe(ctx context.Context, req Request) (Observation, error) {
	spec := req.Spec
	if spec == nil {
		return Observation{}, fmt.Errorf("agents: stage %s has no deployment", req.Stage)
	}
	if spec.CommitStatus != nil {
		return observeCommitStatus(ctx, req)
	}
	if err := w.waitUntilStarted(ctx); err != nil {
		return Observation{}, err
	}
	base := Observation{}
	if spec.KubeConfigSecretRef != nil {
		base.Cluster = spec.KubeConfigSecretRef.Name
	}
	var (
		key      informerKey
		name     string
		selector labels.Selector
	)
	switch {
	case spec.ArgoCD != nil:
		base.Agent, base.Kind = AgentArgoCD, ApplicationKind.Kind
		key = informerKey{gvk: ApplicationKind, namespace: orDefault(spec.ArgoCD.Namespace, "argocd")}
		name = spec.ArgoCD.Name
		if spec.ArgoCD.Selector != nil {
			s, err := metav1.LabelSelectorAsSelector(spec.ArgoCD.Selector)
			if err != nil {
				return Observation{}, fmt.Errorf("agents: stage %s: deployment.argoCD.selector: %w", req.Stage, err)
			}
			selector = s
		}
	case spec.Flux != nil:
		base.Agent = AgentFlux
		gvk := KustomizationKind
		if spec.Flux.Kind == releasev1.FluxHelmRelease {
			gvk = HelmReleaseKind
		}
		base.Kind = gvk.Kind
		key = informerKey{gvk: gvk, namespace: orDefault(spec.Flux.Namespace, "flux-system")}
		name = spec.Flux.Name
	default:
		return Observation{}, fmt.Errorf("agents: stage %s: deployment names no agent", req.Stage)
	}
	base.Object = key.namespace + "/" + name
	who := subject(base.Kind, base.Object)
	if selector != nil {
		base.Object = key.namespace + "/" + selector.String()
		who = subject(base.Kind+"s matching", base.Object)
	}
	// about opens a message on what blocks the stage with the object(s) it is about.
	about := func(msg string) string { return strings.TrimSpace(who) + ": " + msg }

	c, err := w.clusterFor(ctx, req.Namespace, spec.KubeConfigSecretRef)
	var kcErr *KubeConfigError
	if errors.As(err, &kcErr) {
		return blocked(base, releasev1.DeploymentUnknown, releasev1.ReasonKubeConfigInvalid, about(kcErr.Error())), nil
	}
	if err != nil {
		return Observation{}, err
	}
	// Wait before reading, so a change between the read and the wait
	// still wakes the Release.
	w.wait(req.Release, waitKey{cluster: c.name, key: key}, name, selector)
	inf, err := c.informer(ctx, key, w.syncTimeout())
	if o, ok := unreadable(base, about, err); ok {
		return o, nil
	}
	if err != nil {
		return Observation{}, err
	}

	var objs []*unstructured.Unstructured
	if selector != nil {
		for _, u := range inf.list() {
			if selector.Matches(labels.Set(u.GetLabels())) {
				objs = append(objs, u)
			}
		}
		sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
	} else if u := inf.get(key.namespace, name); u != nil {
		objs = append(objs, u)
	} else {
		where := ""
		if base.Cluster != "" {
			where = " in the cluster of Secret " + base.Cluster
		}
		return blocked(base, releasev1.DeploymentMissing, releasev1.ReasonAgentNotFound,
			fmt.Sprintf("%snot found%s: create it, or fix deployment.%s of stage %s", who, where, specField(base.Agent), req.Stage)), nil
	}
	var cmp Comparer
	if req.GitHub != nil {
		cmp = req.GitHub
	}
	out := make([]ObjectObservation, 0, len(objs))
	for _, u := range objs {
		ob, err := decideObject(ctx, req.Commits, cmp, u)
		if err != nil {
			return Observation{}, err
		}
		out = append(out, ob)
	}
	return Summarize(base, out), nil
}

// decideObject places an agent object's revisions, then decides.
func decideObject(ctx context.Context, commits Commits, cmp Comparer, u *unstructured.Unstructured) (ObjectObservation, error) {
	if u.GetKind() == ApplicationKind.Kind {
		app := ArgoApplicationFrom(u)
		rel, rev, err := commits.RelateAll(ctx, cmp, app.Revisions)
		if err != nil {
			return ObjectObservation{}, err
		}
		opRel := RevisionNone
		if app.OperationPhase == "Failed" || app.OperationPhase == "Error" {
			// Only a failed sync needs its revision placed (a running one
			// is waited for whatever it syncs).
			if opRel, _, err = commits.RelateAll(ctx, cmp, app.OperationRevisions); err != nil {
				return ObjectObservation{}, err
			}
		}
		return DecideArgoCD(app, rel, opRel, rev), nil
	}
	f := FluxObjectFrom(u)
	applied, rev, err := commits.Relate(ctx, cmp, f.AppliedRevision)
	if err != nil {
		return ObjectObservation{}, err
	}
	attempted, attemptedRev, err := commits.Relate(ctx, cmp, f.AttemptedRevision)
	if err != nil {
		return ObjectObservation{}, err
	}
	if applied < RevisionAt && attempted.Reached() {
		rev = attemptedRev
	}
	if rev == "" {
		rev = f.AppliedRevision
	}
	return DecideFlux(f, applied, attempted, rev), nil
}

// unreadable turns a missing kind or a forbidden read into an Observation;
// about opens its message with the object(s) the stage names.
func unreadable(base Observation, about func(string) string, err error) (Observation, bool) {
	var missing *kindMissingError
	var forbidden *forbiddenError
	switch {
	case errors.As(err, &missing):
		return blocked(base, releasev1.DeploymentMissing, releasev1.ReasonAgentNotFound, about(missing.Error())), true
	case errors.As(err, &forbidden):
		msg := forbidden.Error() + " to the manager's ClusterRole (config/rbac), or to a Role in " + forbidden.namespace
		if base.Cluster != "" {
			msg = forbidden.Error() + " to the user of the kubeconfig in Secret " + base.Cluster
		}
		return blocked(base, releasev1.DeploymentForbidden, releasev1.ReasonAgentForbidden, about(msg)), true
	}
	return Observation{}, false
}

func blocked(base Observation, state releasev1.DeploymentState, reason, msg string) Observation {
	base.State, base.Reason, base.Message = state, reason, truncate(msg)
	return base
}

func specField(agent string) string {
	if agent == AgentArgoCD {
		return "argoCD"
	}
	return "flux"
}

func (w *Watcher) syncTimeout() time.Duration {
	if w.SyncTimeout > 0 {
		return w.SyncTimeout
	}
	return 5 * time.Second
}

// maxLaterStatuses bounds the later commits whose statuses are read.
const maxLaterStatuses = 3

// observeCommitStatus reads the status context on the commit and on the
// last later commits Liftoff wrote (an agent reports on the commit it
// applied, which may already be a later one): success on any of them is
// deployed, else the newest report counts. Each read is conditional: an
// unchanged commit costs no rate limit.
func observeCommitStatus(ctx context.Context, req Request) (Observation, error) {
	cs := req.Spec.CommitStatus
	base := Observation{Agent: AgentCommitStatus, Kind: "CommitStatus", Object: cs.Context}
	if req.GitHub == nil {
		return Observation{}, fmt.Errorf("agents: stage %s: commitStatus needs the pipeline's GitHub client", req.Stage)
	}
	later := req.Commits.Later
	if len(later) > maxLaterStatuses {
		later = later[len(later)-maxLaterStatuses:]
	}
	// Newest first, the commit itself last.
	shas := []string{}
	for i := len(later) - 1; i >= 0; i-- {
		shas = append(shas, later[i])
	}
	shas = append(shas, req.Commits.Commit)
	// Deployed on any of them is deployed; else the newest word counts.
	var found *ObjectObservation
	for _, sha := range shas {
		results, err := req.GitHub.Checks(ctx, req.Commits.Repository, sha, []string{cs.Context})
		if err != nil {
			return Observation{}, err
		}
		ob := DecideCommitStatus(req.Commits.Repository, cs.Context, sha, results)
		if ob.State == releasev1.DeploymentDeployed {
			found = &ob
			break
		}
		if found == nil && (ob.State != releasev1.DeploymentPending || sha == req.Commits.Commit) {
			found = &ob
		}
	}
	return Summarize(base, []ObjectObservation{*found}), nil
}
