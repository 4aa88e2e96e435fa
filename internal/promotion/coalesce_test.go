package promotion_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// env is a GitOps repository in the simulator, with GitHub's secondary
// limits on, and a client whose write budget shares the simulator's clock.
type env struct {
	clk *clocktesting.FakeClock
	sim *githubsim.Server
	gh  *github.Client
	// beforeCommit, when set, runs before a commit request reaches GitHub.
	beforeCommit func()
	once         sync.Once
	// done receives the requests whose outcome is ready.
	done chan *promotion.Request
	cs   *promotion.Coalescers
}

func service(i int) string { return fmt.Sprintf("svc%d", i) }

func path(svc, stage string) string { return "envs/" + svc + "/" + stage + "/kustomization.yaml" }

func kustomizationOf(image, tag string) string {
	return "# the images entry is promoted by Liftoff\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: " +
		image + "\n    newTag: \"" + tag + "\" # current\n"
}

func image(svc string) string { return "ghcr.io/acme/" + svc }

func newEnv(t *testing.T, services int) *env {
	t.Helper()
	e := &env{clk: clocktesting.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), done: make(chan *promotion.Request, 100)}
	e.sim = githubsim.New(githubsim.WithClock(e.clk.Now), githubsim.WithSecondaryLimits(githubsim.GitHubSecondaryLimits))
	t.Cleanup(e.sim.Close)
	e.sim.AddToken(token)
	if err := e.sim.CreateRepo(gitops, "main"); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"README.md": "environments\n"}
	for i := range services {
		for _, st := range []string{"dev", "prod"} {
			files[path(service(i), st)] = kustomizationOf(image(service(i)), "1.0.0")
		}
	}
	if _, err := e.sim.CommitFiles(gitops, "main", files, "Initial environments"); err != nil {
		t.Fatal(err)
	}
	hook := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql") && e.beforeCommit != nil {
			e.once.Do(e.beforeCommit)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	f := &github.Factory{Clock: e.clk, Transport: hook, WriteBudget: &github.GitHubWriteBudget}
	var err error
	if e.gh, err = f.For(e.sim.URL(), token); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.cs = promotion.NewCoalescers(ctx, func(r *promotion.Request) { e.done <- r })
	return e
}

// request promotes service svc's release to version into stage.
func (e *env) request(svc, stage, version string) *promotion.Request {
	return &promotion.Request{
		Namespace: "team-" + svc, Release: svc + "-" + strings.ReplaceAll(version, ".", "-"), Application: svc, Stage: stage, Version: version,
		Artifacts: []releasev1.Artifact{{Name: svc, Image: image(svc)}},
		Target: releasev1.Target{Repository: gitops, Branch: "main", Strategy: releasev1.StrategyCommit,
			Files: []releasev1.TargetFile{{Path: path(svc, stage), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: image(svc)}}}},
		Since: e.clk.Now(),
	}
}

// holdBudget makes GitHub refuse writes for a while, as a secondary limit
// does, so requests pile up in the coalescer; release lets them go.
func (e *env) holdBudget() (release func()) {
	e.gh.WriteBudget().Block(time.Minute)
	return func() { e.clk.Step(time.Minute) }
}

// submitAll enqueues reqs and waits for every outcome.
func (e *env) submitAll(g Gomega, reqs []*promotion.Request, beforeRelease func()) map[*promotion.Request]promotion.Outcome {
	release := e.holdBudget()
	for _, r := range reqs {
		_, done, err := e.cs.Submit(e.gh, r)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeFalse())
	}
	if beforeRelease != nil {
		beforeRelease()
	}
	release()
	out := map[*promotion.Request]promotion.Outcome{}
	for range reqs {
		var r *promotion.Request
		g.Eventually(e.done).Should(Receive(&r))
		o, done, err := e.cs.Submit(e.gh, r)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeTrue())
		out[r] = o
	}
	return out
}

func (e *env) liftoffCommits() []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range e.sim.Commits(gitops, "main") {
		if strings.Contains(c.Message, promotion.TrailerRelease) {
			out = append(out, c)
		}
	}
	return out
}

