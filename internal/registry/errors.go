package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what to do about a registry's failure.
type Kind string

// Kinds of failures.
const (
	// KindRateLimited: the registry asked to wait (429, Docker Hub's pull
	// limit); Error.Until says until when. Nothing is sent to the host before.
	KindRateLimited Kind = "RateLimited"
	// KindRefused: the registry refused the credentials (401, 403).
	KindRefused Kind = "Refused"
	// KindNotFound: the repository or the tag does not exist.
	KindNotFound Kind = "NotFound"
	// KindUnavailable: the registry is unreachable or failed (5xx, a
	// timeout): retried.
	KindUnavailable Kind = "Unavailable"
	// KindInvalid: the registry refused the request as it was made.
	KindInvalid Kind = "Invalid"
)

// Error is a registry's failure, classified.
type Error struct {
	Kind Kind
	// Until is when the host may be asked again (KindRateLimited).
	Until time.Time
	Err   error
}

func (e *Error) Error() string {
	if e.Kind == KindRateLimited {
		return fmt.Sprintf("rate limited until %s: %v", e.Until.UTC().Format(time.RFC3339), e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf is the kind of a registry error, "" for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// UntilOf is when a rate-limited registry may be asked again (zero for any
// other error).
func UntilOf(err error) time.Time {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindRateLimited {
		return e.Until
	}
	return time.Time{}
}

// defaultRateLimitWait is how long a host that answered 429 without saying
// until when is left alone.
const defaultRateLimitWait = time.Minute

// limitTransport keeps the client's requests to a host that asked to wait
// until the time it gave (Retry-After, Docker Hub's ratelimit-reset), and
// turns the 429 itself into an *Error, so neither go-containerregistry's
// transport nor a caller retries it sooner.
type limitTransport struct {
	c     *Client
	inner http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	now := t.c.clock.Now()
	t.c.mu.Lock()
	held := t.c.notBefore[host]
	t.c.mu.Unlock()
	if held != nil && now.Before(held.Until) {
		return nil, held
	}
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	wait := retryAfter(resp.Header, now)
	limited := &Error{Kind: KindRateLimited, Until: now.Add(wait),
		Err: fmt.Errorf("%s %s: 429 Too Many Requests%s%s", req.Method, req.URL.Redacted(), dockerHubLimit(resp.Header), bodyNote(body))}
	t.c.mu.Lock()
	t.c.notBefore[host] = limited
	t.c.mu.Unlock()
	return nil, limited
}

// retryAfter is how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else the ratelimit-reset some registries send (seconds from
// now, or a Unix time), else defaultRateLimitWait.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return max(time.Duration(s)*time.Second, time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), time.Second)
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		v, _, _ = strings.Cut(v, ";")
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			if s > 1_000_000_000 { // a Unix time
				return max(time.Unix(s, 0).Sub(now), time.Second)
			}
			return time.Duration(s) * time.Second
		}
	}
	return defaultRateLimitWait
}

// dockerHubLimit names Docker Hub's pull limit from its headers
// (ratelimit-limit: 100;w=21600), for messages.
func dockerHubLimit(h http.Header) string {
	limit := h.Get("RateLimit-Limit")
	if limit == "" {
		return ""
	}
	n, w, _ := strings.Cut(limit, ";w=")
	msg := fmt.Sprintf(" (pull limit %s", n)
	if s, err := strconv.Atoi(w); err == nil {
		msg += " per " + (time.Duration(s) * time.Second).String()
	}
	if rem := h.Get("RateLimit-Remaining"); rem != "" {
		r, _, _ := strings.Cut(rem, ";")
		msg += ", " + r + " left"
	}
	return msg + ")"
}

func bodyNote(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return ": " + s
}
