// Command dev runs the Liftoff playground (`make dev`): a local control plane
// with the controller, the GitHub API simulator and the samples.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/liftoff-dev/liftoff/internal/playground"
)

func main() {
	cache, _ := os.UserCacheDir()
	simAddr := flag.String("sim-addr", envOr("LIFTOFF_SIM_ADDR", "127.0.0.1:9090"), "Address of the GitHub API simulator.")
	dir := flag.String("dir", filepath.Join(cache, "liftoff", "playground"), "Where the kubeconfig is written.")
	metrics := flag.String("metrics-addr", envOr("LIFTOFF_METRICS_ADDR", "127.0.0.1:8080"), "Controller metrics endpoint, 0 to disable.")
	promAddr := flag.String("prometheus-addr", envOr("LIFTOFF_PROMETHEUS_ADDR", "127.0.0.1:9091"), "Address of the playground's Prometheus.")
	httpAddr := flag.String("http-addr", envOr("LIFTOFF_HTTP_ADDR", "127.0.0.1:8082"), "Where the calendar feeds and the GitHub webhook receiver answer.")
	inboxAddr := flag.String("inbox-addr", envOr("LIFTOFF_INBOX_ADDR", "127.0.0.1:9092"), "Where the local inbox takes the sample notification's Slack, Teams and webhook messages.")
	registryAddr := flag.String("registry-addr", envOr("LIFTOFF_REGISTRY_ADDR", playground.SampleRegistryHost), "Address of the OCI registry holding the sample's image.")
	dashAddr := flag.String("dashboard-addr", envOr("LIFTOFF_DASHBOARD_ADDR", "127.0.0.1:8787"), "Where the dashboard serves (acting as ann); 0 disables it.")
	bad := flag.Bool("bad-release", true, "Once the sample release is out, ship a bad one (1.4.3) and let Liftoff roll it back.")
	app := flag.Bool("github-app", os.Getenv("LIFTOFF_GITHUB_APP") != "", "Authenticate to the simulated GitHub as a GitHub App (appID, installationID, privateKey in the Secret) instead of a token.")
	exitWhenReleased := flag.Bool("exit-when-released", false, "Exit 0 once the sample release reaches prod (for scripts).")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, _ := os.Getwd()
	p, err := playground.Start(ctx, playground.Options{SimAddr: *simAddr, Dir: *dir, Root: root, PollInterval: 2 * time.Second, MetricsAddr: *metrics,
		PrometheusAddr: *promAddr, PrometheusBin: os.Getenv("LIFTOFF_PROMETHEUS"), PrometheusLater: true, BadRelease: *bad, HTTPAddr: *httpAddr, DashboardAddr: *dashAddr,
		InboxAddr: *inboxAddr, GitHubApp: *app, RegistryAddr: *registryAddr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "playground:", err)
		os.Exit(1)
	}
	defer p.Stop()

	story := "(disabled)"
	if p.DashboardURL != "" {
		story = p.DashboardURL + "?ns=default&q=checkout"
	}
	fmt.Printf(`
Liftoff playground is running.

  dashboard:         %[9]s
                     (acting as ann; the rolled-back release: %[10]sreleases/default/checkout-1-4-3)

  kubeconfig:        %[1]s
  GitHub simulator:  %[2]s   (token: %[3]s)
  controller metrics: http://%[4]s/metrics
  Prometheus:        %[5]s
  release calendar:  %[6]s/calendars/default/releases.ics   (subscribe from Google Calendar or Outlook)
  notifications:     %[11]s/   (what Slack, Teams and the signed webhook received; a log line each)

Watch the sample release go dev -> staging -> prod (about a minute). Each
stage waits (Deploying) until its GitOps agent rolled the commit out: the
playground plays Argo CD for dev and staging, Flux for prod:

  export KUBECONFIG=%[1]s
  kubectl get releases -w
  kubectl get applications,kustomizations -A
  kubectl get release checkout-1-4-2 -o jsonpath='{.status.stages[2].deployment}'
  kubectl describe release checkout-1-4-2
  kubectl get releasepipeline checkout -o yaml

See what Liftoff committed to the GitOps repository:

  curl -s -H 'Authorization: Bearer %[3]s' %[2]srepos/acme/gitops/commits | grep -o '"message":"[^\]*'
  curl -s -H 'Authorization: Bearer %[3]s' -H 'Accept: application/vnd.github.raw' %[2]srepos/acme/gitops/contents/envs/prod/kustomization.yaml

Once 1.4.2 is out, the playground ships 1.4.3: its QA is green but its error
ratio in prod is 25%%. Watch Liftoff verify it, roll it back in Git and open a
postmortem issue:

  kubectl get release checkout-1-4-3 -w
  kubectl get release checkout-1-4-3 -o jsonpath='{.status.stages[2].analysis}'
  kubectl get release checkout-1-4-3 -o jsonpath='{.status.stages[2].rollback}'   # deployedAt: prod is back
  curl -s -H 'Authorization: Bearer %[3]s' %[2]srepos/acme/checkout/issues

Liftoff discovered tag v1.5.0 (the pipeline's source has from: Tags) and made
it Release checkout-1-5-0. Its QA check is still running, it belongs to the
1.5 milestone (one release blocker open) and its launch needs Security and
Legal to sign off (the plugin: make build; export PATH=$PWD/bin:$PATH):

  kubectl get milestones,launchchecklists
  kubectl liftoff status release/checkout-1-5-0
  KUBECONFIG=%[7]s kubectl liftoff signoff launchchecklist/checkout-1-5-launch --item security-review --comment "pen test passed"
  KUBECONFIG=%[8]s kubectl liftoff signoff launchchecklist/checkout-1-5-launch --item legal-review --waive --comment "no new terms"
  KUBECONFIG=%[8]s kubectl liftoff signoff launchchecklist/checkout-1-5-launch --item security-review   # refused: lee is not in group security

Publish a release in the simulated GitHub: its signed webhook delivery makes
Liftoff discover it at once:

  curl -s -H 'Authorization: Bearer %[3]s' -d '{"tag_name":"v1.5.1","target_commitish":"main"}' %[2]srepos/acme/checkout/releases
  kubectl get releases

The release calendar freezes prod over Christmas and the Q4 close; see what
is open now, what comes and what happened, with the slip against plan:

  kubectl get releasecalendar releases -o yaml
  curl -s %[6]s/calendars/default/releases.ics

The dashboard as sue or lee (sign off from the release's page; lee is refused
for Security's item with the webhook's message):

  KUBECONFIG=%[7]s kubectl liftoff dashboard --port 8788
  KUBECONFIG=%[8]s kubectl liftoff dashboard --port 8789

Every promotion, the release, the rollback, the waiting 1.5.0 and the 1.5
milestone at risk are sent by the sample ReleaseNotification to the local
inbox, as Slack blocks, a Teams card and a signed webhook. The release notes of
a promotion, the delivery state, and the release report (sent now on request):

  kubectl liftoff notes release/checkout-1-4-3 --stage prod
  kubectl get releasenotifications
  kubectl liftoff report releasenotification/releases --send

Press Ctrl-C to stop.
`, p.Kubeconfig, p.SimURL, playground.Token, *metrics, p.PrometheusURL, p.HTTPURL, p.Users["sue"], p.Users["lee"], story, p.DashboardURL, p.InboxURL)
	fmt.Printf(`  OCI registry:      %[1]s   (the sample's image %[2]s, one tag per version;
                     push it again to see the next stage blocked: ArtifactChanged)
`, p.Registry.URL, p.Registry.Ref(playground.ImageRepo))
	if a := p.App; a != nil {
		fmt.Printf(`
Liftoff authenticates as GitHub App %[1]d (installation %[2]d on acme's
repositories): it signs a JWT with the App's key, exchanges it for an
installation token and renews the token before it expires. The Secret:

  kubectl get secret %[4]s -o jsonpath='{.data.appID}' | base64 -d
  # made as: kubectl create secret generic %[4]s --from-literal=appID=%[1]d \
  #   --from-literal=installationID=%[2]d --from-file=privateKey=%[3]s
`, a.ID, a.InstallationID, a.KeyFile, playground.TokenSecret)
	}

	if *exitWhenReleased {
		if err := playground.WaitReleased(ctx, p, "default", "checkout-1-4-2", 3*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("checkout-1-4-2 reached prod")
		return
	}
	<-ctx.Done()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
