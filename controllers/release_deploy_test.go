package controllers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// The stages of these tests are deployed by Argo CD Applications or Flux
// Kustomizations in the test's namespace, real objects of the agents' own
// CRDs whose status the test writes as the agents do.

// argoCD: the stage is deployed by Application app in the test's namespace.
func (e *testEnv) argoCD(app string, timeout time.Duration) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		s.Deployment = &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: app, Namespace: e.ns}}
		if timeout > 0 {
			s.Deployment.Timeout = &metav1.Duration{Duration: timeout}
		}
	}
}

// flux: the stage is deployed by Kustomization ks in the test's namespace.
func (e *testEnv) flux(ks string, timeout time.Duration) func(*releasev1.Stage) {
	return func(s *releasev1.Stage) {
		s.Deployment = &releasev1.DeploymentSpec{Flux: &releasev1.FluxDeployment{Kind: releasev1.FluxKustomization, Name: ks, Namespace: e.ns}}
		if timeout > 0 {
			s.Deployment.Timeout = &metav1.Duration{Duration: timeout}
		}
	}
}

func (e *testEnv) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: e.ns, Name: name}
}

func (e *testEnv) agent() *agenttest.Agent { return &agenttest.Agent{Client: k8s} }

func (e *testEnv) application(name string) {
	e.t.Helper()
	NewWithT(e.t).Expect(e.agent().CreateApplication(context.Background(), e.key(name), nil, "https://github.com/acme/gitops", "main", "envs")).To(Succeed())
}

func (e *testEnv) kustomization(name string) {
	e.t.Helper()
	NewWithT(e.t).Expect(e.agent().CreateKustomization(context.Background(), e.key(name), "gitops", "./envs")).To(Succeed())
}

// setApp writes an Application's status as Argo CD does.
func (e *testEnv) setApp(name string, st agenttest.ArgoStatus) {
	e.t.Helper()
	NewWithT(e.t).Expect(e.agent().SetApplication(context.Background(), e.key(name), st)).To(Succeed())
}

// stageStatus reads a stage's status for Eventually.
func (e *testEnv) stageStatus(name, stage string) func() releasev1.ReleaseStageStatus {
	return func() releasev1.ReleaseStageStatus {
		if ss := e.get(name).Status.StageStatus(stage); ss != nil {
			return *ss
		}
		return releasev1.ReleaseStageStatus{}
	}
}

func deploymentState(s releasev1.DeploymentState) OmegaMatcher {
	return WithTransform(func(ss releasev1.ReleaseStageStatus) releasev1.DeploymentState {
		if ss.Deployment == nil {
			return ""
		}
		return ss.Deployment.State
	}, Equal(s))
}

func deploymentMessage(sub string) OmegaMatcher {
	return WithTransform(func(ss releasev1.ReleaseStageStatus) string {
		if ss.Deployment == nil {
			return ""
		}
		return ss.Deployment.Message
	}, ContainSubstring(sub))
}

func (e *testEnv) commitIn(name, stage string) string {
	return e.get(name).Status.StageStatus(stage).Promotion.Commit
}

// deploying waits until the Release's version landed in stage and waits for
// its agent, and returns the promotion commit.
func (e *testEnv) deploying(name, stage string) string {
	e.t.Helper()
	NewWithT(e.t).Eventually(e.stagePhase(name, stage), timeout, interval).Should(Equal(releasev1.StageDeploying))
	return e.commitIn(name, stage)
}

func deploymentStates(e *testEnv, env string) []string {
	var out []string
	for _, d := range e.sim.Deployments(appRepo) {
		if d.Environment == env {
			for _, s := range d.Statuses {
				out = append(out, s.State)
			}
		}
	}
	return out
}

