package agents_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// The suite runs a real kube-apiserver and etcd with the agents' real CRDs
// (Argo CD's Application and Flux's Kustomization; Flux's HelmRelease is
// installed by the test that needs a cluster without it first). Under
// -short it runs only the pure tests.

var (
	env      *envtest.Environment
	restCfg  *rest.Config
	k8s      client.Client
	crdDir   string
	sequence atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../../hack/build-control-plane.sh").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the control plane:", err)
			os.Exit(1)
		}
		os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	var err error
	if crdDir, err = agenttest.CRDDirectory("."); err != nil {
		fmt.Fprintln(os.Stderr, "fetching the agents' CRDs:", err)
		os.Exit(1)
	}
	env = &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{Paths: []string{
			filepath.Join(crdDir, "application-crd.yaml"),
			filepath.Join(crdDir, "kustomize.toolkit.fluxcd.io_kustomizations.yaml"),
		}},
		ErrorIfCRDPathMissing: true,
	}
	if restCfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		os.Exit(1)
	}
	if k8s, err = client.New(restCfg, client.Options{}); err != nil {
		panic(err)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		// Say so: a control plane that did not stop is left running.
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

func zapLevel() zapcore.Level {
	if os.Getenv("LIFTOFF_TEST_LOG") != "" {
		return -4
	}
	return 10
}

func needCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the control plane (not under -short)")
	}
}

// world is one test's GitOps repository, agent namespace and watcher.
type world struct {
	t       *testing.T
	g       *WithT
	ctx     context.Context
	ns      string
	sim     *githubsim.Server
	gh      *github.Client
	agent   *agenttest.Agent
	watcher *agents.Watcher
	// earlier, ours and later are commits of acme/gitops main, in order;
	// ours is the promotion commit.
	earlier, ours, later string
}

const compareOp = "GET /repos/{owner}/{repo}/compare/{basehead...}"

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldAs(t, restCfg)
}

// newWorldAs runs the watcher with cfg (another user's, for RBAC).
func newWorldAs(t *testing.T, cfg *rest.Config) *world {
	t.Helper()
	needCluster(t)
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{t: t, g: g, ctx: ctx, ns: fmt.Sprintf("agents-%d", sequence.Add(1))}
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})).To(Succeed())

	w.sim = githubsim.New()
	g.Expect(w.sim.CreateRepo("acme/gitops", "main")).To(Succeed())
	var err error
	for i, c := range []*string{&w.earlier, &w.ours, &w.later} {
		*c, err = w.sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/prod/version": fmt.Sprintf("1.4.%d\n", i)}, "commit")
		g.Expect(err).NotTo(HaveOccurred())
	}
	w.gh, err = (&github.Factory{}).For(w.sim.URL(), "")
	g.Expect(err).NotTo(HaveOccurred())
	w.agent = &agenttest.Agent{Client: k8s}
	w.watcher = agents.NewWatcher(cfg, k8s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.watcher.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.sim.Close()
	})
	return w
}

// request observes stage prod's deployment of the promotion commit ours,
// knowing only the commit before it (the agent's later commit is someone
// else's).
func (w *world) request(spec *releasev1.DeploymentSpec) agents.Request {
	return agents.Request{
		Release: types.NamespacedName{Namespace: w.ns, Name: "checkout-1-4-2"}, Namespace: w.ns, Stage: "prod", Spec: spec,
		Commits: agents.Commits{Repository: "acme/gitops", Commit: w.ours, Earlier: []string{w.earlier}},
		GitHub:  w.gh,
	}
}

// observe returns a function for Eventually: the observation's state, its
// message kept for failure output.
func (w *world) observe(spec *releasev1.DeploymentSpec) func(Gomega) agents.Observation {
	return func(g Gomega) agents.Observation {
		o, err := w.watcher.Observe(w.ctx, w.request(spec))
		g.Expect(err).NotTo(HaveOccurred())
		return o
	}
}

func (w *world) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: w.ns, Name: name}
}

func state(s releasev1.DeploymentState) OmegaMatcher {
	return WithTransform(func(o agents.Observation) releasev1.DeploymentState { return o.State }, Equal(s))
}

func message(sub string) OmegaMatcher {
	return WithTransform(func(o agents.Observation) string { return o.Message }, ContainSubstring(sub))
}

const wait = 20 * time.Second