func TestPromotionsReadyTogetherLandInOneCommit(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, 5)
	var reqs []*promotion.Request
	for i := range 5 {
		reqs = append(reqs, e.request(service(i), "dev", fmt.Sprintf("1.%d.0", i+1)))
	}
	out := e.submitAll(g, reqs, nil)

	commits := e.liftoffCommits()
	g.Expect(commits).To(HaveLen(1), "one commit for five promotions")
	c := commits[0]
	g.Expect(c.Files).To(HaveLen(5))
	groups := promotion.TrailerGroups(c.Message)
	g.Expect(groups).To(HaveLen(5), "a trailer pair per promotion:\n%s", c.Message)
	g.Expect(strings.SplitN(c.Message, "\n", 2)[0]).To(Equal("Promote 5 releases to dev"))
	for i, r := range reqs {
		g.Expect(out[r].Err).NotTo(HaveOccurred())
		g.Expect(out[r].Result).To(Equal(&promotion.Result{Landed: true, Commit: c.SHA, PreviousVersion: "1.0.0"}))
		g.Expect(groups[i]).To(HaveKeyWithValue(promotion.TrailerRelease, r.ReleaseKey()))
		g.Expect(groups[i]).To(HaveKeyWithValue(promotion.TrailerStage, "dev"))
		g.Expect(c.Message).To(ContainSubstring(fmt.Sprintf("- %s %s to dev (release %s), replacing 1.0.0\n", r.Application, r.Version, r.ReleaseKey())))
		content, _ := e.sim.FileAt(gitops, "main", path(service(i), "dev"))
		g.Expect(content).To(ContainSubstring(`newTag: "` + r.Version + `" # current`))
		g.Expect(content).To(HavePrefix("# the images entry is promoted by Liftoff\n"), "comments are kept")
	}
	g.Expect(e.sim.Requests().ContentGenerating).To(Equal(1), "one content-generating request for five promotions")
	g.Expect(e.sim.Requests().SecondaryRefusals).To(BeZero())
}

func TestOneBadTargetDoesNotHoldTheOthers(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, 3)
	good := e.request(service(0), "dev", "2.0.0")
	missingFile := e.request(service(1), "dev", "2.0.0")
	missingFile.Target.Files[0].Path = "envs/nowhere/kustomization.yaml"
	missingImage := e.request(service(2), "dev", "2.0.0")
	missingImage.Target.Files = append(missingImage.Target.Files, releasev1.TargetFile{Path: path(service(0), "prod"), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/other"}})
	out := e.submitAll(g, []*promotion.Request{missingFile, good, missingImage}, nil)

	g.Expect(out[good].Err).NotTo(HaveOccurred())
	commits := e.liftoffCommits()
	g.Expect(commits).To(HaveLen(1))
	g.Expect(commits[0].Files).To(Equal([]string{path(service(0), "dev")}), "the bad promotions left no half in the commit")
	g.Expect(promotion.TrailerGroups(commits[0].Message)).To(HaveLen(1))
	for _, bad := range []*promotion.Request{missingFile, missingImage} {
		var te *promotion.TargetError
		g.Expect(errors.As(out[bad].Err, &te)).To(BeTrue(), "%v", out[bad].Err)
		g.Expect(out[bad].Result).To(BeNil())
	}
	content, _ := e.sim.FileAt(gitops, "main", path(service(2), "dev"))
	g.Expect(content).To(ContainSubstring(`newTag: "1.0.0"`), "its first file, fine alone, was not written either")
}

func TestCoalescedCommitRacesAnotherCommit(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, 3)
	// Someone commits to the branch between Liftoff's read and its commit,
	// changing a file of the batch (a comment) and another one.
	e.beforeCommit = func() {
		dev, _ := e.sim.FileAt(gitops, "main", path(service(1), "dev"))
		_, err := e.sim.CommitFiles(gitops, "main", map[string]string{"README.md": "hand-made\n", path(service(1), "dev"): "# reviewed by ann\n" + dev}, "Someone else's commit")
		g.Expect(err).NotTo(HaveOccurred())
	}
	reqs := []*promotion.Request{e.request(service(0), "dev", "1.1.0"), e.request(service(1), "dev", "1.1.0"), e.request(service(2), "dev", "1.1.0")}
	out := e.submitAll(g, reqs, nil)

	commits := e.liftoffCommits()
	g.Expect(commits).To(HaveLen(1))
	for _, r := range reqs {
		g.Expect(out[r].Err).NotTo(HaveOccurred())
		g.Expect(out[r].Result.Commit).To(Equal(commits[0].SHA))
	}
	all := e.sim.Commits(gitops, "main")
	g.Expect(all[1].Message).To(Equal("Someone else's commit"), "Liftoff's commit is on top of theirs")
	readme, _ := e.sim.FileAt(gitops, "main", "README.md")
	g.Expect(readme).To(Equal("hand-made\n"))
	dev, _ := e.sim.FileAt(gitops, "main", path(service(1), "dev"))
	g.Expect(dev).To(HavePrefix("# reviewed by ann\n"))
	g.Expect(dev).To(ContainSubstring(`newTag: "1.1.0"`))
	g.Expect(e.sim.Requests().ContentGenerating).To(Equal(2), "the refused attempt and the commit")
}

