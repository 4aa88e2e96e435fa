package github

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A server that answers with an ETag and honours If-None-Match, as GitHub does.
func TestETagCacheRevalidates(t *testing.T) {
	var full, notModified atomic.Int32
	body := `{"state":"pending"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag := fmt.Sprintf(`"%x"`, len(body)+int(r.URL.Path[len(r.URL.Path)-1]))
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", etag)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()

	c := &http.Client{Transport: &authTransport{token: "t1", next: newETagCache(http.DefaultTransport, 10)}}
	get := func(url string) string {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return string(b)
	}
	for i := 0; i < 5; i++ {
		if got := get(srv.URL + "/a"); got != body {
			t.Fatalf("body %q", got)
		}
	}
	if full.Load() != 1 || notModified.Load() != 4 {
		t.Fatalf("full %d, 304 %d: want 1 and 4", full.Load(), notModified.Load())
	}
	// Another credential never shares the cached answer.
	other := &http.Client{Transport: &authTransport{token: "t2", next: c.Transport.(*authTransport).next}}
	resp, err := other.Get(srv.URL + "/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if full.Load() != 2 {
		t.Fatalf("a second credential must fetch in full, got %d full fetches", full.Load())
	}
}

func TestETagCacheIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		_, _ = io.WriteString(w, "x")
	}))
	defer srv.Close()
	cache := newETagCache(http.DefaultTransport, 3)
	c := &http.Client{Transport: cache}
	for i := 0; i < 10; i++ {
		resp, err := c.Get(fmt.Sprintf("%s/%d", srv.URL, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := cache.order.Len(); n != 3 || len(cache.entries) != 3 {
		t.Fatalf("cache holds %d/%d entries, want 3", n, len(cache.entries))
	}
}
