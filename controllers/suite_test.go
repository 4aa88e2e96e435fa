package controllers_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/serve"
	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

// The suite runs one real kube-apiserver and etcd (envtest) with the real
// CRDs; each test gets its own namespace, GitHub simulator and controller.

var (
	restCfg *rest.Config
	env     *envtest.Environment
	k8s     client.Client
	scheme  = runtime.NewScheme()
	nsSeq   atomic.Int64
)

const token = "ghp_test-token-never-logged"

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	flag.Parse()
	if testing.Short() {
		// The fast tier runs without a control plane: the tests that need
		// one skip (needsControlPlane).
		os.Exit(m.Run())
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../hack/build-control-plane.sh").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the control plane:", err)
			os.Exit(1)
		}
		os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := releasev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	// Argo CD's and Flux's own CRDs, for the stages that wait on them.
	agentCRDs, err := agenttest.CRDDirectory(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetching the agents' CRDs:", err)
		os.Exit(1)
	}
	env = &envtest.Environment{
		CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true,
		CRDInstallOptions: envtest.CRDInstallOptions{Paths: []string{
			filepath.Join(agentCRDs, "application-crd.yaml"),
			filepath.Join(agentCRDs, "kustomize.toolkit.fluxcd.io_kustomizations.yaml"),
		}},
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("..", "config", "webhook")}},
	}
	if restCfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		os.Exit(1)
	}
	if k8s, err = client.New(restCfg, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	// One admission webhook server for the suite (the API server is
	// configured with its address), apart from the per-test controllers.
	stopWebhooks, err := startWebhooks(&env.WebhookInstallOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the webhook server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopWebhooks()
	_ = env.Stop()
	os.Exit(code)
}

// startWebhooks serves Liftoff's admission webhooks where envtest pointed the
// API server, and waits until they answer.
func startWebhooks(o *envtest.WebhookInstallOptions) (func(), error) {
	srv := webhook.NewServer(webhook.Options{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir})
	c, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	webhooks.Register(srv, scheme, c, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "webhook server:", err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for srv.StartedChecker()(nil) != nil {
		if time.Now().After(deadline) {
			cancel()
			return nil, fmt.Errorf("not serving on %s:%d after 30s", o.LocalServingHost, o.LocalServingPort)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() { cancel(); <-done }, nil
}

func zapLevel() zapcore.Level {
	if os.Getenv("LIFTOFF_TEST_LOG") != "" {
		return -4 // debug, below client-go's body dumps
	}
	return 10 // quiet unless asked
}

// testEnv is one test's world: a namespace, a GitHub simulator seeded with an
// application repository and a GitOps repository, and a running controller.
type testEnv struct {
	t     *testing.T
	ns    string
	sim   *githubsim.Server
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}
	clock clock.PassiveClock
	// transport wraps the controller's GitHub traffic, for fault hooks.
	transport http.RoundTripper
	// appSHA is the tagged release commit of version 1.4.2.
	appSHA string
	// pollInterval of the controller (200ms unless withPollInterval).
	pollInterval time.Duration
	// hooks serves the manager's HTTP mux (withHooks) at hooksURL.
	hooks      bool
	hookSecret []byte
	hooksURL   string
	// httpURL is the base URL of the mux (withHTTP or withHooks).
	httpURL string
	// simOpts are added to the simulator's options (after its clock);
	// onSim run once it is seeded, before the Secret "github" is written
	// with secret (the token when nil).
	simOpts []githubsim.Option
	onSim   []func(*testEnv)
	secret  map[string][]byte
	// budget paces the controller's GitHub writes (withBudget).
	budget *github.WriteBudget
	// factory hands out the running controller's GitHub clients.
	factory *github.Factory
	// retryPR is the pull request merged between v1.4.1 and v1.4.2
	// (withPreviousRelease), 0 without.
	retryPR        int
	previousTagged bool
	// serial: the test does not run in parallel with others (serial()).
	serial bool
}

const (
	appRepo    = "acme/checkout"
	gitopsRepo = "acme/gitops"
)

func kustomization(tag string) string {
	return `# Managed by Liftoff: the images entry below is promoted automatically.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base # shared manifests

images:
  - name: ghcr.io/acme/checkout
    newTag: "` + tag + `" # current release
`
}

type envOption func(*testEnv)

func withClock(c clock.PassiveClock) envOption { return func(e *testEnv) { e.clock = c } }
func withTransport(rt http.RoundTripper) envOption {
	return func(e *testEnv) { e.transport = rt }
}

func withPollInterval(d time.Duration) envOption { return func(e *testEnv) { e.pollInterval = d } }

// withBudget paces the controller's GitHub writes with b, on the test's clock.
func withBudget(b github.WriteBudget) envOption { return func(e *testEnv) { e.budget = &b } }

// withSimulator configures the GitHub simulator (its secondary limits).
func withSimulator(opts ...githubsim.Option) envOption {
	return func(e *testEnv) { e.simOpts = append(e.simOpts, opts...) }
}

// withPreviousRelease gives the application a history before 1.4.2: a
// commit tagged v1.4.1, then a merged pull request (e.retryPR, "Retry
// payments" by alice), so that promotions of 1.4.2 have release notes.
// parallel holds the tests that asked to run in parallel (a test with two
// worlds asks once).
var parallel sync.Map

// serial runs the test alone: it reads a process-wide metric that other
// tests' controllers also count.
func serial() envOption { return func(e *testEnv) { e.serial = true } }

func withPreviousRelease() envOption { return func(e *testEnv) { e.previousTagged = true } }

// withHooks serves the manager's HTTP mux on a free port, with the webhook
// receiver at e.hooksURL verifying with secret.
func withHooks(secret []byte) envOption {
	return func(e *testEnv) { e.hooks, e.hookSecret = true, secret }
}

// withHTTP serves the controller's plain HTTP endpoints (feeds, hooks) on a
// free port (e.httpURL).
func withHTTP() envOption { return func(e *testEnv) { e.hooks = true } }

// needsControlPlane skips a test in the fast tier (go test -short): it runs
// against the suite's kube-apiserver and etcd.
func needsControlPlane(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the envtest control plane: not in -short")
	}
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	needsControlPlane(t)
	g := NewWithT(t)
	e := &testEnv{t: t, ns: fmt.Sprintf("t%d-%s", nsSeq.Add(1), strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-")))}
	if len(e.ns) > 60 {
		e.ns = e.ns[:60]
	}
	e.ns = strings.Trim(strings.ReplaceAll(e.ns, "/", "-"), "-")
	for _, o := range opts {
		o(e)
	}
	if _, again := parallel.LoadOrStore(t, true); !again && !e.serial {
		// Each test has its namespace, controller and GitHub: most of a
		// test's time is waiting on them, so tests run side by side.
		t.Parallel()
	}
	if e.clock == nil {
		e.clock = clock.RealClock{}
	}
	e.sim = githubsim.New(append([]githubsim.Option{githubsim.WithClock(e.clock.Now)}, e.simOpts...)...)
	t.Cleanup(e.sim.Close)
	e.sim.AddToken(token)
	g.Expect(e.sim.CreateRepo(appRepo, "main")).To(Succeed())
	if e.previousTagged {
		e.retryPR = e.previousRelease()
	}
	sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main\n"}, "Release 1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	e.appSHA = sha
	g.Expect(e.sim.CreateTag(appRepo, "v1.4.2", sha)).To(Succeed())
	g.Expect(e.sim.CreateRepo(gitopsRepo, "main")).To(Succeed())
	files := map[string]string{}
	for _, st := range []string{"dev", "staging", "prod"} {
		files["envs/"+st+"/kustomization.yaml"] = kustomization("1.4.1")
	}
	_, err = e.sim.CommitFiles(gitopsRepo, "main", files, "Initial environments")
	g.Expect(err).NotTo(HaveOccurred())

	for _, f := range e.onSim {
		f(e)
	}
	if e.secret == nil {
		e.secret = map[string][]byte{"token": []byte(token)}
	}
	g.Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}})).To(Succeed())
	g.Expect(k8s.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: e.ns},
		Data:       e.secret,
	})).To(Succeed())
	e.start()
	t.Cleanup(e.stopController)
	return e
}

