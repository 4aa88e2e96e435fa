package githubsim

import (
	"net/http"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"
)

// Comparing two commits answers as GitHub documents: identical, ahead,
// behind or diverged, the commits HEAD has that BASE has not (oldest first),
// the files changed since the merge base, 404 for an unknown ref, pages of
// commits with a Link header, and 304 for an unchanged comparison.
func TestCompareCommits(t *testing.T) {
	s, c, base := seeded(t)
	one, err := s.CommitFiles("acme/gitops", "main", map[string]string{"envs/dev/app.yaml": "tag: 2\n"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.CommitFiles("acme/gitops", "main", map[string]string{"envs/prod/app.yaml": "tag: 2\n"}, "two")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "gitops", &gh.Reference{Ref: gh.String("refs/heads/side"), Object: &gh.GitObject{SHA: gh.String(base)}}); err != nil {
		t.Fatal(err)
	}
	side, err := s.CommitFiles("acme/gitops", "side", map[string]string{"side.txt": "x\n"}, "side")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, base, head, status string
		ahead, behind            int
	}{
		{"same commit", one, one, "identical", 0, 0},
		{"head two commits later", base, two, "ahead", 2, 0},
		{"head earlier", two, one, "behind", 0, 1},
		{"different branches", one, side, "diverged", 1, 1},
		{"branch names", "side", "main", "diverged", 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", tc.base, tc.head, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.GetStatus() != tc.status || cmp.GetAheadBy() != tc.ahead || cmp.GetBehindBy() != tc.behind || cmp.GetTotalCommits() != tc.ahead || len(cmp.Commits) != tc.ahead {
				t.Fatalf("status %s ahead %d behind %d total %d commits %d, want %s ahead %d behind %d",
					cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), cmp.GetTotalCommits(), len(cmp.Commits), tc.status, tc.ahead, tc.behind)
			}
		})
	}

	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", base, two, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Commits[0].GetSHA() != one || cmp.Commits[1].GetSHA() != two {
		t.Fatalf("commits %s %s, want oldest first %s %s", cmp.Commits[0].GetSHA(), cmp.Commits[1].GetSHA(), one, two)
	}
	if cmp.GetMergeBaseCommit().GetSHA() != base || cmp.GetBaseCommit().GetSHA() != base {
		t.Fatalf("merge base %s, base %s, want %s", cmp.GetMergeBaseCommit().GetSHA(), cmp.GetBaseCommit().GetSHA(), base)
	}
	var files []string
	for _, f := range cmp.Files {
		files = append(files, f.GetFilename()+":"+f.GetStatus())
	}
	if strings.Join(files, " ") != "envs/dev/app.yaml:modified envs/prod/app.yaml:added" {
		t.Fatalf("files %v", files)
	}

	// One commit per page: the status and counts stay whole, the commits are paged.
	page, resp, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", base, two, &gh.ListOptions{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.GetAheadBy() != 2 || len(page.Commits) != 1 || page.Commits[0].GetSHA() != one || resp.NextPage != 2 {
		t.Fatalf("page 1: ahead %d, %d commits, next page %d", page.GetAheadBy(), len(page.Commits), resp.NextPage)
	}

	_, _, err = c.Repositories.CompareCommits(ctx, "acme", "gitops", base, strings.Repeat("0", 40), nil)
	if statusOf(err) != http.StatusNotFound {
		t.Fatalf("unknown head: %v, want 404", err)
	}
	if _, _, err := c.Repositories.CompareCommits(ctx, "acme", "gitops", "octocat:main", "main", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("a fork's branch: %v, want 404", err)
	}

	// A conditional request for the same comparison is a free 304.
	req, _ := c.NewRequest("GET", "repos/acme/gitops/compare/"+base+"..."+two, nil)
	first, err := c.BareDo(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	req, _ = c.NewRequest("GET", "repos/acme/gitops/compare/"+base+"..."+two, nil)
	req.Header.Set("If-None-Match", first.Header.Get("ETag"))
	again, err := c.BareDo(ctx, req)
	if again == nil || again.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional compare: %v %v, want 304", again, err)
	}
	again.Body.Close()
}