// Argo CD takes 20 minutes to roll dev out: the Release waits, dev counts
// as live from then, and staging's soak counts from then too.
func TestDeployedAfterADelaySoakCountsFromDeployed(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second)) // status times have second precision
	e := newEnv(t, withClock(clk))
	e.application("checkout-dev")
	e.pipeline(e.stage("dev", e.argoCD("checkout-dev", time.Hour)), e.stage("staging", func(s *releasev1.Stage) {
		s.Gates = &releasev1.Gates{Soak: &metav1Duration{Duration: time.Hour}}
	}))
	committed := clk.Now()
	e.release("r", "1.4.2")

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseDeploying))
	g.Eventually(e.stageStatus("r", "dev"), timeout, interval).Should(deploymentMessage("has not compared any revision yet"))
	ss := e.get("r").Status.StageStatus("dev")
	g.Expect(ss.Phase).To(Equal(releasev1.StageDeploying))
	g.Expect(ss.CommittedAt.Time).To(BeTemporally("==", committed))
	g.Expect(ss.DeployedAt).To(BeNil())
	g.Expect(ss.Deployment.Deadline.Time).To(BeTemporally("==", committed.Add(time.Hour)))
	commit := ss.Promotion.Commit

	// Argo CD syncs the commit; its pods roll out. Each change of the
	// Application is seen at once, and costs no GitHub request.
	e.sim.ResetStats()
	for _, msg := range []string{"0 of 2 updated replicas are available", "1 of 2 updated replicas are available"} {
		e.setApp("checkout-dev", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Progressing", Operation: "Succeeded",
			Message: "Waiting for rollout to finish: " + msg + "..."})
		g.Eventually(e.stageStatus("r", "dev"), timeout, interval).Should(And(deploymentState(releasev1.DeploymentProgressing), deploymentMessage(msg)))
	}
	g.Expect(e.get("r").Status.StageStatus("dev").Message).To(ContainSubstring("waiting until " + committed.Add(time.Hour).UTC().Format(time.RFC3339) + " for it to be deployed: Application " + e.ns + "/checkout-dev is Synced at " + github.ShortSHA(commit) + ", health Progressing"))
	g.Consistently(func() int { return e.sim.Requests().Total }, time.Second, 100*time.Millisecond).Should(BeZero(), "polls of a waiting stage cost no GitHub request")
	g.Expect(e.liftoffCommits("r", "staging")).To(BeEmpty())
	g.Expect(deploymentStates(e, "dev")).To(Equal([]string{"in_progress"}))

	clk.Step(20 * time.Minute)
	e.setApp("checkout-dev", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced (all tasks run)"})
	g.Eventually(e.stagePhase("r", "dev"), timeout, interval).Should(Equal(releasev1.StagePromoted))
	ss = e.get("r").Status.StageStatus("dev")
	g.Expect(ss.DeployedAt.Time).To(BeTemporally("==", committed.Add(20*time.Minute)))
	g.Expect(ss.Deployment.State).To(Equal(releasev1.DeploymentDeployed))
	g.Expect(ss.Deployment.Revision).To(Equal(commit))
	g.Expect(deploymentStates(e, "dev")).To(Equal([]string{"in_progress", "success"}))

	// The soak counts from the deployment: an hour after it, not after the commit.
	g.Eventually(e.gate("r", "staging", "soak"), timeout, interval).Should(ContainSubstring("soaking in dev: 1h0m0s left"))
	clk.Step(59 * time.Minute) // 79 minutes after the commit
	g.Eventually(e.gate("r", "staging", "soak"), timeout, interval).Should(ContainSubstring("1m0s left"))
	g.Expect(e.liftoffCommits("r", "staging")).To(BeEmpty())
	clk.Step(time.Minute)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Eventually(func() []string { return eventReasons(e, "r") }, timeout, interval).Should(ContainElements("Deploying", "Deployed", "Released"))
}

