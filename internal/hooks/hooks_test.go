package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var secret = []byte("s3cret")

func sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

type delivery struct {
	method, event, id, sig string
	body                   []byte
	// chunked sends the body without a Content-Length.
	chunked bool
}

func post(t *testing.T, url string, d delivery) (int, string) {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(d.body)
	if d.chunked {
		body = io.MultiReader(body) // hides the length
	}
	req, err := http.NewRequest(d.method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range map[string]string{"X-GitHub-Event": d.event, "X-GitHub-Delivery": d.id, "X-Hub-Signature-256": d.sig} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sink keeps the triggers it is handed; while failing is set it refuses them.
type sink struct {
	mu                sync.Mutex
	discover, recheck []Event
	failing           atomic.Bool
}

func (s *sink) Discover(_ context.Context, ev Event) error { return s.add(&s.discover, ev) }
func (s *sink) Recheck(_ context.Context, ev Event) error  { return s.add(&s.recheck, ev) }

func (s *sink) add(to *[]Event, ev Event) error {
	if s.failing.Load() {
		return errors.New("the API server is unreachable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	*to = append(*to, ev)
	return nil
}

// take returns and forgets what was handed over.
func (s *sink) take() (discover, recheck []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	discover, recheck, s.discover, s.recheck = s.discover, s.recheck, nil, nil
	return discover, recheck
}

func serve(t *testing.T, key []byte) (*sink, string) {
	t.Helper()
	tr := &sink{}
	srv := httptest.NewServer(NewHandler(key, tr))
	t.Cleanup(srv.Close)
	return tr, srv.URL + Path
}

const releasePublished = `{"action":"published","release":{"tag_name":"v1.5.0","draft":false},"repository":{"full_name":"Acme/Checkout"}}`

func TestRefused(t *testing.T) {
	tr, url := serve(t, secret)
	body := []byte(releasePublished)
	big := bytes.Repeat([]byte("x"), MaxBody+1)
	for _, tc := range []struct {
		name string
		d    delivery
		code int
		msg  string
	}{
		{"GET", delivery{method: http.MethodGet, event: "release", sig: sign(secret, body)}, http.StatusMethodNotAllowed, "POST"},
		{"unsigned", delivery{event: "release", id: "1", body: body}, http.StatusUnauthorized, "missing X-Hub-Signature-256"},
		{"wrong secret", delivery{event: "release", id: "2", body: body, sig: sign([]byte("other"), body)}, http.StatusUnauthorized, "secret on the GitHub webhook differs"},
		{"not hex", delivery{event: "release", id: "3", body: body, sig: "sha256=zz"}, http.StatusUnauthorized, "does not match"},
		{"sha1 only", delivery{event: "release", id: "4", body: body, sig: "sha1=0123"}, http.StatusUnauthorized, "does not match"},
		{"body changed after signing", delivery{event: "release", id: "5", body: append([]byte(" "), body...), sig: sign(secret, body)}, http.StatusUnauthorized, "does not match"},
		{"oversized", delivery{event: "push", id: "6", body: big, sig: sign(secret, big)}, http.StatusRequestEntityTooLarge, "1 MiB"},
		{"oversized without a length", delivery{event: "push", id: "6b", body: big, sig: sign(secret, big), chunked: true}, http.StatusRequestEntityTooLarge, "1 MiB"},
		{"not JSON", delivery{event: "release", id: "7", body: []byte("{"), sig: sign(secret, []byte("{"))}, http.StatusBadRequest, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := post(t, url, tc.d)
			if code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("got %d %q, want %d with %q", code, msg, tc.code, tc.msg)
			}
		})
	}
	if d, r := tr.take(); len(d) != 0 || len(r) != 0 {
		t.Fatalf("refused deliveries triggered: %v discover, %v recheck", d, r)
	}
}

func TestNoSecretRefusesEverything(t *testing.T) {
	tr, url := serve(t, nil)
	body := []byte(releasePublished)
	before := counted("release", "unconfigured")
	code, msg := post(t, url, delivery{event: "release", id: "a", body: body, sig: sign(nil, body)})
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "--github-webhook-secret-file") {
		t.Fatalf("got %d %q", code, msg)
	}
	if d, _ := tr.take(); len(d) != 0 {
		t.Fatal("triggered without a secret")
	}
	if got := counted("release", "unconfigured") - before; got != 1 {
		t.Fatalf("counted %v unconfigured deliveries", got)
	}
}

func TestRouting(t *testing.T) {
	tr, url := serve(t, secret)
	for i, tc := range []struct {
		event, body string
		code        int
		discover    string // repository of the expected discovery trigger
		recheck     string // SHA of the expected re-check trigger
	}{
		{"ping", `{"zen":"hi","hook_id":1}`, http.StatusOK, "", ""},
		{"release", releasePublished, http.StatusAccepted, "Acme/Checkout", ""},
		{"release", `{"action":"deleted","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", ""},
		{"create", `{"ref":"v1.5.0","ref_type":"tag","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "acme/checkout", ""},
		{"create", `{"ref":"feature","ref_type":"branch","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", ""},
		{"push", `{"ref":"refs/tags/v1.5.0","after":"abc","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "acme/checkout", ""},
		{"push", `{"ref":"refs/tags/v1.5.0","deleted":true,"repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", ""},
		{"push", `{"ref":"refs/heads/main","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", ""},
		{"check_run", `{"action":"completed","check_run":{"head_sha":"aaa","status":"completed","conclusion":"success"},"repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", "aaa"},
		{"check_suite", `{"action":"completed","check_suite":{"head_sha":"bbb"},"repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", "bbb"},
		{"status", `{"sha":"ccc","state":"success","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", "ccc"},
		{"issues", `{"action":"opened","repository":{"full_name":"acme/checkout"}}`, http.StatusAccepted, "", ""},
	} {
		body := []byte(tc.body)
		id := "r" + string(rune('a'+i))
		code, msg := post(t, url, delivery{event: tc.event, id: id, body: body, sig: sign(secret, body)})
		if code != tc.code {
			t.Errorf("%s %s: got %d %q, want %d", tc.event, tc.body, code, msg, tc.code)
		}
		gotDiscover, gotRecheck := "", ""
		discovered, rechecked := tr.take()
		for _, ev := range discovered {
			gotDiscover = ev.Repository
			if ev.Delivery != id {
				t.Errorf("%s: delivery %q, want %q", tc.event, ev.Delivery, id)
			}
		}
		for _, ev := range rechecked {
			gotRecheck = ev.SHA
			if ev.Repository != "acme/checkout" || ev.Delivery != id {
				t.Errorf("%s: re-check of %q, delivery %q", tc.event, ev.Repository, ev.Delivery)
			}
		}
		if gotDiscover != tc.discover || gotRecheck != tc.recheck {
			t.Errorf("%s %s: discover %q recheck %q, want %q %q (%s)", tc.event, tc.body, gotDiscover, gotRecheck, tc.discover, tc.recheck, msg)
		}
	}
}

func TestReplayTriggersOnce(t *testing.T) {
	tr, url := serve(t, secret)
	body := []byte(releasePublished)
	d := delivery{event: "release", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958", body: body, sig: sign(secret, body)}
	if code, msg := post(t, url, d); code != http.StatusAccepted {
		t.Fatalf("first: %d %q", code, msg)
	}
	code, msg := post(t, url, d)
	if code != http.StatusOK || !strings.Contains(msg, "duplicate") {
		t.Fatalf("replay: %d %q", code, msg)
	}
	if d, _ := tr.take(); len(d) != 1 {
		t.Fatalf("%d triggers, want 1", len(d))
	}
	// A replay with a forged body under the same id is refused, not "duplicate".
	forged := delivery{event: "release", id: d.id, body: []byte(`{}`), sig: sign([]byte("x"), []byte(`{}`))}
	if code, _ := post(t, url, forged); code != http.StatusUnauthorized {
		t.Fatalf("forged replay: %d", code)
	}
}

// The sink cannot record a delivery (the API server is unreachable): the
// delivery is refused with 503 and counted, so GitHub's log shows it, and a
// redelivery of it is let in once the sink works again.
func TestUnrecordedIsRefusedAndRedeliverable(t *testing.T) {
	tr, url := serve(t, secret)
	body := []byte(releasePublished)
	d := delivery{event: "release", id: "u1", body: body, sig: sign(secret, body)}
	unrecorded := counted("release", "unrecorded")
	tr.failing.Store(true)
	code, msg := post(t, url, d)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "redeliver it") || !strings.Contains(msg, "unreachable") {
		t.Fatalf("unrecorded: %d %q", code, msg)
	}
	if got := counted("release", "unrecorded") - unrecorded; got != 1 {
		t.Fatalf("%v unrecorded, want 1", got)
	}
	tr.failing.Store(false)
	if code, msg := post(t, url, d); code != http.StatusAccepted || !strings.Contains(msg, "triggered") {
		t.Fatalf("redelivery of an unrecorded delivery: %d %q", code, msg)
	}
	if got, _ := tr.take(); len(got) != 1 || got[0].Delivery != "u1" {
		t.Fatalf("recorded %v", got)
	}
}

func TestRecentIsBounded(t *testing.T) {
	r := newRecent(2)
	for _, id := range []string{"a", "b", "c"} {
		if !r.add(id) {
			t.Fatalf("%s seen", id)
		}
	}
	if len(r.ids) != 2 || !r.add("a") || r.add("c") {
		t.Fatalf("ids %v", r.ids)
	}
	r.forget("c")
	if !r.add("c") {
		t.Fatal("forgotten id still seen")
	}
}

// counted reads liftoff_github_webhook_deliveries_total{event,outcome} from
// controller-runtime's registry, as the metrics endpoint serves it.
func counted(event, outcome string) float64 {
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "liftoff_github_webhook_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["event"] == event && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