// previousRelease tags v1.4.1 and merges a pull request after it.
func (e *testEnv) previousRelease() int {
	g := NewWithT(e.t)
	sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"VERSION": "1.4.1\n"}, "Release 1.4.1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.sim.CreateTag(appRepo, "v1.4.1", sha)).To(Succeed())
	_, err = e.sim.CommitFiles(appRepo, "retry", map[string]string{"retry.go": "package main\n"}, "Retry payments")
	g.Expect(err).NotTo(HaveOccurred())
	n, err := e.sim.CreatePullRequest(appRepo, "retry", "main", "Retry payments", "alice")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = e.sim.MergePull(appRepo, n)
	g.Expect(err).NotTo(HaveOccurred())
	return n
}

// start runs a controller (a fresh manager, as after a restart).
func (e *testEnv) start() {
	e.t.Helper()
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// Each test's controller sees its own namespace only: the API server
		// keeps every earlier test's objects, and a controller watching them
		// all would go on delivering their notifications (to receivers whose
		// ports a later test's receiver may reuse) and promoting their
		// releases.
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{e.ns: {}}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	factory := &github.Factory{Transport: e.transport, Clock: e.clock, Timeout: 2 * time.Second, WriteBudget: e.budget}
	e.factory = factory
	poll := 200 * time.Millisecond
	if e.pollInterval > 0 {
		poll = e.pollInterval
	}
	var mux *http.ServeMux
	if e.hooks {
		mux = http.NewServeMux()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			e.t.Fatal(err)
		}
		e.httpURL = "http://" + ln.Addr().String()
		e.hooksURL = e.httpURL + "/hooks/github"
		if err := mgr.Add(&serve.Server{Listener: ln, Handler: mux}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := controllers.Setup(e.ctx, mgr, controllers.Options{
		GitHub: factory, Clock: e.clock, PollInterval: poll, StaleLockAfter: 5 * time.Second, Concurrency: 2,
		HTTP: mux, WebhookSecret: e.hookSecret, NotifyBackoff: 100 * time.Millisecond,
	}); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		if err := mgr.Start(e.ctx); err != nil {
			e.t.Errorf("manager: %v", err)
		}
	}()
}

