package github_test

import (
	"context"
	"testing"

	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// Listing releases and tags goes through the ETag cache: an unchanged
// repository answers 304, which GitHub does not charge.
func TestListReleasesAndTagsAreConditional(t *testing.T) {
	sim := githubsim.New()
	defer sim.Close()
	if err := sim.CreateRepo("acme/app", "main"); err != nil {
		t.Fatal(err)
	}
	sha, err := sim.CommitFiles("acme/app", "main", map[string]string{"a": "1"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1.0.0", "v1.1.0"} {
		if _, err := sim.CreateRelease("acme/app", tag, sha, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.CreateRelease("acme/app", "v2.0.0", sha, true); err != nil {
		t.Fatal(err)
	}
	c, err := (&github.Factory{}).For(sim.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rels, truncated, err := c.ListPublishedReleases(ctx, "acme/app")
	if err != nil || truncated {
		t.Fatal(err, truncated)
	}
	if len(rels) != 2 || rels[0].Tag != "v1.1.0" || rels[1].Tag != "v1.0.0" {
		t.Fatalf("published releases %+v, want v1.1.0 v1.0.0 (the draft left out)", rels)
	}
	tags, _, err := c.ListTags(ctx, "acme/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0].Commit != sha {
		t.Fatalf("tags %+v", tags)
	}
	before := sim.Requests().NotModified
	if _, _, err := c.ListPublishedReleases(ctx, "acme/app"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListTags(ctx, "acme/app"); err != nil {
		t.Fatal(err)
	}
	if got := sim.Requests().NotModified - before; got != 2 {
		t.Fatalf("%d answers were 304, want 2", got)
	}
}
