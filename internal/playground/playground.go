// Package playground runs Liftoff's embedded default on one machine: a real
// kube-apiserver and etcd, the GitHub API simulator seeded with an application
// repository and a GitOps repository, the controller, and the samples.
package playground

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
	"github.com/liftoff-dev/liftoff/internal/registry/registrytest"
	"github.com/liftoff-dev/liftoff/internal/serve"
	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

// SampleAPIURL is the simulator address the samples name; the playground
// rewrites it when it listens elsewhere.
const SampleAPIURL = "http://127.0.0.1:9090/"

// SampleRegistryHost is the OCI registry the samples' artifacts are in; the
// playground rewrites it when the registry listens elsewhere.
const SampleRegistryHost = "127.0.0.1:9093"

// SamplePrometheusURL is the Prometheus address the samples name.
const SamplePrometheusURL = "http://127.0.0.1:9091"

// Token is the token the simulator accepts (config/samples/github-token.yaml).
const Token = "liftoff-playground-token"

// WebhookSecret signs the simulator's webhook deliveries to the controller.
const WebhookSecret = "liftoff-playground-webhook-secret"

// AppID is the GitHub App the simulator knows with Options.GitHubApp.
const AppID = 1001

// TokenSecret is the Secret of the samples' spec.github.secretRef
// (config/samples/github-token.yaml).
const TokenSecret = "github-token"

// Options configure the playground.
type Options struct {
	// SimAddr is where the GitHub simulator listens; "127.0.0.1:0" picks a port.
	SimAddr string
	// Dir receives the kubeconfig.
	Dir string
	// Root is the repository root (CRDs and samples are read from it).
	Root string
	// PollInterval of the controller's gates.
	PollInterval time.Duration
	// MetricsAddr of the controller's metrics endpoint, "0" to disable.
	MetricsAddr string
	// PrometheusAddr is where Prometheus listens; "127.0.0.1:0" picks a port.
	PrometheusAddr string
	// PrometheusBin is the Prometheus binary; built by hack/build-prometheus.sh when empty.
	PrometheusBin string
	// PrometheusLater: Start does not wait for Prometheus. It is built (when
	// PrometheusBin is empty) and started in the background while the
	// control plane, the simulator and the controller come up and promote;
	// only verification waits for it (the rollout check sees no answer
	// until it serves).
	PrometheusLater bool
	// BadRelease applies the bad sample release once the good one is released.
	BadRelease bool
	// HTTPAddr is where the controller serves the calendar feeds and the
	// GitHub webhook receiver; "127.0.0.1:0" picks a port.
	HTTPAddr string
	// InboxAddr is where the local receiver of notifications listens
	// (SampleInboxURL by default); "127.0.0.1:0" picks a port.
	InboxAddr string
	// DashboardAddr is where the dashboard serves, acting as ann (group
	// release-managers), as `kubectl liftoff dashboard` would; "" or "0": none.
	DashboardAddr string
	// AgentCRDs is the directory of Argo CD's and Flux's CRDs;
	// $LIFTOFF_AGENT_CRDS or hack/fetch-agent-crds.sh when empty.
	AgentCRDs string
	// RolloutDelay is how long the playground's Argo CD and Flux take to
	// roll a stage out; DefaultRolloutDelay when zero.
	RolloutDelay time.Duration
	// RegistryAddr is where the OCI registry holding the sample's image
	// listens; SampleRegistryHost when empty, "127.0.0.1:0" picks a port.
	RegistryAddr string
	// GitHubApp makes Liftoff authenticate as a GitHub App: the simulator
	// registers App AppID with a new key and installs it on acme's
	// repositories, and the Secret TokenSecret holds appID, installationID
	// and privateKey instead of the token.
	GitHubApp bool
}

// App is the playground's GitHub App (Options.GitHubApp).
type App struct {
	ID, InstallationID int64
	// KeyFile is the App's private key (PEM), as its settings would give it.
	KeyFile string
	pem     []byte
}

