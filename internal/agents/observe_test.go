package agents_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
)

func argoCD(ns, name string) *releasev1.DeploymentSpec {
	return &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Name: name, Namespace: ns}}
}

func flux(kind releasev1.FluxKind, ns, name string) *releasev1.DeploymentSpec {
	return &releasev1.DeploymentSpec{Flux: &releasev1.FluxDeployment{Kind: kind, Name: name, Namespace: ns}}
}

// An Application goes from not compared to OutOfSync, Progressing and
// Deployed at the promotion commit; Degraded carries Argo CD's message and
// fails the stage.
func TestApplicationFollowedToDeployedAndDegraded(t *testing.T) {
	w := newWorld(t)
	app := w.key("checkout-prod")
	w.g.Expect(w.agent.CreateApplication(w.ctx, app, nil, "https://github.com/acme/gitops", "main", "envs/prod")).To(Succeed())
	spec := argoCD(w.ns, "checkout-prod")

	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentPending), message("has not compared any revision yet")))

	set := func(st agenttest.ArgoStatus) { w.g.Expect(w.agent.SetApplication(w.ctx, app, st)).To(Succeed()) }
	set(agenttest.ArgoStatus{Revision: w.earlier, Sync: "Synced", Health: "Healthy", Operation: "Succeeded"})
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentPending), message("does not contain the commit yet")))

	set(agenttest.ArgoStatus{Revision: w.ours, Sync: "OutOfSync", Health: "Healthy", Operation: "Succeeded"})
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentOutOfSync))

	set(agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Progressing", Operation: "Succeeded", Message: "Waiting for rollout to finish"})
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentProgressing), message("Waiting for rollout to finish")))

	set(agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy", Operation: "Succeeded"})
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentDeployed))
	o, err := w.watcher.Observe(w.ctx, w.request(spec))
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(o.Revision).To(Equal(w.ours))
	w.g.Expect(o.Reason).To(Equal(releasev1.ReasonDeployed))
	committed := time.Now()
	w.g.Expect(agents.Decide(o, spec, committed, committed.Add(time.Minute), time.Minute).Next).To(Equal(agents.NextDeployed))
	st := o.Status(committed)
	w.g.Expect(st.Agent).To(Equal("ArgoCD"))
	w.g.Expect(st.Object).To(Equal(w.ns + "/checkout-prod"))
	w.g.Expect(st.State).To(Equal(releasev1.DeploymentDeployed))

	set(agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Degraded", Operation: "Succeeded", Message: `Deployment "web" exceeded its progress deadline`})
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentDegraded), message(`Deployment shop/web: Deployment "web" exceeded its progress deadline`)))
	o, _ = w.watcher.Observe(w.ctx, w.request(spec))
	d := agents.Decide(o, spec, committed, committed.Add(time.Minute), time.Minute)
	w.g.Expect(d.Next).To(Equal(agents.NextFail))
	w.g.Expect(d.Reason).To(Equal(releasev1.ReasonDeployFailed))

	// No comparison was needed: every revision was one Liftoff knows.
	w.g.Expect(w.sim.Requests().ByOperation[compareOp]).To(BeZero())
}

