package release_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/notes"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/registry"
	"github.com/liftoff-dev/liftoff/internal/release"
)

// The fast tier: the engine against controller-runtime's fake client and the
// GitHub simulator over HTTP, on a fake clock. No control plane: the API
// server's own rules (CEL, defaults) are envtest's to prove.

const (
	ns         = "shop"
	token      = "ghp_engine-test-token"
	appRepo    = "acme/checkout"
	gitopsRepo = "acme/gitops"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// world is one test's cluster (a fake client), GitHub (the simulator) and
// clock, with an engine as the manager would build it.
type world struct {
	t      *testing.T
	ctx    context.Context
	clk    *clocktesting.FakeClock
	sim    *githubsim.Server
	c      client.WithWatch
	engine *release.Engine
	events *events.FakeRecorder
	appSHA string
	// transport, when set, sees every GitHub request of the engine.
	transport func(*http.Request) (*http.Response, error)
	// writes counts the Release status writes; pipelineWrites the
	// pipeline's (the stage locks').
	writes         int
	pipelineWrites int
	// budget, when set, paces the GitHub clients' writes (on the fake clock).
	budget *github.WriteBudget
	// factory hands out the engine's GitHub clients.
	factory *github.Factory
	// prom is the error ratio the Prometheus API answers with ("" no data).
	mu   sync.Mutex
	prom string
	// promFor, when set, answers each query instead of prom; queries are
	// those asked.
	promFor func(query string) string
	queries []string
	// promURL serves a Prometheus HTTP API.
	promURL string
	// agents plays the stages' GitOps agents.
	agents *fakeAgents
	// cache, when set, is what the engine reads as the manager's cache (a
	// shard's); the API server (w.c) otherwise.
	cache client.Reader
}

func kustomization(tag string) string {
	return "images:\n  - name: ghcr.io/acme/checkout\n    newTag: \"" + tag + "\" # current release\n"
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clk: clocktesting.NewFakeClock(t0), events: events.NewFakeRecorder(100), agents: &fakeAgents{}}
	w.sim = githubsim.New(githubsim.WithClock(w.clk.Now))
	t.Cleanup(w.sim.Close)
	w.sim.AddToken(token)
	w.must(w.sim.CreateRepo(appRepo, "main"))
	sha, err := w.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main\n"}, "Release 1.4.2")
	w.must(err)
	w.appSHA = sha
	w.must(w.sim.CreateTag(appRepo, "v1.4.2", sha))
	w.must(w.sim.CreateRepo(gitopsRepo, "main"))
	files := map[string]string{}
	for _, st := range []string{"dev", "staging", "prod"} {
		files["envs/"+st+"/kustomization.yaml"] = kustomization("1.4.1")
	}
	_, err = w.sim.CommitFiles(gitopsRepo, "main", files, "Initial environments")
	w.must(err)

	prom := httptest.NewServer(http.HandlerFunc(w.serveProm))
	t.Cleanup(prom.Close)
	w.promURL = prom.URL

	scheme := runtime.NewScheme()
	w.must(clientgoscheme.AddToScheme(scheme))
	w.must(releasev1.AddToScheme(scheme))
	w.c = fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&releasev1.Release{}, &releasev1.ReleasePipeline{}).
		WithObjects(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: ns}, Data: map[string][]byte{"token": []byte(token)}}).
		Build()
	w.start()
	return w
}

// start builds the engine, as a restarted controller would: fresh GitHub
// clients (no ETags, no rate-limit memory), nothing in memory.
func (w *world) start() {
	factory := &github.Factory{Clock: w.clk, Timeout: 5 * time.Second, WriteBudget: w.budget, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if w.transport != nil {
			return w.transport(r)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	w.factory = factory
	store := credentials.NewStore(w.c, factory, w.clk)
	var cache client.Reader = w.c
	if w.cache != nil {
		cache = w.cache
	}
	w.engine = release.New(release.Deps{
		Client: cache, APIReader: w.c,
		Ledger:      &release.StageLedger{Reader: w.c, Writer: countedStatus{w.c, &w.pipelineWrites}, StaleAfter: 5 * time.Second},
		Credentials: release.StoreCredentials{Store: store},
		Artifacts:   &artifacts.Resolver{Registry: registry.New(registry.Options{Clock: w.clk}), Keys: store},
		Calendar: func(rc *releasev1.ReleaseCalendar) (*calendar.Calendar, error) {
			return calendar.Of(rc)
		},
		Clock: w.clk, Recorder: w.events, PollInterval: 30 * time.Second, Agents: w.agents,
		Notes: notes.NewCache(16, w.clk.Now),
	})
}

// countedStatus counts the status patches that succeed.
type countedStatus struct {
	client.StatusClient
	n *int
}

func (c countedStatus) Status() client.SubResourceWriter {
	return countedWriter{c.StatusClient.Status(), c.n}
}

type countedWriter struct {
	client.SubResourceWriter
	n *int
}

func (c countedWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	err := c.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	if err == nil {
		*c.n++
	}
	return err
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// serveProm answers instant queries with the error ratio set by setProm.
func (w *world) serveProm(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	v := w.prom
	q := r.FormValue("query")
	w.queries = append(w.queries, q)
	if w.promFor != nil {
		v = w.promFor(q)
	}
	w.mu.Unlock()
	result := "[]"
	if v != "" {
		result = fmt.Sprintf(`[{"metric":{},"value":[%d,%q]}]`, w.clk.Now().Unix(), v)
	}
	rw.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(rw, `{"status":"success","data":{"resultType":"vector","result":%s}}`, result)
}

func (w *world) setProm(v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prom = v
}

func (w *world) stage(name string, mod ...func(*releasev1.Stage)) releasev1.Stage {
	s := releasev1.Stage{Name: name, Target: releasev1.Target{Repository: gitopsRepo, Branch: "main",
		Files: []releasev1.TargetFile{{Path: "envs/" + name + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}}}}
	for _, m := range mod {
		m(&s)
	}
	return s
}

func (w *world) pipeline(stages ...releasev1.Stage) *releasev1.ReleasePipeline {
	if len(stages) == 0 {
		stages = []releasev1.Stage{w.stage("dev"), w.stage("staging"), w.stage("prod")}
	}
	p := &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: ns, Generation: 1},
		Spec: releasev1.ReleasePipelineSpec{
			GitHub:     releasev1.GitHubSpec{APIURL: w.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}},
			Prometheus: &releasev1.PrometheusSpec{Address: w.promURL},
			Source:     releasev1.SourceSpec{Repository: appRepo},
			Stages:     stages,
		},
	}
	w.must(w.c.Create(w.ctx, p))
	return p
}