// Argo CD reports prod Degraded: the stage fails with Argo CD's words, one
// rollback commit writes the previous version back, and the rollback is
// followed until Argo CD applied it.
func TestDegradedIsRolledBackAndTheRollbackFollowed(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.application("checkout-prod")
	e.pipeline(e.stage("dev"), e.stage("prod", e.argoCD("checkout-prod", 0), func(s *releasev1.Stage) {
		s.Postmortem = &releasev1.PostmortemSpec{Labels: []string{"postmortem"}}
	}))
	e.release("r", "1.4.2")
	commit := e.deploying("r", "prod")
	e.setApp("checkout-prod", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: "Degraded", Operation: "Succeeded",
		Message: `Deployment "web" exceeded its progress deadline`})

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.Phase).To(Equal(releasev1.StageRolledBack))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(HavePrefix("False/RolledBack: stage prod: deployment failed: Application " + e.ns +
		"/checkout-prod is Degraded at " + github.ShortSHA(commit) + `: Deployment shop/web: Deployment "web" exceeded its progress deadline; rolled back to 1.4.1: commit`))
	g.Expect(ss.Deployment.Reason).To(Equal(releasev1.ReasonDeployFailed))
	g.Expect(ss.DeployedAt).To(BeNil())
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.1"`))
	rb := ss.Rollback
	g.Expect(rb.DeployedAt).To(BeNil())
	g.Expect(rb.Message).To(ContainSubstring("1.4.1 written back (commit " + github.ShortSHA(rb.Commit) + ")"))

	// Argo CD syncs the rollback commit and rolls the pods back.
	e.setApp("checkout-prod", agenttest.ArgoStatus{Revision: rb.Commit, Sync: "Synced", Health: "Progressing", Operation: "Succeeded", Message: "Waiting for rollout to finish"})
	g.Eventually(func() releasev1.DeploymentState {
		if d := e.get("r").Status.StageStatus("prod").Rollback.Deployment; d != nil {
			return d.State
		}
		return ""
	}, timeout, interval).Should(Equal(releasev1.DeploymentProgressing))
	g.Expect(e.get("r").Status.StageStatus("prod").Rollback.DeployedAt).To(BeNil())
	e.setApp("checkout-prod", agenttest.ArgoStatus{Revision: rb.Commit, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced"})
	g.Eventually(func() *metav1.Time { return e.get("r").Status.StageStatus("prod").Rollback.DeployedAt }, timeout, interval).ShouldNot(BeNil())
	rel := e.get("r")
	g.Expect(rel.Status.Phase).To(Equal(releasev1.PhaseFailed))
	g.Expect(rel.Status.StageStatus("prod").Rollback.Message).To(HavePrefix("1.4.1 is live again in prod since "))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(ContainSubstring("1.4.1 is live again in prod since "))

	g.Consistently(func() int { return rollbackCommits(e) }, time.Second, 100*time.Millisecond).Should(Equal(1), "exactly one rollback commit")
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(2))
	g.Expect(deploymentStates(e, "prod")).To(Equal([]string{"in_progress", "failure"}))
	issues := e.sim.Issues(appRepo)
	g.Expect(issues).To(HaveLen(1))
	g.Expect(issues[0].Title).To(ContainSubstring("checkout 1.4.2 failed to deploy in prod"))
	g.Eventually(func() []string { return eventReasons(e, "r") }, timeout, interval).Should(ContainElements("Deploying", "DeployFailed", "RolledBack", "Deployed"))
	g.Expect(eventMessages(e)).To(ContainSubstring("rollback deployed: 1.4.1 is live again in prod"))
}

