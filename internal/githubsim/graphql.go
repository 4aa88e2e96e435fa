package githubsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The GraphQL API, as far as Liftoff uses it: the createCommitOnBranch
// mutation, its input passed as a variable. GitHub answers GraphQL errors
// with 200 and an errors array whose entries carry a type, the path of the
// field and its location in the query.

var reCreateCommit = regexp.MustCompile(`createCommitOnBranch\s*\(\s*input\s*:\s*\$(\w+)\s*\)`)

// createCommitInput is GitHub's CreateCommitOnBranchInput.
type createCommitInput struct {
	Branch struct {
		ID                      string `json:"id"`
		RepositoryNameWithOwner string `json:"repositoryNameWithOwner"`
		BranchName              string `json:"branchName"`
	} `json:"branch"`
	ClientMutationID string `json:"clientMutationId"`
	ExpectedHeadOid  string `json:"expectedHeadOid"`
	FileChanges      struct {
		Additions []struct {
			Path     string `json:"path"`
			Contents string `json:"contents"`
		} `json:"additions"`
		Deletions []struct {
			Path string `json:"path"`
		} `json:"deletions"`
	} `json:"fileChanges"`
	Message struct {
		Headline string `json:"headline"`
		Body     string `json:"body"`
	} `json:"message"`
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	typ, message string
}

// POST /graphql
func (s *Server) handleGraphQL(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Query     string                     `json:"query"`
		Variables map[string]json.RawMessage `json:"variables"`
	}
	if !decode(w, req, &body) {
		return
	}
	m := reCreateCommit.FindStringSubmatchIndex(body.Query)
	if !strings.HasPrefix(strings.TrimSpace(body.Query), "mutation") || m == nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{
			"message": "The simulator serves one GraphQL operation: mutation($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { ... } }",
		}}})
		return
	}
	line := 1 + strings.Count(body.Query[:m[0]], "\n")
	column := m[0] - strings.LastIndex(body.Query[:m[0]], "\n")
	answer := func(data any, e *gqlError) {
		out := map[string]any{"data": map[string]any{"createCommitOnBranch": data}}
		if e != nil {
			entry := map[string]any{"path": []string{"createCommitOnBranch"}, "locations": []map[string]int{{"line": line, "column": column}}, "message": e.message}
			if e.typ != "" {
				entry["type"] = e.typ
			}
			out["errors"] = []any{entry}
		}
		writeJSON(w, http.StatusOK, out)
	}
	variable := body.Query[m[2]:m[3]]
	var in createCommitInput
	raw, ok := body.Variables[variable]
	if !ok || json.Unmarshal(raw, &in) != nil {
		answer(nil, &gqlError{message: fmt.Sprintf("Variable $%s of type CreateCommitOnBranchInput! was provided invalid value", variable)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, e := s.createCommitOnBranch(w, callerOf(req), &in)
	answer(data, e)
}

// createCommitOnBranch makes the commit on the branch head when the head is
// still the expected one; the caller holds s.mu. A repository outside the
// installation of who's token cannot be resolved, as GitHub answers, and a
// token without contents: write is FORBIDDEN.
func (s *Server) createCommitOnBranch(w http.ResponseWriter, who caller, in *createCommitInput) (map[string]any, *gqlError) {
	switch {
	case in.Branch.ID != "":
		return nil, &gqlError{typ: "NOT_FOUND", message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", in.Branch.ID)}
	case in.Branch.RepositoryNameWithOwner == "" || in.Branch.BranchName == "":
		return nil, &gqlError{typ: "UNPROCESSABLE", message: "Either branch.id or both branch.repositoryNameWithOwner and branch.branchName are required."}
	case in.ExpectedHeadOid == "":
		return nil, &gqlError{message: "Variable $input of type CreateCommitOnBranchInput! was provided invalid value for expectedHeadOid (Expected value to not be null)"}
	}
	r, err := s.repo(in.Branch.RepositoryNameWithOwner)
	if err != nil || !who.sees(r) {
		return nil, &gqlError{typ: "NOT_FOUND", message: fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", in.Branch.RepositoryNameWithOwner)}
	}
	if !who.grants(routePermissions[gqlCreateCommitOnBranch]) {
		// An installation token without contents: write; GraphQL names no
		// permission.
		return nil, &gqlError{typ: "FORBIDDEN", message: msgNotAccessible}
	}
	branch := strings.TrimPrefix(in.Branch.BranchName, "refs/heads/")
	head, ok := r.refs["heads/"+branch]
	if !ok {
		return nil, &gqlError{typ: "NOT_FOUND", message: fmt.Sprintf("Could not resolve to a Ref with the name 'refs/heads/%s'.", branch)}
	}
	if head != in.ExpectedHeadOid {
		return nil, &gqlError{typ: "STALE_DATA", message: fmt.Sprintf("Expected branch to point to %q but it did not. Pull and try again.", in.ExpectedHeadOid)}
	}
	c, _ := r.commitAt(head)
	files := r.files(c.tree)
	for _, d := range in.FileChanges.Deletions {
		if _, ok := files[d.Path]; !ok {
			return nil, &gqlError{typ: "UNPROCESSABLE", message: fmt.Sprintf("A path was requested for deletion which does not exist as of commit oid `%s`", head)}
		}
		delete(files, d.Path)
	}
	for i, a := range in.FileChanges.Additions {
		data, err := base64.StdEncoding.DecodeString(a.Contents)
		if err != nil {
			return nil, &gqlError{message: fmt.Sprintf("Variable $input of type CreateCommitOnBranchInput! was provided invalid value for fileChanges.additions.%d.contents (Could not coerce value to Base64String)", i)}
		}
		if a.Path == "" || strings.HasPrefix(a.Path, "/") || strings.HasSuffix(a.Path, "/") {
			return nil, &gqlError{typ: "UNPROCESSABLE", message: fmt.Sprintf("Invalid path %q", a.Path)}
		}
		files[a.Path] = r.putBlob(data)
	}
	message := in.Message.Headline
	if in.Message.Body != "" {
		message += "\n\n" + in.Message.Body
	}
	author := person
	author.Date = s.now()
	committer := signature{Name: "GitHub", Email: "noreply@github.com", Date: author.Date}
	sha := r.putCommit(&commit{tree: r.writeTree(files), parents: []string{head}, message: message, author: author, committer: committer})
	r.refs["heads/"+branch] = sha
	s.branchMoved(w, r, branch, sha)
	return map[string]any{
		"clientMutationId": nullable(in.ClientMutationID),
		"commit": map[string]any{
			"oid": sha, "url": r.htmlURL() + "/commit/" + sha,
			"messageHeadline": in.Message.Headline, "messageBody": in.Message.Body,
		},
		"ref": map[string]any{"name": branch, "prefix": "refs/heads/", "target": map[string]any{"oid": sha}},
	}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
