package dashboard_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/dashboard"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// listGate stands between a dashboard and the API server and holds its list
// (and watch) of Releases, as a slow API server does with thousands of
// them: each request waits while the gate holds, gets the API server's 500
// while it fails, and goes through once it is open.
type listGate struct {
	mu      sync.Mutex
	state   string // hold, fail, open
	changed chan struct{}
	asked   atomic.Int32
}

func newListGate() *listGate { return &listGate{state: "hold", changed: make(chan struct{})} }

func (g *listGate) set(state string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = state
	close(g.changed)
	g.changed = make(chan struct{})
}

// wrap is a rest.Config's WrapTransport.
func (g *listGate) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/releases") {
			return next.RoundTrip(req)
		}
		g.asked.Add(1)
		for {
			g.mu.Lock()
			state, changed := g.state, g.changed
			g.mu.Unlock()
			switch state {
			case "open":
				return next.RoundTrip(req)
			case "fail":
				return &http.Response{StatusCode: http.StatusInternalServerError, Request: req,
					Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
						`"message":"etcdserver: request timed out","reason":"InternalError","code":500}`))}, nil
			}
			select {
			case <-changed:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// createEarlyWorld is a namespace with a pipeline whose status holds the
// live versions and a promotion in flight, and a Release waiting in prod.
func createEarlyWorld(t *testing.T, space string) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: space}})).To(Succeed())
	stage := func(name string) releasev1.Stage {
		return releasev1.Stage{Name: name, Target: releasev1.Target{Repository: "acme/gitops",
			Files: []releasev1.TargetFile{{Path: "envs/" + name + "/payments.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/payments"}}}}}
	}
	pipe := &releasev1.ReleasePipeline{ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: space},
		Spec: releasev1.ReleasePipelineSpec{Source: releasev1.SourceSpec{Repository: "acme/payments"}, Stages: []releasev1.Stage{stage("dev"), stage("prod")}}}
	g.Expect(k8s.Create(ctx, pipe)).To(Succeed())
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	pipe.Status = releasev1.ReleasePipelineStatus{
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", LastTransitionTime: now}},
		Stages: []releasev1.PipelineStageStatus{
			{Name: "dev", Version: "2.2.0", Release: "payments-2-2-0", PromotedAt: &now},
			{Name: "prod", Version: "2.0.3", Release: "payments-2-0-3", PromotedAt: &now,
				InFlight: &releasev1.InFlightPromotion{Release: "payments-2-1-0", Version: "2.1.0", Since: now}},
		}}
	g.Expect(k8s.Status().Update(ctx, pipe)).To(Succeed())
	rel := &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Name: "payments-2-2-0", Namespace: space},
		Spec: releasev1.ReleaseSpec{Pipeline: "payments", Version: "2.2.0"}}
	g.Expect(k8s.Create(ctx, rel)).To(Succeed())
	rel.Status = releasev1.ReleaseStatus{Phase: releasev1.PhaseBlocked, CurrentStage: "prod",
		Stages: []releasev1.ReleaseStageStatus{
			{Name: "dev", Phase: releasev1.StagePromoted, Promotion: &releasev1.PromotionStatus{Commit: "8888888aaaaaaa", CompletedAt: &now}},
			{Name: "prod", Phase: releasev1.StageWaiting, Gates: []releasev1.GateStatus{
				{Name: gates.NameCalendar, Status: releasev1.GatePending, Reason: "Frozen", Message: "prod is frozen until Monday", LastChecked: &now}}},
		}}
	g.Expect(k8s.Status().Update(ctx, rel)).To(Succeed())
}

// A fresh dashboard serves before its Releases are listed: the pipelines
// show their live versions and say the Releases are loading, a Release's
// page says so too, and both fill in by themselves, without a reload, once
// the list comes.
func TestDashboardServesBeforeItsReleasesAreListed(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: starts Chromium and a control plane")
	}
	g := NewWithT(t)
	chromium, axe := browserTools(t)
	shots := artifacts(t)
	const space = "early"
	createEarlyWorld(t, space)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	gate := newListGate()
	cfg := rest.CopyConfig(restCfg)
	cfg.Wrap(gate.wrap)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	d, err := dashboard.StartLocal(ctx, cfg, dashboard.LocalOptions{Namespace: space, Listener: ln})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(gate.asked.Load, timeout, poll).Should(BeNumerically(">", 0), "the dashboard asked for its Releases")
	g.Expect(d.Loaded.Done("release")).NotTo(BeClosed(), "and is serving without them")

	root := startChromium(t, ctx, chromium)
	pipes := newBrowser(t, root, axe, shots)
	pipes.open(d.URL)
	evalIn[bool](pipes, `window.notReloaded = true`)
	g.Expect(pipes.text(`main [data-loading]`)()).To(ContainSubstring("Releases are still loading."))
	row := pipes.text(`section.pipeline`)()
	g.Expect(row).To(MatchRegexp(`dev\s+2\.2\.0`))
	g.Expect(row).To(MatchRegexp(`prod\s+2\.0\.3`))
	g.Expect(row).To(ContainSubstring("promoting 2.1.0"))
	g.Expect(row).To(ContainSubstring("On their way: still loading."))
	pipes.screenshot("pipelines-loading")
	pipes.axeClean("pipelines-loading")

	rel := newBrowser(t, root, axe, shots)
	rel.open(d.URL + "releases/" + space + "/payments-2-2-0")
	evalIn[bool](rel, `window.notReloaded = true`)
	g.Expect(rel.text(`main [data-loading]`)()).To(ContainSubstring("Releases are still loading."))
	rel.screenshot("release-loading")
	rel.axeClean("release-loading")

	// A list that fails is said on the open page, which keeps waiting.
	gate.set("fail")
	g.Eventually(pipes.text(`main [data-loading] .problem`), timeout, poll).Should(
		Equal("The last attempt to list them failed: etcdserver: request timed out. It is being retried."))
	pipes.screenshot("pipelines-loading-failed")

	gate.set("open")
	g.Eventually(pipes.text(`table.waiting tbody`), timeout, poll).Should(MatchRegexp(`payments-2-2-0 2\.2\.0\s+Blocked\s+prod\s+calendar\s+prod is frozen until Monday`))
	g.Expect(pipes.text(`main [data-loading]`)()).To(BeEmpty(), "the notice went away by itself")
	g.Expect(evalIn[bool](pipes, `window.notReloaded === true`)).To(BeTrue(), "the page updated in place")
	pipes.screenshot("pipelines-loaded")
	pipes.noErrors()

	g.Eventually(rel.text(`#release-phase`), timeout, poll).Should(Equal("Blocked"))
	g.Expect(rel.text(`main [data-loading]`)()).To(BeEmpty())
	g.Expect(evalIn[bool](rel, `window.notReloaded === true`)).To(BeTrue(), "the page updated in place")
	g.Expect(evalIn[string](rel, `document.title`)).To(Equal("Release payments-2-2-0 · Liftoff"))
	g.Expect(evalIn[string](rel, `document.querySelector("main").dataset.live`)).To(ContainSubstring("release:"+space+"/payments-2-2-0"),
		"the page now follows its Release")
	rel.axeClean("release-loaded")
	rel.noErrors()
}
