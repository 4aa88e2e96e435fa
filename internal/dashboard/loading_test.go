package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// get requests path, as a page's script does when fragment is set.
func get(t *testing.T, u string, fragment bool) (answered, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if fragment {
		req.Header.Set(fragmentHeader, "main")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return answered{StatusCode: res.StatusCode, Header: res.Header}, readAll(res)
}

// answered is what a test reads of an answer besides its body.
type answered struct {
	StatusCode int
	Header     http.Header
}

// A dashboard that has not listed its Releases yet serves the pipelines page
// from the pipelines' own status and says what is missing; the rest answers
// 503 with Retry-After; once the Releases are listed the same requests, as
// the page's script makes them, bring the whole page.
func TestWhileReleasesLoadThePipelinesShowTheLiveVersionsAndSaySo(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(3, 2)
	m.releasesLoading = &Loading{Resource: "releases"}
	_, ts := newTestServer(t, m, ReadOnly{})

	res, body := get(t, ts.URL+"/", false)
	g.Expect(res.StatusCode).To(Equal(http.StatusOK))
	g.Expect(body).To(ContainSubstring(`<div class="loading" role="status" data-loading="releases">`))
	g.Expect(body).To(ContainSubstring("Releases are still loading."))
	g.Expect(body).To(ContainSubstring(`data-live="pipeline release launch loading"`))
	// The live versions and the promotion in flight, from each pipeline's status.
	g.Expect(body).To(ContainSubstring(`<a href="/releases/team-00/app-000-1-4-1">1.4.1</a>`))
	g.Expect(body).To(ContainSubstring(`promoting <a href="/releases/team-00/app-002-1-4-2">1.4.2</a>`))
	g.Expect(body).To(ContainSubstring("3 pipeline(s)."))
	g.Expect(body).To(ContainSubstring("On their way: still loading."))
	g.Expect(body).NotTo(ContainSubstring("release(s) on their way"), "no count of what is not known")
	g.Expect(body).NotTo(ContainSubstring("No release on its way"), "not known yet")
	g.Expect(body).NotTo(ContainSubstring("Until then the search"))

	_, body = get(t, ts.URL+"/?q=app-001", false)
	g.Expect(body).To(ContainSubstring("Until then the search matches pipelines and repositories only."))
	g.Expect(body).To(ContainSubstring("team-00/</span>app-001"))

	// The API answers what it cannot know yet with a 503.
	for _, path := range []string{"/api/pipelines", "/api/releases/team-00/app-000-1-0-1"} {
		res, body := get(t, ts.URL+path, false)
		g.Expect(res.StatusCode).To(Equal(http.StatusServiceUnavailable), path)
		g.Expect(res.Header.Get("Retry-After")).To(Equal("2"), path)
		var e map[string]string
		g.Expect(json.Unmarshal([]byte(body), &e)).To(Succeed())
		g.Expect(e).To(Equal(map[string]string{"error": "the dashboard is still listing releases from the API server"}), path)
	}

	// A Release's page says so, and is live on the loading change.
	release := ts.URL + "/releases/team-00/app-000-1-0-1"
	res, body = get(t, release, false)
	g.Expect(res.StatusCode).To(Equal(http.StatusServiceUnavailable))
	g.Expect(res.Header.Get("Retry-After")).To(Equal("2"))
	g.Expect(res.Header.Get("Content-Security-Policy")).To(Equal(CSP))
	g.Expect(body).To(ContainSubstring("Releases are still loading."))
	g.Expect(body).To(ContainSubstring("there is no need to reload it"))
	g.Expect(body).To(ContainSubstring(`data-live="loading"`))
	g.Expect(body).NotTo(MatchRegexp(`<script>|<style|style=`))
	res, body = get(t, release, true)
	g.Expect(res.StatusCode).To(Equal(http.StatusServiceUnavailable))
	g.Expect(res.Header.Get(fragmentHeader)).To(Equal("main"), "the script swaps in the server's own answers")
	g.Expect(res.Header.Get(liveHeader)).To(Equal("loading"))
	g.Expect(body).NotTo(ContainSubstring("<html"))

	// Why the last list failed, when it did.
	m.releasesLoading.LastError = "etcdserver: request timed out"
	_, body = get(t, ts.URL+"/", false)
	g.Expect(body).To(ContainSubstring("The last attempt to list them failed: etcdserver: request timed out. It is being retried."))

	// Listed: the page the script fetches is whole, and says what to watch now.
	m.releasesLoading = nil
	res, body = get(t, ts.URL+"/", true)
	g.Expect(res.StatusCode).To(Equal(http.StatusOK))
	g.Expect(res.Header.Get(liveHeader)).To(Equal("pipeline release launch"))
	g.Expect(body).NotTo(ContainSubstring("data-loading"))
	g.Expect(body).To(ContainSubstring("3 pipeline(s), 3 release(s) on their way."))
	g.Expect(body).To(ContainSubstring(`<a href="/releases/team-00/app-000-1-0-1">app-000-1-0-1</a>`))
	res, body = get(t, release, true)
	g.Expect(res.StatusCode).To(Equal(http.StatusOK))
	g.Expect(res.Header.Get(liveHeader)).To(Equal("release:team-00/app-000-1-0-1 pipeline:team-00/app-000 checklist:team-00/launch"))
	title, err := url.PathUnescape(res.Header.Get(titleHeader))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(title).To(Equal("Release app-000-1-0-1"))
	g.Expect(body).To(ContainSubstring(`id="release-phase"`))

	// A Release that is not there, once they are listed, is a 404 the script shows.
	res, body = get(t, ts.URL+"/releases/team-00/gone", true)
	g.Expect(res.StatusCode).To(Equal(http.StatusNotFound))
	g.Expect(res.Header.Get(fragmentHeader)).To(Equal("main"))
	g.Expect(body).To(ContainSubstring("it may have been deleted"))
}

// refusingReader fails the test if the store reads a kind that is not listed:
// a cache's List or Get would block until it is.
type refusingReader struct{ t *testing.T }

func (r refusingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	r.t.Error("Get on a kind that is not listed")
	return errors.New("blocked")
}

func (r refusingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	r.t.Error("List on a kind that is not listed")
	return errors.New("blocked")
}

// registration is a handler registration whose initial list ends when the
// test closes synced.
type registration struct{ synced chan struct{} }

func (r registration) HasSynced() bool {
	select {
	case <-r.synced:
		return true
	default:
		return false
	}
}
func (r registration) HasSyncedChecker() toolscache.DoneChecker { return r }
func (r registration) Name() string                             { return "test" }
func (r registration) Done() <-chan struct{}                    { return r.synced }

func TestTheStoreDoesNotReadAKindBeforeItIsListedAndSaysWhenItIs(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := NewBroker(time.Millisecond)
	events, stop := b.Subscribe()
	defer stop()
	l := &Loaded{}
	reg := registration{synced: make(chan struct{})}
	l.track(ctx, "release", reg.HasSynced, reg, b)
	s := CacheStore{Reader: refusingReader{t}, Loaded: l}

	_, err := s.Releases(ctx, "")
	var loading *Loading
	g.Expect(errors.As(err, &loading)).To(BeTrue(), "%v", err)
	g.Expect(loading.Resource).To(Equal("releases"))
	g.Expect(s.Get(ctx, types.NamespacedName{Namespace: "a", Name: "b"}, &releasev1.Release{})).To(MatchError(loading))

	// A failed list is kept for the pages, and they are told.
	r := toolscache.NewReflector(&toolscache.ListWatch{}, &releasev1.Release{}, toolscache.NewStore(toolscache.MetaNamespaceKeyFunc), 0)
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: releasev1.GroupVersion.Group, Resource: "releases"}, "", errors.New(`User "lee" cannot list resource "releases"`))
	l.WatchError(ctx, r, fmt.Errorf("failed to list %T: %w", &releasev1.Release{}, forbidden)) // as the reflector says it
	g.Eventually(events).Should(Receive(ConsistOf(Change{Kind: loadingKind, Name: "release"})))
	_, err = s.Releases(ctx, "")
	g.Expect(err).To(MatchError(`the dashboard is still listing releases from the API server; the last attempt failed ` +
		`(releases.release.liftoff.dev is forbidden: User "lee" cannot list resource "releases") and it retries`))

	close(reg.synced)
	g.Eventually(events).Should(Receive(ConsistOf(Change{Kind: loadingKind, Name: "release"})), "listed: the open pages refresh")
	g.Eventually(l.Done("release")).Should(BeClosed())
	g.Expect(l.check("release")).To(Succeed())
	g.Expect(l.check("pipeline")).To(Succeed(), "a kind not tracked is not waited for")
}