// An agent already on a later commit of the branch that contains the
// promotion commit has deployed it; the comparison is asked once however
// often the stage is polled.
func TestAgentOnALaterCommitHasDeployedOurs(t *testing.T) {
	w := newWorld(t)
	app := w.key("checkout-prod")
	w.g.Expect(w.agent.CreateApplication(w.ctx, app, nil, "https://github.com/acme/gitops", "main", "envs/prod")).To(Succeed())
	w.g.Expect(w.agent.SetApplication(w.ctx, app, agenttest.ArgoStatus{Revision: w.later, Sync: "Synced", Health: "Healthy", Operation: "Succeeded"})).To(Succeed())
	spec := argoCD(w.ns, "checkout-prod")

	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentDeployed))
	for i := 0; i < 5; i++ {
		w.g.Expect(w.observe(spec)(w.g)).To(And(state(releasev1.DeploymentDeployed), WithTransform(func(o agents.Observation) string { return o.Revision }, Equal(w.later))))
	}
	w.g.Expect(w.sim.Requests().ByOperation[compareOp]).To(Equal(1))

	// A Kustomization on the same later commit needs no new comparison.
	ks := w.key("apps")
	w.g.Expect(w.agent.CreateKustomization(w.ctx, ks, "gitops", "./envs/prod")).To(Succeed())
	rev := agenttest.FluxRevision("main", w.later)
	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, agenttest.FluxStatus{Applied: rev, Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: " + rev})).To(Succeed())
	w.g.Eventually(w.observe(flux(releasev1.FluxKustomization, w.ns, "apps")), wait).Should(state(releasev1.DeploymentDeployed))
	w.g.Expect(w.sim.Requests().ByOperation[compareOp]).To(Equal(1))
}

// A Kustomization is deployed when it applied the commit and is Ready for
// its current generation; a Ready condition of an older generation is not
// enough; a failed health check at the commit fails with Flux's message.
func TestKustomizationReadyForItsGeneration(t *testing.T) {
	w := newWorld(t)
	ks := w.key("apps")
	w.g.Expect(w.agent.CreateKustomization(w.ctx, ks, "gitops", "./envs/prod")).To(Succeed())
	spec := flux(releasev1.FluxKustomization, w.ns, "apps")
	rev := agenttest.FluxRevision("main", w.ours)
	ready := agenttest.FluxStatus{Applied: rev, Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: " + rev}

	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentProgressing), message("not reconciled it yet")))

	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, agenttest.FluxStatus{Applied: agenttest.FluxRevision("main", w.earlier), Attempted: rev,
		Ready: metav1.ConditionUnknown, Reason: "Progressing", Message: "Reconciliation in progress", Reconciling: true})).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentProgressing), message("Reconciliation in progress")))

	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, ready)).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentDeployed), message("Applied revision")))

	// A spec change Flux has not reconciled yet: its Ready is for the
	// previous generation.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(agents.KustomizationKind)
	w.g.Expect(k8s.Get(w.ctx, ks, u)).To(Succeed())
	w.g.Expect(unstructured.SetNestedField(u.Object, "./envs/prod/v2", "spec", "path")).To(Succeed())
	w.g.Expect(k8s.Update(w.ctx, u)).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentProgressing), message("generation 2")))
	stale := ready
	stale.ObservedGeneration = 1
	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, stale)).To(Succeed())
	w.g.Consistently(w.observe(spec), time.Second).Should(state(releasev1.DeploymentProgressing))
	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, ready)).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentDeployed))

	w.g.Expect(w.agent.SetKustomization(w.ctx, ks, agenttest.FluxStatus{Attempted: rev, Ready: metav1.ConditionFalse, Reason: "HealthCheckFailed",
		Message: "timeout waiting for: [Deployment/shop/web status: 'InProgress']"})).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentFailed), message("HealthCheckFailed: timeout waiting for: [Deployment/shop/web")))
}