func (e *testEnv) stopController() {
	if e.stop != nil {
		e.stop()
		<-e.done
		e.stop = nil
	}
}

// restart stops the controller and starts a new one with a fresh GitHub client.
func (e *testEnv) restart(rt http.RoundTripper) {
	e.stopController()
	e.transport = rt
	e.start()
}

func (e *testEnv) stage(name string, mod ...func(*releasev1.Stage)) releasev1.Stage {
	s := releasev1.Stage{
		Name: name,
		Target: releasev1.Target{
			Repository: gitopsRepo, Branch: "main",
			Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}},
		},
	}
	for _, m := range mod {
		m(&s)
	}
	return s
}

func (e *testEnv) pipeline(stages ...releasev1.Stage) *releasev1.ReleasePipeline {
	e.t.Helper()
	p := e.newPipeline(stages...)
	NewWithT(e.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
	return p
}

// newPipeline builds (without creating) the test pipeline.
func (e *testEnv) newPipeline(stages ...releasev1.Stage) *releasev1.ReleasePipeline {
	if len(stages) == 0 {
		stages = []releasev1.Stage{e.stage("dev"), e.stage("staging"), e.stage("prod")}
	}
	p := &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: e.ns},
		Spec: releasev1.ReleasePipelineSpec{
			GitHub: releasev1.GitHubSpec{APIURL: e.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}},
			Source: releasev1.SourceSpec{Repository: appRepo},
			Stages: stages,
		},
	}
	return p
}

func (e *testEnv) release(name, version string, mod ...func(*releasev1.Release)) *releasev1.Release {
	e.t.Helper()
	r := &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: version,
			Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}}},
	}
	for _, m := range mod {
		m(r)
	}
	NewWithT(e.t).Expect(k8s.Create(context.Background(), r)).To(Succeed())
	return r
}

func (e *testEnv) get(name string) *releasev1.Release {
	r := &releasev1.Release{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, r); err != nil {
		e.t.Fatalf("get release %s: %v", name, err)
	}
	return r
}

func (e *testEnv) phase(name string) func() releasev1.ReleasePhase {
	return func() releasev1.ReleasePhase { return e.get(name).Status.Phase }
}

func (e *testEnv) stagePhase(name, stage string) func() releasev1.StagePhase {
	return func() releasev1.StagePhase {
		if ss := e.get(name).Status.StageStatus(stage); ss != nil {
			return ss.Phase
		}
		return ""
	}
}

// condition returns "Status/Reason: message" of a condition of a Release.
func (e *testEnv) condition(name, ctype string) func() string {
	return func() string {
		for _, c := range e.get(name).Status.Conditions {
			if c.Type == ctype {
				return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return ""
	}
}

func (e *testEnv) gate(name, stage, gate string) func() string {
	return func() string {
		ss := e.get(name).Status.StageStatus(stage)
		if ss == nil {
			return ""
		}
		for _, g := range ss.Gates {
			if g.Name == gate {
				return fmt.Sprintf("%s/%s: %s", g.Status, g.Reason, g.Message)
			}
		}
		return ""
	}
}

func (e *testEnv) file(stage string) string {
	c, _ := e.sim.FileAt(gitopsRepo, "main", "envs/"+stage+"/kustomization.yaml")
	return c
}

// liftoffCommits lists the commits on the GitOps branch made by Liftoff for a
// release and stage ("" matches any): those with a trailer group of both (a
// coalesced commit holds one per promotion).
func (e *testEnv) liftoffCommits(release, stage string) []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range e.sim.Commits(gitopsRepo, "main") {
		if e.promotionIn(c, release, stage) != nil {
			out = append(out, c)
		}
	}
	return out
}

// promotionIn returns the trailers of c's promotion of release into stage
// ("" matches any), or nil.
func (e *testEnv) promotionIn(c githubsim.Commit, release, stage string) map[string]string {
	for _, g := range promotion.TrailerGroups(c.Message) {
		if g[promotion.TrailerRelease] == "" ||
			release != "" && g[promotion.TrailerRelease] != e.ns+"/"+release ||
			stage != "" && g[promotion.TrailerStage] != stage {
			continue
		}
		return g
	}
	return nil
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const (
	timeout  = 30 * time.Second
	interval = 50 * time.Millisecond
)

// metav1Duration is metav1.Duration, named for the tests' table literals.
type metav1Duration = metav1.Duration

// githubClient is a go-github client acting as a person or a CI system.
func (e *testEnv) githubClient() *gh.Client {
	c := gh.NewClient(nil).WithAuthToken(token)
	u, _ := url.Parse(e.sim.URL() + "/")
	c.BaseURL = u
	return c
}

func k8sCreate(obj client.Object) error { return k8s.Create(context.Background(), obj) }
