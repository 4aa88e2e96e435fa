package controllers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// delivery is one request a test receiver answered.
type delivery struct {
	body   []byte
	header http.Header
	status int
}

// testReceiver is a real HTTP receiver (Slack, Teams or a webhook endpoint)
// that keeps what it accepted. answer decides each answer; it may block.
type testReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(req *http.Request, body []byte) int
}

func newTestReceiver(t *testing.T) *testReceiver {
	r := &testReceiver{answer: func(*http.Request, []byte) int { return http.StatusOK }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		answer := r.answer
		r.mu.Unlock()
		code := answer(req, body)
		if code == 0 {
			return // the client went away: nothing was accepted
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
		r.mu.Lock()
		r.got = append(r.got, delivery{body: body, header: req.Header.Clone(), status: code})
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *testReceiver) setAnswer(f func(req *http.Request, body []byte) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// url has a secret path, as incoming webhook URLs do.
func (r *testReceiver) url() string { return r.srv.URL + "/services/T0/B0/XXXXsecretXXXX" }

// accepted lists the bodies answered 2xx.
func (r *testReceiver) accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, d := range r.got {
		if d.status < 300 {
			out = append(out, d.body)
		}
	}
	return out
}

func (r *testReceiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// webhookEvents decodes the accepted generic-webhook bodies as "type stage" lines.
// webhookEvents lists the type and stage of each Liftoff delivery the
// receiver accepted: signed with X-Liftoff-Signature-256, as every webhook
// receiver's is. (Hundreds of unsigned Slack messages once reached a
// receiver here: an earlier test's notification, retried by every later
// test's controller to a port this receiver reused. Each test's controller
// now watches its own namespace only.)
func webhookEvents(r *testReceiver) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.got {
		if d.status >= 300 || d.header.Get("X-Liftoff-Signature-256") == "" {
			continue
		}
		var e struct{ Type, Stage string }
		_ = json.Unmarshal(d.body, &e)
		out = append(out, strings.TrimSpace(e.Type+" "+e.Stage))
	}
	return out
}

func (e *testEnv) receiverSecret(name, url, secret string) {
	e.t.Helper()
	data := map[string][]byte{"url": []byte(url)}
	if secret != "" {
		data["secret"] = []byte(secret)
	}
	NewWithT(e.t).Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Data: data})).To(Succeed())
}

func (e *testEnv) notification(name string, mod func(*releasev1.ReleaseNotificationSpec)) {
	e.t.Helper()
	n := &releasev1.ReleaseNotification{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec: releasev1.ReleaseNotificationSpec{Pipelines: releasev1.ObjectSelector{Names: []string{"checkout"}}}}
	mod(&n.Spec)
	NewWithT(e.t).Expect(k8s.Create(context.Background(), n)).To(Succeed())
}

func (e *testEnv) notificationStatus(name string) releasev1.ReleaseNotificationStatus {
	n := &releasev1.ReleaseNotification{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, n); err != nil {
		e.t.Fatalf("get notification %s: %v", name, err)
	}
	return n.Status
}

func receiverState(st releasev1.ReleaseNotificationStatus, name string) releasev1.ReceiverStatus {
	for _, r := range st.Receivers {
		if r.Name == name {
			return r
		}
	}
	return releasev1.ReceiverStatus{}
}

func verifySignature(t *testing.T, d delivery, secret string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	if got, want := d.header.Get("X-Liftoff-Signature-256"), "sha256="+hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("delivery %s: signature %q, want %q", d.header.Get("X-Liftoff-Delivery"), got, want)
	}
}