func TestRestartBetweenCoalescedCommitAndStatusWrites(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, 4)
	var reqs []*promotion.Request
	for i := range 4 {
		reqs = append(reqs, e.request(service(i), "prod", "3.0.0"))
	}
	first := e.submitAll(g, reqs, nil)
	sha := first[reqs[0]].Result.Commit
	writes := e.sim.Requests().ContentGenerating

	// The controller dies before any Release recorded its promotion: the
	// new one has no outcome in memory and promotes them all again.
	e.e2Restart()
	again := e.submitAll(g, reqs, nil)
	g.Expect(e.liftoffCommits()).To(HaveLen(1), "no second commit")
	g.Expect(e.sim.Requests().ContentGenerating).To(Equal(writes), "nothing written")
	for _, r := range reqs {
		g.Expect(again[r].Err).NotTo(HaveOccurred())
		g.Expect(again[r].Result).To(Equal(&promotion.Result{Landed: true, Resumed: true, Commit: sha, PreviousVersion: "1.0.0"}), "each finds its own commit by its trailers")
	}
}

// e2Restart drops every outcome held in memory, as a restart does.
func (e *env) e2Restart() {
	e.cs = promotion.NewCoalescers(context.Background(), func(r *promotion.Request) { e.done <- r })
}

func TestRollbacksAndPullRequestsAreNotCoalesced(t *testing.T) {
	e := newEnv(t, 1)
	rollback := e.request(service(0), "dev", "1.0.0")
	rollback.Revert = &promotion.Revert{FromCommit: "abc", BadVersion: "1.1.0"}
	if _, _, err := e.cs.Submit(e.gh, rollback); err == nil {
		t.Fatal("a rollback was enqueued")
	}
	pr := e.request(service(0), "dev", "1.1.0")
	pr.Target.Strategy = releasev1.StrategyPullRequest
	if _, _, err := e.cs.Submit(e.gh, pr); err == nil {
		t.Fatal("a pull-request promotion was enqueued")
	}
}

func TestALonePromotionOfOneFileGoesThroughTheContentsAPI(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, 1)
	r := e.request(service(0), "dev", "1.1.0")
	out := e.submitAll(g, []*promotion.Request{r}, nil)

	commits := e.liftoffCommits()
	g.Expect(commits).To(HaveLen(1))
	g.Expect(out[r].Err).NotTo(HaveOccurred())
	g.Expect(out[r].Result).To(Equal(&promotion.Result{Landed: true, Commit: commits[0].SHA, PreviousVersion: "1.0.0"}))
	st := e.sim.Requests()
	g.Expect(st.ContentGenerating).To(Equal(1))
	g.Expect(st.ByOperation).To(HaveKeyWithValue("PUT /repos/{owner}/{repo}/contents/{path...}", 1), "the file written back with its blob")
	g.Expect(st.ByOperation).NotTo(HaveKey("POST /graphql"))
	g.Expect(st.ByOperation).NotTo(HaveKey("GET /repos/{owner}/{repo}/git/ref/{ref...}"), "no read of the branch head")
}

// A request whose BeforeWrite refuses is not written, whichever way the
// others go: coalesced with others, alone with several files (a commit
// through the Git data API) or alone with one (the contents API); a
// request whose files hold its version already is not asked.
func TestARequestRefusedBeforeTheWriteIsNotWritten(t *testing.T) {
	moved := errors.New("artifacts: the tag was pushed again")
	refuse := func(r *promotion.Request) *promotion.Request {
		r.BeforeWrite = func(context.Context) error { return moved }
		return r
	}
	t.Run("coalesced", func(t *testing.T) {
		g := NewWithT(t)
		e := newEnv(t, 2)
		good, bad := e.request(service(0), "dev", "2.0.0"), refuse(e.request(service(1), "dev", "2.0.0"))
		out := e.submitAll(g, []*promotion.Request{good, bad}, nil)
		g.Expect(out[good].Err).NotTo(HaveOccurred())
		g.Expect(out[bad].Err).To(MatchError(moved))
		commits := e.liftoffCommits()
		g.Expect(commits).To(HaveLen(1))
		g.Expect(commits[0].Files).To(Equal([]string{path(service(0), "dev")}))
	})
	t.Run("alone, several files", func(t *testing.T) {
		g := NewWithT(t)
		e := newEnv(t, 1)
		r := refuse(e.request(service(0), "dev", "2.0.0"))
		r.Target.Files = append(r.Target.Files, releasev1.TargetFile{Path: path(service(0), "prod"), KustomizeImage: &releasev1.KustomizeImageUpdater{Name: image(service(0))}})
		_, err := promotion.Promote(context.Background(), e.gh, r)
		g.Expect(err).To(MatchError(moved))
		g.Expect(e.liftoffCommits()).To(BeEmpty())
	})
	t.Run("alone, one file", func(t *testing.T) {
		g := NewWithT(t)
		e := newEnv(t, 1)
		_, err := promotion.Promote(context.Background(), e.gh, refuse(e.request(service(0), "dev", "2.0.0")))
		g.Expect(err).To(MatchError(moved))
		g.Expect(e.liftoffCommits()).To(BeEmpty())
	})
	t.Run("already written", func(t *testing.T) {
		g := NewWithT(t)
		e := newEnv(t, 1)
		res, err := promotion.Promote(context.Background(), e.gh, refuse(e.request(service(0), "dev", "1.0.0")))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.NoChange).To(BeTrue())
	})
}
