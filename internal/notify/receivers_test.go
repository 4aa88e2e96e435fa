package notify

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
	"slices"
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// blockedEvent is a message with every part: text, facts, lists, links.
func blockedEvent() *Event {
	since := t0.Add(-3 * time.Hour)
	return &Event{ID: Key("x"), Type: "Blocked", Severity: SeverityWarning, At: t0, Namespace: "shop", Notification: "releases",
		Title: "checkout 1.5.0 blocked before prod for 3h", Text: "approvals: 1 of 2 approvals <for> prod & more",
		Pipeline: "checkout", Release: "checkout-1-5-0", Version: "1.5.0", Stage: "prod", BlockedSince: &since,
		Facts:      []Fact{{"Pipeline", "checkout"}, {"Version", "1.5.0"}, {"Stage", "prod"}},
		Gates:      []Gate{{Name: "checks", Status: "Failed", Message: "qa failed", URL: "https://github.com/acme/checkout/runs/1"}},
		Unblockers: []string{"approve prod: ann, group release-managers (kubectl liftoff approve release/checkout-1-5-0 --stage prod)"},
		Links:      []Link{{"checks", "https://github.com/acme/checkout/runs/1"}},
		ReleaseNotes: &Notes{From: "1.4.2", Count: 1, Summary: "1 pull request since 1.4.2: #12 Retry [fast] (alice)",
			URL: "https://github.com/acme/checkout/compare/v1.4.2...v1.5.0"}}
}

