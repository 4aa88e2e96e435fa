package release

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// What a stage's GitOps agent says of a commit, in the terms of the steps
// that wait on it (awaitDeployed, followRollback, awaitWave).

// lookAtAgent reads what stage i's agent says of commit, which landed at
// landed, records it in *status (the stage's deployment, or its
// rollback's) and decides. The deadline runs from the landing, and starts
// again once an agent that could not be read can be: a Release blocked on
// it never times out.
func (s *step) lookAtAgent(ctx context.Context, i int, commit string, landed *metav1.Time, status **releasev1.DeploymentStatus) (agents.Decision, error) {
	stage := &s.pipe.Spec.Stages[i]
	return s.askAgent(ctx, stage.Name, stage.Deployment, agents.CommitsFor(s.pipe, stage.Name, commit), landed, status)
}

// askAgent reads what the agent spec says of commits (named where, a stage
// or one of its targets), records it in *status and decides, as
// lookAtAgent says.
func (s *step) askAgent(ctx context.Context, where string, spec *releasev1.DeploymentSpec, commits agents.Commits, landed *metav1.Time, status **releasev1.DeploymentStatus) (agents.Decision, error) {
	var obs agents.Observation
	if s.agents == nil {
		obs = agents.Observation{State: releasev1.DeploymentMissing, Reason: releasev1.ReasonAgentNotFound,
			Message: "this controller reads no GitOps agents: run it with the agent watcher (controllers.Setup does)"}
	} else {
		req := agents.Request{
			Release: types.NamespacedName{Namespace: s.rel.Namespace, Name: s.rel.Name}, Namespace: s.pipe.Namespace,
			Stage: where, Spec: spec, Commits: commits,
		}
		if s.gh != nil {
			req.GitHub = s.gh
		}
		var err error
		if obs, err = s.agents.Observe(ctx, req); err != nil {
			return agents.Decision{}, err
		}
	}
	prev := *status
	start := s.now
	if landed != nil {
		start = landed.Time
	}
	deadline := agents.Deadline(spec, start)
	switch {
	case prev != nil && blockedState(prev.State) && !obs.Blocked():
		// Readable again: the agent gets its whole timeout from now.
		deadline = agents.Deadline(spec, s.now)
	case prev != nil && prev.Deadline != nil:
		deadline = prev.Deadline.Time
	}
	d := agents.Decide(obs, spec, deadline.Add(-agents.Timeout(spec)), s.now, s.pollInterval)
	st := obs.Status(s.now)
	dl := metav1.NewTime(deadline)
	st.Deadline = &dl
	if d.Next == agents.NextFail {
		st.Reason = d.Reason
		st.Message = d.Message
	}
	if prev != nil && prev.LastChecked != nil && s.now.Sub(prev.LastChecked.Time) < lastCheckedRefresh {
		same := *st
		same.LastChecked = prev.LastChecked
		if sameDeployment(&same, prev) {
			st = &same
		}
	}
	*status = st
	return d, nil
}

// sameDeployment: a and b say the same, lastChecked aside.
func sameDeployment(a, b *releasev1.DeploymentStatus) bool {
	x, y := *a, *b
	x.LastChecked, y.LastChecked = nil, nil
	return x.Agent == y.Agent && x.Kind == y.Kind && x.Object == y.Object && x.Cluster == y.Cluster && x.State == y.State &&
		x.Reason == y.Reason && x.Revision == y.Revision && x.Message == y.Message && x.Deadline.Equal(y.Deadline)
}

// blockedState: the agent could not be read or could not tell.
func blockedState(st releasev1.DeploymentState) bool {
	return agents.Observation{State: st}.Blocked()
}

// deployFailure is stage i's failed deployment, as its status recorded it.
func deployFailure(ss *releasev1.ReleaseStageStatus) failure {
	f := failure{reason: releasev1.ReasonDeployFailed, what: "failed to deploy", why: "the deployment failed"}
	if d := ss.Deployment; d != nil {
		if d.Reason == releasev1.ReasonDeployTimeout {
			f.reason = d.Reason
		}
		f.why = "deployment failed: " + d.Message
		if d.Reason == releasev1.ReasonDeployTimeout {
			f.why = "deployment timed out: " + d.Message
		}
	}
	return f
}

// agentName names a stage's agent for people.
func agentName(spec *releasev1.DeploymentSpec) string {
	switch {
	case spec.ArgoCD != nil && spec.ArgoCD.Selector != nil:
		sel, err := metav1.LabelSelectorAsSelector(spec.ArgoCD.Selector)
		if err == nil {
			return fmt.Sprintf("the Argo CD Applications %s in %s", sel, orDefault(spec.ArgoCD.Namespace, "argocd"))
		}
		return "the Argo CD Applications of the selector"
	case spec.ArgoCD != nil:
		return fmt.Sprintf("Argo CD Application %s/%s", orDefault(spec.ArgoCD.Namespace, "argocd"), spec.ArgoCD.Name)
	case spec.Flux != nil:
		return fmt.Sprintf("Flux %s %s/%s", orDefault(string(spec.Flux.Kind), string(releasev1.FluxKustomization)), orDefault(spec.Flux.Namespace, "flux-system"), spec.Flux.Name)
	case spec.CommitStatus != nil:
		return fmt.Sprintf("the commit status %s", spec.CommitStatus.Context)
	}
	return "the GitOps agent"
}

// landedWhere says what landed: a commit, or nothing when the files held
// the version already.
func landedWhere(ss *releasev1.ReleaseStageStatus) string {
	if ss.Promotion == nil {
		return "no commit"
	}
	if ss.Promotion.NoChange {
		return "the files held it already, at " + github.ShortSHA(ss.Promotion.Commit)
	}
	return "commit " + github.ShortSHA(ss.Promotion.Commit)
}
