package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkPipelinesPage renders the first view, the pipelines page, over
// 5,000 Releases in 200 pipelines (the objects in memory, as the informer
// cache holds them): what one page costs the server. `make bench
// BENCH_ARGS="-phases dashboard"` measures the same over the real API
// server, from start to first view.
func BenchmarkPipelinesPage(b *testing.B) {
	benchmarkPage(b, "/")
}

// BenchmarkPipelinesSearch is the same page filtered by a search.
func BenchmarkPipelinesSearch(b *testing.B) {
	benchmarkPage(b, "/?q=app-150")
}

// BenchmarkReleasePage renders one Release with its timeline and gates.
func BenchmarkReleasePage(b *testing.B) {
	benchmarkPage(b, "/releases/team-07/app-150-1-2-4")
}

func benchmarkPage(b *testing.B, path string) {
	srv, err := New(Options{Store: fixtureWorld(200, 25), Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
	}
}
