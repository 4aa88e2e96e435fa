package e2e

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// The leader dies between its GitOps commit and the status write that
// records it: the standby takes the lease and finishes the promotion within
// one lease duration plus one resync, with no second commit and no stage
// left locked.
func TestFailoverBetweenCommitAndStatus(t *testing.T) {
	g := NewWithT(t)
	const (
		gitops  = "acme/gitops"
		release = "checkout-1-4-2"
		stage   = "prod"
	)
	var (
		leader   atomic.Pointer[replica]
		killOnce sync.Once
		killedAt time.Time
		killed   = make(chan struct{})
	)
	w := newWorld(t)
	hook := func(u githubsim.BranchUpdate) {
		if u.Repo != gitops || !isPromotion(u.Message, w.ns+"/"+release, stage) {
			return
		}
		// The commit is on the branch; the leader is still waiting for the
		// answer that would tell it so. It never gets it.
		killOnce.Do(func() {
			killedAt = time.Now()
			leader.Load().kill()
			close(killed)
		})
	}
	w.onBranch.Store(&hook)
	w.gitopsRepo(gitops, "dev", "prod")
	lease := controllers.Shard("").LeaderElectionID()

	a := startReplica(t, "a", w.ns)
	leader.Store(a)
	g.Eventually(leaseHolder(w.ns, lease), timeout, interval).ShouldNot(BeEmpty(), "replica a takes the lease")
	holderA := leaseHolder(w.ns, lease)()
	b := startReplica(t, "b", w.ns)

	w.pipeline("checkout", gitops, "")
	w.release(release, "checkout", "")

	g.Eventually(killed, timeout, interval).Should(BeClosed(), "the promotion commit into %s lands", stage)
	g.Expect(a.dead()).To(BeTrue())
	bound := leaseDuration + pollInterval
	g.Eventually(w.phase(release), time.Until(killedAt.Add(bound)), interval).Should(Equal(releasev1.PhaseReleased),
		"released within one lease duration plus one resync (%s) of the kill", bound)
	t.Logf("released %s after the leader was killed (bound %s)", time.Since(killedAt).Round(10*time.Millisecond), bound)

	// B finished, not a restarted A: A is gone, the lease changed hands.
	g.Expect(a.dead()).To(BeTrue())
	g.Expect(b.dead()).To(BeFalse())
	holderB := leaseHolder(w.ns, lease)()
	g.Expect(holderB).NotTo(BeEmpty())
	g.Expect(holderB).NotTo(Equal(holderA))
	g.Expect(b.logged("Successfully acquired lease", "lock", w.ns+"/"+lease)).To(BeTrue(), "replica b logs that it took the lease")

	// Exactly one commit per promotion, found by its trailers; the file holds the version.
	rel := w.get(release)
	pipe := w.getPipeline("checkout")
	for _, st := range []string{"dev", "prod"} {
		commits := w.promotionCommits(gitops, release, st)
		g.Expect(commits).To(HaveLen(1), "one promotion commit into %s", st)
		file, _ := w.sim.FileAt(gitops, "main", "envs/"+st+"/kustomization.yaml")
		g.Expect(file).To(Equal(kustomization("1.4.2")), "file of %s", st)

		ss := rel.Status.StageStatus(st)
		g.Expect(ss).NotTo(BeNil())
		g.Expect(ss.Phase).To(Equal(releasev1.StagePromoted))
		g.Expect(ss.Promotion).NotTo(BeNil())
		g.Expect(ss.Promotion.Commit).To(Equal(commits[0].SHA), "the Release records the one commit into %s", st)

		ps := pipe.Status.StageStatus(st)
		g.Expect(ps).NotTo(BeNil())
		g.Expect(ps.InFlight).To(BeNil(), "the lock on %s is released", st)
		g.Expect(ps.Version).To(Equal("1.4.2"))
		g.Expect(ps.Commit).To(Equal(commits[0].SHA))
		g.Expect(ps.History).To(HaveLen(1), "one promotion into %s in the pipeline's history", st)
	}
	g.Expect(w.condition(release, releasev1.ConditionReady)()).To(HavePrefix("True/"))
	g.Expect(w.condition(release, releasev1.ConditionStalled)()).To(BeEmpty())

	// One GitHub deployment per environment, of the release commit, ending in success.
	byEnv := map[string][]string{}
	for _, d := range w.sim.Deployments(appRepo) {
		var states []string
		for _, s := range d.Statuses {
			states = append(states, s.State)
		}
		byEnv[d.Environment] = append(byEnv[d.Environment], strings.Join(states, ">"))
		g.Expect(d.SHA).To(Equal(w.appSHA))
		g.Expect(d.Statuses).NotTo(BeEmpty())
		g.Expect(d.Statuses[len(d.Statuses)-1].State).To(Equal("success"), "deployment %d to %s: %v", d.ID, d.Environment, states)
	}
	t.Logf("deployments by environment (status history): %v", byEnv)
	g.Expect(byEnv).To(HaveLen(2))
	// Recorded once the version landed, each says success once: never back
	// to in progress, not twice after the takeover.
	g.Expect(byEnv["dev"]).To(Equal([]string{"success"}), "one deployment to dev")
	g.Expect(byEnv["prod"]).To(Equal([]string{"success"}), "one deployment to prod")
	g.Expect(rel.Status.StageStatus("prod").Promotion.DeploymentID).NotTo(BeZero())
}
