package github

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// maxBody caps what is read of one response: GitHub's largest answers Liftoff
// asks for (a page of 100 check runs, a file) stay far below it.
const maxBody = 8 << 20

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "liftoff_github_requests_total",
		Help: "GitHub API requests by host, operation and status code (304 included).",
	}, []string{"host", "operation", "code"})
	rateLimitRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "liftoff_github_rate_limit_remaining",
		Help: "Requests left in the current GitHub rate-limit window, per host and credential.",
	}, []string{"host", "credential"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, rateLimitRemaining)
}

var (
	reRepo    = regexp.MustCompile(`^/repos/[^/]+/[^/]+`)
	reSHA     = regexp.MustCompile(`/[0-9a-f]{40}(/|$)`)
	reNumber  = regexp.MustCompile(`/[0-9]+(/|$)`)
	reRefPath = regexp.MustCompile(`/git/(ref|refs|matching-refs)/.*$`)
	reFile    = regexp.MustCompile(`/contents/.*$`)
	reCompare = regexp.MustCompile(`/compare/.*$`)
	reCommit  = regexp.MustCompile(`^(/repos/\{owner\}/\{repo\})/commits/.+?(/check-runs|/statuses|/status)?$`)
)

// operationOf maps a request to a low-cardinality operation name for metrics.
func operationOf(method, path string) string {
	p := reRepo.ReplaceAllString(path, "/repos/{owner}/{repo}")
	p = reRefPath.ReplaceAllString(p, "/git/$1/{ref}")
	p = reFile.ReplaceAllString(p, "/contents/{path}")
	p = reCompare.ReplaceAllString(p, "/compare/{basehead}")
	p = reCommit.ReplaceAllString(p, "$1/commits/{ref}$2")
	p = reSHA.ReplaceAllString(p, "/{sha}$1")
	p = reNumber.ReplaceAllString(p, "/{n}$1")
	return method + " " + p
}

// instrumented counts requests, records the rate-limit headers and caps bodies.
type instrumented struct {
	next       http.RoundTripper
	credential string
}

func (t *instrumented) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if resp != nil {
		code = strconv.Itoa(resp.StatusCode)
		if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
			if n, perr := strconv.ParseFloat(v, 64); perr == nil {
				rateLimitRemaining.WithLabelValues(req.URL.Host, t.credential).Set(n)
			}
		}
		resp.Body = &cappedBody{ReadCloser: resp.Body, r: io.LimitReader(resp.Body, maxBody)}
	}
	requestsTotal.WithLabelValues(req.URL.Host, operationOf(req.Method, req.URL.Path), code).Inc()
	return resp, err
}

type cappedBody struct {
	io.ReadCloser
	r io.Reader
}

func (c *cappedBody) Read(p []byte) (int, error) { return c.r.Read(p) }

// etagCache makes every GET a conditional request once an answer is cached:
// GitHub answers 304 without charging the rate limit, so polling QA checks
// costs next to nothing while nothing changes. Entries are bounded (LRU).
type etagCache struct {
	next http.RoundTripper
	max  int

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List
}

type cachedResponse struct {
	key    string
	etag   string
	status int
	header http.Header
	body   []byte
}

func newETagCache(next http.RoundTripper, maxEntries int) *etagCache {
	return &etagCache{next: next, max: maxEntries, entries: map[string]*list.Element{}, order: list.New()}
}

func cacheKey(req *http.Request) string {
	h := sha256.Sum256([]byte(req.Header.Get("Authorization")))
	return fmt.Sprintf("%s|%s|%s", hex.EncodeToString(h[:8]), req.Header.Get("Accept"), req.URL.String())
}

func (c *etagCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		return c.next.RoundTrip(req)
	}
	key := cacheKey(req)
	c.mu.Lock()
	var hit *cachedResponse
	if el, ok := c.entries[key]; ok {
		hit = el.Value.(*cachedResponse)
		c.order.MoveToFront(el)
	}
	c.mu.Unlock()

	if hit != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", hit.etag)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && hit != nil {
		_ = resp.Body.Close()
		header := hit.header.Clone()
		// Keep the fresh rate-limit headers.
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit") {
				header[k] = v
			}
		}
		header.Set("X-Liftoff-Cache", "revalidated")
		return &http.Response{
			Status: "200 OK", StatusCode: hit.status, Header: header, Request: req,
			Body: io.NopCloser(bytes.NewReader(hit.body)), ContentLength: int64(len(hit.body)),
			Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		}, nil
	}
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.store(&cachedResponse{key: key, etag: etag, status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	return resp, nil
}

func (c *etagCache) store(e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cachedResponse).key)
	}
}

// authTransport adds the token. It sits above the cache, which keys entries by
// a hash of the Authorization header, so credentials never share answers and
// the token itself is never stored.
type authTransport struct {
	next  http.RoundTripper
	token string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(req)
}

// budgetTransport makes every content-generating request wait for its slot in
// the credential's write budget and bounds the requests in flight. When GitHub
// refuses a request with a secondary rate limit all the same, every write of
// the credential waits as long as GitHub says.
type budgetTransport struct {
	budget *Budget
	next   http.RoundTripper
}

func (t *budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	prio := PriorityFrom(ctx)
	if contentGenerating(req) {
		wait := t.budget.cfg.MaxBlock
		if d, ok := ctx.Value(writeWaitKey{}).(time.Duration); ok {
			wait = d
		}
		done, err := t.budget.Acquire(ctx, prio, wait)
		if err != nil {
			return nil, err
		}
		defer done()
	}
	// A write waiting for its slot is not in flight: it takes no place
	// among the concurrent requests until it goes.
	leave, err := t.budget.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		if d, ok := secondaryRefusal(resp, t.budget.clock.Now()); ok {
			t.budget.Block(d)
			budgetRefusals.WithLabelValues(t.budget.credential, prio.String(), "github").Inc()
		}
	}
	return resp, err
}

var reRepoWrite = regexp.MustCompile(`/repos/[^/]+/[^/]+/`)

// contentGenerating reports whether GitHub's secondary limits count req as
// content-generating: a POST, PUT, PATCH or DELETE of a repository's
// resources (commits, refs, trees, blobs, pull requests, merges, issues,
// comments, deployments and their statuses, releases), or a GraphQL mutation.
func contentGenerating(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	if strings.HasSuffix(req.URL.Path, "/graphql") {
		return req.Method == http.MethodPost && graphQLMutation(req)
	}
	return reRepoWrite.MatchString(req.URL.Path)
}

// graphQLMutation reads a copy of the request's body (GetBody, which
// go-github's requests have) for a mutation.
func graphQLMutation(req *http.Request) bool {
	if req.GetBody == nil {
		return true // cannot tell: count it
	}
	body, err := req.GetBody()
	if err != nil {
		return true
	}
	defer body.Close()
	var q struct{ Query string }
	if err := json.NewDecoder(io.LimitReader(body, maxBody)).Decode(&q); err != nil {
		return true
	}
	return strings.HasPrefix(strings.TrimSpace(q.Query), "mutation")
}

// secondaryRefusal reports whether resp is GitHub refusing a request for a
// secondary rate limit, and how long to wait: Retry-After, else until the
// rate-limit reset when none is left, else a minute, as GitHub documents.
func secondaryRefusal(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || !strings.Contains(strings.ToLower(string(body)), "secondary rate limit") {
		return 0, false
	}
	if d := retryAfterHeader(resp, now); d > 0 {
		return d, true
	}
	return time.Minute, true
}

// timeoutTransport bounds one request to GitHub, its answer's body included.
// It sits below the write budget: a write waiting for its slot is not a
// request yet.
type timeoutTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
