package playground

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// The embedded default does what the README promises: the sample release
// reaches prod through dev and staging, with one commit per stage.
func TestSampleReleaseReachesProd(t *testing.T) {
	ctx := context.Background()
	p, root := start(t, Options{BadRelease: true, DashboardAddr: "127.0.0.1:0"})

	if _, err := os.Stat(p.Kubeconfig); err != nil {
		t.Fatalf("kubeconfig not written: %v", err)
	}
	// What `kubectl get releases -w` shows.
	watched := watchReleases(ctx, t, p)
	// The sample calendar freezes prod a few days a year. On those days the
	// promise is the hold, not the release: check that instead.
	if frozen := sampleFreeze(t, root); frozen != "" {
		holdsAtCalendar(ctx, t, p, frozen)
		return
	}
	if err := WaitReleased(ctx, p, "default", "checkout-1-4-2", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	rel := &releasev1.Release{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2"}, rel); err != nil {
		t.Fatal(err)
	}
	// The image was pinned from the playground's registry and written by digest.
	if len(rel.Status.Artifacts) != 1 || rel.Status.Artifacts[0].Reference != p.Registry.Ref(ImageRepo)+":1.4.2" {
		t.Fatalf("pins %+v", rel.Status.Artifacts)
	}
	pinned := "digest: " + rel.Status.Artifacts[0].Digest
	for _, st := range []string{"dev", "staging", "prod"} {
		ss := rel.Status.StageStatus(st)
		if ss == nil || ss.Phase != releasev1.StagePromoted || ss.Promotion == nil {
			t.Errorf("stage %s: %+v", st, ss)
			continue
		}
		// Read at the promotion's commit: the story's next release (1.4.3)
		// may be in dev already.
		content, ok := p.Sim.FileAt(GitOpsRepo, ss.Promotion.Commit, "envs/"+st+"/kustomization.yaml")
		if !ok || !strings.Contains(content, `newTag: "1.4.2" # promoted by Liftoff`) || !strings.Contains(content, pinned) {
			t.Errorf("%s kustomization at %s:\n%s", st, ss.Promotion.Commit, content)
		}
		// Each stage waited for its GitOps agent to roll the commit out.
		agent := map[string]string{"dev": "ArgoCD", "staging": "ArgoCD", "prod": "Flux"}[st]
		if d := ss.Deployment; d == nil || d.Agent != agent || d.State != releasev1.DeploymentDeployed || ss.CommittedAt == nil || ss.DeployedAt == nil ||
			!ss.DeployedAt.After(ss.CommittedAt.Time) {
			t.Errorf("stage %s: committed %v, deployed %v, deployment %+v", st, ss.CommittedAt, ss.DeployedAt, d)
		}
	}
	if w := watched(); !slices.ContainsFunc(w, func(l string) bool { return strings.HasPrefix(l, "checkout-1-4-2 Deploying ") }) {
		t.Errorf("the wait for the agents was not seen:\n%s", strings.Join(w, "\n"))
	}
	// Checkout required payments 1.8.0 running in each stage first.
	for _, st := range []string{"dev", "staging", "prod"} {
		if g := gate(rel.Status.StageStatus(st), gates.NameDependencies); g == nil || g.Status != releasev1.GatePassed ||
			g.Message != "payments 1.8.0 runs in "+st+" (needs >=1.8.0)" {
			t.Errorf("stage %s: dependencies gate %+v", st, g)
		}
		content, _ := p.Sim.FileAt(GitOpsRepo, "main", "envs/payments/"+st+"/kustomization.yaml")
		if !strings.Contains(content, `newTag: "1.8.0" # promoted by Liftoff`) {
			t.Errorf("payments %s kustomization:\n%s", st, content)
		}
	}
	// Checkout and payments shipped as one launch (the sample Launch).
	launch := &releasev1.Launch{}
	NewWithT(t).Eventually(func() releasev1.LaunchPhase {
		_ = p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-payments"}, launch)
		return launch.Status.Phase
	}, time.Minute, 200*time.Millisecond).Should(Equal(releasev1.LaunchReleased), "launch checkout-payments")
	if len(launch.Status.Members) != 2 || launch.Status.CurrentStage == "" {
		t.Errorf("launch checkout-payments: %+v", launch.Status)
	}
	values, _ := p.Sim.FileAt(GitOpsRepo, rel.Status.StageStatus("staging").Promotion.Commit, "envs/staging/values.yaml")
	if !strings.Contains(values, "version: 1.4.2 # promoted by Liftoff") {
		t.Errorf("staging values.yaml:\n%s", values)
	}
	if analysis := rel.Status.StageStatus("prod").Analysis; analysis == nil || analysis.Phase != "Succeeded" {
		t.Errorf("prod analysis: %+v", analysis)
	}
	prodUSInWaves(t, p, rel)

	// Then the bad release goes out, fails verification in prod and is
	// rolled back in Git, with one postmortem issue.
	bad := &releasev1.Release{}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-3"}, bad); err == nil && bad.Status.Phase == releasev1.PhaseFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bad release not rolled back: %+v", bad.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if ss := bad.Status.StageStatus("prod"); ss.Phase != releasev1.StageRolledBack || ss.Rollback == nil || ss.Rollback.Version != "1.4.2" || ss.Postmortem == nil {
		t.Errorf("bad release in prod: %+v", ss)
	}
	// Flux applies the rollback; the status says when prod is back.
	var rb *releasev1.RollbackStatus
	NewWithT(t).Eventually(func() *metav1.Time {
		if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-3"}, bad); err != nil {
			return nil
		}
		if rb = bad.Status.StageStatus("prod").Rollback; rb == nil {
			return nil
		}
		return rb.DeployedAt
	}, time.Minute, 200*time.Millisecond).ShouldNot(BeNil(), "the rollback was not followed until deployed")
	if !strings.HasPrefix(rb.Message, "1.4.2 is live again in prod since ") {
		t.Errorf("rollback %+v", rb)
	}
	t.Logf("kubectl get releases -w:\n%s", strings.Join(watched(), "\n"))
	good := &releasev1.Release{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2"}, good); err != nil || len(good.Status.Artifacts) != 1 {
		t.Fatalf("checkout-1-4-2's pins: %v, %+v", err, good.Status.Artifacts)
	}
	content, _ := p.Sim.FileAt(GitOpsRepo, "main", "envs/prod/kustomization.yaml")
	if !strings.Contains(content, `newTag: "1.4.2" # promoted by Liftoff`) || !strings.Contains(content, "digest: "+good.Status.Artifacts[0].Digest) {
		t.Errorf("prod after the rollback: want 1.4.2's pinned digest back\n%s", content)
	}
	postmortems := 0
	for _, is := range p.Sim.Issues(AppRepo) {
		if slices.Contains(is.Labels, "postmortem") {
			postmortems++
		}
	}
	if postmortems != 1 {
		t.Errorf("postmortem issues: %+v", p.Sim.Issues(AppRepo))
	}
	// The good release is live again in prod, not superseded.
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2"}, rel); err != nil || rel.Status.Phase != releasev1.PhaseReleased {
		t.Errorf("good release after the rollback: %s %v", rel.Status.Phase, err)
	}

	// The sample notification told the local inbox, in each receiver's format.
	// Checkout 1.4.2 ships in the sample launch: its news is the launch's
	// ("launch checkout-payments released: ..."), or its own when the
	// notification was derived before the launch listed it.
	waitInbox(t, p, "slack", "checkout 1.4.2 released", "launch checkout-payments released: ")
	waitInbox(t, p, "teams", "checkout 1.4.2 promoted to prod", "launch checkout-payments promoted to prod: ")
	rolledBack := waitInbox(t, p, "webhook", "checkout 1.4.3 rolled back in prod to 1.4.2")
	if rolledBack.Signed != "signature valid" || rolledBack.Type != "RolledBack" || !strings.Contains(string(rolledBack.Body), `"postmortem":{"title":"postmortem #`) {
		t.Errorf("rollback notification: %s %s %s", rolledBack.Type, rolledBack.Signed, rolledBack.Body)
	}
	if page := get(t, p.InboxURL+"/"); !strings.Contains(page, "checkout 1.4.3 rolled back in prod to 1.4.2") {
		t.Errorf("the inbox page does not show the rollback:\n%s", page)
	}

	// The 1.4.2 launch checklist was ready by itself; the 1.5 milestone reads
	// its GitHub milestone and its open blocker.
	lc := &releasev1.LaunchChecklist{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2-launch"}, lc); err != nil || !lc.Status.Ready {
		t.Errorf("checklist checkout-1-4-2-launch: %+v %v", lc.Status, err)
	}
	ms := &releasev1.Milestone{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-5"}, ms); err != nil ||
		ms.Status.BlockerCount != 1 || ms.Status.Progress != "2/4 (50%)" {
		t.Errorf("milestone checkout-1-5: %+v %v", ms.Status, err)
	}

	// Discovery made a Release of the newest tag in range, in the 1.5
	// milestone; a new tag becomes a Release through the signed webhook.
	discovered := &releasev1.Release{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-5-0"}, discovered); err != nil ||
		discovered.Spec.Milestone != "checkout-1-5" || discovered.Spec.LaunchChecklist != "checkout-1-5-launch" {
		t.Errorf("discovered release checkout-1-5-0: %+v %v", discovered.Spec, err)
	}
	// CI pushes the image before it publishes the release: discovery waits
	// for every artifact of a version.
	if _, err := p.Registry.PushImage(ImageRepo, "1.5.1"); err != nil {
		t.Fatal(err)
	}
	head := p.Sim.Commits(AppRepo, "main")[0].SHA
	if _, err := p.Sim.CreateRelease(AppRepo, "v1.5.1", head, false); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-5-1"}, discovered) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("tag v1.5.1 not discovered; deliveries: %+v", p.Sim.Deliveries())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The calendar's feed lists what happened.
	feed := get(t, p.HTTPURL+"/calendars/default/releases.ics")
	for _, want := range []string{"BEGIN:VCALENDAR", "SUMMARY:Promoted: checkout 1.4.2 -> prod", "SUMMARY:RolledBack: checkout 1.4.3 -> prod"} {
		if !strings.Contains(feed, want) {
			t.Errorf("feed lacks %q:\n%s", want, feed)
		}
	}

	// The dashboard that `make dev` prints tells the same story, as ann.
	story := get(t, p.DashboardURL+"api/releases/default/checkout-1-4-3")
	for _, want := range []string{`"phase": "Failed"`, `"text": "rolled back to 1.4.2`, `"label": "rolled back"`} {
		if !strings.Contains(story, want) {
			t.Errorf("the dashboard's checkout-1-4-3 lacks %q:\n%s", want, story)
		}
	}
}

// With -github-app the playground authenticates as a GitHub App: the sample
// Secret holds the App's credential, the release reaches prod with the
// installation's writes paced by its write budget, and the dashboard shows it.
func TestSampleReleaseReachesProdAsAGitHubApp(t *testing.T) {
	ctx := context.Background()
	p, root := start(t, Options{GitHubApp: true, DashboardAddr: "127.0.0.1:0"})

	secret := &corev1.Secret{}
	if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: TokenSecret}, secret); err != nil {
		t.Fatal(err)
	}
	if _, ok := secret.Data["token"]; ok || string(secret.Data["appID"]) != strconv.Itoa(AppID) || len(secret.Data["privateKey"]) == 0 {
		t.Fatalf("the sample Secret holds %v, want the App's appID, installationID and privateKey", slices.Sorted(maps.Keys(secret.Data)))
	}
	if key, err := os.ReadFile(p.App.KeyFile); err != nil || !strings.Contains(string(key), "BEGIN RSA PRIVATE KEY") {
		t.Fatalf("the App's key file: %v", err)
	}
	if frozen := sampleFreeze(t, root); frozen != "" {
		holdsAtCalendar(ctx, t, p, frozen)
		return
	}
	if err := WaitReleased(ctx, p, "default", "checkout-1-4-2", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	st := p.Sim.Requests()
	if st.ByOperation["POST /app/installations/{installation_id}/access_tokens"] == 0 || st.ByStatus[http.StatusUnauthorized] != 0 || st.SecondaryRefusals != 0 {
		t.Fatalf("GitHub requests: %+v", st)
	}
	if u := p.Sim.InstallationUsage(p.App.InstallationID); u.ContentLastHour == 0 {
		t.Fatal("no content-generating request counted for the App's installation")
	}
	// The dashboard reads its own informer cache: it says Released once the
	// cache has the status the API server has.
	var story string
	NewWithT(t).Eventually(func() string {
		story = get(t, p.DashboardURL+"api/releases/default/checkout-1-4-2")
		return story
	}, 30*time.Second, 200*time.Millisecond).Should(ContainSubstring(`"phase": "Released"`), "the dashboard's checkout-1-4-2 is not Released")
}

