package controllers_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// discoveringPipeline creates the test pipeline with discovery on.
func (e *testEnv) discoveringPipeline(from releasev1.DiscoverySource, constraint string, every time.Duration, mods ...func(*releasev1.ReleasePipeline)) *releasev1.ReleasePipeline {
	e.t.Helper()
	p := e.newPipeline()
	p.Spec.Source.From = from
	p.Spec.Source.VersionConstraint = constraint
	p.Spec.Source.Interval = &metav1Duration{Duration: every}
	p.Spec.Source.ReleaseTemplate = &releasev1.ReleaseTemplate{
		Labels:    map[string]string{"team": "payments"},
		Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}},
	}
	for _, m := range mods {
		m(p)
	}
	NewWithT(e.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
	return p
}

func (e *testEnv) getPipeline() *releasev1.ReleasePipeline {
	p := &releasev1.ReleasePipeline{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "checkout"}, p); err != nil {
		e.t.Fatalf("get pipeline: %v", err)
	}
	return p
}

// discovery returns status.discovery of the pipeline ("" fields when unset).
func (e *testEnv) discovery() releasev1.DiscoveryStatus {
	if d := e.getPipeline().Status.Discovery; d != nil {
		return *d
	}
	return releasev1.DiscoveryStatus{}
}

func (e *testEnv) lastChecked() time.Time {
	if d := e.discovery(); d.LastChecked != nil {
		return d.LastChecked.Time
	}
	return time.Time{}
}

// polls counts the simulator's answers to the listing discovery makes
// (lastChecked has a resolution of a second: too coarse to tell two polls apart).
func (e *testEnv) polls(from releasev1.DiscoverySource) func() int {
	op := "GET /repos/{owner}/{repo}/releases"
	if from == releasev1.DiscoverTags {
		op = "GET /repos/{owner}/{repo}/tags"
	}
	return func() int { return e.sim.Requests().ByOperation[op] }
}

// patchSource changes the pipeline's spec.source.
func (e *testEnv) patchSource(mod func(*releasev1.SourceSpec)) {
	e.t.Helper()
	p := e.getPipeline()
	orig := p.DeepCopy()
	mod(&p.Spec.Source)
	NewWithT(e.t).Expect(k8s.Patch(context.Background(), p, client.MergeFrom(orig))).To(Succeed())
}

