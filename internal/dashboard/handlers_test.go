package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

func newTestServer(t *testing.T, s Store, access Access) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := New(Options{Store: s, Access: access, Now: func() time.Time { return t0 }, Location: time.UTC, Broker: NewBroker(10 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", u, err)
	}
	return res.StatusCode
}

func TestPipelinesJSONFiltersPagesAndNamesTheHoldingGate(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(60, 3)
	// app-001's staging has 1.4.3 committed; Argo CD has not deployed it.
	m.pipelines[1].Status.Stages[1] = releasev1.PipelineStageStatus{Name: "staging", Version: "1.4.3", Release: "app-001-1-4-3", PromotedAt: mt(t0.Add(-5 * time.Minute)),
		Live:     &releasev1.LiveVersion{Version: "1.4.2", Release: "app-001-1-4-2", DeployedAt: metav1.NewTime(t0.Add(-100 * time.Minute))},
		InFlight: &releasev1.InFlightPromotion{Release: "app-001-1-4-3", Version: "1.4.3", Since: metav1.NewTime(t0.Add(-6 * time.Minute))}}
	_, ts := newTestServer(t, m, ReadOnly{})

	var v PipelinesView
	g.Expect(getJSON(t, ts.URL+"/api/pipelines", &v)).To(Equal(200))
	g.Expect(v.Total).To(Equal(60))
	g.Expect(v.Pages).To(Equal(3))
	g.Expect(v.Rows).To(HaveLen(25))
	g.Expect(v.Releases).To(Equal(60), "one Release of each pipeline is on its way")
	g.Expect(v.Namespaces).To(Equal([]string{"team-00", "team-01", "team-02"}))
	row := v.Rows[0]
	g.Expect(row.Name).To(Equal("app-000"))
	g.Expect(row.Stages).To(HaveLen(3))
	// Times are absolute with the zone named; the browser says how long ago.
	g.Expect(row.Stages[0]).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Name": Equal("dev"), "Version": Equal("1.4.2"),
		"DeployedAt": Equal(&Moment{At: t0.Add(-3 * time.Hour), Text: "2026-12-14 07:00 UTC"})}))
	deployed := &Moment{At: t0.Add(-100 * time.Minute), Text: "2026-12-14 08:20 UTC"}
	g.Expect(row.Stages[1]).To(Equal(StageCell{Name: "staging", Version: "1.4.2", Release: "app-000-1-4-2", DeployedAt: deployed}), "deployed by Argo CD")
	g.Expect(v.Rows[1].Stages[1]).To(Equal(StageCell{Name: "staging", Version: "1.4.2", Release: "app-001-1-4-2", DeployedAt: deployed,
		Committed: "1.4.3", CommittedRelease: "app-001-1-4-3", CommittedAt: &Moment{At: t0.Add(-5 * time.Minute), Text: "2026-12-14 09:55 UTC"}, Deploying: true}),
		"1.4.2 runs while 1.4.3 deploys")
	res, err := http.Get(ts.URL + "/?q=app-001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(readAll(res)).To(MatchRegexp(`<a href="/releases/team-00/app-001-1-4-2">1\.4\.2</a></span>\s*` +
		`<span class="when"><time datetime="2026-12-14T08:20:00Z" data-relative>2026-12-14 08:20 UTC</time></span>\s*` +
		`<span class="committed"><a href="/releases/team-00/app-001-1-4-3">1\.4\.3</a> committed <time datetime="2026-12-14T09:55:00Z" data-relative>2026-12-14 09:55 UTC</time>, deploying</span>`))
	g.Expect(row.Stages[2]).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{"Name": Equal("prod"), "Version": Equal("1.4.1"), "InFlight": Equal("app-000-1-4-2"), "Manual": BeTrue()}))
	g.Expect(row.Waiting).To(ConsistOf(Waiting{Name: "app-000-1-0-2", Version: "1.0.2", Phase: "Blocked", Stage: "prod", Gate: "approvals", Message: "waits for 1 approval for prod"}))

	g.Expect(getJSON(t, ts.URL+"/api/pipelines?ns=team-01&page=9", &v)).To(Equal(200))
	g.Expect(v.Total).To(Equal(20))
	g.Expect(v.Query.Page).To(Equal(1), "a page past the end shows the last one")
	g.Expect(v.Rows[0].Namespace).To(Equal("team-01"))

	g.Expect(getJSON(t, ts.URL+"/api/pipelines?q=app-042", &v)).To(Equal(200))
	g.Expect(v.Rows).To(HaveLen(1))
	g.Expect(v.Rows[0].Name).To(Equal("app-042"))
	g.Expect(getJSON(t, ts.URL+"/api/pipelines?q="+url.QueryEscape("app-007-1-0-1"), &v)).To(Equal(200))
	g.Expect(v.Rows).To(HaveLen(1), "a Release's name finds its pipeline")
}