// receiver is a real HTTP receiver that keeps what it got.
type receiver struct {
	srv    *httptest.Server
	bodies [][]byte
	heads  []http.Header
	answer func(n int) (int, string)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{answer: func(int) (int, string) { return 200, "ok" }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.bodies = append(r.bodies, b)
		r.heads = append(r.heads, req.Header.Clone())
		code, body := r.answer(len(r.bodies))
		if code == 429 {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// url has a secret path, as incoming webhook URLs do.
func (r *receiver) url() string { return r.srv.URL + "/services/T000/B000/s3cr3t" }

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return m
}

func TestSlackGetsBlockKitBlocksWithLinks(t *testing.T) {
	rcv := newReceiver(t)
	s := &Sender{}
	if err := s.Send(context.Background(), Receiver{Name: "slack", Type: releasev1.ReceiverSlack, URL: rcv.url()}, blockedEvent()); err != nil {
		t.Fatal(err)
	}
	if ct := rcv.heads[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	msg := decodeJSON(t, rcv.bodies[0])
	if msg["text"] != "checkout 1.5.0 blocked before prod for 3h" {
		t.Errorf("text (the notification fallback) %q", msg["text"])
	}
	blocks := msg["blocks"].([]any)
	var kinds []string
	for _, b := range blocks {
		kinds = append(kinds, b.(map[string]any)["type"].(string))
	}
	if strings.Join(kinds, " ") != "header section section section section section section context" {
		t.Fatalf("blocks %v", kinds)
	}
	header := blocks[0].(map[string]any)["text"].(map[string]any)
	if header["type"] != "plain_text" || header["text"] != ":no_entry: checkout 1.5.0 blocked before prod for 3h" {
		t.Errorf("header %v", header)
	}
	text := blocks[1].(map[string]any)["text"].(map[string]any)
	if text["type"] != "mrkdwn" || text["text"] != "approvals: 1 of 2 approvals &lt;for&gt; prod &amp; more" {
		t.Errorf("text %v: &, < and > must be escaped", text)
	}
	fields := blocks[2].(map[string]any)["fields"].([]any)
	if len(fields) != 3 || fields[0].(map[string]any)["text"] != "*Pipeline*\ncheckout" {
		t.Errorf("fields %v", fields)
	}
	all := mrkdwnTexts(msg)
	for _, want := range []string{
		`*Holding*\n• *checks* (failed): qa failed <https://github.com/acme/checkout/runs/1|details>`,
		`*Who can unblock it*\n• approve prod: ann, group release-managers (kubectl liftoff approve release/checkout-1-5-0 --stage prod)`,
		`*Changes since 1.4.2*\n• 1 pull request since 1.4.2: #12 Retry [fast] (alice) <https://github.com/acme/checkout/compare/v1.4.2...v1.5.0|compare>`,
		`<https://github.com/acme/checkout/runs/1|checks>`,
		fmt.Sprintf(`Liftoff · shop/releases · <!date^%d^{date_short_pretty} {time}|2026-11-23 09:00 UTC>`, t0.Unix()),
	} {
		if !strings.Contains(all, strings.ReplaceAll(want, `\n`, "\n")) {
			t.Errorf("message lacks %s\n%s", want, all)
		}
	}
	if strings.Contains(string(rcv.bodies[0]), `"id"`) || strings.Contains(string(rcv.bodies[0]), `blockedSince`) {
		t.Error("Slack got the raw event JSON")
	}
}

func TestTeamsGetsAnAdaptiveCard(t *testing.T) {
	rcv := newReceiver(t)
	rcv.answer = func(int) (int, string) { return 202, "" } // Workflows accept with 202
	e := blockedEvent()
	if err := (&Sender{}).Send(context.Background(), Receiver{Name: "teams", Type: releasev1.ReceiverTeams, URL: rcv.url()}, e); err != nil {
		t.Fatal(err)
	}
	msg := decodeJSON(t, rcv.bodies[0])
	att := msg["attachments"].([]any)
	if msg["type"] != "message" || len(att) != 1 {
		t.Fatalf("message %v", msg)
	}
	a := att[0].(map[string]any)
	card := a["content"].(map[string]any)
	if a["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" || card["version"] != "1.4" ||
		card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Fatalf("attachment %v", a)
	}
	lines := cardLines(t, card)
	if len(lines) < 1 || lines[0] != e.Title {
		t.Errorf("title %q", lines)
	}
	title := card["body"].([]any)[0].(map[string]any)["inlines"].([]any)[0].(map[string]any)
	if title["color"] != "Warning" || title["weight"] != "Bolder" || title["size"] != "Large" {
		t.Errorf("title %v", title)
	}
	for _, want := range []string{
		"approvals: 1 of 2 approvals <for> prod & more",
		"Pipeline: checkout", "Version: 1.5.0", "Stage: prod",
		"Holding",
		"• checks (failed): qa failed details",
		"Changes since 1.4.2",
		"• 1 pull request since 1.4.2: #12 Retry [fast] (alice) compare",
		"Liftoff · shop/releases · 2026-11-23 09:00 UTC",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("the card lacks the line %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if runs := runsOf(card, "details"); len(runs) != 1 || runs[0]["selectAction"].(map[string]any)["url"] != "https://github.com/acme/checkout/runs/1" {
		t.Errorf("the gate's link: %v", runs)
	}
	if runs := runsOf(card, "checks"); len(runs) != 1 || runs[0]["weight"] != "Bolder" {
		t.Errorf("the gate's name in bold: %v", runs)
	}
	actions := card["actions"].([]any)
	if len(actions) != 1 || actions[0].(map[string]any)["type"] != "Action.OpenUrl" || actions[0].(map[string]any)["url"] != "https://github.com/acme/checkout/runs/1" {
		t.Errorf("actions %v", actions)
	}
}

func TestWebhookIsSignedWithHMACSHA256(t *testing.T) {
	rcv := newReceiver(t)
	secret := []byte("whsec-liftoff")
	e := blockedEvent()
	if err := (&Sender{}).Send(context.Background(), Receiver{Name: "hook", Type: releasev1.ReceiverWebhook, URL: rcv.url(), Secret: secret}, e); err != nil {
		t.Fatal(err)
	}
	body, h := rcv.bodies[0], rcv.heads[0]
	// As a receiver verifies it: HMAC-SHA256 of the raw body with the shared secret.
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := h.Get("X-Liftoff-Signature-256"); !hmac.Equal([]byte(got), []byte(want)) {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if h.Get("X-Liftoff-Event") != "Blocked" || h.Get("X-Liftoff-Delivery") != e.ID {
		t.Errorf("headers %v", h)
	}
	m := decodeJSON(t, body)
	for k, v := range map[string]any{"id": e.ID, "type": "Blocked", "severity": "warning", "at": "2026-11-23T09:00:00Z", "namespace": "shop",
		"notification": "releases", "pipeline": "checkout", "release": "checkout-1-5-0", "version": "1.5.0", "stage": "prod",
		"blockedSince": "2026-11-23T06:00:00Z"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if g := m["gates"].([]any)[0].(map[string]any); g["name"] != "checks" || g["url"] != "https://github.com/acme/checkout/runs/1" {
		t.Errorf("gates %v", m["gates"])
	}
	if n := m["releaseNotes"].(map[string]any); n["count"] != float64(1) || n["from"] != "1.4.2" {
		t.Errorf("releaseNotes %v", n)
	}
	if Sign([]byte("another"), body) == h.Get("X-Liftoff-Signature-256") {
		t.Error("the signature does not depend on the secret")
	}
}

func TestDeliveryErrorsSayWhatToDoAndNeverShowTheURL(t *testing.T) {
	rcv := newReceiver(t)
	s := &Sender{Client: &http.Client{Timeout: 2 * time.Second}}
	slack := Receiver{Name: "slack", Type: releasev1.ReceiverSlack, URL: rcv.url()}
	for _, tc := range []struct {
		code      int
		body      string
		permanent bool
		retry     time.Duration
		want      string
	}{
		{503, "upstream down", false, 0, "answered 503: upstream down"},
		{429, "rate_limited", false, 30 * time.Second, "answered 429: rate_limited"},
		{200, "Microsoft Teams endpoint returned HTTP error 429", false, 0, "throttled (429): Microsoft Teams endpoint returned HTTP error 429"},
		{404, "no_service", true, 0, "refused the message with 404: no_service: the URL is revoked or wrong; put a working one in the receiver's Secret"},
		{400, "invalid_blocks", true, 0, "refused the message with 400: invalid_blocks"},
	} {
		rcv.answer = func(int) (int, string) { return tc.code, tc.body }
		err := s.Send(context.Background(), slack, blockedEvent())
		if err == nil || IsPermanent(err) != tc.permanent || RetryAfter(err) != tc.retry || err.Error() != tc.want {
			t.Errorf("%d %s: %v (permanent %v, retry after %s)", tc.code, tc.body, err, IsPermanent(err), RetryAfter(err))
		}
	}
	rcv.srv.Close()
	err := s.Send(context.Background(), slack, blockedEvent())
	if err == nil || IsPermanent(err) || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("unreachable receiver: %v", err)
	}
}

func TestReportFitsSlackAndTeams(t *testing.T) {
	var md strings.Builder
	md.WriteString("# Release report, Mon 23 Nov 09:00 CET\n\nFrom a week ago: 300 promotions landed.\n\n## Shipped\n\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&md, "  - prod: 1.%d.0, Mon 23 Nov 08:%02d CET (planned Mon 23 Nov 08:00 CET, on time), see [the notes](https://github.com/acme/checkout/compare/v1...v%d)\n", i, i%60, i)
	}
	md.WriteString("\n## Milestones\n\n- **checkout-1-5**: AtRisk, 1 open blocker: [#4 3-D Secure \\[Safari\\]](https://github.com/acme/checkout/issues/4)\n")
	e := &Event{ID: "r", Type: TypeReport, Title: "Release report, Mon 23 Nov 09:00 CET", At: t0, Namespace: "shop", Notification: "releases",
		Report: &Report{Markdown: md.String()}}
	msg := SlackMessage(e)
	blocks := msg["blocks"].([]any)
	if len(blocks) > 50 {
		t.Fatalf("%d blocks, Slack takes 50", len(blocks))
	}
	for _, b := range blocks {
		if txt, ok := b.(map[string]any)["text"].(map[string]any); ok && len(txt["text"].(string)) > 3000 {
			t.Fatalf("a section of %d characters, Slack takes 3000", len(txt["text"].(string)))
		}
	}
	all := mrkdwnTexts(msg)
	for _, want := range []string{`*Shipped*`, `<https://github.com/acme/checkout/compare/v1...v0|the notes>`, `*checkout-1-5*: AtRisk`,
		`<https://github.com/acme/checkout/issues/4|#4 3-D Secure [Safari]>`} {
		if !strings.Contains(all, want) {
			t.Errorf("Slack report lacks %s", want)
		}
	}
	card := TeamsMessage(e)["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
	lines := cardLines(t, card)
	for _, want := range []string{"Shipped", "\u00a0\u00a0\u00a0\u00a0◦ prod: 1.0.0, Mon 23 Nov 08:00 CET (planned Mon 23 Nov 08:00 CET, on time), see the notes",
		"• checkout-1-5: AtRisk, 1 open blocker: #4 3-D Secure [Safari]"} {
		if !slices.Contains(lines, want) {
			t.Errorf("Teams report lacks the line %q", want)
		}
	}
	if runs := runsOf(card, "Shipped"); len(runs) != 1 || runs[0]["weight"] != "Bolder" {
		t.Errorf("a heading is bold: %v", runs)
	}
	if runs := runsOf(card, "#4 3-D Secure [Safari]"); len(runs) != 1 || runs[0]["selectAction"] == nil {
		t.Errorf("a link opens its URL: %v", runs)
	}
}

// Teams shows a TextBlock's text as Markdown with no escape every client
// honours: a backslash shows as written ("result \> 0.05"), * and _ turn
// into emphasis. Whatever a message holds, the card shows it as written.
func TestTeamsShowsTheTextAsWritten(t *testing.T) {
	written := []string{"price in <EUR> & more", "result > 0.05", "error_rate_5m **spike** [not a link](x)", `C:\deploy\*`, "a | b # c `d`"}
	e := blockedEvent()
	e.Text = written[0]
	e.Facts = []Fact{{"Condition", written[1]}}
	e.Gates = []Gate{{Name: "metrics", Status: "Failed", Message: written[2]}}
	e.Unblockers = []string{written[3], written[4]}
	e.ReleaseNotes = nil
	card := TeamsMessage(e)["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
	lines := cardLines(t, card)
	for _, want := range []string{written[0], "Condition: " + written[1], "• metrics (failed): " + written[2], "• " + written[3], "• " + written[4]} {
		if !slices.Contains(lines, want) {
			t.Errorf("the card lacks %q as written:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if runs := runsOf(card, "not a link"); len(runs) != 0 {
		t.Errorf("a message's brackets made a link: %v", runs)
	}
	// Teams renders Markdown in TextBlocks and FactSets: none carries text.
	raw, _ := json.Marshal(card)
	for _, kind := range []string{`"TextBlock"`, `"FactSet"`} {
		if strings.Contains(string(raw), kind) {
			t.Errorf("the card has a %s, whose text Teams reads as Markdown", kind)
		}
	}
}

// cardLines is what a Teams card shows, one line per block (a fact of a
// FactSet on a line of its own): a RichTextBlock's runs joined, a
// TextBlock's text.
func cardLines(t *testing.T, card map[string]any) []string {
	t.Helper()
	var out []string
	for _, b := range card["body"].([]any) {
		block := b.(map[string]any)
		switch block["type"] {
		case "TextBlock":
			out = append(out, block["text"].(string))
		case "FactSet":
			for _, f := range block["facts"].([]any) {
				out = append(out, fmt.Sprintf("%s: %s", f.(map[string]any)["title"], f.(map[string]any)["value"]))
			}
		case "RichTextBlock":
			var line strings.Builder
			for _, r := range block["inlines"].([]any) {
				line.WriteString(r.(map[string]any)["text"].(string))
			}
			out = append(out, line.String())
		default:
			t.Fatalf("a %v in the card's body", block["type"])
		}
	}
	return out
}

// runsOf lists the card's text runs whose text is text.
func runsOf(card map[string]any, text string) []map[string]any {
	var out []map[string]any
	for _, b := range card["body"].([]any) {
		inlines, _ := b.(map[string]any)["inlines"].([]any)
		for _, r := range inlines {
			if run := r.(map[string]any); run["text"] == text {
				out = append(out, run)
			}
		}
	}
	return out
}

// mrkdwnTexts joins the texts of a Slack message's blocks, as Slack shows them.
func mrkdwnTexts(msg map[string]any) string {
	raw, _ := json.Marshal(msg)
	var m struct {
		Blocks []struct {
			Text     *struct{ Text string }
			Fields   []struct{ Text string }
			Elements []struct{ Text string }
		}
	}
	_ = json.Unmarshal(raw, &m)
	var out []string
	for _, b := range m.Blocks {
		if b.Text != nil {
			out = append(out, b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			out = append(out, f.Text)
		}
	}
	return strings.Join(out, "\n")
}
