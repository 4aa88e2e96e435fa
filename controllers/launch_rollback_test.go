package controllers_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// verifiedLaunch starts a real Prometheus scraping one target per service
// (each serving its version with a 1% error ratio), and gives each service
// of versions a pipeline through dev, staging and prod (prod verified by
// the error ratio of the new version, until the test ends) and a Release,
// members of launch spring with onFailure policy. It returns the targets.
func (e *testEnv) verifiedLaunch(policy releasev1.LaunchFailurePolicy, versions map[string]string, names ...string) map[string]*promtest.Target {
	e.t.Helper()
	targets := map[string]*promtest.Target{}
	var addrs []string
	for _, n := range names {
		tg := promtest.NewTarget(versions[n])
		e.t.Cleanup(tg.Close)
		tg.Set(versions[n], 0.01)
		targets[n] = tg
		addrs = append(addrs, tg.Addr())
	}
	prom := promtest.Start(e.t, 100*time.Millisecond, addrs...)
	prom.WaitForSeries(e.t, "demo_up")
	NewWithT(e.t).Expect(k8sCreate(&releasev1.Launch{ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: e.ns},
		Spec: releasev1.LaunchSpec{Members: names, OnFailure: policy}})).To(Succeed())
	for _, n := range names {
		e.launchServiceWith(n, versions[n], func(stage string, s *releasev1.Stage) {
			if stage != "prod" {
				return
			}
			s.Verify = errorRatioVerify(1000) // until the test ends
		}, func(p *releasev1.ReleasePipeline) { p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: prom.URL} })
	}
	return targets
}

// prodFile is what service's prod file holds.
func (e *testEnv) prodFile(service string) string {
	path := "envs/" + service + "/prod/kustomization.yaml"
	if service == "checkout" {
		path = "envs/prod/kustomization.yaml"
	}
	c, _ := e.sim.FileAt(gitopsRepo, "main", path)
	return c
}

// groupRollbacks are Liftoff's rollback commits on the GitOps branch.
func (e *testEnv) groupRollbacks() []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range e.liftoffCommits("", "prod") {
		if strings.Contains(c.Message, "Liftoff-Action: rollback") {
			out = append(out, c)
		}
	}
	return out
}