// A Release goes dev -> staging -> prod, waiting in prod for an approval:
// Slack, Teams and a signed webhook each get every event once, as they
// document their payloads, with who may approve named from RBAC.
func TestNotificationsReachSlackTeamsAndASignedWebhookOnce(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	slack, teams, hook := newTestReceiver(t), newTestReceiver(t), newTestReceiver(t)
	e.receiverSecret("slack", slack.url(), "")
	e.receiverSecret("teams", teams.url(), "")
	e.receiverSecret("hook", hook.url(), "whsec-test")
	e.pipeline(e.stage("dev"), e.stage("staging"), e.stage("prod", func(s *releasev1.Stage) {
		s.Promotion = releasev1.PromotionManual
		s.Gates = &releasev1.Gates{Approvals: &releasev1.ApprovalsGate{Count: 1}}
	}))
	ann := e.approver("ann")
	e.notification("releases", func(s *releasev1.ReleaseNotificationSpec) {
		s.Events = []releasev1.NotificationEvent{releasev1.EventPromoted, releasev1.EventReleased, releasev1.EventBlocked}
		s.BlockedAfter = &metav1.Duration{Duration: time.Second}
		s.Receivers = []releasev1.NotificationReceiver{
			{Name: "slack", Type: releasev1.ReceiverSlack, SecretRef: releasev1.LocalObjectReference{Name: "slack"}},
			{Name: "teams", Type: releasev1.ReceiverTeams, SecretRef: releasev1.LocalObjectReference{Name: "teams"}},
			{Name: "hook", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "hook"}},
		}
	})
	e.release("checkout-1-4-2", "1.4.2")

	// Waiting for an approval in prod longer than blockedAfter: who can unblock it.
	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(ContainElement("Blocked prod"))
	var blocked struct {
		Title      string
		Unblockers []string
		Gates      []struct{ Name, Message string }
	}
	for _, b := range hook.accepted() {
		if strings.Contains(string(b), `"type":"Blocked"`) {
			g.Expect(json.Unmarshal(b, &blocked)).To(Succeed())
		}
	}
	g.Expect(blocked.Title).To(HavePrefix("checkout 1.4.2 blocked before prod for "))
	g.Expect(blocked.Gates).To(HaveLen(1))
	g.Expect(blocked.Gates[0].Name).To(Equal("approvals"))
	g.Expect(blocked.Unblockers).To(ConsistOf("approve prod: ann (kubectl liftoff approve release/checkout-1-4-2 --stage prod)"))

	g.Expect(e.approveAs(ann, "checkout-1-4-2", "prod")).To(Succeed())
	g.Eventually(e.phase("checkout-1-4-2"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	want := []string{"Promoted dev", "Promoted staging", "Blocked prod", "Promoted prod", "Released prod"}
	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(ConsistOf(want))
	g.Eventually(func() int32 { return e.notificationStatus("releases").PendingCount }, timeout, interval).Should(BeZero())
	g.Expect(webhookEvents(hook)).To(ConsistOf(want), "each event exactly once")

	// The webhook: signed, with the event's id as delivery id.
	ids := map[string]bool{}
	for _, d := range hook.deliveries() {
		verifySignature(t, d, "whsec-test")
		g.Expect(d.header.Get("X-Liftoff-Event")).NotTo(BeEmpty())
		ids[d.header.Get("X-Liftoff-Delivery")] = true
	}
	g.Expect(ids).To(HaveLen(len(want)))

	// Slack: Block Kit, a header per event, links in mrkdwn.
	g.Expect(slack.accepted()).To(HaveLen(len(want)))
	var headers []string
	for _, b := range slack.accepted() {
		var m struct {
			Text   string
			Blocks []struct {
				Type string
				Text struct{ Type, Text string }
			}
		}
		g.Expect(json.Unmarshal(b, &m)).To(Succeed())
		g.Expect(m.Blocks[0].Type).To(Equal("header"))
		g.Expect(m.Blocks[0].Text.Type).To(Equal("plain_text"))
		g.Expect(m.Blocks[len(m.Blocks)-1].Type).To(Equal("context"))
		headers = append(headers, m.Blocks[0].Text.Text)
		if strings.HasPrefix(m.Text, "checkout 1.4.2 promoted to dev") {
			// The commit on GitHub's web host for the pipeline's API URL (here the simulator's).
			g.Expect(string(b)).To(MatchRegexp(`\\u003c` + e.sim.URL() + `/acme/gitops/commit/[0-9a-f]{40}\|commit [0-9a-f]{7}\\u003e`))
		}
	}
	g.Expect(headers).To(ContainElements(":rocket: checkout 1.4.2 promoted to dev", ":white_check_mark: checkout 1.4.2 released"))

	// Teams: one Adaptive Card per event.
	g.Expect(teams.accepted()).To(HaveLen(len(want)))
	for _, b := range teams.accepted() {
		var m struct {
			Type        string
			Attachments []struct {
				ContentType string
				Content     struct{ Type, Version string }
			}
		}
		g.Expect(json.Unmarshal(b, &m)).To(Succeed())
		g.Expect(m.Type).To(Equal("message"))
		g.Expect(m.Attachments).To(HaveLen(1))
		g.Expect(m.Attachments[0].ContentType).To(Equal("application/vnd.microsoft.card.adaptive"))
		g.Expect(m.Attachments[0].Content.Type).To(Equal("AdaptiveCard"))
	}

	st := e.notificationStatus("releases")
	for _, name := range []string{"slack", "teams", "hook"} {
		rs := receiverState(st, name)
		g.Expect(rs.Delivered).To(BeEquivalentTo(len(want)), name)
		g.Expect(rs.LastError).To(BeEmpty(), name)
		g.Expect(rs.LastSent).NotTo(BeNil(), name)
	}
	raw, _ := json.Marshal(st)
	g.Expect(string(raw)).NotTo(ContainSubstring("XXXXsecretXXXX"), "no receiver URL in status")
}

// A receiver that fails shows the error in status (and Ready), is retried
// with back-off, and gets the message once when it recovers. (A receiver
// whose Secret is missing is not retried: TestAReceiverThatCannotWorkIsStalledAtOnce.)
func TestAFailingReceiverShowsTheErrorThenGetsTheMessageOnce(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	hook := newTestReceiver(t)
	hook.setAnswer(func(*http.Request, []byte) int { return http.StatusServiceUnavailable })
	e.receiverSecret("hook", hook.url(), "whsec-test")
	e.pipeline(e.stage("dev"))
	e.notifyPromoted("dev", receiverOf("hook", releasev1.ReceiverWebhook, "hook"))
	e.release("r", "1.4.2")

	g.Eventually(func() string {
		st := e.notificationStatus("dev")
		h := receiverState(st, "hook")
		return fmt.Sprintf("%d %d|%s|%d", h.ConsecutiveFailures, st.PendingCount, h.LastError, h.Delivered)
	}, timeout, interval).Should(And(
		MatchRegexp(`^[1-9]\d* 1\|`),
		ContainSubstring("|answered 503: ok|0"),
	))
	ready, reconciling := e.notificationCondition("dev", releasev1.ConditionReady), e.notificationCondition("dev", releasev1.ConditionReconciling)
	g.Expect(ready()).To(HavePrefix("False/DeliveryFailing: hook: answered 503: ok; retrying at "))
	g.Expect(reconciling()).To(HavePrefix("True/DeliveryFailing: hook: answered 503: ok; retrying at "), "retried, not stalled")

	hook.setAnswer(func(*http.Request, []byte) int { return http.StatusOK })
	g.Eventually(func() int32 { return e.notificationStatus("dev").PendingCount }, timeout, interval).Should(BeZero())
	st := e.notificationStatus("dev")
	h := receiverState(st, "hook")
	g.Expect(h.Delivered).To(BeEquivalentTo(1))
	g.Expect(h.ConsecutiveFailures).To(BeZero())
	g.Expect(h.LastError).To(Equal("answered 503: ok"), "the last error stays visible")
	g.Expect(h.LastSentTitle).To(Equal("checkout 1.4.2 promoted to dev"))
	g.Expect(webhookEvents(hook)).To(Equal([]string{"Promoted dev"}), "accepted once")
	g.Expect(len(hook.deliveries())).To(BeNumerically(">=", 2), "retried")
	g.Expect(ready()).To(HavePrefix("True/Delivering"))
	g.Expect(reconciling()).To(BeEmpty(), "present only while a receiver fails")
	// The same in the controller's metrics.
	g.Expect(deliveryCount(e.ns, "hook", "delivered")).To(BeEquivalentTo(1))
	g.Expect(deliveryCount(e.ns, "hook", "failed")).To(BeNumerically(">=", 1))
}

// deliveryCount reads liftoff_notification_deliveries_total from the controller's registry.
func deliveryCount(ns, receiver, result string) float64 {
	return counterValue("liftoff_notification_deliveries_total", map[string]string{"namespace": ns, "receiver": receiver, "result": result})
}

// The manager stops while a delivery hangs: the message was recorded before
// it was sent, so a new manager sends it (once), and does not resend the one
// delivered before the stop.
func TestRestartMidDeliveryNeitherResendsNorLoses(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	hook := newTestReceiver(t)
	inFlight := make(chan string, 10)
	hook.setAnswer(func(req *http.Request, body []byte) int {
		if strings.Contains(string(body), `"stage":"dev"`) {
			return http.StatusOK
		}
		inFlight <- req.Header.Get("X-Liftoff-Delivery")
		<-req.Context().Done() // hangs until the manager gives up
		return 0
	})
	e.receiverSecret("hook", hook.url(), "whsec-test")
	e.pipeline(e.stage("dev"), e.stage("staging"))
	e.notification("releases", func(s *releasev1.ReleaseNotificationSpec) {
		s.Events = []releasev1.NotificationEvent{releasev1.EventPromoted}
		s.Receivers = []releasev1.NotificationReceiver{{Name: "hook", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "hook"}}}
	})
	e.release("r", "1.4.2")

	var hanging string
	g.Eventually(inFlight, timeout).Should(Receive(&hanging))
	g.Expect(webhookEvents(hook)).To(Equal([]string{"Promoted dev"}))
	st := e.notificationStatus("releases")
	g.Expect(st.Pending).To(HaveLen(1), "the message in flight is recorded")
	g.Expect(st.Pending[0].Key).To(Equal(hanging))

	e.stopController()
	hook.setAnswer(func(*http.Request, []byte) int { return http.StatusOK })
	e.start()

	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(Equal([]string{"Promoted dev", "Promoted staging"}))
	g.Eventually(func() int32 { return e.notificationStatus("releases").PendingCount }, timeout, interval).Should(BeZero())
	g.Expect(webhookEvents(hook)).To(Equal([]string{"Promoted dev", "Promoted staging"}), "nothing resent")
	rs := receiverState(e.notificationStatus("releases"), "hook")
	g.Expect(rs.Delivered).To(BeEquivalentTo(2))
	g.Expect(rs.ConsecutiveFailures).To(BeZero())
}

