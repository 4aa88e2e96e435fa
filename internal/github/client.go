// Package github is Liftoff's narrow view of the GitHub REST API: only the
// calls the controllers make, with errors classified into what to do next,
// conditional requests for polling, and one shared client per credential.
package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"
	"k8s.io/utils/clock"
)

// DefaultAPIURL is the public GitHub API.
const DefaultAPIURL = "https://api.github.com/"

// Factory hands out one Client per credential (CredentialKey), so the
// rate-limit state and the ETag cache are shared by every object that uses it.
// The clients of one GitHub App installation signing with different private
// keys (two Secrets, or a key being rotated) are distinct, each with its own
// installation token, and share the installation's ETag cache, write budget
// and rate limit: a wrong key in one Secret never touches another's token.
type Factory struct {
	// Transport is the base transport; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Timeout bounds one request; 30s when zero.
	Timeout time.Duration
	// Clock is used for rate-limit resets and App token lifetimes; the real
	// clock when nil. The write budgets wait on it when it is a clock.Clock.
	Clock clock.PassiveClock
	// WriteBudget paces each credential's content-generating requests under
	// GitHub's secondary rate limits (see Budget); nil leaves them unpaced.
	WriteBudget *WriteBudget

	mu      sync.Mutex
	clients map[CredentialKey]*Client
	// shares: what the clients of one credential share, by their key
	// without the private key's hash (CredentialKey.shared).
	shares map[CredentialKey]*share
}

// share is what the clients of one credential share, whichever private key
// signs their tokens: the ETag cache above the instrumented transport, the
// write budget, and the rate limit GitHub announced.
type share struct {
	inner  http.RoundTripper
	budget *Budget
	limit  *rateLimit
}

// rateLimit is when a credential may call GitHub again.
type rateLimit struct {
	mu    sync.Mutex
	until time.Time
}

// For returns the shared client for apiURL and token.
func (f *Factory) For(apiURL, token string) (*Client, error) {
	base, err := parseAPIURL(apiURL)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	key := CredentialKey{APIURL: base.String(), Token: hex.EncodeToString(sum[:6])}
	return f.shared(key, base, func(next http.RoundTripper) (http.RoundTripper, *appAuth) {
		return &authTransport{token: token, next: next}, nil
	}), nil
}

func parseAPIURL(apiURL string) (*url.URL, error) {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("github API URL %q is not an http(s) URL", apiURL)
	}
	return base, nil
}

// shared returns the client of key, made on first use: auth puts the
// credential on requests above the credential's write budget, which sits
// above the per-request timeout, the ETag cache and the instrumented base
// transport, all of them the credential's share (see share). A GitHub App's
// token exchanges take the same way.
func (f *Factory) shared(key CredentialKey, base *url.URL, auth func(next http.RoundTripper) (http.RoundTripper, *appAuth)) *Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[key]; ok {
		return c
	}
	sh := f.shareOf(key)
	rt, app := auth(sh.inner)
	// No http.Client Timeout: timeoutTransport bounds each request, not a
	// write's wait for its slot.
	gc := gh.NewClient(&http.Client{Transport: rt})
	gc.BaseURL = base
	gc.UploadURL = base
	c := &Client{gh: gc, clock: f.clock(), key: key, app: app, budget: sh.budget, limit: sh.limit}
	if f.clients == nil {
		f.clients = map[CredentialKey]*Client{}
	}
	f.clients[key] = c
	return c
}

// shareOf returns the share of key's credential, made on first use. f.mu is held.
func (f *Factory) shareOf(key CredentialKey) *share {
	if sh, ok := f.shares[key.shared()]; ok {
		return sh
	}
	next := f.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	clk := f.clock()
	sh := &share{limit: &rateLimit{}}
	sh.inner = &timeoutTransport{next: newETagCache(&instrumented{next: next, credential: key.label()}, 4096), timeout: f.timeout()}
	if f.WriteBudget != nil {
		waiting, _ := clk.(clock.Clock)
		sh.budget = NewBudget(*f.WriteBudget, waiting, key.label())
		sh.inner = &budgetTransport{budget: sh.budget, next: sh.inner}
	}
	if f.shares == nil {
		f.shares = map[CredentialKey]*share{}
	}
	f.shares[key.shared()] = sh
	return sh
}

func (f *Factory) timeout() time.Duration {
	if f.Timeout == 0 {
		return 30 * time.Second
	}
	return f.Timeout
}

func (f *Factory) clock() clock.PassiveClock {
	if f.Clock == nil {
		return clock.RealClock{}
	}
	return f.Clock
}

// Client is a GitHub API client for one credential.
type Client struct {
	gh    *gh.Client
	clock clock.PassiveClock
	key   CredentialKey
	// app authenticates as a GitHub App installation; nil for a token.
	app *appAuth
	// budget paces the credential's writes; nil when unpaced.
	budget *Budget
	// limit is the credential's rate limit, shared by the clients of its
	// other private keys.
	limit *rateLimit

	// compared keeps Contains answers for pairs of commits.
	compared containsMemo
}

// Key names the client's credential, a GitHub App's private key included;
// what the clients of an installation share (the write budget, the ETag
// cache, the rate limit) hangs on the Factory's share of it.
func (c *Client) Key() CredentialKey { return c.key }

// split turns owner/name into its parts.
func split(repo string) (string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	return owner, name, nil
}

// guard refuses to call GitHub while a rate limit it announced is in force, so
// a hundred reconciles waiting on one credential do not each spend a request
// to learn it again.
func (c *Client) guard(op string) error {
	until := c.RateLimitedUntil()
	if now := c.clock.Now(); now.Before(until) {
		return &Error{Kind: KindRateLimited, Op: op, Message: "rate limited until " + until.UTC().Format(time.RFC3339), RetryAfter: until.Sub(now).Round(time.Second) + time.Second}
	}
	return nil
}

// done classifies err and remembers rate limits.
func (c *Client) done(op string, err error) error {
	if err == nil {
		return nil
	}
	err = classify(op, err, c.clock.Now())
	if c.app != nil {
		switch KindOf(err) {
		case KindNotFound:
			err = c.outsideInstallation(c.requestRepo(err), err)
		case KindUnauthorized:
			err = c.permissionRefused(err)
		}
	}
	// The write budget's own refusals hold back only the writes.
	if e, ok := err.(*Error); ok && e.Kind == KindRateLimited && e.RetryAfter > 0 && !IsWriteBudget(e) {
		c.limit.mu.Lock()
		if until := c.clock.Now().Add(e.RetryAfter); until.After(c.limit.until) {
			c.limit.until = until
		}
		c.limit.mu.Unlock()
	}
	return err
}

// RateLimitedUntil is when the credential may call GitHub again (zero if now).
func (c *Client) RateLimitedUntil() time.Time {
	c.limit.mu.Lock()
	defer c.limit.mu.Unlock()
	return c.limit.until
}

// WriteBudget is the credential's write budget, nil when writes are unpaced.
func (c *Client) WriteBudget() *Budget { return c.budget }

// AwaitWriteSlot blocks until a write of priority p would get its slot in the
// write budget at once (at once when writes are unpaced).
func (c *Client) AwaitWriteSlot(ctx context.Context, p Priority) error {
	return c.budget.AwaitSlot(ctx, p)
}