// Playground is a running embedded default.
type Playground struct {
	Kubeconfig    string
	SimURL        string
	PrometheusURL string
	// HTTPURL is where the calendar feeds and /hooks/github answer.
	HTTPURL string
	// InboxURL is the page of the notifications received (Inbox).
	InboxURL string
	Inbox    *Inbox
	// DashboardURL is the dashboard's address (with a trailing slash), when served.
	DashboardURL string
	// Users maps the sample users (sue of group security, lee) to their
	// kubeconfig files, to sign off and approve as them.
	Users map[string]string
	// App is the GitHub App Liftoff authenticates as, nil with a token.
	App    *App
	Client client.Client
	Sim    *githubsim.Server
	// Registry is the OCI registry holding the sample's image, one tag per
	// version tagged in the application repository.
	Registry *registrytest.Registry

	env    *envtest.Environment
	server *http.Server
	inbox  *http.Server
	demo   *demoService
	agents *deployer
	// prom is Prometheus once it runs; promStopped says Stop came first.
	promMu      sync.Mutex
	prom        *promtest.Server
	promStopped bool
	cancel      context.CancelFunc
	stopped     chan struct{}
}

// Start brings everything up and applies the samples.
func Start(ctx context.Context, o Options) (*Playground, error) {
	p := &Playground{stopped: make(chan struct{})}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := releasev1.AddToScheme(scheme); err != nil {
		return nil, err
	}

	if err := p.startOutsideSystems(o); err != nil {
		p.Stop()
		return nil, err
	}
	p.demo = startDemoService(p.Sim)
	if err := p.prometheus(o); err != nil {
		p.Stop()
		return nil, err
	}

	var err error
	agentCRDs := o.AgentCRDs
	if agentCRDs == "" {
		if agentCRDs, err = agenttest.CRDDirectory(o.Root); err != nil {
			p.Stop()
			return nil, fmt.Errorf("fetching Argo CD's and Flux's CRDs (`make dev` sets LIFTOFF_AGENT_CRDS): %w", err)
		}
	}
	p.env = &envtest.Environment{
		CRDDirectoryPaths: []string{filepath.Join(o.Root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true,
		// Argo CD's and Flux's own CRDs: the sample stages wait on them.
		CRDInstallOptions: envtest.CRDInstallOptions{Paths: []string{
			filepath.Join(agentCRDs, "application-crd.yaml"),
			filepath.Join(agentCRDs, "kustomize.toolkit.fluxcd.io_kustomizations.yaml"),
		}},
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(o.Root, "config", "webhook")}},
	}
	cfg, err := p.env.Start()
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd (is KUBEBUILDER_ASSETS set? `make dev` sets it): %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		p.Stop()
		return nil, err
	}
	p.Kubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := os.WriteFile(p.Kubeconfig, p.env.KubeConfig, 0o600); err != nil {
		p.Stop()
		return nil, err
	}
	if err := p.addUsers(cfg, o.Dir); err != nil {
		p.Stop()
		return nil, err
	}
	if p.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		p.Stop()
		return nil, err
	}
	delay := o.RolloutDelay
	if delay == 0 {
		delay = DefaultRolloutDelay
	}
	p.agents = &deployer{sim: p.Sim, agent: &agenttest.Agent{Client: p.Client}, delay: delay, deployed: p.demo.deployed}
	if err := p.agents.install(ctx, p.Client); err != nil {
		p.Stop()
		return nil, fmt.Errorf("creating the sample's Argo CD Applications and Flux Kustomization: %w", err)
	}

	wo := &p.env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress: "0",
		// Tests start a playground more than once in a process.
		Controller:    config.Controller{SkipNameValidation: ptr.To(true)},
		WebhookServer: webhook.NewServer(webhook.Options{Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir}),
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	webhooks.Register(mgr.GetWebhookServer(), scheme, mgr.GetClient(), mgr.GetAPIReader())
	httpAddr := o.HTTPAddr
	if httpAddr == "" {
		httpAddr = "127.0.0.1:0"
	}
	httpLn, err := net.Listen("tcp", httpAddr)
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("feeds and hooks cannot listen on %s: %w", httpAddr, err)
	}
	p.HTTPURL = "http://" + httpLn.Addr().String()
	mux := http.NewServeMux()
	if err := mgr.Add(&serve.Server{Listener: httpLn, Handler: mux}); err != nil {
		p.Stop()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	if err := controllers.Setup(runCtx, mgr, controllers.Options{GitHub: &github.Factory{WriteBudget: &github.GitHubWriteBudget}, PollInterval: o.PollInterval, HTTP: mux,
		WebhookSecret: []byte(WebhookSecret)}); err != nil {
		cancel()
		p.Stop() // the manager never started: nothing to wait for
		return nil, err
	}
	p.cancel = cancel
	go func() {
		defer close(p.stopped)
		if err := mgr.Start(runCtx); err != nil {
			ctrl.Log.Error(err, "Controller stopped")
		}
	}()
	p.agents.run(runCtx)
	// The samples go through the admission webhooks: wait until they serve.
	if err := waitFor(runCtx, 30*time.Second, func() bool { return mgr.GetWebhookServer().StartedChecker()(nil) == nil }); err != nil {
		p.Stop()
		return nil, fmt.Errorf("admission webhooks not serving: %w", err)
	}

	// GitHub tells the controller about new tags and check runs at once.
	p.Sim.AddWebhook(p.HTTPURL+"/hooks/github", []byte(WebhookSecret))
	if err := p.ApplyDir(ctx, filepath.Join(o.Root, "config", "samples")); err != nil {
		p.Stop()
		return nil, fmt.Errorf("applying the samples: %w", err)
	}
	if o.DashboardAddr != "" && o.DashboardAddr != "0" {
		if err := p.startDashboard(runCtx, o.DashboardAddr); err != nil {
			p.Stop()
			return nil, err
		}
	}
	if o.BadRelease {
		go func() {
			// Once the good release is out, ship a bad one and watch it roll back.
			if err := WaitReleased(runCtx, p, "default", "checkout-1-4-2", 5*time.Minute); err != nil {
				return
			}
			if err := p.ApplyDir(runCtx, filepath.Join(o.Root, "config", "samples", "demo")); err != nil {
				ctrl.Log.Error(err, "Applying the bad sample release")
			}
		}()
	}
	return p, nil
}