// Three services of one GitOps repository ship as one launch; all three
// are verified in prod by a real Prometheus when web's error ratio goes
// up. Web fails its analysis and, with onFailure Group, the launch writes
// the three back in one commit: each member's prod file holds 1.4.1 again,
// each member records that commit, and the launch says who failed and
// what went back with it. dev and staging keep the new versions.
func TestALaunchRollsBackAsAGroupInOneCommit(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	members := []string{"checkout", "web", "worker"}
	versions := map[string]string{"checkout": "1.4.2", "web": "2.0.0", "worker": "3.0.0"}
	targets := e.verifiedLaunch(releasev1.FailGroup, versions, members...)
	for _, n := range members {
		g.Eventually(e.stagePhase(n, "prod"), timeout, interval).Should(Equal(releasev1.StageVerifying), n)
	}
	g.Expect(e.groupRollbacks()).To(BeEmpty())

	targets["web"].Set("2.0.0", 0.30)
	for _, n := range members {
		g.Eventually(e.stagePhase(n, "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack), n)
		g.Expect(e.phase(n)()).To(Equal(releasev1.PhaseFailed), n)
	}
	g.Consistently(func() int { return len(e.groupRollbacks()) }, 2*time.Second, 100*time.Millisecond).Should(Equal(1), "one rollback commit for the group")
	back := e.groupRollbacks()[0]
	g.Expect(back.Message).To(HavePrefix("Roll back 3 promotions in prod"))
	for _, n := range members {
		g.Expect(e.prodFile(n)).To(ContainSubstring(`newTag: "1.4.1"`), n)
		g.Expect(e.promotionIn(back, n, "prod")).To(HaveKeyWithValue(promotion.TrailerAction, promotion.ActionRollback), n)
		rb := e.get(n).Status.StageStatus("prod").Rollback
		g.Expect(rb.Commit).To(Equal(back.SHA), n)
		g.Expect(rb.Version).To(Equal("1.4.1"), n)
		staging := e.get(n).Status.StageStatus("staging")
		g.Expect(staging.Phase).To(Equal(releasev1.StagePromoted), "%s keeps its version in staging", n)
	}
	web := e.get("web").Status.StageStatus("prod")
	g.Expect(web.Rollback.Launch).To(BeEmpty(), "web failed on its own")
	g.Expect(web.Message).To(And(ContainSubstring("successCondition result < 0.05 is false"), ContainSubstring("with checkout 1.4.2, worker 3.0.0 (launch spring)")))
	for _, n := range []string{"checkout", "worker"} {
		ss := e.get(n).Status.StageStatus("prod")
		g.Expect(ss.Rollback.Launch).To(Equal("spring"), n)
		g.Expect(ss.Message).To(HavePrefix("launch spring rolls back with web 2.0.0, which failed in prod (onFailure: Group); rolled back to 1.4.1"), n)
	}

	g.Eventually(func() releasev1.LaunchPhase { return e.launchStatus("spring")().Phase }, timeout, interval).Should(Equal(releasev1.LaunchFailed))
	g.Eventually(func() string { return e.launchStatus("spring")().Holder }, timeout, interval).Should(Equal(
		"web 2.0.0 failed in prod: the launch rolled back checkout 1.4.2, worker 3.0.0 with it (commit " + back.SHA[:7] + ") and halts (onFailure: Group)"))
	st := e.launchStatus("spring")()
	g.Expect(st.CurrentStage).To(Equal("prod"))
	g.Expect(st.Failure).NotTo(BeNil())
	g.Expect(st.Failure.Member).To(Equal("web"))
	g.Expect(st.Failure.Message).To(ContainSubstring("analysis failed"))
	g.Expect(st.Failure.RolledBack).To(Equal([]releasev1.LaunchRollback{
		{Name: "web", Version: "2.0.0", To: "1.4.1", Commit: back.SHA},
		{Name: "checkout", Version: "1.4.2", To: "1.4.1", Commit: back.SHA},
		{Name: "worker", Version: "3.0.0", To: "1.4.1", Commit: back.SHA},
	}))
}

// With onFailure Member, web's failure rolls web back alone; checkout goes
// on and is released, its version kept in prod.
func TestALaunchWithOnFailureMemberRollsBackTheFailedMemberOnly(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	versions := map[string]string{"checkout": "1.4.2", "web": "2.0.0"}
	targets := e.verifiedLaunch(releasev1.FailMember, versions, "checkout", "web")
	for _, n := range []string{"checkout", "web"} {
		g.Eventually(e.stagePhase(n, "prod"), timeout, interval).Should(Equal(releasev1.StageVerifying), n)
	}
	targets["web"].Set("2.0.0", 0.30)
	g.Eventually(e.stagePhase("web", "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack))
	g.Consistently(e.stagePhase("checkout", "prod"), 2*time.Second, 100*time.Millisecond).Should(Equal(releasev1.StageVerifying))
	back := e.groupRollbacks()
	g.Expect(back).To(HaveLen(1))
	g.Expect(e.promotionIn(back[0], "checkout", "prod")).To(BeNil(), "checkout is not written back")
	g.Expect(e.prodFile("checkout")).To(ContainSubstring(`newTag: "1.4.2"`))
	g.Expect(e.prodFile("web")).To(ContainSubstring(`newTag: "1.4.1"`))
	g.Expect(e.launchStatus("spring")().Failure).To(BeNil())
}

// crashAfterGroupRollback is a transport to GitHub that hangs once a
// commit of several rollbacks landed: the controller dies between the
// group's revert commit and any status write.
func crashAfterGroupRollback() (http.RoundTripper, chan struct{}) {
	return crashWhen(func(r *http.Request, body []byte) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql") && bytes.Contains(body, []byte("Roll back 3 promotions"))
	}, false)
}

// The controller dies right after the group's revert commit landed, before
// any member recorded it. The restarted controller finds that commit for
// each member by its trailers: one rollback commit in all, recorded by the
// three.
func TestALaunchRolledBackAcrossARestartWritesOneCommit(t *testing.T) {
	g := NewWithT(t)
	crashing, rolledBack := crashAfterGroupRollback()
	e := newEnv(t, withTransport(crashing))
	members := []string{"checkout", "web", "worker"}
	targets := e.verifiedLaunch(releasev1.FailGroup, map[string]string{"checkout": "1.4.2", "web": "2.0.0", "worker": "3.0.0"}, members...)
	for _, n := range members {
		g.Eventually(e.stagePhase(n, "prod"), timeout, interval).Should(Equal(releasev1.StageVerifying), n)
	}
	targets["web"].Set("2.0.0", 0.30)
	g.Eventually(rolledBack, timeout).Should(BeClosed())
	e.stopController()
	g.Expect(e.groupRollbacks()).To(HaveLen(1))
	for _, n := range members {
		g.Expect(e.stagePhase(n, "prod")()).To(Equal(releasev1.StageVerifying), "%s: the rollback was never recorded", n)
	}

	e.restart(nil)
	for _, n := range members {
		g.Eventually(e.stagePhase(n, "prod"), timeout, interval).Should(Equal(releasev1.StageRolledBack), n)
	}
	back := e.groupRollbacks()
	g.Expect(back).To(HaveLen(1), "the restarted controller found the group's commit")
	for _, n := range members {
		g.Expect(e.get(n).Status.StageStatus("prod").Rollback.Commit).To(Equal(back[0].SHA), n)
		g.Expect(e.prodFile(n)).To(ContainSubstring(`newTag: "1.4.1"`), n)
	}
}
