package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// grants is an Access whose viewer holds the RBAC verbs listed ("verb
// resource"), as the API server would answer them; the browser test asks a
// real one.
type grants struct {
	user   string
	groups []string
	verbs  []string
}

func (g grants) Session(*http.Request) (*Session, error) {
	return &Session{User: g.user, Groups: g.groups, Client: struct{ client.Client }{},
		Authorize: func(_ context.Context, verb, resource, _, _ string) error {
			for _, v := range g.verbs {
				if v == verb+" "+resource {
					return nil
				}
			}
			return refusal(g.user, verb, resource, "team-00")
		}}, nil
}

var (
	approver = []string{"update releases", "approve releases", "patch releases"}
	signer   = []string{"update launchchecklists", "signoff launchchecklists"}
)

// worldWithChecklist is one pipeline whose Release (created by carol) waits
// for an approval into prod and for its checklist: security-review owned
// by group security, legal-review by lee.
func worldWithChecklist() (*memStore, *releasev1.Release) {
	m := fixtureWorld(1, 1)
	rel := m.releases[0]
	manual := releasev1.ItemCheck{Manual: &releasev1.ManualCheck{}}
	lc := &releasev1.LaunchChecklist{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: "launch"},
		Spec: releasev1.LaunchChecklistSpec{Items: []releasev1.ChecklistItem{
			{Name: "security-review", Function: "Security", Owners: releasev1.Owners{Groups: []string{"security"}}, Check: manual},
			{Name: "legal-review", Function: "Legal", Owners: releasev1.Owners{Users: []string{"lee"}}, Check: manual},
		}}}
	lc.Status = checklist.Evaluate(lc, nil, nil, t0)
	m.checklists = append(m.checklists, lc)
	return m, rel
}

func getPage(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(res)
}

// A button is offered only to a viewer whose click the API server and the
// identity webhook would accept (issue 25, item 9).
func TestActionsAreOfferedOnlyToViewersWhoMayTakeThem(t *testing.T) {
	m, rel := worldWithChecklist()
	path := "/releases/team-00/" + rel.Name
	for _, c := range []struct {
		name    string
		access  Access
		approve bool
		pause   bool
		signs   []string // items with a sign-off form
		says    string
	}{
		{"an approver", grants{user: "ann", verbs: approver}, true, true, nil, ""},
		{"someone without the verb approve", grants{user: "dan", verbs: []string{"update releases", "patch releases"}}, false, true, nil,
			"Approving prod needs the verb approve on releases in team-00, which you do not have (RBAC)."},
		{"the Release's creator", grants{user: "carol", verbs: approver}, false, true, nil, "You created app-000-1-0-0: another person approves prod."},
		{"a security engineer", grants{user: "sue", groups: []string{"security"}, verbs: signer}, false, false, []string{"security-review"}, ""},
		{"lee, who owns legal-review", grants{user: "lee", verbs: signer}, false, false, []string{"legal-review"}, ""},
		{"an owner without the verb signoff", grants{user: "lee", verbs: []string{"update launchchecklists"}}, false, false, nil, ""},
		{"anyone on a read-only dashboard", ReadOnly{}, false, false, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			_, ts := newTestServer(t, m, c.access)
			html := getPage(t, ts.URL+path)
			g.Expect(strings.Contains(html, `<button type="submit">Approve prod</button>`)).To(Equal(c.approve), "Approve prod")
			g.Expect(strings.Contains(html, `<button type="submit">Pause `+rel.Name+`</button>`)).To(Equal(c.pause), "Pause")
			for _, item := range []string{"security-review", "legal-review"} {
				want := false
				for _, s := range c.signs {
					want = want || s == item
				}
				g.Expect(strings.Contains(html, `<button type="submit">Sign off `+item+`</button>`)).To(Equal(want), "Sign off "+item)
			}
			if c.says != "" {
				g.Expect(html).To(ContainSubstring(c.says))
			}
		})
	}

	t.Run("nothing is offered on a Release already Released", func(t *testing.T) {
		g := NewWithT(t)
		m, rel := worldWithChecklist()
		rel.Status.Phase = releasev1.PhaseReleased
		_, ts := newTestServer(t, m, grants{user: "sue", groups: []string{"security"}, verbs: append(append([]string{}, approver...), signer...)})
		html := getPage(t, ts.URL+path)
		g.Expect(html).NotTo(ContainSubstring(`<button type="submit">`))
	})
}

