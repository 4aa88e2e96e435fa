package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// CheckState is a QA result reduced to what a gate needs.
type CheckState string

// Check states.
const (
	CheckSuccess CheckState = "success"
	CheckPending CheckState = "pending"
	CheckFailure CheckState = "failure"
)

// CheckResult is one check run or commit status on a commit.
type CheckResult struct {
	// Name of the check run, or the status context.
	Name string
	// Source is "check-run" or "status".
	Source string
	// State reduced to success, pending or failure.
	State CheckState
	// Detail is GitHub's status/conclusion, for messages.
	Detail string
	// URL is where a person sees the result.
	URL string
}

// ResolveCommit returns the commit SHA a ref (tag, branch or SHA) points at.
func (c *Client) ResolveCommit(ctx context.Context, repo, ref string) (string, error) {
	op := "resolve " + ref
	if err := c.guard(op); err != nil {
		return "", err
	}
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	sha, _, err := c.gh.Repositories.GetCommitSHA1(ctx, owner, name, ref, "")
	err = c.done(op, err)
	var e *Error
	if errors.As(err, &e) && e.Kind == KindInvalid && strings.Contains(e.Message, "No commit found") {
		// GitHub answers 422, not 404, for a ref that names no commit.
		e.Kind = KindNotFound
	}
	return sha, err
}

// Checks lists the latest check run per name and the latest status per context
// on a commit. With required names, commit statuses are read only when a
// name is not among the check runs: a required name a check run reports is
// decided by the check runs, and the request for statuses is saved.
func (c *Client) Checks(ctx context.Context, repo, sha string, required []string) ([]CheckResult, error) {
	op := "list checks of " + ShortSHA(sha)
	if err := c.guard(op); err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []CheckResult
	opts := &gh.ListCheckRunsOptions{Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, name, sha, opts)
		if err != nil {
			return nil, c.done(op, err)
		}
		for _, run := range res.CheckRuns {
			out = append(out, checkRunResult(run))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(required) > 0 && allReported(required, out) {
		return out, nil
	}
	combined, _, err := c.gh.Repositories.GetCombinedStatus(ctx, owner, name, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		if ge, ok := err.(*gh.ErrorResponse); ok && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
			return out, nil
		}
		return nil, c.done(op, err)
	}
	for _, st := range combined.Statuses {
		out = append(out, statusResult(st))
	}
	return out, nil
}

func allReported(names []string, results []CheckResult) bool {
	seen := make(map[string]bool, len(results))
	for _, r := range results {
		seen[r.Name] = true
	}
	for _, n := range names {
		if !seen[n] {
			return false
		}
	}
	return true
}

func checkRunResult(run *gh.CheckRun) CheckResult {
	r := CheckResult{Name: run.GetName(), Source: "check-run", URL: run.GetHTMLURL()}
	if r.URL == "" {
		r.URL = run.GetDetailsURL()
	}
	if run.GetStatus() != "completed" {
		r.State, r.Detail = CheckPending, run.GetStatus()
		return r
	}
	r.Detail = run.GetConclusion()
	switch run.GetConclusion() {
	case "success", "neutral", "skipped":
		r.State = CheckSuccess
	default: // failure, cancelled, timed_out, action_required, stale
		r.State = CheckFailure
	}
	return r
}

func statusResult(st *gh.RepoStatus) CheckResult {
	r := CheckResult{Name: st.GetContext(), Source: "status", URL: st.GetTargetURL(), Detail: st.GetState()}
	switch st.GetState() {
	case "success":
		r.State = CheckSuccess
	case "pending":
		r.State = CheckPending
	default: // failure, error
		r.State = CheckFailure
	}
	return r
}

// errorf builds a classified error without a GitHub response.
func errorf(kind Kind, op, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Message: fmt.Sprintf(format, args...)}
}