// Flux never applies the commit: after the timeout the stage fails with
// the reason and Flux's last word; Halt keeps the version.
func TestNeverDeployedTimesOut(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, withClock(clk))
	e.kustomization("checkout-prod")
	// Flux is on the environments' first commit, before Liftoff's.
	first, _ := e.sim.BranchHead(gitopsRepo, "main")
	g.Expect(e.agent().SetKustomization(context.Background(), e.key("checkout-prod"), agenttest.FluxStatus{
		Applied: agenttest.FluxRevision("main", first), Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:" + first,
	})).To(Succeed())
	e.pipeline(e.stage("prod", e.flux("checkout-prod", 5*time.Minute), func(s *releasev1.Stage) { s.OnFailure = releasev1.FailureHalt }))
	e.release("r", "1.4.2")

	g.Eventually(e.stageStatus("r", "prod"), timeout, interval).Should(And(deploymentState(releasev1.DeploymentPending),
		deploymentMessage("Kustomization "+e.ns+"/checkout-prod is at main@sha1:"+first+" (Ready=True ReconciliationSucceeded), which does not contain the commit yet")))
	g.Expect(e.sim.Requests().ByRepository[gitopsRepo]["GET /repos/{owner}/{repo}/compare/{basehead...}"]).To(Equal(1), "Flux's revision is placed once")
	clk.Step(5 * time.Minute)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(HavePrefix("False/DeployTimeout: stage prod: deployment timed out: not deployed within 5m0s of the commit: Kustomization " + e.ns + "/checkout-prod is at main@sha1:" + first))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.Phase).To(Equal(releasev1.StageFailed))
	g.Expect(ss.Deployment.Reason).To(Equal(releasev1.ReasonDeployTimeout))
	g.Expect(ss.Message).To(HaveSuffix("halted with 1.4.2 in prod"))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))
	g.Expect(rollbackCommits(e)).To(BeZero())
	g.Eventually(func() []string { return eventReasons(e, "r") }, timeout, interval).Should(ContainElement("DeployTimeout"))
	g.Expect(e.sim.Requests().ByRepository[gitopsRepo]["GET /repos/{owner}/{repo}/compare/{basehead...}"]).To(Equal(1), "Flux's revision is placed once")
}

// Argo CD's sync of the commit hangs: the stage's message, the Ready
// condition, the timeout and its event say which Application is stuck.
func TestStuckSyncNamesTheApplication(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, withClock(clk))
	e.application("checkout-prod")
	e.pipeline(e.stage("prod", e.argoCD("checkout-prod", 5*time.Minute), func(s *releasev1.Stage) { s.OnFailure = releasev1.FailureHalt }))
	e.release("r", "1.4.2")
	commit := e.deploying("r", "prod")

	e.setApp("checkout-prod", agenttest.ArgoStatus{Revision: commit, Sync: "OutOfSync", Health: "Healthy", Operation: "Running",
		Message: "waiting for completion of hook batch/Job/migrate"})
	stuck := "Application " + e.ns + "/checkout-prod is syncing " + commit[:7] + ": waiting for completion of hook batch/Job/migrate"
	g.Eventually(e.stageStatus("r", "prod"), timeout, interval).Should(And(deploymentState(releasev1.DeploymentProgressing), deploymentMessage(stuck)))
	g.Expect(e.get("r").Status.StageStatus("prod").Message).To(HaveSuffix("to be deployed: " + stuck))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(ContainSubstring(stuck))

	clk.Step(5 * time.Minute)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	g.Expect(e.condition("r", releasev1.ConditionReady)()).To(HavePrefix("False/DeployTimeout: stage prod: deployment timed out: not deployed within 5m0s of the commit: " + stuck))
	g.Eventually(func() string { return eventMessages(e) }, timeout, interval).Should(ContainSubstring("not deployed within 5m0s of the commit: " + stuck))
}

