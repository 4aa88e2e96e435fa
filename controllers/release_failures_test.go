package controllers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// isRefUpdate reports whether r lands a commit on main: a file written
// through the contents API (a promotion of one file) or a ref update (a
// commit of several files, a rollback).
func isRefUpdate(r *http.Request) bool {
	return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/git/refs/heads/main") ||
		r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/contents/")
}

// crashingAfter is a transport that lets n ref updates land, then makes
// every further GitHub call hang until the controller is stopped: the
// controller dies before it can record the last write in the Release's
// status. landed is closed once the n-th ref update landed.
func crashingAfter(n int32) (crashing roundTripFunc, landed chan struct{}) {
	var writes atomic.Int32
	var crashed atomic.Bool
	landed = make(chan struct{})
	return func(r *http.Request) (*http.Response, error) {
		if crashed.Load() {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && isRefUpdate(r) && resp.StatusCode == http.StatusOK && writes.Add(1) == n && crashed.CompareAndSwap(false, true) {
			close(landed)
		}
		return resp, err
	}, landed
}

func TestRestartBetweenCommitAndStatusWrite(t *testing.T) {
	g := NewWithT(t)
	crashing, landed := crashingAfter(1)
	e := newEnv(t, withTransport(crashing))
	e.pipeline()
	e.release("r", "1.4.2")
	g.Eventually(landed, timeout).Should(BeClosed())
	g.Expect(e.liftoffCommits("r", "dev")).To(HaveLen(1))
	e.stopController()
	g.Expect(e.stagePhase("r", "dev")()).To(Equal(releasev1.StagePromoting), "the status still says promoting: the landing was never written")

	e.restart(nil)
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	for _, st := range []string{"dev", "staging", "prod"} {
		g.Expect(e.liftoffCommits("r", st)).To(HaveLen(1), "one commit for %s despite the restart", st)
	}
	g.Expect(e.get("r").Status.StageStatus("dev").Promotion.Commit).To(Equal(e.liftoffCommits("r", "dev")[0].SHA))
	g.Expect(e.sim.Deployments(appRepo)).To(HaveLen(3), "the retried promotion reuses its deployment")
}

func TestConcurrentCommitOnBranch(t *testing.T) {
	g := NewWithT(t)
	var once sync.Once
	var e *testEnv
	// Someone pushes to the branch between Liftoff's read and its write,
	// changing another file and the very file Liftoff writes.
	racing := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if isRefUpdate(r) {
			once.Do(func() {
				dev, ok := e.sim.FileAt(gitopsRepo, "main", "envs/dev/kustomization.yaml")
				g.Expect(ok).To(BeTrue())
				_, err := e.sim.CommitFiles(gitopsRepo, "main", map[string]string{
					"README.md":                   "hand-made change\n",
					"envs/dev/kustomization.yaml": "# reviewed by ann\n" + dev,
				}, "Someone else's commit")
				g.Expect(err).NotTo(HaveOccurred())
			})
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	e = newEnv(t, withTransport(racing))
	e.pipeline()
	e.release("r", "1.4.2")
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	readme, ok := e.sim.FileAt(gitopsRepo, "main", "README.md")
	g.Expect(ok).To(BeTrue(), "the other commit is kept: ref updates are fast-forward only")
	g.Expect(readme).To(Equal("hand-made change\n"))
	g.Expect(e.file("dev")).To(HavePrefix("# reviewed by ann\n"), "GitHub refused the write over a file that changed; Liftoff read it again")
	g.Expect(e.liftoffCommits("", "")).To(HaveLen(3))
	for _, st := range []string{"dev", "staging", "prod"} {
		g.Expect(e.file(st)).To(ContainSubstring(`newTag: "1.4.2"`))
	}
}

func TestRacingReleasesOneStageAtATime(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	versions := []string{"1.4.2", "1.5.0", "1.6.0"}
	for _, v := range versions[1:] {
		sha, err := e.sim.CommitFiles(appRepo, "main", map[string]string{"VERSION": v + "\n"}, "Release "+v)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(e.sim.CreateTag(appRepo, "v"+v, sha)).To(Succeed())
	}
	e.pipeline()
	for _, v := range versions {
		e.release("r-"+strings.ReplaceAll(v, ".", "-"), v)
	}
	g.Eventually(e.phase("r-1-6-0"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	for _, v := range versions[:2] {
		g.Eventually(e.phase("r-"+strings.ReplaceAll(v, ".", "-")), timeout, interval).Should(
			BeElementOf(releasev1.PhaseSuperseded), "older release %s", v)
	}
	for _, st := range []string{"dev", "staging", "prod"} {
		g.Expect(e.file(st)).To(ContainSubstring(`newTag: "1.6.0"`))
		// Commits (oldest first) never put an older version over a newer one,
		// and no Release committed twice into one stage.
		commits := e.liftoffCommits("", st)
		seen := map[string]bool{}
		last := ""
		for i := len(commits) - 1; i >= 0; i-- {
			v := e.promotionIn(commits[i], "", st)[promotion.TrailerVersion]
			g.Expect(seen[v]).To(BeFalse(), "%s committed twice into %s", v, st)
			seen[v] = true
			g.Expect(v > last).To(BeTrue(), "%s after %s in %s", v, last, st)
			last = v
		}
	}
	pipe := &releasev1.ReleasePipeline{}
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "checkout"}, pipe)).To(Succeed())
	for _, st := range pipe.Status.Stages {
		g.Expect(st.InFlight).To(BeNil(), "no lock left behind on %s", st.Name)
	}
}

func TestGitHubFaultsBackOffAndLoseNothing(t *testing.T) {
	tests := []struct {
		name   string
		fault  githubsim.Fault
		reason string
	}{
		{"server errors", githubsim.Fault{Method: "PUT", Path: `/contents/`, Status: 502, Times: 3}, releasev1.ReasonGitHubUnavailable},
		{"primary rate limit", githubsim.Fault{Method: "GET", Path: `/contents/`, Status: 403, RateLimitReset: time.Now().Add(2 * time.Second), Times: 1}, releasev1.ReasonGitHubRateLimited},
		{"secondary rate limit", githubsim.Fault{Method: "PUT", Path: `/contents/`, Status: 403, Secondary: true, RetryAfter: time.Second, Times: 1}, releasev1.ReasonGitHubRateLimited},
		{"429 with Retry-After", githubsim.Fault{Method: "GET", Path: `/commits/refs/tags/`, Status: 429, RetryAfter: time.Second, Times: 2}, releasev1.ReasonGitHubRateLimited},
		// A write that times out on the client but is made: the retry finds
		// the file holding the version and the commit by its trailers.
		{"timeouts", githubsim.Fault{Method: "PUT", Path: `/contents/`, Delay: 3 * time.Second, Times: 2}, releasev1.ReasonGitHubUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t)
			if !tt.fault.RateLimitReset.IsZero() {
				tt.fault.RateLimitReset = time.Now().Add(2 * time.Second)
			}
			e.sim.Inject(tt.fault)
			e.pipeline()
			e.release("r", "1.4.2")
			g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
			g.Expect(e.liftoffCommits("", "")).To(HaveLen(3), "exactly one commit per promotion")
			g.Eventually(func() []string { return eventReasons(e, "r") }, timeout, interval).Should(ContainElement(tt.reason))
			g.Expect(eventMessages(e)).NotTo(ContainSubstring(token))
		})
	}
}

