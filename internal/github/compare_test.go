package github_test

import (
	"context"
	"testing"

	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

const compareOp = "GET /repos/{owner}/{repo}/compare/{basehead...}"

// Contains answers whether a later commit holds an earlier one with one
// comparison per pair of commits: commits never change, so asking again
// costs nothing. A branch name is asked again, conditionally.
func TestContainsAsksOncePerPairOfCommits(t *testing.T) {
	sim := githubsim.New()
	defer sim.Close()
	if err := sim.CreateRepo("acme/gitops", "main"); err != nil {
		t.Fatal(err)
	}
	ours, err := sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/dev/app.yaml": "tag: 1\n"}, "ours")
	if err != nil {
		t.Fatal(err)
	}
	later, err := sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/prod/app.yaml": "tag: 1\n"}, "later")
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&github.Factory{}).For(sim.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		if ok, err := c.Contains(ctx, "acme/gitops", ours, later); err != nil || !ok {
			t.Fatalf("later contains ours: %v %v, want true", ok, err)
		}
		if ok, err := c.Contains(ctx, "acme/gitops", later, ours); err != nil || ok {
			t.Fatalf("ours contains later: %v %v, want false", ok, err)
		}
		if ok, err := c.Contains(ctx, "acme/gitops", ours, ours); err != nil || !ok {
			t.Fatalf("a commit contains itself: %v %v, want true", ok, err)
		}
	}
	if got := sim.Requests().ByOperation[compareOp]; got != 2 {
		t.Fatalf("%d comparisons for two pairs asked three times, want 2", got)
	}

	sim.ResetStats()
	for i := 0; i < 2; i++ {
		if ok, err := c.Contains(ctx, "acme/gitops", ours, "main"); err != nil || !ok {
			t.Fatalf("main contains ours: %v %v", ok, err)
		}
	}
	if st := sim.Requests(); st.ByOperation[compareOp] != 2 || st.NotModified != 1 {
		t.Fatalf("a branch asked twice: %d comparisons, %d of them 304, want 2 and 1", st.ByOperation[compareOp], st.NotModified)
	}

	// A commit the repository does not have (another repository's, in a
	// multi-source Application) is asked once too.
	sim.ResetStats()
	for i := 0; i < 2; i++ {
		if _, err := c.Contains(ctx, "acme/gitops", ours, "0000000000000000000000000000000000000000"); !github.IsNotFound(err) {
			t.Fatalf("an unknown commit: %v, want a NotFound error", err)
		}
	}
	if got := sim.Requests().ByOperation[compareOp]; got != 1 {
		t.Fatalf("an unknown commit asked twice: %d comparisons, want 1", got)
	}
}