// Argo CD is already on a later commit of the branch, someone else's, that
// contains Liftoff's: the version is deployed.
func TestAgentOnALaterCommitThatContainsOurs(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.application("checkout-dev")
	e.pipeline(e.stage("dev", e.argoCD("checkout-dev", 0)))
	e.release("r", "1.4.2")
	e.deploying("r", "dev")
	later, err := e.sim.CommitFiles(gitopsRepo, "main", map[string]string{"README.md": "# environments\n"}, "Docs")
	g.Expect(err).NotTo(HaveOccurred())
	e.setApp("checkout-dev", agenttest.ArgoStatus{Revision: later, Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced"})
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	d := e.get("r").Status.StageStatus("dev").Deployment
	g.Expect(d.State).To(Equal(releasev1.DeploymentDeployed))
	g.Expect(d.Revision).To(Equal(later))
	g.Expect(e.sim.Requests().ByRepository[gitopsRepo]["GET /repos/{owner}/{repo}/compare/{basehead...}"]).To(Equal(1))
}

// The Application does not exist: the Release is blocked with what to do,
// nothing goes further, and it never times out; once created and healthy,
// the Release goes on.
func TestMissingAgentBlocks(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	e := newEnv(t, withClock(clk))
	e.pipeline(e.stage("dev", e.argoCD("checkout-dev", time.Minute)), e.stage("prod"))
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionReady), timeout, interval).Should(Equal(
		"False/AgentNotFound: stage dev: Application " + e.ns + "/checkout-dev not found: create it, or fix deployment.argoCD of stage dev"))
	g.Expect(e.phase("r")()).To(Equal(releasev1.PhaseBlocked))
	g.Expect(e.condition("r", releasev1.ConditionStalled)()).To(HavePrefix("True/AgentNotFound"))
	g.Expect(e.stagePhase("r", "dev")()).To(Equal(releasev1.StageDeploying))
	// Long past its timeout: still blocked, not failed.
	clk.Step(time.Hour)
	g.Consistently(e.phase("r"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.PhaseBlocked))
	g.Expect(e.liftoffCommits("r", "prod")).To(BeEmpty())
	g.Expect(eventReasons(e, "r")).To(ContainElement("AgentNotFound"))

	// Once it can be read, the agent gets its whole timeout from then.
	e.application("checkout-dev")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseDeploying))
	g.Expect(e.get("r").Status.StageStatus("dev").Deployment.Deadline.Time).To(BeTemporally("==", clk.Now().Add(time.Minute)))
	e.setApp("checkout-dev", agenttest.ArgoStatus{Revision: e.commitIn("r", "dev"), Sync: "Synced", Health: "Healthy", Operation: "Succeeded", Message: "successfully synced"})
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
}

// The controller restarts while Flux applies the commit: the new one
// goes on waiting, commits nothing again, and sees the deployment.
func TestRestartWhileWaitingForTheAgent(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.kustomization("checkout-prod")
	e.pipeline(e.stage("prod", e.flux("checkout-prod", 0)))
	e.release("r", "1.4.2")
	commit := e.deploying("r", "prod")
	ks := e.key("checkout-prod")
	g.Expect(e.agent().SetKustomization(context.Background(), ks, agenttest.FluxStatus{
		Attempted: agenttest.FluxRevision("main", commit), Ready: metav1.ConditionUnknown, Reason: "Progressing", Message: "Reconciliation in progress", Reconciling: true,
	})).To(Succeed())
	g.Eventually(e.stageStatus("r", "prod"), timeout, interval).Should(deploymentState(releasev1.DeploymentProgressing))

	e.restart(nil)
	g.Consistently(e.stagePhase("r", "prod"), time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageDeploying))
	g.Expect(e.agent().SetKustomization(context.Background(), ks, agenttest.FluxStatus{
		Applied: agenttest.FluxRevision("main", commit), Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:" + commit,
	})).To(Succeed())
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	ss := e.get("r").Status.StageStatus("prod")
	g.Expect(ss.Deployment.Agent).To(Equal("Flux"))
	g.Expect(ss.Deployment.Message).To(Equal("Kustomization " + e.ns + "/checkout-prod applied " + commit + " and is Ready: Applied revision: main@sha1:" + commit))
	g.Expect(e.liftoffCommits("r", "prod")).To(HaveLen(1), "no second commit after the restart")
	g.Expect(e.sim.Deployments(appRepo)).To(HaveLen(1))
	g.Expect(strings.Join(deploymentStates(e, "prod"), ",")).To(Equal("in_progress,success"))
}

