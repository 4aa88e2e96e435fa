package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
)

func TestDispose(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	status := func(code int, header http.Header) error {
		resp := &http.Response{StatusCode: code, Header: header, Request: &http.Request{Method: "GET"}}
		return classify("get contents", &gh.ErrorResponse{Response: resp, Message: http.StatusText(code)}, now)
	}
	fixes := Fixes{NotFound: "check spec.source.repository", Unauthorized: "check the token in spec.github.secretRef"}
	// A permission the token lacks, refused by the request that spent the
	// rate limit's last one.
	lastRequest := http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(30 * time.Second).Unix())}}
	notAccessible := classify("create deployment", &gh.ErrorResponse{Message: "Resource not accessible by personal access token",
		Response: &http.Response{StatusCode: http.StatusForbidden, Header: lastRequest, Request: &http.Request{Method: "POST"}}}, now)
	// The write budget turns a write away before it is sent: go-github gets
	// the transport's error inside a *url.Error.
	budget := smallBudget(clocktesting.NewFakeClock(now)).refuse(PriorityRecord, now.Add(29500*time.Millisecond), now)
	budgetErr := classify("create deployment", &url.Error{Op: "Post", URL: "https://api.github.com/repos/acme/checkout/deployments", Err: budget}, now)
	for _, tt := range []struct {
		name    string
		err     error
		fixes   Fixes
		reason  string
		stalled bool
		retry   time.Duration
		refused bool
		message string
	}{
		{"429 without Retry-After waits a second", status(http.StatusTooManyRequests, http.Header{}), fixes,
			releasev1.ReasonGitHubRateLimited, false, time.Second, false, "github: get contents: 429 Too Many Requests; retrying in 1s"},
		{"429 with Retry-After", status(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}), fixes,
			releasev1.ReasonGitHubRateLimited, false, 7 * time.Second, false, "; retrying in 7s"},
		{"403 with an exhausted rate limit", status(http.StatusForbidden, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(30 * time.Second).Unix())}}), fixes,
			releasev1.ReasonGitHubRateLimited, false, 31 * time.Second, false, "retrying in 31s"},
		{"the write budget: its own reason, when its slot comes, no backoff", budgetErr, fixes,
			releasev1.ReasonGitHubWriteBudget, false, 31 * time.Second, false, "waiting for GitHub's write budget, next slot at 2026-11-02T12:00:29Z (create deployment)"},
		{"401", status(http.StatusUnauthorized, nil), fixes,
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, "github: get contents: 401 Unauthorized: check the token in spec.github.secretRef"},
		{"403 without a rate limit is a refusal", status(http.StatusForbidden, http.Header{}), Fixes{},
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, ": check the token and its permissions"},
		{"403 Resource not accessible is a refusal, never a rate limit", notAccessible, fixes,
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, "403 Resource not accessible by personal access token: check the token in spec.github.secretRef"},
		{"404", status(http.StatusNotFound, nil), fixes,
			releasev1.ReasonRepositoryNotFound, true, conditions.RetryStalled, false, "404 Not Found: check spec.source.repository"},
		{"404 in the caller's terms", status(http.StatusNotFound, nil), Fixes{NotFoundReason: releasev1.ReasonMilestoneNotFound, NotFound: "create the milestone"},
			releasev1.ReasonMilestoneNotFound, true, conditions.RetryStalled, false, ": create the milestone"},
		{"422 that is not a race", status(http.StatusUnprocessableEntity, nil), fixes,
			releasev1.ReasonInvalidSpec, true, conditions.RetryStalled, false, ": GitHub refused the request as invalid: fix the spec"},
		{"409 left over from the caller's retries", status(http.StatusConflict, nil), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "409 Conflict; retrying with backoff"},
		{"502", status(http.StatusBadGateway, nil), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "502 Bad Gateway; retrying with backoff"},
		{"no answer", classify("get contents", errors.New("dial tcp: connection refused"), now), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "connection refused; retrying with backoff"},
		{"a GitHub App's refused key, whatever the caller's fixes", &Error{Kind: KindUnauthorized, Problem: ProblemKeyRefused, Op: "create an installation token", Status: 401, Message: "A JSON web token could not be decoded: generate a private key"}, fixes,
			releasev1.ReasonGitHubAppKeyRefused, true, conditions.RetryStalled, true, "401 A JSON web token could not be decoded: generate a private key"},
		{"a GitHub App's invalid key", &Error{Kind: KindUnauthorized, Problem: ProblemKeyInvalid, Op: "read the key", Message: "privateKey is not PEM"}, fixes,
			releasev1.ReasonGitHubAppKeyInvalid, true, conditions.RetryStalled, true, "privateKey is not PEM"},
		{"an unknown installation", &Error{Kind: KindUnauthorized, Problem: ProblemInstallationNotFound, Message: "no installation 7"}, fixes,
			releasev1.ReasonGitHubAppInstallationNotFound, true, conditions.RetryStalled, true, "no installation 7"},
		{"a repository outside the installation", fmt.Errorf("reading the target: %w", &Error{Kind: KindUnauthorized, Problem: ProblemNotInstalled, Status: 404, Message: "add it to the installation"}), fixes,
			releasev1.ReasonGitHubAppNotInstalled, true, conditions.RetryStalled, true, "add it to the installation"},
		{"a clock GitHub refuses", &Error{Kind: KindUnauthorized, Problem: ProblemClockSkew, Status: 401, Message: "synchronise the node's clock (NTP)"}, fixes,
			releasev1.ReasonGitHubAppClockSkew, true, conditions.RetryStalled, true, "synchronise the node's clock (NTP)"},
		{"a permission the App lacks", &Error{Kind: KindUnauthorized, Problem: ProblemPermissionMissing, Status: 403, Message: "grant contents=write (Contents: Read and write)"}, fixes,
			releasev1.ReasonGitHubAppPermissionMissing, true, conditions.RetryStalled, true, "grant contents=write (Contents: Read and write)"},
		{"wrapped", fmt.Errorf("reading the target: %w", status(http.StatusBadGateway, nil)), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "reading the target: github: get contents: 502"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := Dispose(tt.err, tt.fixes)
			if !ok {
				t.Fatalf("%v is a GitHub error", tt.err)
			}
			if d.Reason != tt.reason || d.Stalled != tt.stalled || d.RetryAfter != tt.retry || d.Refused != tt.refused {
				t.Errorf("got %s stalled=%v retry=%s refused=%v, want %s stalled=%v retry=%s refused=%v",
					d.Reason, d.Stalled, d.RetryAfter, d.Refused, tt.reason, tt.stalled, tt.retry, tt.refused)
			}
			if d.RetryAfter != 0 && d.RetryAfter < time.Second {
				t.Errorf("retry after %s: never less than a second", d.RetryAfter)
			}
			if (d.Reason == releasev1.ReasonGitHubWriteBudget) != !d.NextSlot.IsZero() {
				t.Errorf("next slot %s for %s", d.NextSlot, d.Reason)
			}
			if msg := d.Message(tt.err); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not say %q", msg, tt.message)
			} else if ProblemOf(tt.err) != "" && strings.Contains(msg, fixes.Unauthorized) {
				t.Errorf("message %q of a GitHub App's problem says to check a token", msg)
			}
		})
	}
	if _, ok := Dispose(errors.New("etcd is down"), fixes); ok {
		t.Error("an error that is not GitHub's was disposed of as GitHub's")
	}
}