func TestReleaseJSONHasTimelineGatesOwnersChartAndActions(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(1, 1)
	rel := m.releases[0]
	rel.Status.Phase = releasev1.PhaseVerifying
	prod := &rel.Status.Stages[2]
	prod.Phase = releasev1.StageVerifying
	prod.Promotion = &releasev1.PromotionStatus{PullRequest: &releasev1.PullRequestRef{Number: 7, URL: "https://github.com/acme/gitops/pull/7", State: "merged"},
		Commit: "ccccccc3333", StartedAt: mt(t0.Add(-40 * time.Minute)), CompletedAt: mt(t0.Add(-30 * time.Minute))}
	prod.RolloutReadyAt = mt(t0.Add(-25 * time.Minute))
	staging := &rel.Status.Stages[1]
	staging.DeployedAt = mt(t0.Add(-100 * time.Minute))
	staging.Deployment = &releasev1.DeploymentStatus{Agent: "ArgoCD", Kind: "Application", Object: "argocd/app-000-staging", State: releasev1.DeploymentDeployed}
	prod.Analysis = &releasev1.AnalysisStatus{Phase: "Inconclusive", StartedAt: metav1.NewTime(t0.Add(-20 * time.Minute)), Metrics: []releasev1.MetricStatus{{
		Name: "error-ratio", Phase: "Inconclusive", Count: 2, Successes: 1, Inconclusives: 1,
		Measurements: []releasev1.MeasurementStatus{
			{At: metav1.NewTime(t0.Add(-10 * time.Minute)), Phase: "Successful", Value: "0.01"},
			{At: metav1.NewTime(t0.Add(-5 * time.Minute)), Phase: "Inconclusive", Message: "no data"},
		}}}}
	m.checklists = append(m.checklists, &releasev1.LaunchChecklist{
		ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: "launch"},
		Spec: releasev1.LaunchChecklistSpec{
			Items:    []releasev1.ChecklistItem{{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}}},
			SignOffs: []releasev1.SignOff{{Item: "security-review", Decision: releasev1.DecisionApprove, By: "sue", At: mt(t0), Comment: "pen test passed"}},
		},
		Status: releasev1.LaunchChecklistStatus{Ready: true, Done: 1, Total: 1, Items: []releasev1.ChecklistItemStatus{{Name: "security-review", State: releasev1.ItemDone}}},
	})
	_, ts := newTestServer(t, m, ReadOnly{})

	var v ReleaseView
	g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
	g.Expect(v.CommitURL).To(Equal("https://github.com/acme/app-000/commit/0123456789abcdef0123456789abcdef01234567"))
	g.Expect(v.Stages).To(HaveLen(3))
	p := v.Stages[2]
	g.Expect(p.Promotion.PullRequestURL).To(Equal("https://github.com/acme/gitops/pull/7"))
	g.Expect(p.Promotion.CommitURL).To(Equal("https://github.com/acme/gitops/commit/ccccccc3333"))
	g.Expect(p.Timeline).To(Equal([]Point{
		{Label: "committed", State: "done", At: "2026-12-14 09:30 UTC", Detail: "pull request #7", URL: "https://github.com/acme/gitops/pull/7"},
		{Label: "deployed", State: "done", At: "2026-12-14 09:35 UTC", Detail: "serving (rollout check)"},
		{Label: "verified", State: "pending", Detail: "analysis Inconclusive"},
	}))
	g.Expect(v.Stages[0].Timeline[1]).To(Equal(Point{Label: "deployed", State: "done", At: "2026-12-14 07:00 UTC", Detail: "no deployment agent: committed counts as deployed"}))
	// staging is deployed by Argo CD: deployed when the agent said so, and
	// the soak before prod counts from then.
	g.Expect(v.Stages[1].Timeline).To(Equal([]Point{
		{Label: "committed", State: "done", At: "2026-12-14 08:00 UTC", Detail: "commit bbbbbbb", URL: "https://github.com/acme/gitops/commit/bbbbbbb2222"},
		{Label: "deployed", State: "done", At: "2026-12-14 08:20 UTC", Detail: "ArgoCD Application argocd/app-000-staging: Deployed"},
		{Label: "soaked", State: "done", At: "2026-12-14 09:20 UTC", Detail: "1h0m0s before prod"},
	}))
	g.Expect(p.Gates[1].Owners).To(ContainSubstring("but carol (the creator)"))
	g.Expect(p.Charts).To(HaveLen(1))
	g.Expect(p.Charts[0].Condition).To(Equal("success when result < 0.05"))
	g.Expect(p.Charts[0].Measurements).To(HaveLen(2))
	g.Expect(v.Verdict).To(Equal([]string{"prod"}))
	g.Expect(v.Approve).To(BeEmpty(), "prod is past its approval")
	g.Expect(v.Checklist.Items[0].SignOffs).To(Equal([]string{"approved by sue at 2026-12-14 10:00 UTC: pen test passed"}))

	res, err := http.Get(ts.URL + "/api/releases/team-00/nope")
	g.Expect(err).NotTo(HaveOccurred())
	defer res.Body.Close()
	g.Expect(res.StatusCode).To(Equal(http.StatusNotFound))
}

