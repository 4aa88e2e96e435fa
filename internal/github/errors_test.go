package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
)

//nolint:bodyclose // the answers are built by the test, without a body
func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	resp := func(code int, h map[string]string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}, Request: &http.Request{Method: "GET"}}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	ten := 10 * time.Second
	tests := []struct {
		name  string
		err   error
		kind  Kind
		after time.Duration
	}{
		{"404", &gh.ErrorResponse{Response: resp(404, nil), Message: "Not Found"}, KindNotFound, 0},
		{"409", &gh.ErrorResponse{Response: resp(409, nil), Message: "Conflict"}, KindConflict, 0},
		{"422 not a fast forward", &gh.ErrorResponse{Response: resp(422, nil), Message: "Update is not a fast forward"}, KindConflict, 0},
		{"422 reference exists", &gh.ErrorResponse{Response: resp(422, nil), Message: "Reference already exists"}, KindConflict, 0},
		{"422 other", &gh.ErrorResponse{Response: resp(422, nil), Message: "Validation Failed"}, KindInvalid, 0},
		{"405 not mergeable", &gh.ErrorResponse{Response: resp(405, nil), Message: "Pull Request is not mergeable"}, KindConflict, 0},
		{"401", &gh.ErrorResponse{Response: resp(401, nil), Message: "Bad credentials"}, KindUnauthorized, 0},
		{"403 permission", &gh.ErrorResponse{Response: resp(403, nil), Message: "Resource not accessible by integration"}, KindUnauthorized, 0},
		{"403 permission on the rate limit's last request is never a rate limit", &gh.ErrorResponse{Message: "Resource not accessible by personal access token",
			Response: resp(403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": fmt.Sprint(now.Add(30 * time.Second).Unix())})}, KindUnauthorized, 0},
		{"403 with an exhausted rate limit", &gh.ErrorResponse{Response: resp(403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": fmt.Sprint(now.Add(30 * time.Second).Unix())})}, KindRateLimited, 31 * time.Second},
		{"403 with Retry-After", &gh.ErrorResponse{Response: resp(403, map[string]string{"Retry-After": "7"})}, KindRateLimited, 7 * time.Second},
		{"429 with Retry-After", &gh.ErrorResponse{Response: resp(429, map[string]string{"Retry-After": "3"})}, KindRateLimited, 3 * time.Second},
		{"502", &gh.ErrorResponse{Response: resp(502, nil), Message: "Server Error"}, KindTransient, 0},
		{"primary limit", &gh.RateLimitError{Response: resp(403, nil), Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(30 * time.Second)}}}, KindRateLimited, 31 * time.Second},
		{"secondary limit", &gh.AbuseRateLimitError{Response: resp(403, nil), RetryAfter: &ten}, KindRateLimited, ten},
		{"secondary limit without Retry-After", &gh.AbuseRateLimitError{Response: resp(403, nil)}, KindRateLimited, time.Minute},
		{"timeout", context.DeadlineExceeded, KindTransient, 0},
		{"connection refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), KindTransient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", tt.err, now)
			if KindOf(err) != tt.kind || RetryAfterOf(err) != tt.after {
				t.Fatalf("got %s after %s (%v), want %s after %s", KindOf(err), RetryAfterOf(err), err, tt.kind, tt.after)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("the original error is not wrapped")
			}
		})
	}
}

func TestScrubRemovesCredentials(t *testing.T) {
	for _, in := range []string{
		`Get "https://x": header Authorization: Bearer ghp_secret123 rejected`,
		`token ghp_secret123`,
	} {
		if out := scrub(in); strings.Contains(out, "ghp_secret123") {
			t.Fatalf("scrub(%q) = %q", in, out)
		}
	}
}

func TestOperationOf(t *testing.T) {
	tests := map[string]string{
		"/repos/acme/gitops/git/ref/heads/main":                                       "GET /repos/{owner}/{repo}/git/ref/{ref}",
		"/repos/acme/gitops/contents/envs/prod/kustomization.yaml":                    "GET /repos/{owner}/{repo}/contents/{path}",
		"/repos/acme/app/commits/0123456789abcdef0123456789abcdef01234567/check-runs": "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
		"/repos/acme/app/commits/refs/tags/v1.2.3":                                    "GET /repos/{owner}/{repo}/commits/{ref}",
		"/repos/acme/app/deployments/42/statuses":                                     "GET /repos/{owner}/{repo}/deployments/{n}/statuses",
		"/repos/acme/app/git/commits/0123456789abcdef0123456789abcdef01234567":        "GET /repos/{owner}/{repo}/git/commits/{sha}",
		"/repos/acme/gitops/compare/0123456789abcdef0123456789abcdef01234567...main":  "GET /repos/{owner}/{repo}/compare/{basehead}",
		"/rate_limit": "GET /rate_limit",
	}
	for path, want := range tests {
		if got := operationOf("GET", path); got != want {
			t.Errorf("operationOf(%q) = %q, want %q", path, got, want)
		}
	}
}
