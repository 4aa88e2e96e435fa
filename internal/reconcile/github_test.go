package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// TestGitHub maps each kind of failure internal/github classifies (as its
// classify tests show it reads GitHub's answers) to what a reconciler does.
func TestGitHub(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	status := func(code int, kind github.Kind, retry time.Duration) error {
		return &github.Error{Kind: kind, Op: "get contents", Status: code, Message: httpText[code], RetryAfter: retry}
	}
	fixes := Fixes{NotFound: "check spec.source.repository", Unauthorized: "check the token in spec.github.secretRef"}
	notAccessible := &github.Error{Kind: github.KindUnauthorized, Op: "create deployment", Status: 403, Message: "Resource not accessible by personal access token"}
	// The write budget turns a write away before it is sent.
	next := now.Add(29500 * time.Millisecond)
	budgetErr := &github.Error{Kind: github.KindRateLimited, Op: "create deployment", RetryAfter: 31 * time.Second, NextSlot: next,
		Message: github.ErrWriteBudget.Error() + ", next slot at " + next.UTC().Format(time.RFC3339)}
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
		{"429 without Retry-After waits a second", status(429, github.KindRateLimited, time.Second), fixes,
			releasev1.ReasonGitHubRateLimited, false, time.Second, false, "github: get contents: 429 Too Many Requests; retrying in 1s"},
		{"429 with Retry-After", status(429, github.KindRateLimited, 7*time.Second), fixes,
			releasev1.ReasonGitHubRateLimited, false, 7 * time.Second, false, "; retrying in 7s"},
		{"403 with an exhausted rate limit", status(403, github.KindRateLimited, 31*time.Second), fixes,
			releasev1.ReasonGitHubRateLimited, false, 31 * time.Second, false, "retrying in 31s"},
		{"the write budget: its own reason, when its slot comes, no backoff", budgetErr, fixes,
			releasev1.ReasonGitHubWriteBudget, false, 31 * time.Second, false, "waiting for GitHub's write budget, next slot at 2026-11-02T12:00:29Z (create deployment)"},
		{"401", status(401, github.KindUnauthorized, 0), fixes,
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, "github: get contents: 401 Unauthorized: check the token in spec.github.secretRef"},
		{"403 without a rate limit is a refusal", status(403, github.KindUnauthorized, 0), Fixes{},
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, ": check the token and its permissions"},
		{"403 Resource not accessible is a refusal, never a rate limit", notAccessible, fixes,
			releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true, "403 Resource not accessible by personal access token: check the token in spec.github.secretRef"},
		{"404", status(404, github.KindNotFound, 0), fixes,
			releasev1.ReasonRepositoryNotFound, true, conditions.RetryStalled, false, "404 Not Found: check spec.source.repository"},
		{"404 in the caller's terms", status(404, github.KindNotFound, 0), Fixes{NotFoundReason: releasev1.ReasonMilestoneNotFound, NotFound: "create the milestone"},
			releasev1.ReasonMilestoneNotFound, true, conditions.RetryStalled, false, ": create the milestone"},
		{"422 that is not a race", status(422, github.KindInvalid, 0), fixes,
			releasev1.ReasonInvalidSpec, true, conditions.RetryStalled, false, ": GitHub refused the request as invalid: fix the spec"},
		{"409 left over from the caller's retries", status(409, github.KindConflict, 0), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "409 Conflict; retrying with backoff"},
		{"502", status(502, github.KindTransient, 0), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "502 Bad Gateway; retrying with backoff"},
		{"no answer", &github.Error{Kind: github.KindTransient, Op: "get contents", Message: "dial tcp: connection refused"}, fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "connection refused; retrying with backoff"},
		{"a GitHub App's refused key, whatever the caller's fixes", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemKeyRefused, Op: "create an installation token", Status: 401, Message: "A JSON web token could not be decoded: generate a private key"}, fixes,
			releasev1.ReasonGitHubAppKeyRefused, true, conditions.RetryStalled, true, "401 A JSON web token could not be decoded: generate a private key"},
		{"a GitHub App's invalid key", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemKeyInvalid, Op: "read the key", Message: "privateKey is not PEM"}, fixes,
			releasev1.ReasonGitHubAppKeyInvalid, true, conditions.RetryStalled, true, "privateKey is not PEM"},
		{"an unknown installation", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemInstallationNotFound, Message: "no installation 7"}, fixes,
			releasev1.ReasonGitHubAppInstallationNotFound, true, conditions.RetryStalled, true, "no installation 7"},
		{"a repository outside the installation", fmt.Errorf("reading the target: %w", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemNotInstalled, Status: 404, Message: "add it to the installation"}), fixes,
			releasev1.ReasonGitHubAppNotInstalled, true, conditions.RetryStalled, true, "add it to the installation"},
		{"a clock GitHub refuses", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemClockSkew, Status: 401, Message: "synchronise the node's clock (NTP)"}, fixes,
			releasev1.ReasonGitHubAppClockSkew, true, conditions.RetryStalled, true, "synchronise the node's clock (NTP)"},
		{"a permission the App lacks", &github.Error{Kind: github.KindUnauthorized, Problem: github.ProblemPermissionMissing, Status: 403, Message: "grant contents=write (Contents: Read and write)"}, fixes,
			releasev1.ReasonGitHubAppPermissionMissing, true, conditions.RetryStalled, true, "grant contents=write (Contents: Read and write)"},
		{"wrapped", fmt.Errorf("reading the target: %w", status(502, github.KindTransient, 0)), fixes,
			releasev1.ReasonGitHubUnavailable, false, 0, false, "reading the target: github: get contents: 502"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := GitHub(tt.err, tt.fixes)
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
			} else if github.ProblemOf(tt.err) != "" && strings.Contains(msg, fixes.Unauthorized) {
				t.Errorf("message %q of a GitHub App's problem says to check a token", msg)
			}
		})
	}
	if _, ok := GitHub(errors.New("etcd is down"), fixes); ok {
		t.Error("an error that is not GitHub's was disposed of as GitHub's")
	}
}

var httpText = map[int]string{401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests", 502: "Bad Gateway"}
