package github

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Kind says what the caller should do about a GitHub error.
type Kind string

const (
	// KindNotFound means the repository, ref, file or object does not exist (or the
	// token cannot see it). A person must fix the spec or the credential.
	KindNotFound Kind = "NotFound"
	// KindConflict means a write lost a race (non-fast-forward ref update, stale
	// sha, head moved). Re-read and retry.
	KindConflict Kind = "Conflict"
	// KindRateLimited means primary or secondary rate limit; wait RetryAfter.
	KindRateLimited Kind = "RateLimited"
	// KindUnauthorized means bad or missing credential, or missing permission.
	KindUnauthorized Kind = "Unauthorized"
	// KindInvalid means GitHub refused the request as invalid (422 that is not a race).
	KindInvalid Kind = "Invalid"
	// KindTransient means 5xx, timeouts, connection errors. Retry with backoff.
	KindTransient Kind = "Transient"
)

// Error is a classified GitHub failure. Its message never holds a credential.
type Error struct {
	Kind Kind
	// Op is the operation that failed, for example "update ref heads/main".
	Op string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// RetryAfter is how long GitHub asked to wait (rate limits), else 0.
	RetryAfter time.Duration
	// NextSlot is when the write budget has a slot for a write it turned
	// away (IsWriteBudget), else zero.
	NextSlot time.Time
	// Message is GitHub's message.
	Message string
	// Problem, when set, says what is wrong with the credential (a GitHub
	// App's key, installation or clock) for a person to fix.
	Problem Problem
	err     error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("github: %s: %d %s", e.Op, e.Status, e.Message)
	}
	return fmt.Sprintf("github: %s: %s", e.Op, e.Message)
}

func (e *Error) Unwrap() error { return e.err }

// KindOf returns the kind of a classified error, or "" for other errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsConflict reports whether err says a write lost a race.
func IsConflict(err error) bool { return KindOf(err) == KindConflict }

// RetryAfterOf returns how long to wait before retrying err, 0 when unknown.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// classify turns a go-github error into an *Error. now is the clock used for
// reset times.
func classify(op string, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		// Made by a transport: refused before any request was sent (the
		// write budget: the operation is the caller's), or a GitHub App's
		// token exchange, which names its own.
		if already.Op == "" {
			out := *already
			out.Op = op
			return &out
		}
		return already
	}
	out := &Error{Op: op, err: err, Kind: KindTransient, Message: err.Error()}

	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		out.Kind = KindRateLimited
		out.Message = "API rate limit exhausted"
		if rl.Response != nil {
			out.Status = rl.Response.StatusCode
		}
		out.RetryAfter = untilPositive(rl.Rate.Reset.Time, now)
	case errors.As(err, &abuse):
		out.Kind = KindRateLimited
		out.Message = "secondary rate limit"
		if abuse.Response != nil {
			out.Status = abuse.Response.StatusCode
		}
		out.RetryAfter = time.Minute
		if abuse.RetryAfter != nil {
			out.RetryAfter = *abuse.RetryAfter
		}
	case errors.As(err, &er):
		out.Message = er.Message
		if out.Message == "" {
			out.Message = http.StatusText(statusOf(er))
		}
		out.Status = statusOf(er)
		out.Kind, out.RetryAfter = kindForStatus(out.Status, er, now)
	case errors.Is(err, context.DeadlineExceeded):
		out.Message = "request timed out"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			out.Message = "request timed out"
		} else {
			out.Message = scrub(err.Error())
		}
	}
	return out
}

func statusOf(er *gh.ErrorResponse) int {
	if er.Response == nil {
		return 0
	}
	return er.Response.StatusCode
}

func kindForStatus(status int, er *gh.ErrorResponse, now time.Time) (Kind, time.Duration) {
	switch status {
	case http.StatusNotFound:
		return KindNotFound, 0
	case http.StatusConflict:
		return KindConflict, 0
	case http.StatusUnprocessableEntity:
		msg := strings.ToLower(er.Message)
		if strings.Contains(msg, "fast forward") || strings.Contains(msg, "already exists") {
			return KindConflict, 0
		}
		return KindInvalid, 0
	case http.StatusMethodNotAllowed:
		return KindConflict, 0
	case http.StatusTooManyRequests:
		// go-github v60 does not classify 429: read Retry-After ourselves.
		return KindRateLimited, retryAfterHeader(er.Response, now)
	case http.StatusForbidden:
		if notAccessible(er.Message) {
			// A permission the token lacks, even when the request
			// spent the rate limit's last one.
			return KindUnauthorized, 0
		}
		if d := retryAfterHeader(er.Response, now); d > 0 {
			return KindRateLimited, d
		}
		return KindUnauthorized, 0
	case http.StatusUnauthorized:
		return KindUnauthorized, 0
	}
	return KindTransient, 0
}

func retryAfterHeader(resp *http.Response, now time.Time) time.Duration {
	if resp == nil {
		return 0
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return untilPositive(t, now)
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return untilPositive(time.Unix(s, 0), now)
		}
	}
	return 0
}

func untilPositive(t, now time.Time) time.Duration {
	if d := t.Sub(now); d > 0 {
		return d.Round(time.Second) + time.Second
	}
	return time.Second
}

// scrub removes anything that looks like a credential from a message.
func scrub(s string) string {
	for _, marker := range []string{"Bearer ", "token "} {
		if i := strings.Index(s, marker); i >= 0 {
			end := strings.IndexAny(s[i+len(marker):], " \"'\n")
			if end < 0 {
				end = len(s) - i - len(marker)
			}
			s = s[:i+len(marker)] + "[redacted]" + s[i+len(marker)+end:]
		}
	}
	return s
}