// The pipeline's status.live (kubectl get's LIVE column) shows what Argo CD
// deployed in prod: the version before while Argo CD has not applied the
// commit (before Liftoff's first promotion, the one prod's GitOps file
// held), the new one once it has, and after a rollback the version written
// back once Argo CD applied it. dev has no deployment: committed is live.
// Before any promotion each stage runs what its files hold.
func TestPipelineLiveIsWhatTheAgentDeployed(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.application("checkout-prod")
	e.pipeline(e.stage("dev"), e.stage("prod", e.argoCD("checkout-prod", 0)))
	live := func() string { return e.getPipeline().Status.Live }
	prod := func() releasev1.PipelineStageStatus { return *e.getPipeline().Status.StageStatus("prod") }
	argo := func(commit, health string) {
		e.setApp("checkout-prod", agenttest.ArgoStatus{Revision: commit, Sync: "Synced", Health: health, Operation: "Succeeded", Message: "Waiting for rollout to finish"})
	}

	// Before any promotion, what the GitOps files hold runs.
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.1 prod=1.4.1"), "the files say 1.4.1 before Liftoff promoted anything")
	g.Expect(prod().Live.Origin).To(Equal(releasev1.LiveFromGitOpsFiles))

	e.release("r1", "1.4.2")
	c1 := e.deploying("r1", "prod")
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.2 prod=1.4.1 (1.4.2 committed)"), "prod's file said 1.4.1: it runs there")
	found := prod().Live
	g.Expect(found).NotTo(BeNil())
	g.Expect([]string{found.Version, found.Release, string(found.Origin)}).To(Equal([]string{"1.4.1", "", string(releasev1.LiveFromGitOpsFiles)}))
	argo(c1, "Healthy")
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.2 prod=1.4.2"))

	e.commitTagged("v1.4.3")
	e.release("r2", "1.4.3")
	c2 := e.deploying("r2", "prod")
	argo(c2, "Progressing")
	g.Eventually(e.stageStatus("r2", "prod"), timeout, interval).Should(deploymentState(releasev1.DeploymentProgressing))
	g.Expect(live()).To(Equal("dev=1.4.3 prod=1.4.2 (1.4.3 committed)"), "1.4.2 runs while Argo CD rolls 1.4.3 out")
	g.Expect(prod().Live.Commit).To(Equal(c1))
	argo(c2, "Healthy")
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.3 prod=1.4.3"))
	g.Eventually(e.phase("r2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	ps := prod()
	g.Expect(ps.Live.Commit).To(Equal(c2))
	g.Expect(ps.DeployedAt.Time).To(BeTemporally("==", e.get("r2").Status.StageStatus("prod").DeployedAt.Time))

	// 1.4.4 fails to deploy: the rollback writes 1.4.3 back; 1.4.3 is live
	// again once Argo CD applied the rollback commit.
	e.commitTagged("v1.4.4")
	e.release("r3", "1.4.4")
	c3 := e.deploying("r3", "prod")
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.4 prod=1.4.3 (1.4.4 committed)"))
	argo(c3, "Degraded")
	g.Eventually(e.phase("r3"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	rb := e.get("r3").Status.StageStatus("prod").Rollback
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.4 prod=1.4.3 (1.4.3 committed)"))
	ps = prod()
	g.Expect(ps.Release).To(Equal("r2"), "the version written back is r2's")
	g.Expect(ps.Commit).To(Equal(rb.Commit))
	argo(rb.Commit, "Healthy")
	g.Eventually(live, timeout, interval).Should(Equal("dev=1.4.4 prod=1.4.3"))
	g.Eventually(func() *metav1.Time { return e.get("r3").Status.StageStatus("prod").Rollback.DeployedAt }, timeout, interval).ShouldNot(BeNil())
	ps = prod()
	g.Expect(ps.Live.Commit).To(Equal(rb.Commit))
	g.Expect(ps.Live.Release).To(Equal("r2"))
	g.Expect(ps.DeployedAt.Time).To(BeTemporally("==", e.get("r3").Status.StageStatus("prod").Rollback.DeployedAt.Time))
}