// prometheus sets PrometheusURL and starts Prometheus there, now or, with
// o.PrometheusLater, in the background.
func (p *Playground) prometheus(o Options) error {
	addr, err := freePort(o.PrometheusAddr)
	if err != nil {
		return err
	}
	p.PrometheusURL = "http://" + addr
	if !o.PrometheusLater {
		return p.startPrometheus(o, addr)
	}
	go func() {
		if err := p.startPrometheus(o, addr); err != nil {
			ctrl.Log.Error(err, "Starting Prometheus: verification in prod waits for it until its rollout timeout")
			return
		}
		ctrl.Log.Info("Prometheus serves", "url", p.PrometheusURL)
	}()
	return nil
}

// startPrometheus builds (unless o names the binary) and runs Prometheus on
// addr, scraping the demo service. Stopped at once if Stop came first.
func (p *Playground) startPrometheus(o Options, addr string) error {
	bin, err := prometheusBin(o)
	if err != nil {
		return err
	}
	srv, err := promtest.Run(bin, filepath.Join(o.Dir, "prometheus"), addr, time.Second, p.demo.addr())
	if err != nil {
		return err
	}
	p.promMu.Lock()
	defer p.promMu.Unlock()
	if p.promStopped {
		srv.Stop()
		return errors.New("the playground stopped")
	}
	p.prom = srv
	return nil
}

