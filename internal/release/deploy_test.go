package release_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// fakeAgents plays the stages' GitOps agents for the engine: say decides
// what the agent says of a request (nil: not picked up yet).
type fakeAgents struct {
	mu        sync.Mutex
	say       func(req agents.Request) agents.ObjectObservation
	requests  []agents.Request
	forgotten []types.NamespacedName
}

func (f *fakeAgents) Observe(_ context.Context, req agents.Request) (agents.Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	ob := agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentPending, Message: "Application argocd/checkout has not compared any revision yet"}
	if f.say != nil {
		ob = f.say(req)
	}
	base := agents.Observation{Agent: agents.AgentArgoCD, Kind: "Application", Object: "argocd/checkout"}
	if ob.State == releasev1.DeploymentMissing || ob.State == releasev1.DeploymentForbidden {
		base.State, base.Reason, base.Message = ob.State, releasev1.ReasonAgentNotFound, ob.Message
		if ob.State == releasev1.DeploymentForbidden {
			base.Reason = releasev1.ReasonAgentForbidden
		}
		return base, nil
	}
	return agents.Summarize(base, []agents.ObjectObservation{ob}), nil
}

func (f *fakeAgents) Forget(rel types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgotten = append(f.forgotten, rel)
}

// set makes the agent say state (and msg) of the first commit it was asked
// about (the promotion's); it has not picked up any other yet.
func (f *fakeAgents) set(state releasev1.DeploymentState, msg string) {
	f.setFunc(func(req agents.Request) agents.ObjectObservation {
		if req.Commits.Commit != f.requests[0].Commits.Commit {
			return agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentPending, Message: "Application argocd/checkout is on an earlier commit"}
		}
		return agents.ObjectObservation{Object: "argocd/checkout", State: state, Revision: req.Commits.Commit, Message: msg}
	})
}

func (f *fakeAgents) setFunc(say func(agents.Request) agents.ObjectObservation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.say = say
}

func (f *fakeAgents) last() agents.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// argo: the stage is deployed by Argo CD Application argocd/checkout.
func argo(s *releasev1.Stage) {
	s.Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: "checkout", Namespace: "argocd"}}
}

func onFailure(p releasev1.FailurePolicy) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) { s.OnFailure = p }
}

