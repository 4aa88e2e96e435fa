package playground

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/liftoff-dev/liftoff/internal/github/simulator"
	"github.com/liftoff-dev/liftoff/internal/updater"
)

// BadVersion is the sample version whose error ratio is too high.
const BadVersion = "1.4.3"

// demoService stands in for the checkout service in prod: like a GitOps
// sync, it runs whatever version prod's kustomization names, and reports
// that version and its error ratio for Prometheus to scrape.
type demoService struct {
	sim  *simulator.Server
	srv  *httptest.Server
	stop chan struct{}
	mu   sync.Mutex
	ver  string
}

func startDemoService(sim *simulator.Server) *demoService {
	d := &demoService{sim: sim, stop: make(chan struct{})}
	d.srv = httptest.NewServer(http.HandlerFunc(d.metrics))
	go d.sync()
	return d
}

func (d *demoService) addr() string { return strings.TrimPrefix(d.srv.URL, "http://") }

func (d *demoService) close() {
	close(d.stop)
	d.srv.Close()
}

// sync follows prod's kustomization, as Argo CD or Flux would.
func (d *demoService) sync() {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		if content, ok := d.sim.FileAt(GitOpsRepo, "main", "envs/prod/kustomization.yaml"); ok {
			if img, err := updater.GetKustomizeImage([]byte(content), "ghcr.io/acme/checkout"); err == nil {
				d.mu.Lock()
				d.ver = img.NewTag
				d.mu.Unlock()
			}
		}
		select {
		case <-d.stop:
			return
		case <-tick.C:
		}
	}
}

func (d *demoService) metrics(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	ver := d.ver
	d.mu.Unlock()
	ratio := 0.01
	if ver == BadVersion {
		ratio = 0.25
	}
	fmt.Fprintf(w, "# TYPE demo_up gauge\ndemo_up{version=%q} 1\n# TYPE demo_error_ratio gauge\ndemo_error_ratio{version=%q} %g\n", ver, ver, ratio)
}