// staging's Argo CD never synced 1.0.0 and the stage rolled back: the
// timeline says the deployment timed out, then when Argo CD applied the
// rollback.
func TestReleaseTimelineFollowsTheRollbackUntilDeployed(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(1, 1)
	rel := m.releases[0]
	rel.Status.Phase, rel.Status.CurrentStage = releasev1.PhaseFailed, "staging"
	staging := &rel.Status.Stages[1]
	staging.Phase, staging.CommittedAt = releasev1.StageRolledBack, mt(t0.Add(-2*time.Hour))
	staging.Deployment = &releasev1.DeploymentStatus{Agent: "ArgoCD", Kind: "Application", Object: "argocd/app-000-staging", State: releasev1.DeploymentOutOfSync,
		Reason: releasev1.ReasonDeployTimeout, Message: "not deployed within 10m0s of the commit"}
	rb := &releasev1.RollbackStatus{Commit: "9999999aaaa", Version: "0.9.9", At: mt(t0.Add(-110 * time.Minute)),
		Deployment: &releasev1.DeploymentStatus{Agent: "ArgoCD", Kind: "Application", Object: "argocd/app-000-staging", State: releasev1.DeploymentProgressing, Message: "Waiting for rollout to finish"},
		Message:    "0.9.9 written back (commit 9999999); waiting until 2026-12-14 08:20 for it to be deployed"}
	staging.Rollback = rb
	_, ts := newTestServer(t, m, ReadOnly{})
	stagingView := func() StageView {
		var v ReleaseView
		g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
		return v.Stages[1]
	}
	sv := stagingView()
	g.Expect(sv.Timeline).To(Equal([]Point{
		{Label: "committed", State: "done", At: "2026-12-14 08:00 UTC", Detail: "commit bbbbbbb", URL: "https://github.com/acme/gitops/commit/bbbbbbb2222"},
		{Label: "deployed", State: "failed", Detail: "ArgoCD Application argocd/app-000-staging: OutOfSync: not deployed within 10m0s of the commit"},
		{Label: "soaked", State: "waiting", Detail: "1h0m0s before prod"},
		{Label: "rolled back", State: "failed", At: "2026-12-14 08:10 UTC", Detail: "to 0.9.9", URL: "https://github.com/acme/gitops/commit/9999999aaaa"},
		{Label: "rollback deployed", State: "pending", Detail: "ArgoCD Application argocd/app-000-staging: Progressing: Waiting for rollout to finish"},
	}))
	g.Expect(sv.Rollback.Note).To(Equal(rb.Message))

	rb.DeployedAt = mt(t0.Add(-100 * time.Minute))
	rb.Deployment.State, rb.Deployment.Message = releasev1.DeploymentDeployed, "Application argocd/app-000-staging is Synced and Healthy"
	rb.Message = "0.9.9 is live again in staging since 2026-12-14T08:20:00Z"
	sv = stagingView()
	g.Expect(sv.Timeline[4]).To(Equal(Point{Label: "rollback deployed", State: "done", At: "2026-12-14 08:20 UTC",
		Detail: "ArgoCD Application argocd/app-000-staging: Deployed: Application argocd/app-000-staging is Synced and Healthy"}))
	res, err := http.Get(ts.URL + "/releases/team-00/" + rel.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(readAll(res)).To(And(
		MatchRegexp(`<span class="label">rollback deployed</span>\s*<span class="state">done</span> <time>2026-12-14 08:20 UTC</time>`),
		ContainSubstring(`rolled back to 0.9.9, commit 9999999</a>: 0.9.9 is live again in staging since 2026-12-14 08:20 UTC`)),
		"the page's own time, not the status's RFC 3339")
}

func TestPagesSendAStrictCSPAndNoInlineScriptOrStyle(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(2, 2)
	m.milestones = append(m.milestones, &releasev1.Milestone{ObjectMeta: metav1.ObjectMeta{Namespace: "team-00", Name: "q4"},
		Spec: releasev1.MilestoneSpec{DueDate: metav1.NewTime(t0.Add(72 * time.Hour))}})
	m.calendars = append(m.calendars, &releasev1.ReleaseCalendar{ObjectMeta: metav1.ObjectMeta{Namespace: "team-00", Name: "releases"}})
	_, ts := newTestServer(t, m, ReadOnly{})
	for _, path := range []string{"/", "/releases/team-00/app-000-1-0-1", "/calendars/team-00/releases", "/calendars/team-00/releases?view=week", "/milestones"} {
		res, err := http.Get(ts.URL + path)
		g.Expect(err).NotTo(HaveOccurred())
		body := readAll(res)
		g.Expect(res.StatusCode).To(Equal(200), path+": "+body)
		g.Expect(res.Header.Get("Content-Security-Policy")).To(Equal(CSP))
		g.Expect(body).NotTo(MatchRegexp(`<script>|<script [^>]*>[^<]|<style|style=|on(click|load|submit)=|javascript:`), path)
	}
	res, err := http.Get(ts.URL + "/calendars/team-00/releases.ics")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Header.Get("Content-Type")).To(HavePrefix("text/calendar"))
	g.Expect(readAll(res)).To(ContainSubstring("BEGIN:VCALENDAR"))
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// post submits an action form as a page's script does.
func post(t *testing.T, c *http.Client, u, origin, token string, form url.Values) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set(csrfHeader, token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]string{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestActionsNeedTheSessionTokenAndThisOrigin(t *testing.T) {
	g := NewWithT(t)
	srv, ts := newTestServer(t, fixtureWorld(1, 1), ReadOnly{})
	jar := &cookieJar{}
	c := &http.Client{Jar: jar}
	res, err := c.Get(ts.URL + "/")
	g.Expect(err).NotTo(HaveOccurred())
	res.Body.Close()
	g.Expect(jar.cookies).To(HaveLen(1))
	token := srv.csrfToken(jar.cookies[0].Value)
	action := ts.URL + "/releases/team-00/app-000-1-0-0/pause"

	code, body := post(t, c, action, "", token, nil)
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body["error"]).To(ContainSubstring("did not come from this dashboard"))
	code, body = post(t, c, action, "http://evil.example", token, nil)
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body["error"]).To(ContainSubstring("did not come from this dashboard"))
	code, body = post(t, c, action, ts.URL, "forged", nil)
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body["error"]).To(ContainSubstring("token does not match"))
	code, body = post(t, c, action, ts.URL, token, nil)
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body["error"]).To(ContainSubstring("read-only"))
}