func (w *world) release(name, version string, mod ...func(*releasev1.Release)) {
	r := &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 1},
		Spec: releasev1.ReleaseSpec{Pipeline: "checkout", Version: version,
			Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}}},
	}
	for _, m := range mod {
		m(r)
	}
	w.must(w.c.Create(w.ctx, r))
}

// tag tags a new commit of the application with version.
func (w *world) tag(version string) {
	sha, err := w.sim.CommitFiles(appRepo, "main", map[string]string{"VERSION": version + "\n"}, "Release "+version)
	w.must(err)
	w.must(w.sim.CreateTag(appRepo, "v"+version, sha))
}

func (w *world) get(name string) *releasev1.Release {
	w.t.Helper()
	r := &releasev1.Release{}
	w.must(w.c.Get(w.ctx, types.NamespacedName{Namespace: ns, Name: name}, r))
	return r
}

func (w *world) getPipeline() *releasev1.ReleasePipeline {
	w.t.Helper()
	p := &releasev1.ReleasePipeline{}
	w.must(w.c.Get(w.ctx, types.NamespacedName{Namespace: ns, Name: "checkout"}, p))
	return p
}

// reconcile runs one reconcile of the Release, as the controller does:
// read it, let the engine run its steps, write each status it asks for with
// optimistic locking.
func (w *world) reconcile(name string) (reconcile.Outcome, error) {
	w.t.Helper()
	rel := w.get(name)
	return w.engine.Reconcile(w.ctx, rel, func(ctx context.Context, before, after *releasev1.Release) (bool, error) {
		err := w.c.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			return true, nil
		}
		if err == nil {
			w.writes++
		}
		return false, err
	})
}

// settle reconciles the Release until it stops or waits for something
// outside (a person, QA, a fix, a GitOps agent), letting the fake clock run through the
// waits that end by themselves (a measurement due, GitHub's rate limit),
// in at most limit reconciles.
func (w *world) settle(name string, limit int) reconcile.Outcome {
	w.t.Helper()
	for i := 0; i < limit; i++ {
		out, err := w.reconcile(name)
		if err != nil {
			w.t.Fatalf("reconcile %d of %s: %v", i, name, err)
		}
		switch out.Waits() {
		case reconcile.WaitPoll, reconcile.WaitFix, reconcile.WaitRecords, reconcile.WaitDeployed:
			return out
		case "":
			if !out.Continues() {
				return out
			}
		default:
			w.clk.Step(out.Result(w.clk.Now()).RequeueAfter)
		}
	}
	w.t.Fatalf("%s did not settle in %d reconciles: %s", name, limit, w.describe(name))
	return reconcile.Outcome{}
}

func (w *world) describe(name string) string {
	rel := w.get(name)
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", rel.Status.Phase)
	for _, ss := range rel.Status.Stages {
		fmt.Fprintf(&b, "; %s %s: %s", ss.Name, ss.Phase, ss.Message)
	}
	for _, c := range rel.Status.Conditions {
		fmt.Fprintf(&b, "; %s=%s/%s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func (w *world) condition(name, ctype string) string {
	for _, c := range w.get(name).Status.Conditions {
		if c.Type == ctype {
			return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return ""
}

func (w *world) file(stage string) string {
	c, _ := w.sim.FileAt(gitopsRepo, "main", "envs/"+stage+"/kustomization.yaml")
	return c
}

// liftoffCommits are the commits Liftoff made for release into stage ("" any).
func (w *world) liftoffCommits(release, stage string) []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range w.sim.Commits(gitopsRepo, "main") {
		if !strings.Contains(c.Message, "Liftoff-Release: ") ||
			release != "" && !strings.Contains(c.Message, "Liftoff-Release: "+ns+"/"+release+"\n") ||
			stage != "" && !strings.Contains(c.Message, "Liftoff-Stage: "+stage+"\n") {
			continue
		}
		out = append(out, c)
	}
	return out
}

// events drains the recorded events.
func (w *world) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-w.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
