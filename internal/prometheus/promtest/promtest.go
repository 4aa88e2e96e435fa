// Package promtest runs a real Prometheus server for tests, built from the Go
// module proxy by hack/build-prometheus.sh and cached between runs.
package promtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Server is a running Prometheus.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Binary returns the Prometheus binary, building it on first use.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LIFTOFF_PROMETHEUS"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "hack", "build-prometheus.sh")
	out, err := exec.Command(script).Output()
	if err != nil {
		t.Fatalf("building prometheus with %s: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

// Start runs Prometheus scraping targets (host:port) every scrapeInterval,
// and stops it when the test ends.
func Start(t testing.TB, scrapeInterval time.Duration, targets ...string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real Prometheus: not in -short")
	}
	s, err := Run(Binary(t), t.TempDir(), "127.0.0.1:0", scrapeInterval, targets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Run starts Prometheus from bin with its data in dir, listening on addr
// ("127.0.0.1:0" picks a port), and waits until it is ready.
func Run(bin, dir, addr string, scrapeInterval time.Duration, targets ...string) (*Server, error) {
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [%s]\n",
		scrapeInterval, scrapeInterval, strings.Join(quoted, ", "))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if strings.HasSuffix(addr, ":0") {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	logs, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w", err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			return nil, fmt.Errorf("prometheus not ready after 30s: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills Prometheus (as a crash or an outage would).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		s.cmd = nil
	}
}

// WaitForSeries waits until query returns at least one series.
func (s *Server) WaitForSeries(t testing.TB, query string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"result":[{`) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("prometheus has no series for %s after 30s", query)
}