func TestALoopbackDashboardRefusesOtherHostNames(t *testing.T) {
	g := NewWithT(t)
	srv, err := New(Options{Store: fixtureWorld(1, 1), AllowedHosts: []string{"127.0.0.1:8787"}})
	g.Expect(err).NotTo(HaveOccurred())
	for host, code := range map[string]int{"127.0.0.1:8787": 200, "attacker.example:8787": http.StatusMisdirectedRequest} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		g.Expect(rec.Code).To(Equal(code), host)
	}
}

func TestEventsStreamCoalescedChanges(t *testing.T) {
	g := NewWithT(t)
	srv, ts := newTestServer(t, fixtureWorld(1, 1), ReadOnly{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer res.Body.Close()
	g.Expect(res.Header.Get("Content-Type")).To(Equal("text/event-stream"))
	g.Eventually(srv.o.Broker.Subscribers).Should(Equal(1))
	for i := 0; i < 3; i++ { // a burst is one message
		srv.o.Broker.Publish(Change{Kind: "release", Namespace: "team-00", Name: "app-000-1-0-0"})
	}
	srv.o.Broker.Publish(Change{Kind: "pipeline", Namespace: "team-00", Name: "app-000"})
	sc := bufio.NewScanner(res.Body)
	var data string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = d
			break
		}
	}
	var got []Change
	g.Expect(json.Unmarshal([]byte(data), &got)).To(Succeed())
	g.Expect(got).To(ConsistOf(
		Change{Kind: "release", Namespace: "team-00", Name: "app-000-1-0-0"},
		Change{Kind: "pipeline", Namespace: "team-00", Name: "app-000"}))
	cancel()
	g.Eventually(srv.o.Broker.Subscribers).Should(BeZero(), "a closed stream unsubscribes")
}