// Each case lands the version in a stage Argo CD deploys, lets the agent
// say something, and checks where the stage and the Release stand.
func TestDeployWaitTransitions(t *testing.T) {
	for _, tt := range []struct {
		name string
		// onFailure of prod; agent says state with message.
		policy  releasev1.FailurePolicy
		state   releasev1.DeploymentState
		message string
		// after: how long after the landing the agent is asked again.
		after time.Duration
		phase releasev1.StagePhase
		// ready is the Ready condition's "Status/Reason: message" prefix;
		// outcome the Outcome's String.
		ready   string
		outcome string
		check   func(t *testing.T, w *world)
	}{
		{name: "Progressing: waits, woken by the agent or at the poll", state: releasev1.DeploymentProgressing, message: "Application argocd/checkout is Synced at abc, health Progressing: Deployment shop/web: Waiting for rollout to finish",
			phase: releasev1.StageDeploying, ready: "False/Deploying: 1.4.2 committed to prod (commit ", outcome: "WaitUntil(2026-11-23T12:00:30Z, Deployed)",
			check: func(t *testing.T, w *world) {
				ss := w.get("r").Status.StageStatus("prod")
				if ss.CommittedAt == nil || !ss.CommittedAt.Time.Equal(t0) || ss.DeployedAt != nil {
					t.Errorf("committedAt %v, deployedAt %v", ss.CommittedAt, ss.DeployedAt)
				}
				d := ss.Deployment
				if d.State != releasev1.DeploymentProgressing || d.Reason != releasev1.ReasonDeploying || d.Agent != "ArgoCD" || d.Object != "argocd/checkout" ||
					d.Revision != ss.Promotion.Commit || !strings.Contains(d.Message, "Waiting for rollout to finish") || !d.Deadline.Time.Equal(t0.Add(10*time.Minute)) {
					t.Errorf("deployment %+v", d)
				}
				if !strings.Contains(ss.Message, "waiting until 2026-11-23T12:10:00Z for it to be deployed: Application argocd/checkout is Synced") {
					t.Errorf("message %q", ss.Message)
				}
				if c := w.condition("r", releasev1.ConditionReconciling); !strings.HasPrefix(c, "True/Deploying") {
					t.Errorf("Reconciling %q", c)
				}
				if got := w.get("r").Status.Phase; got != releasev1.PhaseDeploying {
					t.Errorf("phase %s", got)
				}
				// The GitHub deployment is in progress while the agent deploys.
				if st := lastDeploymentState(w, "prod"); st != "in_progress" {
					t.Errorf("GitHub deployment %s", st)
				}
				if ps := w.getPipeline().Status.StageStatus("prod"); ps.InFlight == nil || ps.InFlight.Release != "r" {
					t.Errorf("prod is not held while deploying: %+v", ps)
				}
			}},
		{name: "Deployed: live from now, released", state: releasev1.DeploymentDeployed, message: "Application argocd/checkout is Synced and Healthy at abc",
			after: 3 * time.Minute, phase: releasev1.StagePromoted, ready: "True/Released: 1.4.2 is live in prod", outcome: "Stop",
			check: func(t *testing.T, w *world) {
				ss := w.get("r").Status.StageStatus("prod")
				if ss.DeployedAt == nil || !ss.DeployedAt.Time.Equal(t0.Add(3*time.Minute)) || !ss.CommittedAt.Time.Equal(t0) {
					t.Errorf("committedAt %v, deployedAt %v", ss.CommittedAt, ss.DeployedAt)
				}
				if !strings.HasPrefix(ss.Message, "1.4.2 live in prod: Application argocd/checkout is Synced and Healthy") {
					t.Errorf("message %q", ss.Message)
				}
				if st := lastDeploymentState(w, "prod"); st != "success" {
					t.Errorf("GitHub deployment %s", st)
				}
				if ps := w.getPipeline().Status.StageStatus("prod"); ps.InFlight != nil {
					t.Errorf("prod still held: %+v", ps.InFlight)
				}
			}},
		{name: "Degraded, Rollback: one revert commit, followed until applied", policy: releasev1.FailureRollback, state: releasev1.DeploymentDegraded,
			message: "Application argocd/checkout is Degraded at abc: Deployment shop/web: Deployment \"web\" exceeded its progress deadline",
			phase:   releasev1.StageRolledBack, ready: "False/RolledBack: stage prod: deployment failed: Application argocd/checkout is Degraded", outcome: "WaitUntil(2026-11-23T12:00:30Z, Deployed)",
			check: func(t *testing.T, w *world) {
				if n := rollbacks(w); n != 1 {
					t.Errorf("%d rollback commits", n)
				}
				if w.file("prod") != kustomization("1.4.1") {
					t.Errorf("prod holds %q", w.file("prod"))
				}
				ss := w.get("r").Status.StageStatus("prod")
				if ss.Rollback == nil || ss.Rollback.DeployedAt != nil || !strings.Contains(ss.Rollback.Message, "1.4.1 written back (commit ") {
					t.Errorf("rollback %+v", ss.Rollback)
				}
				// The agent is now asked about the rollback commit; what it
				// said of the promotion stays.
				if got := w.agents.last().Commits.Commit; got != ss.Rollback.Commit {
					t.Errorf("following %s, the rollback is %s", got, ss.Rollback.Commit)
				}
				if ss.Deployment.Reason != releasev1.ReasonDeployFailed || ss.Deployment.State != releasev1.DeploymentDegraded ||
					ss.Rollback.Deployment == nil || ss.Rollback.Deployment.State != releasev1.DeploymentPending {
					t.Errorf("deployment %+v, rollback's %+v", ss.Deployment, ss.Rollback.Deployment)
				}
				if st := lastDeploymentState(w, "prod"); st != "failure" {
					t.Errorf("GitHub deployment %s", st)
				}
				if !strings.Contains(w.condition("r", releasev1.ConditionReady), "exceeded its progress deadline") {
					t.Errorf("the agent's own words are not in Ready: %s", w.condition("r", releasev1.ConditionReady))
				}
			}},
		{name: "Degraded, Halt: stops with the version", policy: releasev1.FailureHalt, state: releasev1.DeploymentFailed, message: "Kustomization flux-system/checkout failed at main@sha1:abc: HealthCheckFailed: timeout waiting for: [Deployment/shop/web status: 'InProgress']",
			phase: releasev1.StageFailed, ready: "False/DeployFailed: stage prod: deployment failed: Kustomization flux-system/checkout failed", outcome: "Stop",
			check: func(t *testing.T, w *world) {
				if n := rollbacks(w); n != 0 || w.file("prod") != kustomization("1.4.2") {
					t.Errorf("%d rollback commits, prod holds %q", n, w.file("prod"))
				}
				if ps := w.getPipeline().Status.StageStatus("prod"); ps.InFlight != nil {
					t.Errorf("prod still held: %+v", ps.InFlight)
				}
			}},
		{name: "never synced: times out, onFailure applies", policy: releasev1.FailureRollback, state: releasev1.DeploymentOutOfSync, message: "Application argocd/checkout is OutOfSync at abc: waiting for Argo CD to sync it",
			after: 10 * time.Minute, phase: releasev1.StageRolledBack, ready: "False/RolledBack: stage prod: deployment timed out: not deployed within 10m0s of the commit: Application argocd/checkout is OutOfSync",
			outcome: "WaitUntil(2026-11-23T12:10:30Z, Deployed)",
			check: func(t *testing.T, w *world) {
				if n := rollbacks(w); n != 1 {
					t.Errorf("%d rollback commits", n)
				}
				if d := w.get("r").Status.StageStatus("prod").Deployment; d.Reason != releasev1.ReasonDeployTimeout || d.State != releasev1.DeploymentOutOfSync {
					t.Errorf("deployment %+v", d)
				}
			}},
		{name: "agent missing: blocked, never times out", state: releasev1.DeploymentMissing, message: "Application argocd/checkout not found: create it, or fix deployment.argoCD of stage prod",
			after: time.Hour, phase: releasev1.StageDeploying, ready: "False/AgentNotFound: stage prod: Application argocd/checkout not found", outcome: "WaitUntil(2026-11-23T13:00:30Z, Deployed)",
			check: func(t *testing.T, w *world) {
				if got := w.get("r").Status.Phase; got != releasev1.PhaseBlocked {
					t.Errorf("phase %s", got)
				}
				stalledWith(releasev1.ReasonAgentNotFound)(t, w)
				if n := rollbacks(w); n != 0 {
					t.Errorf("%d rollback commits", n)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.pipeline(w.stage("prod", argo, onFailure(tt.policy)))
			w.release("r", "1.4.2")
			out, err := w.reconcile("r")
			if err != nil || out.Waits() != reconcile.WaitDeployed {
				t.Fatalf("landing: %s %v: %s", out, err, w.describe("r"))
			}
			w.agents.set(tt.state, tt.message)
			w.clk.Step(tt.after)
			if out, err = w.reconcile("r"); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.outcome {
				t.Errorf("outcome %s, want %s", out, tt.outcome)
			}
			if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != tt.phase {
				t.Errorf("prod: %s", w.describe("r"))
			}
			if c := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, tt.ready) {
				t.Errorf("Ready %q, want %q…", c, tt.ready)
			}
			if n := len(w.liftoffCommits("r", "prod")) - rollbacks(w); n != 1 {
				t.Errorf("%d promotion commits", n)
			}
			tt.check(t, w)
		})
	}
}

