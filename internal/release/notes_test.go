package release_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// notesAsked counts the requests release notes make of the application's
// repository: comparisons and pull request listings (the promotion's own
// pull requests are the GitOps repository's).
type notesAsked struct{ compares, pulls atomic.Int32 }

func (w *world) countNotes() *notesAsked {
	n := &notesAsked{}
	w.transport = func(r *http.Request) (*http.Response, error) {
		switch {
		case r.Method != http.MethodGet:
		case strings.HasPrefix(r.URL.Path, "/repos/"+appRepo+"/compare/"):
			n.compares.Add(1)
		case r.URL.Path == "/repos/"+appRepo+"/pulls":
			n.pulls.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	}
	return n
}

func (n *notesAsked) String() string {
	return fmt.Sprintf("%d comparisons and %d pull request listings", n.compares.Load(), n.pulls.Load())
}

// mergedPull merges a pull request of author into the application's main
// branch and returns its number.
func (w *world) mergedPull(branch, title, author string) int {
	w.t.Helper()
	_, err := w.sim.CommitFiles(appRepo, branch, map[string]string{branch + ".go": "package main\n"}, title)
	w.must(err)
	n, err := w.sim.CreatePullRequest(appRepo, branch, "main", title, author)
	w.must(err)
	_, err = w.sim.MergePull(appRepo, n)
	w.must(err)
	return n
}

// secondRelease releases 1.4.2 (whose previous version, 1.4.1, has no tag:
// no notes), then merges two pull requests and tags 1.4.3, and returns
// their numbers. The simulator's counts start after it.
func (w *world) secondRelease() (retry, tax int) {
	w.t.Helper()
	w.release("r142", "1.4.2")
	if out := w.settle("r142", 10); w.get("r142").Status.Phase != releasev1.PhaseReleased {
		w.t.Fatalf("1.4.2: %s: %s", out, w.describe("r142"))
	}
	retry, tax = w.mergedPull("retry", "Retry payments", "alice"), w.mergedPull("tax", "Tax rounding", "bob")
	w.tag("1.4.3")
	w.release("r143", "1.4.3")
	return retry, tax
}

// The notes of 1.4.3 (the pull requests merged since 1.4.2) in the four
// places a user reads them: the promotion's pull request, the stage's status,
// the GitHub deployment and, when the version fails its verification, the
// postmortem's first suspects. One version pair asked in four places costs
// GitHub's two GETs once.
func TestReleaseNotesReachThePullRequestStatusDeploymentAndPostmortem(t *testing.T) {
	w := newWorld(t)
	w.setProm("0.01")
	w.pipeline(w.stage("prod", verified(releasev1.FailureRollback), func(s *releasev1.Stage) {
		s.Target.Strategy, s.Target.AutoMerge = releasev1.StrategyPullRequest, true
	}))
	retry, tax := w.secondRelease()
	asked := w.countNotes()
	w.setProm("0.30")
	w.settle("r143", 10)

	rel := w.get("r143")
	ss := rel.Status.StageStatus("prod")
	if ss.Phase != releasev1.StageRolledBack {
		t.Fatalf("%s", w.describe("r143"))
	}
	list := fmt.Sprintf("#%d Retry payments (alice), #%d Tax rounding (bob)", retry, tax)
	if n := ss.ReleaseNotes; n == nil || n.From != "1.4.2" || n.Count != 2 || n.Summary != "2 pull requests since 1.4.2: "+list ||
		!strings.HasPrefix(n.URL, "https://github.com/acme/checkout/compare/v1.4.2...") {
		t.Errorf("status.stages[prod].releaseNotes %+v", n)
	}

	var body string
	for _, pr := range w.sim.PullRequests(gitopsRepo) {
		if pr.Title == "Promote checkout 1.4.3 to prod" {
			body = pr.Body
		}
	}
	item := func(n int, title, author string) string {
		return fmt.Sprintf("- [#%d](https://github.com/acme/checkout/pull/%d) %s by %s", n, n, title, author)
	}
	for _, want := range []string{"### Changes since 1.4.2\n\n" + item(retry, "Retry payments", "alice") + "\n" + item(tax, "Tax rounding", "bob") + "\n", "[Compare v1.4.2..."} {
		if !strings.Contains(body, want) {
			t.Errorf("the pull request's body lacks %q:\n%s", want, body)
		}
	}

	deps := w.sim.Deployments(appRepo)
	if d := deps[len(deps)-1]; d.Description != fmt.Sprintf("1.4.3: 2 PRs since 1.4.2 (#%d, #%d)", retry, tax) {
		t.Errorf("the deployment's description %q", d.Description)
	}

	issues := w.sim.Issues(appRepo)
	if len(issues) != 1 {
		t.Fatalf("%d postmortems", len(issues))
	}
	pm := issues[0].Body
	suspects := "## Changes in this version\n\nThe pull requests merged between 1.4.2 and 1.4.3, the first suspects:\n\n" + item(retry, "Retry payments", "alice") + ", merged "
	if at := strings.Index(pm, suspects); at < strings.Index(pm, "## Timeline") || at > strings.Index(pm, "## What went well") {
		t.Errorf("the postmortem lacks %q after its timeline:\n%s", suspects, pm)
	}

	if asked.compares.Load() != 1 || asked.pulls.Load() != 1 {
		t.Errorf("notes asked in four places cost %s, want 1 and 1", asked)
	}
}

// Release notes never hold a promotion: when GitHub fails them, or the
// previous version has no tag, the Release goes on without them, and the
// failure is asked once for the three stages.
func TestAPromotionGoesOnWithoutNotes(t *testing.T) {
	for _, tt := range []struct {
		name     string
		setup    func(w *world)
		compares int
	}{
		{"GitHub fails the comparison", func(w *world) {
			w.secondRelease()
			w.sim.Inject(githubsim.Fault{Path: "/compare/", Status: 502})
		}, 1},
		{"the previous version has no tag", func(w *world) {
			w.release("r143", "1.4.2")
		}, 2}, // v1.4.1 and 1.4.1, remembered as not found
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.pipeline()
			tt.setup(w)
			asked := w.countNotes()
			w.settle("r143", 10)
			rel := w.get("r143")
			if rel.Status.Phase != releasev1.PhaseReleased {
				t.Fatalf("%s", w.describe("r143"))
			}
			for _, ss := range rel.Status.Stages {
				if ss.ReleaseNotes != nil {
					t.Errorf("%s: notes %+v", ss.Name, ss.ReleaseNotes)
				}
			}
			deps := w.sim.Deployments(appRepo)
			if d := deps[len(deps)-1]; !strings.HasPrefix(d.Description, "Liftoff promotes checkout 1.4.") {
				t.Errorf("the deployment's description %q", d.Description)
			}
			if asked.compares.Load() != int32(tt.compares) || asked.pulls.Load() != 0 {
				t.Errorf("%s, want %d and 0", asked, tt.compares)
			}
		})
	}
}