type cookieJar struct{ cookies []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, c []*http.Cookie) { j.cookies = append(j.cookies, c...) }
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie         { return j.cookies }

// The dashboard says of a checklist what the checklist says: an item without
// owners can be signed off by nobody, and an optional item does not hold the
// Release (issue 25, item 8).
func TestChecklistOwnersAndOpenItemsAreTheChecklistsOwn(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(1, 1)
	rel := m.releases[0]
	prod := rel.Status.StageStatus("prod")
	prod.Gates = append(prod.Gates, releasev1.GateStatus{Name: gates.NameLaunchChecklist, Status: releasev1.GatePending, Reason: releasev1.ReasonChecklistOpen})
	manual := releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}
	lc := &releasev1.LaunchChecklist{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: "launch"},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: manual},
			{Name: "rollback-plan", Function: "SRE", Check: manual},
			{Name: "blog-post", Function: "Marketing", Required: ptr.To(false), Owners: releasev1.Owners{Users: []string{"mo"}}, Check: manual},
		}}}
	lc.Status = checklist.Evaluate(lc, nil, nil, t0)
	m.checklists = append(m.checklists, lc)
	_, ts := newTestServer(t, m, ReadOnly{})

	var v ReleaseView
	g.Expect(getJSON(t, ts.URL+"/api/releases/team-00/"+rel.Name, &v)).To(Equal(200))
	var who string
	for _, gv := range v.Stages[2].Gates {
		if gv.Name == gates.NameLaunchChecklist {
			who = gv.Owners
		}
	}
	g.Expect(who).To(Equal("security-review (Security, pending; owners group security), rollback-plan (SRE, pending; owners nobody (set the item's owners))"))
	g.Expect(v.Checklist.Items[1].Owners).To(Equal("nobody (set the item's owners)"))
}