// The release notes of a promotion from the simulator's compare route where
// a user reads them (the Release's status, the GitHub deployment, the
// notification, the plugin, also when GitHub cannot be read), and the
// scheduled report, as the plugin prints them.
func TestKubectlPrintsTheNotesAndTheReport(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	var merged []int
	for _, pr := range []struct{ branch, title, author string }{{"retry", "Retry payments", "alice"}, {"tax", "Tax rounding", "bob"}} {
		_, err := e.sim.CommitFiles(appRepo, pr.branch, map[string]string{pr.branch + ".go": "package main\n"}, pr.title)
		g.Expect(err).NotTo(HaveOccurred())
		n, err := e.sim.CreatePullRequest(appRepo, pr.branch, "main", pr.title, pr.author)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = e.sim.MergePull(appRepo, n)
		g.Expect(err).NotTo(HaveOccurred())
		merged = append(merged, n)
	}
	head, _ := e.sim.BranchHead(appRepo, "main")
	g.Expect(e.sim.CreateTag(appRepo, "v1.4.3", head)).To(Succeed())
	hook := newTestReceiver(t)
	e.receiverSecret("hook", hook.url(), "whsec-test")
	e.pipeline(e.stage("dev"))
	e.notification("weekly", func(s *releasev1.ReleaseNotificationSpec) {
		s.Events = []releasev1.NotificationEvent{releasev1.EventPromoted}
		s.Receivers = []releasev1.NotificationReceiver{{Name: "hook", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "hook"}}}
		s.Report = &releasev1.ReportSchedule{RRule: "FREQ=WEEKLY;BYDAY=MO", Start: "2026-11-23T09:00:00", TimeZone: "Europe/Berlin"}
	})
	e.release("r142", "1.4.2")
	g.Eventually(e.phase("r142"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	e.release("r143", "1.4.3")
	g.Eventually(e.phase("r143"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	// The controller wrote the notes into the stage's status, the GitHub
	// deployment and the Promoted notification.
	list := fmt.Sprintf("#%d Retry payments (alice), #%d Tax rounding (bob)", merged[0], merged[1])
	notes := e.get("r143").Status.StageStatus("dev").ReleaseNotes
	g.Expect(notes).NotTo(BeNil())
	g.Expect(*notes).To(Equal(releasev1.ReleaseNotes{From: "1.4.2", Count: 2, Summary: "2 pull requests since 1.4.2: " + list,
		URL: "https://github.com/acme/checkout/compare/v1.4.2..." + e.get("r143").Status.Commit}))
	g.Expect(e.get("r142").Status.StageStatus("dev").ReleaseNotes).To(BeNil(), "1.4.1, before 1.4.2, has no tag: no notes")
	deps := e.sim.Deployments(appRepo)
	g.Expect(deps[len(deps)-1].Description).To(Equal(fmt.Sprintf("1.4.3: 2 PRs since 1.4.2 (#%d, #%d)", merged[0], merged[1])))
	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(Equal([]string{"Promoted dev", "Promoted dev"}))
	var promoted struct {
		Version      string
		ReleaseNotes struct {
			From    string
			Count   int
			Summary string
		}
	}
	g.Expect(json.Unmarshal(hook.accepted()[1], &promoted)).To(Succeed())
	g.Expect(promoted.Version).To(Equal("1.4.3"))
	g.Expect(promoted.ReleaseNotes.Count).To(Equal(2))
	g.Expect(promoted.ReleaseNotes.Summary).To(Equal(notes.Summary))

	admin := []string{"system:masters"}
	out, ok := e.kubectlAs("admin", admin, "liftoff", "notes", "release/r143", "--stage", "dev", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(HavePrefix("Stage dev: acme/checkout 1.4.2 -> 1.4.3: 2 pull requests, 4 commits\n"))
	g.Expect(out).To(ContainSubstring("Retry payments (alice, merged "))
	g.Expect(out).To(ContainSubstring("Tax rounding (bob, merged "))
	g.Expect(out).To(ContainSubstring("https://github.com/acme/checkout/pull/"))
	g.Expect(out).To(ContainSubstring("Compare: https://github.com/acme/checkout/compare/v1.4.2..."))

	// Someone who may read Releases but not the pipeline's Secret gets what
	// the controller stored, and why.
	e.grant("viv", []string{"releases", "releasepipelines", "releasenotifications"}, "get", "list")
	out, ok = e.kubectlAs("viv", nil, "liftoff", "notes", "release/r143", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(Equal("Stage dev: acme/checkout 1.4.2 -> 1.4.3: 2 pull requests, as the controller stored them " +
		"(you may not read Secret github (the pipeline's GitHub token))\n  2 pull requests since 1.4.2: " + list + "\nCompare: " + notes.URL + "\n"))
	// So does anyone when GitHub fails; r142's stage has nothing stored: the error says what to do.
	e.sim.Inject(githubsim.Fault{Path: "/compare/", Status: http.StatusBadGateway})
	out, ok = e.kubectlAs("admin", admin, "liftoff", "notes", "release/r143", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(HavePrefix("Stage dev: acme/checkout 1.4.2 -> 1.4.3: 2 pull requests, as the controller stored them (GitHub cannot be read: "))
	g.Expect(out).To(ContainSubstring("\n  2 pull requests since 1.4.2: " + list + "\n"))
	e.sim.ClearFaults()
	out, ok = e.kubectlAs("viv", nil, "liftoff", "notes", "release/r142", "-n", e.ns)
	g.Expect(ok).To(BeFalse())
	g.Expect(out).To(ContainSubstring("you may not read Secret github (the pipeline's GitHub token); set GITHUB_TOKEN to a token that can read acme/checkout"))

	// The report: not due before Monday; asked for now, written, kept in
	// status, sent to the receivers and printed by the plugin.
	out, ok = e.kubectlAs("viv", nil, "liftoff", "report", "releasenotification/weekly", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(HavePrefix("No report yet; the next is due at "))
	out, ok = e.kubectlAs("admin", admin, "liftoff", "report", "releasenotification/weekly", "--send", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), out)
	g.Expect(out).To(HavePrefix("# Release report, "))
	g.Expect(out).To(MatchRegexp(`## Shipped\n\n- \*\*checkout\*\*, live: dev=1.4.3\n  - dev: 1.4.2, .*\n  - dev: 1.4.3, `))
	g.Expect(out).To(ContainSubstring("## Milestones"))
	g.Eventually(func() []string { return webhookEvents(hook) }, timeout, interval).Should(Equal([]string{"Promoted dev", "Promoted dev", "Report"}))
	again, ok := e.kubectlAs("viv", nil, "liftoff", "report", "rnotif/weekly", "-n", e.ns)
	g.Expect(ok).To(BeTrue(), again)
	g.Expect(again).To(Equal(out))
	var rep struct {
		Report struct{ Markdown string }
	}
	g.Expect(json.Unmarshal(hook.accepted()[2], &rep)).To(Succeed())
	g.Expect(rep.Report.Markdown).To(HavePrefix("# Release report, "))
}

// The API server refuses a ReleaseNotification that cannot work, saying what to add or fix.
func TestNotificationSpecIsCheckedAtTheAPIServer(t *testing.T) {
	needsControlPlane(t)
	ns := fmt.Sprintf("validation-%d", nsSeq.Add(1))
	NewWithT(t).Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	slack := releasev1.NotificationReceiver{Name: "slack", Type: releasev1.ReceiverSlack, SecretRef: releasev1.LocalObjectReference{Name: "slack"}}
	for _, c := range []struct {
		name string
		mod  func(*releasev1.ReleaseNotificationSpec)
		want string
	}{
		{"ok", func(*releasev1.ReleaseNotificationSpec) {}, ""},
		{"a report alone", func(s *releasev1.ReleaseNotificationSpec) {
			s.Events, s.Receivers = nil, nil
			s.Report = &releasev1.ReportSchedule{RRule: "FREQ=WEEKLY;BYDAY=MO", Start: "2026-11-23T09:00:00"}
		}, ""},
		{"nothing to send", func(s *releasev1.ReleaseNotificationSpec) { s.Events = nil }, "set events (Promoted, Released, Blocked, Verifying, RolledBack, FreezeStarting, MilestoneAtRisk), a report, or both"},
		{"events without receivers", func(s *releasev1.ReleaseNotificationSpec) { s.Receivers = nil }, "events need receivers: add one to receivers (Slack, Teams or Webhook)"},
		{"names and selector", func(s *releasev1.ReleaseNotificationSpec) { s.Pipelines.Selector = &metav1.LabelSelector{} }, "set names or selector (an empty selector {} selects all), not both"},
		{"neither names nor selector", func(s *releasev1.ReleaseNotificationSpec) { s.Pipelines.Names = nil }, "set names or selector"},
		{"unknown event", func(s *releasev1.ReleaseNotificationSpec) { s.Events = []releasev1.NotificationEvent{"Deployed"} }, `supported values: "Promoted", "Released"`},
		{"unknown receiver type", func(s *releasev1.ReleaseNotificationSpec) { s.Receivers[0].Type = "Email" }, `supported values: "Slack", "Teams", "Webhook"`},
		{"two receivers of one name", func(s *releasev1.ReleaseNotificationSpec) { s.Receivers = append(s.Receivers, slack) }, "Duplicate value"},
		{"a start that is not a time", func(s *releasev1.ReleaseNotificationSpec) {
			s.Report = &releasev1.ReportSchedule{RRule: "FREQ=WEEKLY", Start: "next monday"}
		}, "spec.report.start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := &releasev1.ReleaseNotification{ObjectMeta: metav1.ObjectMeta{GenerateName: "n-", Namespace: ns},
				Spec: releasev1.ReleaseNotificationSpec{Pipelines: releasev1.ObjectSelector{Names: []string{"checkout"}},
					Events: []releasev1.NotificationEvent{releasev1.EventPromoted}, Receivers: []releasev1.NotificationReceiver{slack}}}
			c.mod(&n.Spec)
			err := k8s.Create(context.Background(), n)
			if c.want == "" {
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(c.want)))
		})
	}
}
