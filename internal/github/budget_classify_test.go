package github

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestContentGeneratingRequests(t *testing.T) {
	for _, tc := range []struct {
		method, url, body string
		want              bool
	}{
		{"PUT", "https://api.github.com/repos/acme/gitops/contents/envs/prod.yaml", "", true},
		{"POST", "https://api.github.com/repos/acme/gitops/git/trees", "", true},
		{"PATCH", "https://api.github.com/repos/acme/gitops/git/refs/heads/main", "", true},
		{"POST", "https://api.github.com/repos/acme/app/deployments/7/statuses", "", true},
		{"PUT", "https://api.github.com/repos/acme/gitops/pulls/3/merge", "", true},
		{"POST", "https://ghe.example.com/api/v3/repos/acme/app/issues", "", true},
		{"GET", "https://api.github.com/repos/acme/gitops/contents/envs/prod.yaml", "", false},
		{"POST", "https://api.github.com/app/installations/1/access_tokens", "", false},
		{"POST", "https://ghe.example.com/api/v3/app/installations/1/access_tokens", "", false},
		{"POST", "https://api.github.com/graphql", `{"query":"mutation($input: CreateCommitOnBranchInput!) { x }"}`, true},
		{"POST", "https://ghe.example.com/api/graphql", `{"query":"  query { viewer { login } }"}`, false},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
		if got := contentGenerating(req); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.method, tc.url, tc.body, got, tc.want)
		}
	}
}

func TestGraphQLURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.github.com/":         "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:9090/":          "http://127.0.0.1:9090/graphql",
	} {
		u, _ := url.Parse(base)
		if got := graphQLURL(u); got != want {
			t.Errorf("%s: %s, want %s", base, got, want)
		}
	}
}

// A write the budget turned away reaches go-github's caller inside a
// *url.Error: classified, it says when the slot comes and that nothing was
// sent.
func TestWriteBudgetRefusalIsClassified(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	next := now.Add(29500 * time.Millisecond)
	refusal := smallBudget(clocktesting.NewFakeClock(now)).refuse(PriorityRecord, next, now)
	err := classify("create deployment", &url.Error{Op: "Post", URL: "https://api.github.com/repos/acme/checkout/deployments", Err: refusal}, now)
	var e *Error
	if !errors.As(err, &e) || !IsWriteBudget(err) {
		t.Fatalf("%v is not classified as the write budget's", err)
	}
	if e.Kind != KindRateLimited || !e.NextSlot.Equal(next) || e.RetryAfter != 31*time.Second {
		t.Errorf("classified %s, next slot %s, retry after %s; want RateLimited, %s, 31s", e.Kind, e.NextSlot, e.RetryAfter, next)
	}
	if !strings.Contains(e.Message, "next slot at 2026-11-02T12:00:29Z") {
		t.Errorf("message %q does not say when the slot comes", e.Message)
	}
}