// A missing object blocks with a message naming it; Applications chosen by
// a selector are deployed only when all of them are.
func TestMissingObjectsAndSelectors(t *testing.T) {
	w := newWorld(t)
	o := w.observe(argoCD(w.ns, "nope"))(w.g)
	w.g.Expect(o).To(And(state(releasev1.DeploymentMissing), message("Application "+w.ns+"/nope not found: create it, or fix deployment.argoCD of stage prod")))
	w.g.Expect(o.Reason).To(Equal(releasev1.ReasonAgentNotFound))
	w.g.Expect(o.Blocked()).To(BeTrue())
	w.g.Expect(w.observe(flux(releasev1.FluxKustomization, w.ns, "apps"))(w.g)).To(And(state(releasev1.DeploymentMissing), message("Kustomization "+w.ns+"/apps not found")))

	bySelector := &releasev1.DeploymentSpec{ArgoCD: &releasev1.ArgoCDDeployment{Namespace: w.ns, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "checkout"}}}}
	w.g.Expect(w.observe(bySelector)(w.g)).To(And(state(releasev1.DeploymentMissing), message("no Application matches "+w.ns+"/app=checkout")))

	labels := map[string]string{"app": "checkout"}
	for _, name := range []string{"checkout-eu", "checkout-us"} {
		w.g.Expect(w.agent.CreateApplication(w.ctx, w.key(name), labels, "https://github.com/acme/gitops", "main", "envs/prod/"+name)).To(Succeed())
	}
	w.g.Expect(w.agent.CreateApplication(w.ctx, w.key("other"), map[string]string{"app": "other"}, "https://github.com/acme/gitops", "main", "envs/other")).To(Succeed())
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-eu"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy"})).To(Succeed())
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-us"), agenttest.ArgoStatus{Revision: w.ours, Sync: "OutOfSync", Health: "Healthy"})).To(Succeed())
	w.g.Eventually(w.observe(bySelector), wait).Should(And(state(releasev1.DeploymentOutOfSync), message("1 of 2 Applications deployed; Application "+w.ns+"/checkout-us is OutOfSync")))
	// While Argo CD syncs one of them, or fails to, the summary says which.
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-us"), agenttest.ArgoStatus{Revision: w.ours, Sync: "OutOfSync", Health: "Healthy",
		Operation: "Running", Message: "waiting for healthy state of apps/Deployment/web"})).To(Succeed())
	w.g.Eventually(w.observe(bySelector), wait).Should(And(state(releasev1.DeploymentProgressing),
		message("1 of 2 Applications deployed; Application "+w.ns+"/checkout-us is syncing "+w.ours[:7]+": waiting for healthy state of apps/Deployment/web")))
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-us"), agenttest.ArgoStatus{Revision: w.ours, Sync: "OutOfSync", Health: "Healthy",
		Operation: "Failed", Message: "one or more objects failed to apply"})).To(Succeed())
	w.g.Eventually(w.observe(bySelector), wait).Should(And(state(releasev1.DeploymentFailed),
		message("1 of 2 Applications deployed; Application "+w.ns+"/checkout-us failed to sync "+w.ours[:7]+": one or more objects failed to apply")))
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-us"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy"})).To(Succeed())
	w.g.Eventually(w.observe(bySelector), wait).Should(state(releasev1.DeploymentDeployed))
}

// A controller that may not read Applications says which RBAC rule to add,
// and reads them as soon as it may.
func TestForbiddenReadNamesTheRBACRule(t *testing.T) {
	needCluster(t)
	user, err := env.AddUser(envtest.User{Name: "liftoff-without-argocd"}, restCfg)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	w := newWorldAs(t, user.Config())
	w.g.Expect(w.agent.CreateApplication(w.ctx, w.key("checkout-prod"), nil, "https://github.com/acme/gitops", "main", "envs/prod")).To(Succeed())
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-prod"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy"})).To(Succeed())
	spec := argoCD(w.ns, "checkout-prod")

	o := w.observe(spec)(w.g)
	w.g.Expect(o).To(And(state(releasev1.DeploymentForbidden),
		message("Application "+w.ns+"/checkout-prod: Liftoff may not list and watch applications.argoproj.io in namespace "+w.ns),
		message("grant the rule {apiGroups: [argoproj.io], resources: [applications], verbs: [get, list, watch]} to the manager's ClusterRole (config/rbac), or to a Role in "+w.ns)))
	w.g.Expect(o.Reason).To(Equal(releasev1.ReasonAgentForbidden))
	w.g.Expect(agents.Decide(o, spec, time.Now().Add(-time.Hour), time.Now(), time.Minute).Next).To(Equal(agents.NextBlocked))

	// The rule the message names, as a Role in the namespace.
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "read-applications"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"applications"}, Verbs: []string{"get", "list", "watch"}}}}
	w.g.Expect(k8s.Create(w.ctx, role)).To(Succeed())
	w.g.Expect(k8s.Create(w.ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "liftoff"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "liftoff-without-argocd"}}})).To(Succeed())
	w.g.Eventually(w.observe(spec), time.Minute).Should(state(releasev1.DeploymentDeployed))
}

