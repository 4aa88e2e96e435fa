package notes_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

const repo = "acme/checkout"

// world is the simulator with an application repository: v1.0.0, then three
// merged pull requests, one closed unmerged and a direct commit, v1.1.0, and
// one more merged pull request after it.
type world struct {
	sim     *githubsim.Server
	gh      *github.Client
	v11     string
	numbers []int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	sim := githubsim.New(githubsim.WithClock(func() time.Time { now = now.Add(time.Minute); return now }))
	t.Cleanup(sim.Close)
	sim.AddToken("t")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sim.CreateRepo(repo, "main"))
	_, err := sim.CommitFiles(repo, "main", map[string]string{"main.go": "package main\n"}, "Initial commit")
	must(err)
	merged := func(branch, title, author string) int {
		_, err := sim.CommitFiles(repo, branch, map[string]string{branch + ".go": "package x\n"}, title)
		must(err)
		n, err := sim.CreatePullRequest(repo, branch, "main", title, author)
		must(err)
		_, err = sim.MergePull(repo, n)
		must(err)
		return n
	}
	w := &world{sim: sim}
	merged("old", "Before the first release", "zoe")
	v10, _ := sim.BranchHead(repo, "main")
	must(sim.CreateTag(repo, "v1.0.0", v10))
	w.numbers = append(w.numbers, merged("retry", "Retry payments *twice*", "alice"), merged("receipts", "Receipt redesign", "bob"))
	_, err = sim.CommitFiles(repo, "abandoned", map[string]string{"x.go": "package x\n"}, "abandoned")
	must(err)
	_, err = sim.CreatePullRequest(repo, "abandoned", "main", "An idea nobody merged", "carol")
	must(err)
	w.numbers = append(w.numbers, merged("tax", "Tax rounding", "alice"))
	_, err = sim.CommitFiles(repo, "main", map[string]string{"VERSION": "1.1.0\n"}, "Release 1.1.0")
	must(err)
	w.v11, _ = sim.BranchHead(repo, "main")
	must(sim.CreateTag(repo, "v1.1.0", w.v11))
	merged("later", "After the release", "dan")

	f := &github.Factory{}
	if w.gh, err = f.For(sim.URL()+"/", "t"); err != nil {
		t.Fatal(err)
	}
	sim.ResetStats()
	return w
}

func TestNotesBetweenTwoTagsCostTwoRequestsOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cache := notes.NewCache(16, time.Now)

	n, err := cache.For(ctx, w.gh, repo, "1.0.0", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.sim.Requests(); got.Counted != 2 || got.ByOperation["GET /repos/{owner}/{repo}/compare/{basehead...}"] != 1 || got.ByOperation["GET /repos/{owner}/{repo}/pulls"] != 1 {
		t.Fatalf("first ask: %d requests %v, want one comparison and one page of pull requests", got.Counted, got.ByOperation)
	}
	if n.Base != "v1.0.0" || n.Head != "v1.1.0" || n.URL != "https://github.com/acme/checkout/compare/v1.0.0...v1.1.0" {
		t.Errorf("compared %s...%s at %s", n.Base, n.Head, n.URL)
	}
	var got []string
	for _, c := range n.Changes {
		got = append(got, c.Author+":"+c.Title)
		if !strings.HasPrefix(c.URL, "https://github.com/acme/checkout/pull/") || c.MergedAt.IsZero() {
			t.Errorf("change %+v has no link or merge time", c)
		}
	}
	want := []string{"alice:Retry payments *twice*", "bob:Receipt redesign", "alice:Tax rounding"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes %v, want %v (in merge order; nothing before v1.0.0, after v1.1.0 or unmerged)", got, want)
	}
	if n.Commits != 7 || n.Truncated {
		t.Errorf("commits %d truncated %v, want 7 (3 merges, 3 branch commits, 1 direct)", n.Commits, n.Truncated)
	}

	// The same pair again, by any Release: nothing asked of GitHub.
	w.sim.ResetStats()
	again, err := cache.For(ctx, w.gh, repo, "1.0.0", "1.1.0")
	if err != nil || again != n {
		t.Fatalf("second ask: %v, same notes %v", err, again == n)
	}
	if got := w.sim.Requests(); got.Total != 0 {
		t.Fatalf("second ask cost %d requests (%v), want 0", got.Total, got.ByOperation)
	}

	// The release commit as head (a Release with spec.commit): its own pair.
	bySHA, err := cache.For(ctx, w.gh, repo, "v1.0.0", w.v11)
	if err != nil || bySHA.Head != w.v11 || len(bySHA.Changes) != 3 {
		t.Fatalf("by commit: %v, head %s, %d changes", err, bySHA.Head, len(bySHA.Changes))
	}
}