// The gates say what holds the Release in the page's words, each blocker is
// its own link, and every time is in the one zone the page names; how long
// ago is the browser's to say, from the datetime.
func TestReleasePageSpeaksThePagesLanguageInOneZone(t *testing.T) {
	g := NewWithT(t)
	m, rel := worldWithChecklist()
	prod := rel.Status.StageStatus("prod")
	prod.Gates = append(prod.Gates, releasev1.GateStatus{Name: gates.NameBlockers, Status: releasev1.GatePending, Reason: releasev1.ReasonBlockersOpen,
		Message: `2 open issue(s) match "label:blocker": #12 Payment retries double-charge, #13 Safari: close them to go on`,
		URL:     "https://github.com/acme/app-000/issues/12", LastChecked: mt(t0.Add(-time.Minute)),
		Issues: []releasev1.BlockerIssue{{Number: 12, Title: "Payment retries double-charge", URL: "https://github.com/acme/app-000/issues/12"},
			{Number: 13, Title: "Safari", URL: "https://github.com/acme/app-000/issues/13"}}})
	prod.Gates[1].Message = `0 of 1 approvals for prod: add an entry with stage "prod" to spec.approvals`
	// What the engine writes for kubectl users, the stage's and the Release's.
	prod.Message = "approvals: " + prod.Gates[1].Message
	rel.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: "GatesPending", Message: "waiting to promote into prod: " + prod.Message}}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	srv, err := New(Options{Store: m, Access: grants{user: "ann", verbs: approver}, Now: func() time.Time { return t0 }, Location: berlin})
	g.Expect(err).NotTo(HaveOccurred())
	html := httptestGet(srv, "/releases/team-00/"+rel.Name)
	g.Expect(html).To(ContainSubstring(`Times in Europe/Berlin`))
	g.Expect(html).To(ContainSubstring(`<p class="message" id="release-message">Before prod: waits for 1 approval for prod; waits for 2 blocker issues to be closed</p>`))
	g.Expect(html).NotTo(ContainSubstring(`spec.approvals`))
	g.Expect(html).To(MatchRegexp(`waits for 2 blocker issues to be closed:<ul class="issues">` +
		`<li><a href="https://github.com/acme/app-000/issues/12">#12 Payment retries double-charge</a></li>` +
		`<li><a href="https://github.com/acme/app-000/issues/13">#13 Safari</a></li></ul>`))
	g.Expect(html).To(ContainSubstring(`<time datetime="2026-12-14T09:59:00Z" data-relative>2026-12-14 10:59 CET</time>`), "checked, in Berlin")
	g.Expect(html).To(ContainSubstring(`<td>staging</td><td>ann</td><td>2026-12-14 10:00 CET</td>`), "an approval's time, in Berlin")
}

func httptestGet(h http.Handler, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}

