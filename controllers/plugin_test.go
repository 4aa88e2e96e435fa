package controllers_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

var (
	pluginOnce sync.Once
	pluginDir  string
	pluginErr  error
)

// kubectlAs runs `kubectl ARGS...` as user, with the plugin on PATH, and
// returns its combined output and whether it succeeded.
func (e *testEnv) kubectlAs(user string, groups []string, args ...string) (string, bool) {
	e.t.Helper()
	out, err := e.kubectlCmd(user, groups, args...).CombinedOutput()
	return string(out), err == nil
}

// kubectlCmd prepares `kubectl ARGS...` as user, with the plugin on PATH.
func (e *testEnv) kubectlCmd(user string, groups []string, args ...string) *exec.Cmd {
	e.t.Helper()
	pluginOnce.Do(func() {
		if pluginDir, pluginErr = os.MkdirTemp("", "liftoff-plugin"); pluginErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "kubectl-liftoff"), "../cmd/kubectl-liftoff").CombinedOutput()
		if err != nil {
			pluginErr = err
			e.t.Log(string(out))
		}
	})
	if pluginErr != nil {
		e.t.Fatalf("building the plugin: %v", pluginErr)
	}
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		e.t.Fatalf("kubectl is built with the control plane (hack/build-control-plane.sh): %v", err)
	}
	u, err := env.AddUser(envtest.User{Name: user, Groups: groups}, restCfg)
	if err != nil {
		e.t.Fatal(err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		e.t.Fatal(err)
	}
	cfgFile := filepath.Join(e.t.TempDir(), "kubeconfig")
	if err := os.WriteFile(cfgFile, kc, 0o600); err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(kubectl, args...)
	cmd.Env = append(os.Environ(), "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+cfgFile)
	return cmd
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The plugin, run by kubectl as a real plugin: approve, sign off, read the
// status tree, give a verdict; refusals come back with the webhook's reason.
func TestKubectlPlugin(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	g.Expect(k8s.Create(context.Background(), &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: e.ns},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}},
		}},
	})).To(Succeed())
	e.pipeline(e.stage("dev"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}, LaunchChecklist: true}
	}))
	carol := e.approver("carol")
	g.Expect(carol.Create(context.Background(), &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: e.ns},
		Spec:       releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.2", LaunchChecklist: "launch"},
	})).To(Succeed())
	g.Eventually(e.gate("r", "prod", "approvals"), timeout, interval).Should(ContainSubstring("0 of 1 approvals"))
	e.approver("ann")
	e.grant("ann", []string{"launchchecklists"}, "get")
	e.grant("sue", []string{"launchchecklists"}, "get", "update", releasev1.VerbSignOff)

	// Someone watches the status while the others approve and sign off.
	watch := e.kubectlCmd("ann", nil, "liftoff", "status", "release/r", "--watch", "-n", e.ns)
	watched := &syncBuffer{}
	watch.Stdout, watch.Stderr = watched, watched
	g.Expect(watch.Start()).To(Succeed())
	defer func() { _ = watch.Process.Kill() }()
	g.Eventually(watched.String, timeout, interval).Should(ContainSubstring("approvals        ⧗ 0 of 1 approvals"))

	out, ok := e.kubectlAs("carol", nil, "liftoff", "approve", "release/r", "--stage", "prod", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring("carol created this Release and cannot approve it"))

	out, ok = e.kubectlAs("ann", nil, "liftoff", "approve", "release/r", "--stage", "prod", "--comment", "change window agreed", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(Equal("release/r approved for prod by ann\n"))

	out, ok = e.kubectlAs("sue", []string{"security"}, "liftoff", "signoff", "launchchecklist/launch", "--item", "security-review", "--comment", "pen test passed", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(Equal("launchchecklist/launch item security-review: approved by sue\n"))
	out, ok = e.kubectlAs("sue", []string{"security"}, "liftoff", "signoff", "lc/launch", "--item", "nope", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring(`no item "nope" in this checklist (items: security-review)`))

	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	// The watch printed each change, down to the release; Ctrl-C ends it cleanly.
	g.Eventually(watched.String, timeout, interval).Should(ContainSubstring("Phase:      ✔ Released"))
	g.Expect(watched.String()).To(ContainSubstring("CHECKLIST  launch: not ready, 0/1 done"))
	g.Expect(watch.Process.Signal(os.Interrupt)).To(Succeed())
	g.Expect(watch.Wait()).To(Succeed())

	out, ok = e.kubectlAs("ann", nil, "liftoff", "status", "release/r", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	for _, want := range []string{
		"Phase:      ✔ Released",
		"├─ dev        ✔ Promoted",
		"└─ prod       ✔ Promoted",
		"approvals        ✔ 1 of 1 approvals (ann)",
		"launchChecklist  ✔ checklist launch ready: 1 of 1 done or waived",
		"CHECKLIST  launch: ready, 1/1 done",
		"└─ Security     security-review      ✔ Done     approved by sue: pen test passed",
	} {
		g.Expect(out).To(ContainSubstring(want))
	}

	out, ok = e.kubectlAs("ann", nil, "liftoff", "verdict", "release/r", "continue", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(e.get("r").Annotations).To(HaveKeyWithValue("release.liftoff.dev/verdict", "continue"))
	out, ok = e.kubectlAs("ann", nil, "liftoff", "verdict", "release/r", "maybe", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(strings.TrimSpace(out)).To(Equal("error: usage: kubectl liftoff verdict release/NAME continue|rollback"))
}

// Rollback on demand from kubectl: who asked is stamped, the refusal of a
// user without the verb says what to fix, and resume lets releases in again.
func TestKubectlPluginRollback(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	hook := newTestReceiver(t)
	e.receiverSecret("hook", hook.url(), "whsec-test")
	e.pipeline(e.stage("dev"), e.stage("prod"))
	e.notification("incidents", func(s *releasev1.ReleaseNotificationSpec) {
		s.Events = []releasev1.NotificationEvent{releasev1.EventRolledBack}
		s.Receivers = []releasev1.NotificationReceiver{{Name: "hook", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "hook"}}}
	})
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	e.grant("lee", []string{"releasepipelines"}, "get", "update", releasev1.VerbRollback)
	e.grant("lee", []string{"releases"}, "get")
	e.grant("dave", []string{"releasepipelines"}, "get", "update")

	out, ok := e.kubectlAs("dave", nil, "liftoff", "rollback", "pipeline/checkout", "--stage", "prod", "--reason", "errors", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring(`dave may not rollback releasepipelines/checkout in namespace ` + e.ns + `: an admin must grant the verb "rollback"`))
	out, ok = e.kubectlAs("lee", nil, "liftoff", "rollback", "pipeline/checkout", "--stage", "prod", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(strings.TrimSpace(out)).To(Equal(`error: rollback needs --stage and --reason: for example --stage prod --reason "errors since 14:00"`))
	out, ok = e.kubectlAs("lee", nil, "liftoff", "rollback", "rp/checkout", "--stage", "prod", "--to", "1.0.0", "--reason", "errors", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring("prod never ran 1.0.0 per its promotion history: roll back to one of 1.4.1"))

	out, ok = e.kubectlAs("lee", nil, "liftoff", "rollback", "pipeline/checkout", "--stage", "prod", "--reason", "errors since 14:00", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(Equal("pipeline/checkout: rollback 0 of prod to 1.4.1 asked by lee; releases hold before prod until: kubectl liftoff resume pipeline/checkout --stage prod\n"))
	g.Eventually(e.stagePhase("r", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	out, ok = e.kubectlAs("lee", nil, "liftoff", "status", "release/r", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(ContainSubstring("lee asked for a rollback: errors since 14:00; rolled back to 1.4.1"))
	// The rolled-back notification says who asked and why.
	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(Equal([]string{"RolledBack prod"}), "%+v", e.notificationStatus("incidents"))
	var sent struct{ Title, Text string }
	g.Expect(json.Unmarshal(hook.accepted()[0], &sent)).To(Succeed())
	g.Expect(sent.Title).To(Equal("checkout 1.4.2 rolled back in prod to 1.4.1"))
	g.Expect(sent.Text).To(HavePrefix("lee asked for a rollback: errors since 14:00; rolled back to 1.4.1: commit "))

	out, ok = e.kubectlAs("lee", nil, "liftoff", "resume", "pipeline/checkout", "--stage", "prod", "--comment", "fixed", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(Equal("pipeline/checkout: prod resumed by lee\n"))
	out, ok = e.kubectlAs("lee", nil, "liftoff", "resume", "pipeline/checkout", "--stage", "prod", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring("spec.resumes[1]: stage prod is not held by a rollback: nothing to resume"))
}