func TestNotesOfAnUntaggedVersionSayWhatToTagAndAreRememberedForAWhile(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	cache := notes.NewCache(16, func() time.Time { return now })

	_, err := cache.For(ctx, w.gh, repo, "0.9.0", "1.1.0")
	if !notes.IsNotFound(err) || !strings.Contains(err.Error(), "v0.9.0 or 0.9.0") {
		t.Fatalf("untagged previous version: %v", err)
	}
	if got := w.sim.Requests().Counted; got != 4 {
		t.Fatalf("untagged: %d requests, want 4 (v0.9.0 and 0.9.0 against v1.1.0 and 1.1.0)", got)
	}
	w.sim.ResetStats()
	if _, err := cache.For(ctx, w.gh, repo, "0.9.0", "1.1.0"); !notes.IsNotFound(err) || w.sim.Requests().Total != 0 {
		t.Fatalf("asked again at once: %v after %d requests, want the remembered answer", err, w.sim.Requests().Total)
	}
	// Tagged later: seen once the answer is older than ten minutes.
	if err := w.sim.CreateTag(repo, "v0.9.0", w.sim.Commits(repo, "v1.0.0")[1].SHA); err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Minute)
	if n, err := cache.For(ctx, w.gh, repo, "0.9.0", "1.1.0"); err != nil || len(n.Changes) != 4 {
		t.Fatalf("after tagging v0.9.0: %v %+v", err, n)
	}
	if _, err := cache.For(ctx, w.gh, repo, "", "1.1.0"); err != notes.ErrNoPreviousVersion {
		t.Fatalf("first version of a stage: %v", err)
	}
}

// GitHub failing: the failure is kept a minute, so the places that ask for
// one promotion's notes do not each wait for it again; then asked anew.
func TestAFailureIsRememberedForAMinute(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	cache := notes.NewCache(16, func() time.Time { return now })
	w.sim.Inject(githubsim.Fault{Path: "/compare/", Status: 502})
	for i := 0; i < 3; i++ {
		if _, err := cache.For(ctx, w.gh, repo, "1.0.0", "1.1.0"); err == nil || notes.IsNotFound(err) {
			t.Fatalf("ask %d while GitHub fails: %v", i, err)
		}
	}
	if got := w.sim.Requests(); got.Total != 1 {
		t.Fatalf("three asks within a minute cost %d requests (%v), want 1", got.Total, got.ByOperation)
	}
	w.sim.ClearFaults()
	now = now.Add(61 * time.Second)
	if n, err := cache.For(ctx, w.gh, repo, "1.0.0", "1.1.0"); err != nil || len(n.Changes) != 3 {
		t.Fatalf("a minute later: %v %+v", err, n)
	}
}

func TestRenderedNotesFitWhereTheyGo(t *testing.T) {
	n := &notes.Notes{Repository: repo, From: "1.4.2", To: "1.4.3", Base: "v1.4.2", Head: "v1.4.3", Commits: 120,
		URL: "https://github.com/acme/checkout/compare/v1.4.2...v1.4.3"}
	for i := 1; i <= 60; i++ {
		n.Changes = append(n.Changes, notes.Change{Number: 100 + i, Title: "Make [checkout] *faster*, part " + strings.Repeat("x", i%7),
			Author: "alice", URL: "https://github.com/acme/checkout/pull/" + string(rune('0'+i%10)), MergedAt: time.Date(2026, 11, 2, 9, i, 0, 0, time.UTC)})
	}
	if d := n.DeploymentDescription(); utf8.RuneCountInString(d) > 140 || !strings.HasPrefix(d, "1.4.3: 60 PRs since 1.4.2 (#101, #102") || !strings.HasSuffix(d, "more)") {
		t.Errorf("deployment description (%d chars): %q", utf8.RuneCountInString(d), d)
	}
	if s := n.Summary(); utf8.RuneCountInString(s) > notes.MaxSummary || !strings.HasPrefix(s, "60 pull requests since 1.4.2: #101 Make [checkout] *faster*, part x (alice)") || !strings.Contains(s, "more") {
		t.Errorf("summary (%d chars): %q", utf8.RuneCountInString(s), s)
	}
	st := n.Status()
	if st.Count != 60 || st.From != "1.4.2" || st.URL != n.URL || st.Summary != n.Summary() {
		t.Errorf("status %+v", st)
	}
	pm := n.PostmortemSection()
	for _, want := range []string{"## Changes in this version", "between 1.4.2 and 1.4.3, the first suspects", `\[checkout\] \*faster\*`, "by alice, merged 2026-11-02 09:01 UTC", "... and 10 more", "[Compare v1.4.2...v1.4.3](https://github.com/acme/checkout/compare/v1.4.2...v1.4.3)"} {
		if !strings.Contains(pm, want) {
			t.Errorf("postmortem section lacks %q:\n%s", want, pm)
		}
	}
	if strings.Contains(pm, "@alice") {
		t.Error("the postmortem mentions authors with @: every promotion would notify them")
	}
	pr := n.PullRequestSection()
	if !strings.HasPrefix(pr, "### Changes since 1.4.2\n\n- [#101](") || strings.Contains(pr, "merged 2026") {
		t.Errorf("pull request section:\n%s", pr)
	}

	none := &notes.Notes{Repository: repo, From: "1.4.2", To: "1.4.3", Commits: 2}
	if none.Summary() != "0 pull requests since 1.4.2 (2 commits)" || none.DeploymentDescription() != "1.4.3: 0 PRs since 1.4.2" {
		t.Errorf("no pull request: %q / %q", none.Summary(), none.DeploymentDescription())
	}
}