// A change of an agent object wakes the Releases waiting on it, and no
// other; a Release that no longer waits is not woken.
func TestAgentChangeWakesTheWaitingRelease(t *testing.T) {
	w := newWorld(t)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	w.g.Expect(w.watcher.Source().Start(w.ctx, q)).To(Succeed())
	for _, name := range []string{"checkout-prod", "payments-prod"} {
		w.g.Expect(w.agent.CreateApplication(w.ctx, w.key(name), nil, "https://github.com/acme/gitops", "main", "envs/"+name)).To(Succeed())
	}
	req := w.request(argoCD(w.ns, "checkout-prod"))
	_, err := w.watcher.Observe(w.ctx, req)
	w.g.Expect(err).NotTo(HaveOccurred())
	drain(q)

	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("payments-prod"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy"})).To(Succeed())
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-prod"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Progressing"})).To(Succeed())
	w.g.Eventually(q.Len, wait).Should(Equal(1))
	item, _ := q.Get()
	w.g.Expect(item.NamespacedName).To(Equal(req.Release))
	q.Done(item)
	w.g.Consistently(q.Len, time.Second).Should(BeZero())

	w.watcher.Forget(req.Release)
	w.g.Expect(w.agent.SetApplication(w.ctx, w.key("checkout-prod"), agenttest.ArgoStatus{Revision: w.ours, Sync: "Synced", Health: "Healthy"})).To(Succeed())
	w.g.Consistently(q.Len, time.Second).Should(BeZero())
}

func drain(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for q.Len() > 0 {
		item, _ := q.Get()
		q.Done(item)
	}
}

// Agents in another cluster are read through a kubeconfig Secret; a
// missing Secret or a kubeconfig that would run a command blocks with what
// to fix.
func TestKubeConfigSecretForAnotherCluster(t *testing.T) {
	needCluster(t)
	// The "other cluster" is the same API server, reached as another user
	// through a kubeconfig with inline credentials.
	user, err := env.AddUser(envtest.User{Name: "remote-reader", Groups: []string{"system:masters"}}, restCfg)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	w := newWorld(t)
	spec := flux(releasev1.FluxKustomization, w.ns, "apps")
	spec.KubeConfigSecretRef = &releasev1.KubeConfigSecretReference{Name: "prod-cluster"}

	o := w.observe(spec)(w.g)
	w.g.Expect(o).To(And(state(releasev1.DeploymentUnknown), message(`Kustomization `+w.ns+`/apps: Secret "prod-cluster" (deployment.kubeConfigSecretRef) not found in namespace `+w.ns+`: create it with the agent cluster's kubeconfig under the key "value"`)))
	w.g.Expect(o.Reason).To(Equal(releasev1.ReasonKubeConfigInvalid))
	w.g.Expect(agents.Decide(o, spec, time.Now(), time.Now(), time.Minute).Next).To(Equal(agents.NextBlocked))

	exec := []byte(`apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: "https://prod.example:6443"}}]
users: [{name: ci, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/token"]}}}]
contexts: [{name: prod, context: {cluster: prod, user: ci}}]
current-context: prod
`)
	w.g.Expect(k8s.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "exec-cluster"}, Data: map[string][]byte{"value": exec}})).To(Succeed())
	spec.KubeConfigSecretRef.Name = "exec-cluster"
	w.g.Expect(w.observe(spec)(w.g)).To(And(state(releasev1.DeploymentUnknown), message(`user "ci" uses an exec plugin, which Liftoff does not run`)))

	w.g.Expect(k8s.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "prod-cluster"}, Data: map[string][]byte{"value": kubeconfig}})).To(Succeed())
	spec.KubeConfigSecretRef.Name = "prod-cluster"
	w.g.Expect(w.observe(spec)(w.g)).To(And(state(releasev1.DeploymentMissing), message("Kustomization "+w.ns+"/apps not found in the cluster of Secret prod-cluster")))
	w.g.Expect(w.agent.CreateKustomization(w.ctx, w.key("apps"), "gitops", "./envs/prod")).To(Succeed())
	rev := agenttest.FluxRevision("main", w.ours)
	w.g.Expect(w.agent.SetKustomization(w.ctx, w.key("apps"), agenttest.FluxStatus{Applied: rev, Ready: metav1.ConditionTrue, Reason: "ReconciliationSucceeded", Message: "Applied revision: " + rev})).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentDeployed),
		WithTransform(func(o agents.Observation) string { return o.Cluster }, Equal("prod-cluster"))))
}

