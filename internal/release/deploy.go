package release

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// lastCheckedRefresh is how long a lastChecked stays as it was while what
// it stamps did not change: every poll would otherwise be a write to the
// API server.
const lastCheckedRefresh = 5 * time.Minute

// startDeploying records a landed version whose stage names its GitOps
// agent: the stage waits for the agent (awaitDeployed) before anything
// counts it as live.
func (s *step) startDeploying(i int) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	ss.Phase = releasev1.StageDeploying
	ss.DeployedAt = nil
	deadline := metav1.NewTime(agents.Deadline(stage.Deployment, s.now))
	ss.Deployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying, Deadline: &deadline,
		Message: fmt.Sprintf("waiting for %s", agentName(stage.Deployment))}
	ss.Message = fmt.Sprintf("%s committed to %s (%s); waiting for %s to deploy it", rel.Spec.Version, stage.Name, landedWhere(ss), agentName(stage.Deployment))
	setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
}

// awaitDeployed asks stage i's agent whether the promotion commit is
// deployed: once it is, the stage is live (deployedAt) and goes on to its
// verification or to the next stage; a failure or the deadline applies
// onFailure; an agent that cannot be read blocks the Release.
func (s *step) awaitDeployed(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if stage.Deployment == nil {
		// Someone removed deployment from the stage while it waited.
		return s.deployed(ctx, i, "deployment removed from the pipeline: committed counts as live")
	}
	if ss.Rollback != nil {
		// The failure was decided; its rollback pull request waits.
		return s.failed(ctx, i, deployFailure(ss))
	}
	d, err := s.lookAtAgent(ctx, i, ss.Promotion.Commit, ss.CommittedAt, &ss.Deployment)
	if err != nil {
		return reconcile.Stop(), err
	}
	switch d.Next {
	case agents.NextDeployed:
		return s.deployed(ctx, i, d.Message)
	case agents.NextFail:
		return s.failed(ctx, i, deployFailure(ss))
	case agents.NextBlocked:
		ss.Message = d.Message
		s.stall(d.Reason, fmt.Sprintf("stage %s: %s", stage.Name, d.Message))
		return reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed), nil
	}
	ss.Message = fmt.Sprintf("%s committed to %s (%s); waiting until %s for it to be deployed: %s",
		rel.Spec.Version, stage.Name, landedWhere(ss), stamp(ss.Deployment.Deadline), d.Message)
	setConditions(rel, conclusion{phase: releasev1.PhaseDeploying, reason: releasev1.ReasonDeploying, message: ss.Message})
	return reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed), nil
}

// deployed records that stage i's version is deployed: soak, verify and the
// next stage's gates count from now. The pipeline shows it live in the stage
// from now, and the stage is freed unless it verifies next, in one write.
func (s *step) deployed(ctx context.Context, i int, msg string) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	at, err := s.ledger.Deployed(ctx, s.pipe, rel, stage.Name, ss.Promotion.Commit, s.now, deployedAwaits(stage))
	if err != nil {
		return reconcile.Stop(), err
	}
	ss.DeployedAt = &at
	recordSlip(rel, ss)
	if stage.Verify != nil {
		s.startVerifying(i)
		return reconcile.WriteThenContinue(), nil
	}
	ss.Phase, ss.Message = releasev1.StagePromoted, fmt.Sprintf("%s live in %s: %s", rel.Spec.Version, stage.Name, msg)
	s.succeedDeployment(ctx, ss)
	setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: releasev1.ReasonDeployed, message: ss.Message})
	return reconcile.WriteThenContinue(), nil
}

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

// rollbackToFollow is the stage of a failed Release whose rollback commit
// landed and whose agent has not reported it deployed (nor failed to), or
// -1.
func rollbackToFollow(rel *releasev1.Release, pipe *releasev1.ReleasePipeline) int {
	for _, ss := range rel.Status.Stages {
		j := pipe.StageIndex(ss.Name)
		rb := ss.Rollback
		if ss.Phase != releasev1.StageRolledBack || j < 0 || pipe.Spec.Stages[j].Deployment == nil ||
			rb == nil || rb.Commit == "" || rb.DeployedAt != nil || rb.Deployment == nil {
			continue
		}
		if r := rb.Deployment.Reason; r != releasev1.ReasonDeployFailed && r != releasev1.ReasonDeployTimeout {
			return j
		}
	}
	return -1
}

// startFollowingRollback makes stage i's rollback follow its commit, which
// just landed.
func (s *step) startFollowingRollback(i int) {
	stage, ss := &s.pipe.Spec.Stages[i], &s.rel.Status.Stages[i]
	deadline := metav1.NewTime(agents.Deadline(stage.Deployment, s.now))
	ss.Rollback.Deployment = &releasev1.DeploymentStatus{State: releasev1.DeploymentPending, Reason: releasev1.ReasonDeploying, Deadline: &deadline,
		Message: fmt.Sprintf("waiting for %s to apply the rollback commit %s", agentName(stage.Deployment), github.ShortSHA(ss.Rollback.Commit))}
	ss.Rollback.Message = fmt.Sprintf("%s written back (commit %s); waiting for %s to deploy it", ss.Rollback.Version, github.ShortSHA(ss.Rollback.Commit), agentName(stage.Deployment))
}

// followRollback asks stage i's agent whether the rollback commit is
// deployed, and says in the rollback's status when the stage is back on the
// previous version. The Release stays Failed whatever the agent says.
func (s *step) followRollback(ctx context.Context, i int) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	rb := ss.Rollback
	d, err := s.lookAtAgent(ctx, i, rb.Commit, rb.At, &rb.Deployment)
	if err != nil {
		return reconcile.Stop(), err
	}
	out := reconcile.WaitUntil(d.RecheckAt, reconcile.WaitDeployed)
	switch d.Next {
	case agents.NextDeployed:
		// The pipeline shows the version written back live from now.
		at, err := s.ledger.Deployed(ctx, s.pipe, rel, stage.Name, rb.Commit, s.now, AwaitsNothing)
		if err != nil {
			return reconcile.Stop(), err
		}
		rb.DeployedAt = &at
		rb.Message = fmt.Sprintf("%s is live again in %s since %s: %s", rb.Version, stage.Name, stamp(&at), d.Message)
		out = reconcile.Stop()
	case agents.NextFail:
		rb.Message = fmt.Sprintf("the rollback to %s (commit %s) was not deployed: %s: %s needs a person", rb.Version, github.ShortSHA(rb.Commit), d.Message, stage.Name)
		out = reconcile.Stop()
	case agents.NextBlocked:
		rb.Message = fmt.Sprintf("%s written back (commit %s); cannot tell whether it is deployed: %s", rb.Version, github.ShortSHA(rb.Commit), d.Message)
	default:
		rb.Message = fmt.Sprintf("%s written back (commit %s); waiting until %s for it to be deployed: %s", rb.Version, github.ShortSHA(rb.Commit), stamp(rb.Deployment.Deadline), d.Message)
	}
	setConditions(rel, conclusion{phase: releasev1.PhaseFailed, reason: releasev1.ReasonRolledBack, message: fmt.Sprintf("stage %s: %s; %s", stage.Name, ss.Message, rb.Message)})
	return out, nil
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

func stamp(t *metav1.Time) string {
	if t == nil {
		return "(unset)"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