func TestMissingThingsBlockAndPromoteNothing(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *testEnv)
		reason  string
		message string
	}{
		{"pipeline", func(e *testEnv) {}, releasev1.ReasonPipelineNotFound, `ReleasePipeline "checkout" not found`},
		{"secret", func(e *testEnv) {
			p := e.newPipeline()
			p.Spec.GitHub.SecretRef.Name = "nope"
			NewWithT(e.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
		}, releasev1.ReasonSecretNotFound, `Secret "nope"`},
		{"bad token", func(e *testEnv) {
			NewWithT(e.t).Expect(k8s.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: e.ns},
				Data: map[string][]byte{"token": []byte("wrong")}})).To(Succeed())
			p := e.newPipeline()
			p.Spec.GitHub.SecretRef.Name = "bad"
			NewWithT(e.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
		}, releasev1.ReasonGitHubUnauthorized, "Bad credentials"},
		{"tag", func(e *testEnv) {
			e.pipeline()
			e.release("r2", "9.9.9")
		}, releasev1.ReasonCommitNotFound, "no tag v9.9.9 or 9.9.9 in acme/checkout"},
		{"repository", func(e *testEnv) {
			s := e.stage("dev")
			s.Target.Repository = "acme/missing"
			e.pipeline(s)
		}, releasev1.ReasonRepositoryNotFound, "404"},
		{"file", func(e *testEnv) {
			s := e.stage("dev")
			s.Target.Files[0].Path = "envs/qa/kustomization.yaml"
			e.pipeline(s)
		}, releasev1.ReasonTargetInvalid, "envs/qa/kustomization.yaml: file not found"},
		{"image", func(e *testEnv) {
			s := e.stage("dev")
			s.Target.Files[0].KustomizeImage.Name = "ghcr.io/acme/payments"
			e.pipeline(s)
		}, releasev1.ReasonTargetInvalid, "ghcr.io/acme/payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t)
			tt.setup(e)
			name := "r"
			if tt.reason == releasev1.ReasonCommitNotFound {
				name = "r2"
			} else {
				e.release("r", "1.4.2")
			}
			g.Eventually(e.condition(name, releasev1.ConditionBlocked), timeout, interval).Should(And(
				HavePrefix("True/"+tt.reason), ContainSubstring(tt.message)))
			if tt.reason != releasev1.ReasonCommitNotFound && tt.reason != releasev1.ReasonGitHubUnauthorized {
				// Stalled stays put: no doomed retry every time something changes.
				g.Consistently(e.condition(name, releasev1.ConditionStalled), time.Second, 50*time.Millisecond).Should(HavePrefix("True/" + tt.reason))
			}
			g.Consistently(func() int { return len(e.liftoffCommits("", "")) }, time.Second, 100*time.Millisecond).Should(BeZero())
			rel := e.get(name)
			g.Expect(rel.Status.Phase).NotTo(Equal(releasev1.PhaseReleased))
			raw := rel.Status.Conditions
			for _, c := range raw {
				g.Expect(c.Message).NotTo(ContainSubstring(token))
			}
			g.Expect(eventMessages(e)).NotTo(ContainSubstring(token))
		})
	}
}

func TestMissingPipelineThenCreatedProceeds(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.release("r", "1.4.2")
	g.Eventually(e.condition("r", releasev1.ConditionStalled), timeout, interval).Should(HavePrefix("True/PipelineNotFound"))
	e.pipeline()
	g.Eventually(e.phase("r"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(e.condition("r", releasev1.ConditionStalled)()).To(BeEmpty())
}