// A cluster without Flux's HelmRelease kind blocks a stage that names one
// (and starts no watch); once the CRD is installed, the HelmRelease is read.
func TestHelmReleaseKindInstalledLater(t *testing.T) {
	w := newWorld(t)
	spec := flux(releasev1.FluxHelmRelease, w.ns, "web")
	w.g.Expect(w.observe(spec)(w.g)).To(And(state(releasev1.DeploymentMissing),
		message("HelmRelease "+w.ns+"/web: the cluster has no HelmRelease (helm.toolkit.fluxcd.io/v2): install Flux there, or fix the stage's deployment")))

	_, err := envtest.InstallCRDs(restCfg, envtest.CRDInstallOptions{Paths: []string{filepath.Join(crdDir, "helm.toolkit.fluxcd.io_helmreleases.yaml")}})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(w.agent.CreateHelmRelease(w.ctx, w.key("web"), "gitops", "./charts/web")).To(Succeed())
	w.g.Eventually(w.observe(spec), time.Minute).Should(state(releasev1.DeploymentProgressing))

	version := agenttest.ChartVersion("0.1.0", w.ours[:12])
	w.g.Expect(w.agent.SetHelmRelease(w.ctx, w.key("web"), agenttest.FluxStatus{Applied: version, Ready: metav1.ConditionTrue, Reason: "UpgradeSucceeded", Message: "Helm upgrade succeeded"})).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentDeployed))
	w.g.Expect(w.agent.SetHelmRelease(w.ctx, w.key("web"), agenttest.FluxStatus{Attempted: version, Ready: metav1.ConditionFalse, Reason: "UpgradeFailed",
		Message: "Helm upgrade failed for release shop/web: context deadline exceeded"})).To(Succeed())
	w.g.Eventually(w.observe(spec), wait).Should(And(state(releasev1.DeploymentFailed), message("UpgradeFailed: Helm upgrade failed")))
}

// Rollout plays the playground's deployer: Progressing, then Healthy.
func TestRolloutPlaysTheAgent(t *testing.T) {
	w := newWorld(t)
	w.g.Expect(w.agent.CreateApplication(w.ctx, w.key("checkout-dev"), nil, "https://github.com/acme/gitops", "main", "envs/dev")).To(Succeed())
	ctx, cancel := context.WithTimeout(w.ctx, wait)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- w.agent.Rollout(ctx, agents.ApplicationKind.Kind, w.key("checkout-dev"), "main", w.ours, 2*time.Second)
	}()
	spec := argoCD(w.ns, "checkout-dev")
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentProgressing))
	w.g.Eventually(w.observe(spec), wait).Should(state(releasev1.DeploymentDeployed))
	w.g.Expect(<-done).To(Succeed())
}
