// Command manager runs the Liftoff controller.
package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/serve"
	"github.com/liftoff-dev/liftoff/internal/version"
	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

func main() {
	var (
		metricsAddr, probeAddr string
		httpAddr, secretFile   string
		secureMetrics          bool
		leaderElect            bool
		pollInterval, timeout  time.Duration
		concurrency            int
		writesMin, writesHour  int
		coalesce               bool
		webhooksOn             bool
		webhookCertDir         string
		shardName, pprofAddr   string
		leaseNamespace         string
		leaseDuration          time.Duration
		renewDeadline, retry   time.Duration
		dashboardAddr, dbAuth  string
		dashboardZone          string
		printVersion           bool
	)
	flag.BoolVar(&printVersion, "version", false, "Print the version, commit and Go version, then exit.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address of the metrics endpoint; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica (of each shard) reconciles.")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby waits after the leader's last renewal before it takes over.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader retries renewing before it gives up leading.")
	flag.DurationVar(&retry, "leader-elect-retry-period", 2*time.Second, "How often candidates try to take or renew the lease.")
	flag.StringVar(&leaseNamespace, "leader-elect-namespace", "", "Namespace of the leader election lease (default: the pod's namespace; required outside a cluster).")
	flag.StringVar(&shardName, "shard", "", "Serve only the objects labelled release.liftoff.dev/shard=NAME (empty: the default shard, the unlabelled objects). Each shard elects its own leader.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of the pprof endpoints (/debug/pprof/); 0 disables them.")
	flag.DurationVar(&pollInterval, "gate-poll-interval", 30*time.Second, "How often pending QA checks and pull requests are re-read.")
	flag.DurationVar(&timeout, "github-timeout", 30*time.Second, "Timeout of one GitHub API request.")
	flag.IntVar(&writesMin, "github-writes-per-minute", github.GitHubWriteBudget.PerMinute, "Content-generating GitHub requests (commits, pull requests, merges, deployments, issues) one credential makes in any minute: GitHub.com's secondary limit. On GitHub Enterprise Server, the limit its administrator set; 0 with --github-writes-per-hour=0 leaves writes unpaced.")
	flag.IntVar(&writesHour, "github-writes-per-hour", github.GitHubWriteBudget.PerHour, "Content-generating GitHub requests one credential makes in any hour (GitHub.com: 500).")
	flag.BoolVar(&coalesce, "coalesce-commits", true, "Put the promotions ready together into one repository and branch into one commit (one GitHub write for them all). false: each promotion is a commit of its own.")
	flag.IntVar(&concurrency, "concurrency", 8, "Releases reconciled in parallel (a reconcile mostly waits on the API server and GitHub).")
	flag.BoolVar(&webhooksOn, "enable-webhooks", true, "Serve the admission webhooks (port 9443). Off only where config/webhook is not installed.")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", "", "Directory with tls.crt and tls.key of the webhook server (default: controller-runtime's).")
	flag.StringVar(&httpAddr, "http-bind-address", ":8082", "Address of the plain HTTP endpoints (/hooks/github); 0 disables them.")
	flag.StringVar(&secretFile, "github-webhook-secret-file", "", "File holding the secret of the GitHub webhook (default: the LIFTOFF_GITHUB_WEBHOOK_SECRET environment variable). Without one, every delivery is refused.")
	flag.StringVar(&dashboardAddr, "dashboard-bind-address", "0", "Address of the release dashboard (web UI); 0 disables it.")
	flag.StringVar(&dbAuth, "dashboard-auth", dashboard.AuthNone, "none: the dashboard is read-only and asks nobody who they are (expose it only where everyone may read); kubernetes: bearer tokens checked by TokenReview, actions by SubjectAccessReview and made by impersonation (needs config/dashboard/auth_role.yaml).")
	flag.StringVar(&dashboardZone, "dashboard-time-zone", "UTC", "IANA time zone of every time on the dashboard's pages, e.g. Europe/Berlin; each page names it.")
	if os.Getenv("GOGC") == "" {
		// The heap is mostly the informer cache, which lives as long as the
		// process: collecting at half its size again rather than twice keeps
		// the RSS near the cache for little CPU (see the README's benchmark).
		debug.SetGCPercent(50)
	}
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	build := version.Get()
	if printVersion {
		fmt.Println("liftoff manager", build)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	shard, err := controllers.ParseShard(shardName)
	if err != nil {
		log.Error(err, "Invalid flag")
		os.Exit(2)
	}

	scheme := runtime.NewScheme()
	must(clientgoscheme.AddToScheme(scheme))
	must(releasev1.AddToScheme(scheme))

	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		PprofBindAddress:        pprofAddr,
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        shard.LeaderElectionID(),
		LeaderElectionNamespace: leaseNamespace,
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retry,
		// Managed fields are never read: keep them out of memory. Releases
		// and pipelines of other shards are not cached at all.
		Cache:         cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: shard.CacheByObject()},
		WebhookServer: webhook.NewServer(webhook.Options{CertDir: webhookCertDir}),
		// Secrets are read on demand, never watched cluster-wide.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		log.Error(err, "Creating manager")
		os.Exit(1)
	}
	secret, err := webhookSecret(secretFile)
	if err != nil {
		log.Error(err, "Reading the GitHub webhook secret")
		os.Exit(1)
	}
	if len(secret) == 0 {
		log.Info("No GitHub webhook secret: /hooks/github refuses every delivery; discovery and gates rely on polling",
			"fix", "set --github-webhook-secret-file or LIFTOFF_GITHUB_WEBHOOK_SECRET")
	}
	mux := http.NewServeMux()
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		GitHub: &github.Factory{Timeout: timeout, WriteBudget: writeBudget(writesMin, writesHour)}, PollInterval: pollInterval, Concurrency: concurrency,
		HTTP: mux, WebhookSecret: secret, Shard: shard, SeparateCommits: !coalesce,
	}); err != nil {
		log.Error(err, "Setting up controllers")
		os.Exit(1)
	}
	if webhooksOn {
		webhooks.Register(mgr.GetWebhookServer(), scheme, mgr.GetClient(), mgr.GetAPIReader())
	}
	httpServer := &serve.Server{Addr: httpAddr, Handler: mux}
	must(mgr.Add(httpServer))
	if dashboardAddr != "0" {
		h, err := dashboard.ForManager(ctx, mgr, dbAuth, dashboardZone)
		if err != nil {
			log.Error(err, "Setting up the dashboard")
			os.Exit(2)
		}
		must(mgr.Add(&serve.Server{Addr: dashboardAddr, Handler: h}))
	}
	must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	must(mgr.AddReadyzCheck("readyz", healthz.Ping))
	// Ready once the GitHub webhook receiver serves: every replica takes deliveries.
	must(mgr.AddReadyzCheck("http", httpServer.Ready))
	metrics.Registry.MustRegister(version.Collector(build))
	if ns := cmp.Or(leaseNamespace, version.PodNamespace()); ns != "" {
		host, _ := os.Hostname()
		must(mgr.Add(&version.Recorder{Client: mgr.GetClient(), Namespace: ns, Shard: string(shard), Replica: host, Info: build}))
	} else {
		log.Info("Not recording the running build: no namespace for it", "fix", "set --leader-elect-namespace or POD_NAMESPACE")
	}
	log.Info("Starting manager", "shard", shard.String(), "version", build.Version, "commit", build.Commit)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "Running manager")
		os.Exit(1)
	}
}

// writeBudget is the write budget of every credential, nil for none.
func writeBudget(perMinute, perHour int) *github.WriteBudget {
	if perMinute <= 0 && perHour <= 0 {
		return nil
	}
	return &github.WriteBudget{PerMinute: max(0, perMinute), PerHour: max(0, perHour)}
}

// webhookSecret reads the secret from file, or else from the environment.
// Surrounding whitespace (a trailing newline) is not part of it.
func webhookSecret(file string) ([]byte, error) {
	if file == "" {
		return []byte(strings.TrimSpace(os.Getenv("LIFTOFF_GITHUB_WEBHOOK_SECRET"))), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--github-webhook-secret-file: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("--github-webhook-secret-file %s is empty: put the webhook's secret in it", file)
	}
	return b, nil
}

func must(err error) {
	if err != nil {
		ctrl.Log.Error(err, "Setup")
		os.Exit(1)
	}
}