// releaseNames lists every Release of the namespace, sorted.
func (e *testEnv) releaseNames() []string {
	var list releasev1.ReleaseList
	if err := k8s.List(context.Background(), &list, client.InNamespace(e.ns)); err != nil {
		e.t.Fatal(err)
	}
	out := []string{}
	for _, r := range list.Items {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

// commit makes a new commit in the application repository.
func (e *testEnv) commit(msg string) string {
	e.t.Helper()
	sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main // " + msg + "\n"}, msg)
	if err != nil {
		e.t.Fatal(err)
	}
	return sha
}

// counted reads liftoff_github_webhook_deliveries_total{event,outcome} from
// controller-runtime's registry, as the metrics endpoint serves it.
func counted(event, outcome string) float64 {
	return counterValue("liftoff_github_webhook_deliveries_total", map[string]string{"event": event, "outcome": outcome})
}

func TestDiscoveryFromReleasesPromotesTheNewest(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	sha150 := e.commit("1.5.0")
	sha200 := e.commit("2.0.0")
	// v1.4.2 is tagged already; its release is published. The draft, the
	// release outside the range and the pre-release must not be picked.
	for _, r := range []struct {
		tag, sha string
		draft    bool
	}{{"v1.4.2", e.appSHA, false}, {"v1.5.0", sha150, true}, {"v2.0.0", sha200, false}, {"v1.4.3-rc.1", sha150, false}} {
		_, err := e.sim.CreateRelease(appRepo, r.tag, r.sha, r.draft)
		g.Expect(err).NotTo(HaveOccurred())
	}
	e.discoveringPipeline(releasev1.DiscoverReleases, ">=1.4.0 <2.0.0", 300*time.Millisecond)

	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2"}))
	rel := e.get("checkout-1-4-2")
	g.Expect(rel.Spec.Version).To(Equal("1.4.2"))
	g.Expect(rel.Spec.Commit).To(Equal(e.appSHA))
	g.Expect(rel.Labels).To(Equal(map[string]string{"team": "payments", controllers.LabelPipeline: "checkout"}))
	g.Expect(rel.Annotations).To(HaveKeyWithValue(controllers.AnnotationDiscoveredFrom, "v1.4.2"))
	g.Expect(rel.Spec.Artifacts).To(Equal([]releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}}))
	g.Eventually(func() string { return e.discovery().LatestRelease }, timeout, interval).Should(Equal("checkout-1-4-2"))
	g.Expect(e.discovery().LatestVersion).To(Equal("1.4.2"))

	// A tagged build flows to prod with no human step.
	g.Eventually(e.phase("checkout-1-4-2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.file("prod")).To(ContainSubstring(`newTag: "1.4.2"`))

	// Later polls create every newer version in range, oldest first; the
	// draft stays ignored until published.
	sha143, sha144 := e.commit("1.4.3"), e.commit("1.4.4")
	for tag, sha := range map[string]string{"v1.4.4": sha144, "v1.4.3": sha143} {
		_, err := e.sim.CreateRelease(appRepo, tag, sha, false)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2", "checkout-1-4-3", "checkout-1-4-4"}))
	g.Expect(e.get("checkout-1-4-3").Spec.Commit).To(Equal(sha143))
	g.Expect(e.get("checkout-1-4-4").Spec.Commit).To(Equal(sha144))
	g.Expect(e.get("checkout-1-4-3").CreationTimestamp.Time).NotTo(BeTemporally(">", e.get("checkout-1-4-4").CreationTimestamp.Time))
	g.Eventually(func() string { return e.discovery().LatestVersion }, timeout, interval).Should(Equal("1.4.4"))
	g.Eventually(func() []string { return eventReasons(e, "checkout") }, timeout, interval).Should(
		HaveEach("Discovered"), "events on the pipeline")
	g.Eventually(func() int { return len(eventReasons(e, "checkout")) }, timeout, interval).Should(Equal(3))

	// Polling an unchanged repository costs 304s, not rate limit.
	before := e.sim.Requests()
	g.Eventually(func() int { return e.sim.Requests().NotModified - before.NotModified }, timeout, interval).Should(BeNumerically(">=", 2))
}

func TestDiscoveryFromTagsAndBadConstraint(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	sha145, sha150rc := e.commit("1.4.5"), e.commit("1.5.0-rc.1")
	for tag, sha := range map[string]string{"1.4.5": sha145, "v1.5.0-rc.1": sha150rc, "latest": sha150rc, "v1.4": sha145} {
		g.Expect(e.sim.CreateTag(appRepo, tag, sha)).To(Succeed())
	}
	e.discoveringPipeline(releasev1.DiscoverTags, "", time.Hour)

	// The newest stable version: a tag without the v prefix counts; the
	// pre-release does not match a range that names none.
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-5"}))
	g.Expect(e.get("checkout-1-4-5").Spec.Commit).To(Equal(sha145))
	g.Expect(e.get("checkout-1-4-5").Annotations).To(HaveKeyWithValue(controllers.AnnotationDiscoveredFrom, "1.4.5"))

	// A bad range stalls the pipeline with what to fix, and creates nothing.
	e.patchSource(func(s *releasev1.SourceSpec) { s.VersionConstraint = ">=banana" })
	g.Eventually(func() string { return pipelineCondition(e, releasev1.ConditionStalled) }, timeout, interval).Should(And(
		HavePrefix("True/InvalidSpec"), ContainSubstring(`versionConstraint ">=banana" is not a semver range`), ContainSubstring("write one like")))
	g.Expect(pipelineCondition(e, releasev1.ConditionReady)).To(HavePrefix("False/InvalidSpec"))
	g.Expect(e.releaseNames()).To(Equal([]string{"checkout-1-4-5"}))

	// Fixed to a range that allows the pre-release: it is discovered.
	e.patchSource(func(s *releasev1.SourceSpec) { s.VersionConstraint = ">=1.5.0-0" })
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-5", "checkout-1-5-0-rc-1"}))
	g.Expect(e.get("checkout-1-5-0-rc-1").Spec.Version).To(Equal("1.5.0-rc.1"))
	g.Eventually(func() string { return pipelineCondition(e, releasev1.ConditionStalled) }, timeout, interval).Should(BeEmpty())
}

func pipelineCondition(e *testEnv, ctype string) string {
	for _, c := range e.getPipeline().Status.Conditions {
		if c.Type == ctype {
			return string(c.Status) + "/" + c.Reason + ": " + c.Message
		}
	}
	return ""
}

func TestDiscoveryNoDuplicateAfterRestart(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.discoveringPipeline(releasev1.DiscoverTags, "~1.4", time.Hour)
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2"}))
	g.Eventually(func() string { return e.discovery().LatestVersion }, timeout, interval).Should(Equal("1.4.2"))
	first := e.get("checkout-1-4-2").UID
	polled := e.polls(releasev1.DiscoverTags)()

	// A restart polls again and creates nothing.
	e.restart(nil)
	g.Eventually(e.polls(releasev1.DiscoverTags), timeout, interval).Should(BeNumerically(">", polled))
	g.Eventually(func() string { return e.discovery().Message }, timeout, interval).Should(ContainSubstring("no new version"))
	g.Expect(e.releaseNames()).To(Equal([]string{"checkout-1-4-2"}))
	g.Expect(e.get("checkout-1-4-2").UID).To(Equal(first))

	// A crash between creating a Release and writing status.discovery: the
	// Release of v1.4.3 exists, the status still says 1.4.2. A hand-made
	// Release of 1.4.5 exists under another name. 1.4.4 and 1.4.6 are new.
	e.stopController()
	shas := map[string]string{}
	for _, v := range []string{"1.4.3", "1.4.4", "1.4.5", "1.4.6"} {
		shas[v] = e.commit(v)
		g.Expect(e.sim.CreateTag(appRepo, "v"+v, shas[v])).To(Succeed())
	}
	crashed := &releasev1.Release{}
	crashed.Name, crashed.Namespace = "checkout-1-4-3", e.ns
	crashed.Labels = map[string]string{controllers.LabelPipeline: "checkout"}
	crashed.Annotations = map[string]string{controllers.AnnotationDiscoveredFrom: "v1.4.3"}
	crashed.Spec = releasev1.ReleaseSpec{Pipeline: "checkout", Version: "1.4.3", Commit: shas["1.4.3"]}
	g.Expect(k8sCreate(crashed)).To(Succeed())
	e.release("hotfix", "v1.4.5")
	g.Expect(e.discovery().LatestVersion).To(Equal("1.4.2"))

	e.start()
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2", "checkout-1-4-3", "checkout-1-4-4", "checkout-1-4-6", "hotfix"}))
	g.Eventually(func() string { return e.discovery().LatestVersion }, timeout, interval).Should(Equal("1.4.6"))
	g.Expect(e.get("checkout-1-4-3").UID).To(Equal(crashed.UID), "the Release of 1.4.3 was not created again")
	g.Expect(e.get("checkout-1-4-4").Spec.Commit).To(Equal(shas["1.4.4"]))
}

// webhookEnv is a controller serving /hooks/github with secret, polling QA
// results and the repository only once an hour: only a delivery explains a
// quick reaction.
func webhookEnv(t *testing.T, secret []byte) *testEnv {
	return newEnv(t, withHooks(secret), withPollInterval(time.Hour))
}

// answered waits for every delivery and returns them.
func answered(e *testEnv) []githubsim.Delivery {
	e.sim.WaitDeliveries()
	return e.sim.Deliveries()
}

func TestWebhookTriggersDiscovery(t *testing.T) {
	g := NewWithT(t)
	secret := []byte("webhook-secret")
	e := newEnv(t, withHooks(secret), withPollInterval(time.Hour), serial())
	// GitHub names are case-insensitive: the payload says acme/checkout.
	e.discoveringPipeline(releasev1.DiscoverReleases, "", time.Hour, func(p *releasev1.ReleasePipeline) { p.Spec.Source.Repository = "ACME/Checkout" })
	g.Eventually(e.lastChecked, timeout, interval).ShouldNot(BeZero())
	g.Expect(e.releaseNames()).To(BeEmpty()) // v1.4.2 is only a tag, not a release
	polled := e.polls(releasev1.DiscoverReleases)()

	e.sim.AddWebhook(e.hooksURL, secret, "release", "create", "push")
	triggered := counted("release", "triggered")
	sha := e.commit("1.5.0")
	_, err := e.sim.CreateRelease(appRepo, "v1.5.0", sha, false)
	g.Expect(err).NotTo(HaveOccurred())

	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-5-0"}))
	g.Expect(e.get("checkout-1-5-0").Spec.Commit).To(Equal(sha))
	g.Expect(e.polls(releasev1.DiscoverReleases)()).To(BeNumerically(">", polled))
	var published githubsim.Delivery
	for _, d := range answered(e) {
		switch d.Event {
		case "ping":
			g.Expect(d.StatusCode).To(Equal(http.StatusOK), d.Response)
		default:
			g.Expect(d.StatusCode).To(Equal(http.StatusAccepted), "%s/%s: %s", d.Event, d.Action, d.Response)
		}
		if d.Event == "release" && d.Action == "published" {
			published = d
		}
	}
	g.Expect(counted("release", "triggered") - triggered).To(BeNumerically(">=", 3)) // created, published, released

	// A replayed delivery is answered "duplicate" and triggers nothing.
	again, err := e.sim.Redeliver(published.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.StatusCode).To(Equal(http.StatusOK))
	g.Expect(again.Response).To(ContainSubstring("duplicate"))
	g.Expect(e.releaseNames()).To(Equal([]string{"checkout-1-5-0"}))
}

func TestWebhookRefusedDeliveriesCreateNothing(t *testing.T) {
	g := NewWithT(t)
	e := webhookEnv(t, []byte("the-right-secret"))
	e.discoveringPipeline(releasev1.DiscoverTags, "", time.Hour)
	g.Eventually(e.releaseNames, timeout, interval).Should(Equal([]string{"checkout-1-4-2"}))
	g.Eventually(e.lastChecked, timeout, interval).ShouldNot(BeZero())
	polled := e.polls(releasev1.DiscoverTags)()

	e.sim.AddWebhook(e.hooksURL, []byte("a-wrong-secret"), "create", "push")
	g.Expect(e.sim.CreateTag(appRepo, "v1.4.3", e.commit("1.4.3"))).To(Succeed())
	ds := answered(e)
	g.Expect(ds).To(HaveLen(3)) // ping, create, push
	for _, d := range ds {
		g.Expect(d.StatusCode).To(Equal(http.StatusUnauthorized), d.Event)
		g.Expect(d.Response).To(ContainSubstring("secret on the GitHub webhook differs"))
	}
	g.Consistently(e.releaseNames, time.Second, interval).Should(Equal([]string{"checkout-1-4-2"}))
	g.Expect(e.polls(releasev1.DiscoverTags)()).To(Equal(polled))

	// A receiver without a secret refuses everything and says why.
	e2 := webhookEnv(t, nil)
	e2.sim.AddWebhook(e2.hooksURL, []byte("any"), "*")
	for _, d := range answered(e2) {
		g.Expect(d.StatusCode).To(Equal(http.StatusServiceUnavailable))
		g.Expect(d.Response).To(ContainSubstring("no webhook secret is configured"))
	}
}

func TestWebhookCheckRunRechecksQAGate(t *testing.T) {
	g := NewWithT(t)
	secret := []byte("webhook-secret")
	e := webhookEnv(t, secret)
	e.pipeline(e.stage("dev", checksGate("ci/test")))
	e.sim.SetCheckRun(appRepo, e.appSHA, "ci/test", "in_progress", "")
	e.release("checkout-1-4-2", "1.4.2")
	g.Eventually(e.gate("checkout-1-4-2", "dev", "checks"), timeout, interval).Should(
		And(HavePrefix("Pending/"), ContainSubstring("ci/test (in_progress)")))

	e.sim.AddWebhook(e.hooksURL, secret, "check_run")
	e.sim.SetCheckRun(appRepo, e.appSHA, "ci/test", "completed", "success")
	// The controller re-reads checks once an hour: only the delivery explains this.
	g.Eventually(e.phase("checkout-1-4-2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.file("dev")).To(ContainSubstring(`newTag: "1.4.2"`))
	var events []string
	for _, d := range answered(e) {
		events = append(events, d.Event+"/"+d.Action+" "+strings.TrimSpace(d.Response))
	}
	g.Expect(events).To(ContainElement(HavePrefix("check_run/completed QA gates of acme/checkout@" + e.appSHA)))
}