// freePort is addr with a free port in place of ":0".
func freePort(addr string) (string, error) {
	if !strings.HasSuffix(addr, ":0") {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// prometheusBin is o's Prometheus binary, built by hack/build-prometheus.sh
// when o names none.
func prometheusBin(o Options) (string, error) {
	if o.PrometheusBin != "" {
		return o.PrometheusBin, nil
	}
	out, err := exec.Command(filepath.Join(o.Root, "hack", "build-prometheus.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("building prometheus: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// startInbox serves the local receiver of the sample notification's
// messages at addr (SampleInboxURL's when empty).
func (p *Playground) startInbox(addr string) error {
	if addr == "" {
		addr = strings.TrimPrefix(SampleInboxURL, "http://")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("the notification inbox cannot listen on %s (set LIFTOFF_INBOX_ADDR): %w", addr, err)
	}
	p.InboxURL = "http://" + ln.Addr().String()
	p.Inbox = NewInbox([]byte(NotifySecret))
	p.inbox = &http.Server{Handler: p.Inbox, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.inbox.Serve(ln) }()
	return nil
}

// addUsers makes the sample users (sue of group security, lee, ann of group
// release-managers) and writes their kubeconfig files to dir.
func (p *Playground) addUsers(cfg *rest.Config, dir string) error {
	p.Users = map[string]string{}
	for user, groups := range map[string][]string{"sue": {"security"}, "lee": nil, "ann": {"release-managers"}} {
		u, err := p.env.AddUser(envtest.User{Name: user, Groups: groups}, cfg)
		if err != nil {
			return err
		}
		kc, err := u.KubeConfig()
		if err != nil {
			return err
		}
		p.Users[user] = filepath.Join(dir, user+".kubeconfig")
		if err := os.WriteFile(p.Users[user], kc, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startGitHub seeds and serves the GitHub simulator, with GitHub's secondary
// limits as on github.com (the controller paces its writes under them), and
// registers the playground's GitHub App when o asks for one.
func (p *Playground) startGitHub(o Options) error {
	p.Sim = githubsim.New(githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits))
	p.Sim.AddToken(Token)
	if err := Seed(p.Sim); err != nil {
		return fmt.Errorf("seeding the GitHub simulator: %w", err)
	}
	if o.GitHubApp {
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return err
		}
		var err error
		if p.App, err = registerApp(p.Sim, o.Dir); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.SimAddr)
	if err != nil {
		return fmt.Errorf("GitHub simulator cannot listen on %s (set LIFTOFF_SIM_ADDR): %w", o.SimAddr, err)
	}
	p.SimURL = "http://" + ln.Addr().String() + "/"
	p.server = &http.Server{Handler: p.Sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(ln) }()
	return nil
}

// startOutsideSystems starts what Liftoff talks to besides the cluster:
// GitHub (the simulator), the OCI registry and the notifications' inbox.
func (p *Playground) startOutsideSystems(o Options) error {
	if err := p.startGitHub(o); err != nil {
		return err
	}
	if err := p.startRegistry(o.RegistryAddr); err != nil {
		return err
	}
	return p.startInbox(o.InboxAddr)
}

// startRegistry serves the OCI registry of the sample's image, with an
// image for each version the application repository tags.
func (p *Playground) startRegistry(addr string) error {
	if addr == "" {
		addr = SampleRegistryHost
	}
	var err error
	if p.Registry, err = registrytest.Listen(addr); err != nil {
		return fmt.Errorf("the OCI registry cannot listen on %s: %w", addr, err)
	}
	for _, v := range SeededVersions {
		if _, err := p.Registry.PushImage(ImageRepo, v); err != nil {
			return fmt.Errorf("pushing %s:%s: %w", ImageRepo, v, err)
		}
	}
	return nil
}

// startDashboard serves the dashboard as ann, in the samples' namespace.
func (p *Playground) startDashboard(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("the dashboard cannot listen on %s (set LIFTOFF_DASHBOARD_ADDR): %w", addr, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", p.Users["ann"])
	if err != nil {
		return err
	}
	d, err := dashboard.StartLocal(ctx, cfg, dashboard.LocalOptions{Namespace: "default", Listener: ln})
	if err != nil {
		return err
	}
	p.DashboardURL = d.URL
	return nil
}

// ApplyDir creates every object of the YAML files in dir (but kustomization.yaml),
// pointing the samples' GitHub API URL at the running simulator.
func (p *Playground) ApplyDir(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	// Secrets and pipelines first, so a Release never waits on a missing one.
	order := func(path string) int {
		switch {
		case strings.Contains(path, "token") || strings.Contains(path, "secret"):
			return 0
		case strings.Contains(path, "pipeline") || strings.Contains(path, "calendar") || strings.Contains(path, "notification"):
			return 1 // a notification exists before the news it reports
		}
		return 2
	}
	for rank := 0; rank < 3; rank++ {
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" || order(f) != rank {
				continue
			}
			if filepath.Base(f) == "github-token.yaml" && p.App != nil {
				if err := p.Client.Create(ctx, p.App.secret()); err != nil {
					return fmt.Errorf("the GitHub App's Secret: %w", err)
				}
				continue
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := p.Apply(ctx, raw); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	return nil
}

// Apply creates the objects of a multi-document YAML.
func (p *Playground) Apply(ctx context.Context, raw []byte) error {
	raw = bytes.ReplaceAll(raw, []byte(SampleAPIURL), []byte(p.SimURL))
	raw = bytes.ReplaceAll(raw, []byte(SampleRegistryHost), []byte(p.Registry.Host))
	raw = bytes.ReplaceAll(raw, []byte(SamplePrometheusURL), []byte(p.PrometheusURL))
	raw = bytes.ReplaceAll(raw, []byte(SampleInboxURL), []byte(p.InboxURL))
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return err
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := p.Client.Create(ctx, u); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
}

// Stop shuts everything down.
func (p *Playground) Stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.stopped
		p.agents.wait()
	}
	if p.env != nil {
		_ = p.env.Stop()
	}
	if p.server != nil {
		_ = p.server.Close()
	}
	if p.inbox != nil {
		_ = p.inbox.Close()
	}
	p.promMu.Lock()
	if p.prom != nil {
		p.prom.Stop()
	}
	p.promStopped = true
	p.promMu.Unlock()
	if p.demo != nil {
		p.demo.close()
	}
	if p.Sim != nil {
		p.Sim.Close()
	}
	if p.Registry != nil {
		p.Registry.Close()
	}
}

// registerApp registers the playground's GitHub App in the simulator with a
// new key (written to dir, as the App's settings would let you download it)
// and installs it on every repository of acme.
func registerApp(sim *githubsim.Server, dir string) (*App, error) {
	key, keyPEM, err := githubsim.NewAppKey()
	if err != nil {
		return nil, err
	}
	a := &App{ID: AppID, KeyFile: filepath.Join(dir, "github-app.pem"), pem: keyPEM}
	if err := os.WriteFile(a.KeyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	sim.AddApp(AppID, "liftoff-playground", &key.PublicKey)
	if a.InstallationID, err = sim.InstallApp(AppID, "acme"); err != nil {
		return nil, err
	}
	return a, nil
}

// secret is the App's credential in the samples' Secret, as
// `kubectl create secret generic github-token --from-literal=appID=...
// --from-literal=installationID=... --from-file=privateKey=github-app.pem` makes it.
func (a *App) secret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: TokenSecret, Namespace: "default"},
		Data: map[string][]byte{
			"appID":          []byte(strconv.FormatInt(a.ID, 10)),
			"installationID": []byte(strconv.FormatInt(a.InstallationID, 10)),
			"privateKey":     a.pem,
		},
	}
}
