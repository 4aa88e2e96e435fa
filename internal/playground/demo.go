package playground

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/updater"
)

// BadVersion is the sample version whose error ratio is too high.
const BadVersion = "1.4.3"

// demoService stands in for the checkout service in prod: it runs the
// version prod's kustomization names at the commit prod's GitOps agent last
// applied (deployed), and reports that version and its error ratio for
// Prometheus to scrape.
type demoService struct {
	sim *githubsim.Server
	srv *httptest.Server
	mu  sync.Mutex
	ver string
}

func startDemoService(sim *githubsim.Server) *demoService {
	d := &demoService{sim: sim}
	d.srv = httptest.NewServer(http.HandlerFunc(d.metrics))
	return d
}

func (d *demoService) addr() string { return strings.TrimPrefix(d.srv.URL, "http://") }

func (d *demoService) close() { d.srv.Close() }

// deployed runs the version of prod's kustomization at commit, once prod's
// agent applied it.
func (d *demoService) deployed(stage, commit string) {
	if stage != "prod" {
		return
	}
	content, ok := d.sim.FileAt(GitOpsRepo, commit, "envs/prod/kustomization.yaml")
	if !ok {
		return
	}
	if img, err := updater.GetKustomizeImage([]byte(content), "ghcr.io/acme/checkout"); err == nil {
		d.mu.Lock()
		d.ver = img.NewTag
		d.mu.Unlock()
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