func rollbacks(w *world) int {
	n := 0
	for _, c := range w.liftoffCommits("r", "prod") {
		if strings.Contains(c.Message, "Liftoff-Action: rollback") {
			n++
		}
	}
	return n
}

func lastDeploymentState(w *world, env string) string {
	state := ""
	for _, d := range w.sim.Deployments(appRepo) {
		if d.Environment == env && len(d.Statuses) > 0 {
			state = d.Statuses[len(d.Statuses)-1].State
		}
	}
	return state
}

// The next stage's soak counts from when the version was deployed in the
// previous one, not from its commit.
func TestSoakCountsFromDeployed(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("dev", argo), w.stage("prod", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Soak: &metav1.Duration{Duration: 10 * time.Minute}}
	}))
	w.release("r", "1.4.2")
	w.agents.set(releasev1.DeploymentProgressing, "Application argocd/checkout is Synced at abc, health Progressing")
	w.settle("r", 3)
	w.clk.Step(4 * time.Minute)
	w.agents.set(releasev1.DeploymentDeployed, "Application argocd/checkout is Synced and Healthy at abc")
	out := w.settle("r", 3)
	if out.String() != "WaitFor(30s, Poll)" {
		t.Errorf("outcome %s", out)
	}
	rel := w.get("r")
	dev := rel.Status.StageStatus("dev")
	if dev.Phase != releasev1.StagePromoted || !dev.DeployedAt.Time.Equal(t0.Add(4*time.Minute)) || !dev.CommittedAt.Time.Equal(t0) {
		t.Fatalf("dev: %s", w.describe("r"))
	}
	var soak releasev1.GateStatus
	for _, g := range rel.Status.StageStatus("prod").Gates {
		if g.Name == "soak" {
			soak = g
		}
	}
	if soak.Status != releasev1.GatePending || !strings.Contains(soak.Message, "10m0s left of 10m0s, until 2026-11-23T12:14:00Z") {
		t.Errorf("soak %+v", soak)
	}
	w.clk.Step(6 * time.Minute) // 10 minutes after the commit, 6 after the deployment
	w.settle("r", 2)
	if n := len(w.liftoffCommits("r", "prod")); n != 0 {
		t.Fatalf("prod promoted 6 minutes after dev was deployed: %s", w.describe("r"))
	}
	w.clk.Step(4 * time.Minute)
	w.settle("r", 3)
	if got := w.get("r").Status.Phase; got != releasev1.PhaseReleased {
		t.Errorf("%s", w.describe("r"))
	}
}

