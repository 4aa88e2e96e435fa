package promtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Target is a small service for Prometheus to scrape: it reports the version
// it serves and its error ratio, both set by the test.
type Target struct {
	mu      sync.Mutex
	version string
	ratio   float64
	srv     *httptest.Server
}

// NewTarget starts a target serving version with error ratio 0.
func NewTarget(version string) *Target {
	t := &Target{version: version}
	t.srv = httptest.NewServer(http.HandlerFunc(t.metrics))
	return t
}

// Addr is host:port for a scrape config.
func (t *Target) Addr() string { return strings.TrimPrefix(t.srv.URL, "http://") }

// Close stops the target.
func (t *Target) Close() { t.srv.Close() }

// Set changes the version served and the error ratio.
func (t *Target) Set(version string, ratio float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.version, t.ratio = version, ratio
}

func (t *Target) metrics(w http.ResponseWriter, _ *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP demo_up The version this instance serves.\n# TYPE demo_up gauge\ndemo_up{version=%q} 1\n", t.version)
	fmt.Fprintf(w, "# HELP demo_error_ratio Share of requests that failed.\n# TYPE demo_error_ratio gauge\ndemo_error_ratio{version=%q} %g\n", t.version, t.ratio)
	fmt.Fprintf(w, "# HELP demo_latency_seconds Latency by route.\n# TYPE demo_latency_seconds gauge\ndemo_latency_seconds{route=\"/pay\"} 0.12\ndemo_latency_seconds{route=\"/cart\"} 0.08\n")
}