// At 200 pipelines a release manager first sees what needs them: what they
// may approve, what failed, what is blocked, in a compact table of its own
// across every page, filterable by kind (issue 25, item 9).
func TestPipelinesPageListsWhatNeedsTheViewerFirst(t *testing.T) {
	g := NewWithT(t)
	m := fixtureWorld(200, 2)
	waiting := func(pipeline string) *releasev1.Release {
		for _, r := range m.releases {
			if r.Spec.Pipeline == pipeline && r.Status.Phase == releasev1.PhaseBlocked {
				return r
			}
		}
		t.Fatalf("no waiting release of %s", pipeline)
		return nil
	}
	failed := waiting("app-003")
	failed.Status.Phase = releasev1.PhaseFailed
	failed.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: "RolledBack", Message: "prod: analysis failed: error-ratio 0.25"}}
	blocked := waiting("app-005").Status.StageStatus("prod")
	blocked.Gates[1].Status = releasev1.GatePassed
	blocked.Gates = append(blocked.Gates, releasev1.GateStatus{Name: gates.NameBlockers, Status: releasev1.GatePending, Reason: releasev1.ReasonBlockersOpen,
		Message: `2 open issue(s) match "label:blocker": #12 A, #13 B: close them to go on`,
		Issues:  []releasev1.BlockerIssue{{Number: 12, Title: "A", URL: "https://github.com/acme/app-005/issues/12"}, {Number: 13, Title: "B", URL: "https://github.com/acme/app-005/issues/13"}}})
	m.pipelines[7].Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: "SecretNotFound", Message: "Secret github-token not found"}}

	_, ts := newTestServer(t, m, grants{user: "ann", verbs: approver})
	var v PipelinesView
	g.Expect(getJSON(t, ts.URL+"/api/pipelines", &v)).To(Equal(200))
	g.Expect(v.NeedsCount).To(Equal(map[string]int{"approve": 198, "failing": 2, "blocked": 1}))
	g.Expect(v.Needs).To(HaveLen(maxNeeds))
	g.Expect(v.MoreNeeds).To(Equal(201 - maxNeeds))
	g.Expect(v.Needs[0]).To(Equal(Need{Kind: "approve", Namespace: "team-00", Pipeline: "app-000", Release: "app-000-1-0-1", Version: "1.0.1", Stage: "prod",
		What: "waits for 1 approval for prod"}))

	v = PipelinesView{}
	g.Expect(getJSON(t, ts.URL+"/api/pipelines?needs=failing", &v)).To(Equal(200))
	g.Expect(v.Needs).To(ConsistOf(
		Need{Kind: "failing", Namespace: "team-00", Pipeline: "app-003", Release: "app-003-1-0-1", Version: "1.0.1", Stage: "prod", What: "prod: analysis failed: error-ratio 0.25"},
		Need{Kind: "failing", Namespace: "team-00", Pipeline: "app-007", What: "Secret github-token not found"}))

	html := getPage(t, ts.URL+"/?needs=blocked")
	g.Expect(html).To(ContainSubstring(`1 blocked</a>`))
	g.Expect(html).To(MatchRegexp(`<a href="/releases/team-00/app-005-1-0-1">app-005-1-0-1</a></th>\s*<td>prod</td>\s*` +
		`<td class="why">waits for 2 blocker issues to be closed<ul class="issues"><li><a href="https://github.com/acme/app-005/issues/12">#12 A</a></li>` +
		`<li><a href="https://github.com/acme/app-005/issues/13">#13 B</a></li></ul></td>`))

	// Someone who may not approve sees those Releases as blocked, not as theirs.
	_, ts = newTestServer(t, m, grants{user: "dan"})
	v = PipelinesView{}
	g.Expect(getJSON(t, ts.URL+"/api/pipelines", &v)).To(Equal(200))
	g.Expect(v.NeedsCount).To(Equal(map[string]int{"failing": 2, "blocked": 199}))
}

// The controller's messages carry RFC 3339 times; the page writes them in
// its one zone, as it writes its own.
func TestStatusMessagesTimesAreInThePagesZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	msg := "1.5.0 committed to prod (abc1234); waiting until 2026-12-14T09:20:00Z for it to be deployed: Progressing"
	want := "1.5.0 committed to prod (abc1234); waiting until 2026-12-14 10:20 CET for it to be deployed: Progressing"
	if got := inZone(msg, berlin); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