// Verify starts once the version is deployed: no measurement before.
func TestVerifyStartsAfterDeployed(t *testing.T) {
	w := newWorld(t)
	w.setProm("0.01")
	w.pipeline(w.stage("prod", argo, verified(releasev1.FailureRollback)))
	w.release("r", "1.4.2")
	w.agents.set(releasev1.DeploymentProgressing, "Application argocd/checkout is Synced at abc, health Progressing")
	w.settle("r", 3)
	w.clk.Step(2 * time.Minute)
	w.settle("r", 1)
	if ss := w.get("r").Status.StageStatus("prod"); ss.Phase != releasev1.StageDeploying || ss.Analysis != nil {
		t.Fatalf("analysis before the deployment: %s", w.describe("r"))
	}
	w.agents.set(releasev1.DeploymentDeployed, "Application argocd/checkout is Synced and Healthy at abc")
	out, err := w.reconcile("r")
	if err != nil || out.Waits() != reconcile.WaitAnalysis {
		t.Fatalf("%s %v: %s", out, err, w.describe("r"))
	}
	ss := w.get("r").Status.StageStatus("prod")
	if ss.Phase != releasev1.StageVerifying || !ss.Analysis.StartedAt.Time.Equal(t0.Add(2*time.Minute)) || !ss.DeployedAt.Time.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("%s: analysis %+v", w.describe("r"), ss.Analysis)
	}
	if st := lastDeploymentState(w, "prod"); st != "in_progress" {
		t.Errorf("GitHub deployment %s while verifying", st)
	}
	// Live from the deployment on; the stage is held until verified.
	if p := w.getPipeline(); p.Status.Live != "prod=1.4.2" || p.Status.Stages[0].InFlight == nil {
		t.Errorf("pipeline while verifying: live %q, %+v", p.Status.Live, p.Status.Stages[0])
	}
	w.settle("r", 6)
	if got := w.get("r").Status.Phase; got != releasev1.PhaseReleased || lastDeploymentState(w, "prod") != "success" {
		t.Errorf("%s", w.describe("r"))
	}
}

// A rollback is followed until the agent applied it; the Release stays
// Failed, and its status says since when the stage is back.
func TestRollbackIsFollowedUntilDeployed(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", argo))
	w.release("r", "1.4.2")
	w.settle("r", 2)
	w.agents.set(releasev1.DeploymentDegraded, "Application argocd/checkout is Degraded at abc: Deployment shop/web: CrashLoopBackOff")
	w.settle("r", 2)
	rb := w.get("r").Status.StageStatus("prod").Rollback
	if rb == nil || rb.Commit == "" {
		t.Fatalf("no rollback: %s", w.describe("r"))
	}
	w.agents.setFunc(func(req agents.Request) agents.ObjectObservation {
		if req.Commits.Commit != rb.Commit {
			t.Errorf("asked about %s, not the rollback %s", req.Commits.Commit, rb.Commit)
		}
		return agents.ObjectObservation{Object: "argocd/checkout", State: releasev1.DeploymentDeployed, Revision: rb.Commit, Message: "Application argocd/checkout is Synced and Healthy at " + rb.Commit[:7]}
	})
	w.clk.Step(time.Minute)
	if out := w.settle("r", 2); out.String() != "Stop" {
		t.Errorf("outcome %s", out)
	}
	rel := w.get("r")
	ss := rel.Status.StageStatus("prod")
	if rel.Status.Phase != releasev1.PhaseFailed || ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("%s", w.describe("r"))
	}
	if ss.Rollback.DeployedAt == nil || !ss.Rollback.DeployedAt.Time.Equal(t0.Add(time.Minute)) ||
		!strings.HasPrefix(ss.Rollback.Message, "1.4.1 is live again in prod since 2026-11-23T12:01:00Z") {
		t.Errorf("rollback %+v", ss.Rollback)
	}
	if !strings.Contains(w.condition("r", releasev1.ConditionReady), "1.4.1 is live again in prod") {
		t.Errorf("Ready %s", w.condition("r", releasev1.ConditionReady))
	}
	if n := rollbacks(w); n != 1 {
		t.Errorf("%d rollback commits", n)
	}
	// Done: the agent is asked no more, and nobody is woken by it.
	asked := len(w.agents.requests)
	w.settle("r", 1)
	if len(w.agents.requests) != asked {
		t.Errorf("the agent was asked again after the rollback was deployed")
	}
	if f := w.agents.forgotten; len(f) == 0 || f[len(f)-1].Name != "r" {
		t.Errorf("forgotten %v", f)
	}
}

