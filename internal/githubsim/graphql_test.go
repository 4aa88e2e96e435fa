package githubsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const createCommitMutation = `mutation Commit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}`

type gqlAnswer struct {
	Data struct {
		CreateCommitOnBranch *struct {
			Commit struct{ Oid, URL string }
		}
	}
	Errors []struct {
		Type, Message string
		Path          []string
	}
}

func createCommit(t *testing.T, s *Server, input map[string]any) gqlAnswer {
	t.Helper()
	return createCommitAs(t, s, tok, input)
}

// createCommitAs sends the mutation with token.
func createCommitAs(t *testing.T, s *Server, token string, input map[string]any) gqlAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": createCommitMutation, "variables": map[string]any{"input": input}})
	req, _ := http.NewRequest("POST", s.URL()+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var out gqlAnswer
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func commitInput(head string, additions map[string]string, deletions ...string) map[string]any {
	adds := []map[string]string{}
	for p, c := range additions {
		adds = append(adds, map[string]string{"path": p, "contents": base64.StdEncoding.EncodeToString([]byte(c))})
	}
	dels := []map[string]string{}
	for _, p := range deletions {
		dels = append(dels, map[string]string{"path": p})
	}
	return map[string]any{
		"branch":          map[string]string{"repositoryNameWithOwner": "acme/gitops", "branchName": "main"},
		"expectedHeadOid": head,
		"fileChanges":     map[string]any{"additions": adds, "deletions": dels},
		"message":         map[string]string{"headline": "Promote two services", "body": "Liftoff-Release: ns/a\nLiftoff-Stage: dev"},
	}
}

func TestCreateCommitOnBranch(t *testing.T) {
	s, _, head := seeded(t, WithSecondaryLimits(GitHubSecondaryLimits))
	got := createCommit(t, s, commitInput(head, map[string]string{"envs/dev/app.yaml": "tag: 2\n", "envs/dev/new.yaml": "x\n"}, "README.md"))
	if len(got.Errors) > 0 || got.Data.CreateCommitOnBranch == nil {
		t.Fatalf("errors %+v", got.Errors)
	}
	sha := got.Data.CreateCommitOnBranch.Commit.Oid
	if now, _ := s.BranchHead("acme/gitops", "main"); now != sha {
		t.Fatalf("branch at %s, want the new commit %s", now, sha)
	}
	if c := s.Commits("acme/gitops", "main"); len(c) != 2 || c[0].Message != "Promote two services\n\nLiftoff-Release: ns/a\nLiftoff-Stage: dev" ||
		strings.Join(c[0].Files, ",") != "README.md,envs/dev/app.yaml,envs/dev/new.yaml" {
		t.Fatalf("history %+v", c)
	}
	if f, _ := s.FileAt("acme/gitops", "main", "envs/dev/app.yaml"); f != "tag: 2\n" {
		t.Fatalf("content %q", f)
	}
	if _, ok := s.FileAt("acme/gitops", "main", "README.md"); ok {
		t.Fatal("README.md was deleted")
	}
	if st := s.Requests(); st.ContentGenerating != 1 {
		t.Fatalf("one mutation is one content-generating request, got %d", st.ContentGenerating)
	}

	// The branch moved since head: GitHub refuses and changes nothing.
	stale := createCommit(t, s, commitInput(head, map[string]string{"envs/dev/app.yaml": "tag: 3\n"}))
	if stale.Data.CreateCommitOnBranch != nil || len(stale.Errors) != 1 || stale.Errors[0].Type != "STALE_DATA" ||
		stale.Errors[0].Message != `Expected branch to point to "`+head+`" but it did not. Pull and try again.` ||
		strings.Join(stale.Errors[0].Path, ".") != "createCommitOnBranch" {
		t.Fatalf("stale head: %+v", stale)
	}
	if now, _ := s.BranchHead("acme/gitops", "main"); now != sha {
		t.Fatal("a refused mutation moved the branch")
	}
	missing := createCommit(t, s, commitInput(sha, nil, "nothing/here.yaml"))
	if len(missing.Errors) != 1 || missing.Errors[0].Type != "UNPROCESSABLE" {
		t.Fatalf("deleting a missing file: %+v", missing)
	}
	in := commitInput(sha, nil)
	in["branch"] = map[string]string{"repositoryNameWithOwner": "acme/nope", "branchName": "main"}
	if nf := createCommit(t, s, in); len(nf.Errors) != 1 || nf.Errors[0].Type != "NOT_FOUND" {
		t.Fatalf("unknown repository: %+v", nf)
	}
}