// start runs the playground on free ports with o's choices; it stops with
// the test. It returns the repository root.
func start(t *testing.T, o Options) (*Playground, string) {
	if testing.Short() {
		t.Skip("runs the whole playground (control plane, Prometheus): not in -short")
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../../hack/build-control-plane.sh").Output()
		if err != nil {
			t.Fatalf("building the control plane: %v", err)
		}
		t.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	o.SimAddr, o.PrometheusAddr, o.InboxAddr, o.Dir, o.Root, o.PollInterval, o.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", t.TempDir(), root, time.Second, "0"
	o.RegistryAddr = "127.0.0.1:0"
	p, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, root
}

// watchReleases collects "NAME PHASE STAGE" of every change of a Release in
// the samples' namespace, as `kubectl get releases -w` prints them.
func watchReleases(ctx context.Context, t *testing.T, p *Playground) func() []string {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: p.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, &releasev1.ReleaseList{}, client.InNamespace("default"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	var lines []string
	go func() {
		for ev := range w.ResultChan() {
			if rel, ok := ev.Object.(*releasev1.Release); ok {
				l := fmt.Sprintf("%s %s %s", rel.Name, rel.Status.Phase, rel.Status.CurrentStage)
				mu.Lock()
				if len(lines) == 0 || lines[len(lines)-1] != l {
					lines = append(lines, l)
				}
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
}

// waitInbox waits until the playground's inbox got a message titled title
// on receiver's route, or one whose title starts with one of prefixes.
func waitInbox(t *testing.T, p *Playground, receiver, title string, prefixes ...string) InboxMessage {
	t.Helper()
	var found InboxMessage
	NewWithT(t).Eventually(func() bool {
		for _, m := range p.Inbox.Messages() {
			if m.Receiver != receiver {
				continue
			}
			if m.Title == title || slices.ContainsFunc(prefixes, func(pre string) bool { return strings.HasPrefix(m.Title, pre) }) {
				found = m
				return true
			}
		}
		return false
	}, 3*time.Minute, 200*time.Millisecond).Should(BeTrue(), "no %q (nor one starting %q) in the inbox's %s messages", title, prefixes, receiver)
	return found
}

// sampleFreeze says which freeze of the sample calendar closes prod now, if any.
func sampleFreeze(t *testing.T, root string) string {
	raw, err := os.ReadFile(filepath.Join(root, "config", "samples", "release_v1alpha1_releasecalendar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rc := &releasev1.ReleaseCalendar{}
	if err := yaml.Unmarshal(raw, rc); err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Of(rc)
	if err != nil {
		t.Fatal(err)
	}
	if st := cal.At("prod", time.Now()); !st.Open {
		return st.Window
	}
	return ""
}

func holdsAtCalendar(ctx context.Context, t *testing.T, p *Playground, freeze string) {
	t.Logf("prod is frozen today by %s: checking that the sample release is held", freeze)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rel := &releasev1.Release{}
		if err := p.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "checkout-1-4-2"}, rel); err == nil {
			if ss := rel.Status.StageStatus("prod"); ss != nil {
				for _, g := range ss.Gates {
					if g.Name == gates.NameCalendar && g.Status == releasev1.GatePending && strings.Contains(g.Message, freeze) {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sample release is not held by %s", freeze)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

// gate is the named gate of a stage, or nil.
func gate(ss *releasev1.ReleaseStageStatus, name string) *releasev1.GateStatus {
	if ss == nil {
		return nil
	}
	for i := range ss.Gates {
		if ss.Gates[i].Name == name {
			return &ss.Gates[i]
		}
	}
	return nil
}

// prodUSInWaves: prod-us's two clusters went out in two waves, one commit
// each, each deployed by its own Argo CD Application, the second written
// only once the first was deployed.
func prodUSInWaves(t *testing.T, p *Playground, rel *releasev1.Release) {
	t.Helper()
	us := rel.Status.StageStatus("prod-us")
	if us == nil || us.Phase != releasev1.StagePromoted || us.Waves != 2 || len(us.Targets) != 2 {
		t.Errorf("prod-us: %+v", us)
		return
	}
	for k, ts := range us.Targets {
		if ts.Wave != int32(k+1) || ts.Phase != releasev1.TargetDeployed || ts.Commit == "" || ts.CommittedAt == nil || ts.DeployedAt == nil ||
			ts.Deployment == nil || ts.Deployment.Agent != "ArgoCD" || ts.Deployment.Object != "argocd/checkout-"+ts.Name {
			t.Errorf("prod-us target %s: %+v", ts.Name, ts)
			continue
		}
		content, _ := p.Sim.FileAt(GitOpsRepo, ts.Commit, "envs/"+ts.Name+"/kustomization.yaml")
		if !strings.Contains(content, `newTag: "1.4.2" # promoted by Liftoff`) {
			t.Errorf("%s kustomization at %s:\n%s", ts.Name, ts.Commit, content)
		}
	}
	east, west := us.Targets[0], us.Targets[1]
	if east.Commit == west.Commit || west.CommittedAt == nil || east.DeployedAt == nil || west.CommittedAt.Before(east.DeployedAt) {
		t.Errorf("prod-us-west was written with or before prod-us-east was deployed: east %+v, west %+v", east, west)
	}
}