// Looking at an agent again costs no GitHub request: the watch answers, and
// Liftoff placed the revision from the commits it wrote.
func TestWaitingCostsNoGitHubRequest(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", argo))
	w.release("r", "1.4.2")
	w.agents.set(releasev1.DeploymentProgressing, "Application argocd/checkout is Synced at abc, health Progressing")
	w.settle("r", 2)
	w.sim.ResetStats()
	writes := w.writes
	for range 5 {
		w.clk.Step(30 * time.Second)
		if out, err := w.reconcile("r"); err != nil || out.Waits() != reconcile.WaitDeployed {
			t.Fatalf("%s %v", out, err)
		}
	}
	if st := w.sim.Requests(); st.Total != 0 {
		t.Errorf("%d GitHub requests while waiting: %v", st.Total, st.ByOperation)
	}
	if w.writes != writes {
		t.Errorf("%d status writes while nothing changed", w.writes-writes)
	}
	// The agent is told what Liftoff knows of the branch.
	req := w.agents.last()
	if req.Commits.Repository != gitopsRepo || req.Commits.Commit != w.get("r").Status.StageStatus("prod").Promotion.Commit || req.GitHub == nil {
		t.Errorf("request %+v", req)
	}
}

// An agent that could not be read gets its whole timeout once it can be.
func TestDeadlineStartsAgainOnceTheAgentCanBeRead(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("prod", argo))
	w.release("r", "1.4.2")
	w.agents.set(releasev1.DeploymentMissing, "Application argocd/checkout not found")
	w.settle("r", 2)
	w.clk.Step(time.Hour)
	w.settle("r", 1)
	w.agents.set(releasev1.DeploymentOutOfSync, "Application argocd/checkout is OutOfSync at abc")
	w.settle("r", 1)
	ss := w.get("r").Status.StageStatus("prod")
	if ss.Phase != releasev1.StageDeploying || !ss.Deployment.Deadline.Time.Equal(t0.Add(70*time.Minute)) || w.get("r").Status.Phase != releasev1.PhaseDeploying {
		t.Fatalf("%s; deployment %+v", w.describe("r"), ss.Deployment)
	}
	if c := w.condition("r", releasev1.ConditionStalled); c != "" {
		t.Errorf("still stalled: %s", c)
	}
	w.clk.Step(10 * time.Minute)
	w.settle("r", 1)
	if c := w.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, "False/RolledBack: stage prod: deployment timed out") {
		t.Errorf("Ready %s", c)
	}
}

// A stage without deployment keeps "committed = live"; a pipeline whose
// stage names an agent the controller cannot read is blocked, not live.
func TestWithoutDeploymentCommittedIsLive(t *testing.T) {
	w := newWorld(t)
	w.pipeline(w.stage("dev"))
	w.release("r", "1.4.2")
	w.settle("r", 2)
	ss := w.get("r").Status.StageStatus("dev")
	if ss.Phase != releasev1.StagePromoted || ss.CommittedAt == nil || ss.DeployedAt == nil || !ss.DeployedAt.Equal(ss.CommittedAt) || ss.Deployment != nil {
		t.Errorf("dev: %+v", ss)
	}
	if len(w.agents.requests) != 0 {
		t.Errorf("the agent was asked about a stage without deployment")
	}

	w2 := newWorld(t)
	w2.engine.Agents = nil
	w2.pipeline(w2.stage("prod", argo))
	w2.release("r", "1.4.2")
	w2.settle("r", 2)
	if c := w2.condition("r", releasev1.ConditionReady); !strings.HasPrefix(c, "False/AgentNotFound: stage prod: this controller reads no GitOps agents") {
		t.Errorf("Ready %s", c)
	}
}
