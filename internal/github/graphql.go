package github

import (
	"context"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// createCommitOnBranch is the one GraphQL document Liftoff sends.
const createCommitOnBranch = `mutation($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`

// graphQLURL is the GraphQL endpoint that goes with a REST base URL:
// https://api.github.com/graphql, or https://HOST/api/graphql for a GitHub
// Enterprise Server whose REST API is under /api/v3/.
func graphQLURL(base *url.URL) string {
	u := *base
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String()
}

// CommitOnBranch writes files (path -> content) in one commit on branch, on
// top of expectedHead, and moves the branch to it: one GraphQL
// createCommitOnBranch request, so one content-generating request whatever
// the number of files. When the branch no longer points at expectedHead,
// GitHub changes nothing and it returns a KindConflict error. The message is
// headline, a blank line and body. It returns the new commit's SHA.
func (c *Client) CommitOnBranch(ctx context.Context, repo, branch, expectedHead string, files map[string][]byte, headline, body string) (string, error) {
	op := "commit on " + branch
	if err := c.guard(op); err != nil {
		return "", err
	}
	if _, _, err := split(repo); err != nil {
		return "", err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	additions := make([]map[string]string, 0, len(paths))
	for _, p := range paths {
		additions = append(additions, map[string]string{"path": p, "contents": base64.StdEncoding.EncodeToString(files[p])})
	}
	input := map[string]any{
		"branch":          map[string]string{"repositoryNameWithOwner": repo, "branchName": branch},
		"expectedHeadOid": expectedHead,
		"fileChanges":     map[string]any{"additions": additions},
		"message":         map[string]string{"headline": headline, "body": body},
	}
	req, err := c.gh.NewRequest("POST", graphQLURL(c.gh.BaseURL), map[string]any{"query": createCommitOnBranch, "variables": map[string]any{"input": input}})
	if err != nil {
		return "", errorf(KindInvalid, op, "%v", err)
	}
	var out struct {
		Data struct {
			CreateCommitOnBranch *struct {
				Commit struct {
					Oid string `json:"oid"`
				} `json:"commit"`
			} `json:"createCommitOnBranch"`
		} `json:"data"`
		Errors []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := c.gh.Do(ctx, req, &out); err != nil {
		return "", c.done(op, err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		err := errorf(graphQLKind(e.Type), op, "%s", e.Message)
		switch {
		case c.app != nil && IsNotFound(err):
			return "", c.outsideInstallation(repo, err)
		case c.app != nil && e.Type == "FORBIDDEN" && notAccessible(e.Message):
			// GraphQL names no permission; GitHub's docs give this
			// mutation's.
			return "", c.missingPermission(err.(*Error), "contents=write", "GraphQL createCommitOnBranch")
		}
		return "", err
	}
	if out.Data.CreateCommitOnBranch == nil || out.Data.CreateCommitOnBranch.Commit.Oid == "" {
		return "", errorf(KindTransient, op, "GitHub answered without the commit")
	}
	return out.Data.CreateCommitOnBranch.Commit.Oid, nil
}

// graphQLKind classifies the type of a GraphQL error.
func graphQLKind(typ string) Kind {
	switch typ {
	case "STALE_DATA":
		return KindConflict
	case "NOT_FOUND":
		return KindNotFound
	case "FORBIDDEN":
		return KindUnauthorized
	case "UNPROCESSABLE", "":
		// No type: the request itself is wrong (a variable's value).
		return KindInvalid
	}
	return KindTransient
}
