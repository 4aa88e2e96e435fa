package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

const hookSecret = "e2e-webhook-secret"

// webhookReplica starts a replica serving /hooks/github on a port of its own
// and polling nothing for an hour: only deliveries move what waits on GitHub.
// It returns the replica and its receiver's URL.
func webhookReplica(t *testing.T, name, ns string) (*replica, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	r := startReplica(t, name, ns, "--http-bind-address="+addr, "--github-webhook-secret-file="+file, "--gate-poll-interval=1h")
	url := "http://" + addr + "/hooks/github"
	// The receiver serves once the replica's cache is synced.
	NewWithT(t).Eventually(func() int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}, timeout, interval).Should(Equal(http.StatusMethodNotAllowed), "replica %s's receiver answers", name)
	return r, url
}

// discoveringPipelines makes n pipelines that discover tags >=1.5.0 of the
// application repository, each promoting into a GitOps repository of its
// own, and returns the repositories by pipeline.
func (w *world) discoveringPipelines(n int) map[string]string {
	repos := map[string]string{}
	for i := range n {
		name, repo := fmt.Sprintf("app%d", i), fmt.Sprintf("acme/gitops-%d", i)
		w.gitopsRepo(repo, "dev", "prod")
		w.pipeline(name, repo, "", func(p *releasev1.ReleasePipeline) {
			p.Spec.Source.From = releasev1.DiscoverTags
			p.Spec.Source.VersionConstraint = ">=1.5.0"
			p.Spec.Source.Interval = &metav1.Duration{Duration: time.Hour}
			p.Spec.Source.ReleaseTemplate = &releasev1.ReleaseTemplate{
				Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}},
			}
		})
		repos[name] = repo
	}
	return repos
}

// discovered reports whether each pipeline checked its source once.
func (w *world) discovered(pipelines map[string]string) func() bool {
	return func() bool {
		for name := range pipelines {
			d := w.getPipeline(name).Status.Discovery
			if d == nil || d.LastChecked == nil {
				return false
			}
		}
		return true
	}
}

// tagRelease commits version 1.5.0 to the application repository and tags
// it (GitHub sends the create delivery); its QA has not run yet.
func (w *world) tagRelease(version string) string {
	w.t.Helper()
	g := NewWithT(w.t)
	sha, err := w.sim.CommitFiles(appRepo, "main", map[string]string{"VERSION": version + "\n"}, "Release "+version)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.sim.CreateTag(appRepo, "v"+version, sha)).To(Succeed())
	return sha
}

// accepted counts the deliveries of event to hook answered 202.
func (w *world) accepted(hook int64, event string) func() int {
	return func() int {
		n := 0
		for _, d := range w.sim.Deliveries() {
			if d.Done && d.Event == event && d.HookID == hook && d.StatusCode == 202 {
				n++
			}
		}
		return n
	}
}

// deliveryLog describes every delivery, for failure messages.
func (w *world) deliveryLog() string {
	var b strings.Builder
	for _, d := range w.sim.Deliveries() {
		fmt.Fprintf(&b, "\n  hook %d %s/%s done=%v %d %s %s", d.HookID, d.Event, d.Action, d.Done, d.StatusCode, strings.TrimSpace(d.Response), d.Error)
	}
	return b.String()
}

// finishedOnce checks that every pipeline's Release of version is Released
// with one promotion commit per stage.
func (w *world) finishedOnce(g Gomega, pipelines map[string]string, version string) {
	for name, repo := range pipelines {
		rel := name + "-" + dashed(version)
		g.Eventually(w.phase(rel), timeout, interval).Should(Equal(releasev1.PhaseReleased), rel)
		for _, st := range []string{"dev", "prod"} {
			g.Expect(w.promotionCommits(repo, rel, st)).To(HaveLen(1), "one commit of %s into %s", rel, st)
		}
	}
}

func dashed(v string) string { return strings.ReplaceAll(v, ".", "-") }

// trainWithStandby starts replica a, the leader once it says so, then b, the
// standby, whose receiver GitHub's webhook (create and check_run) points at;
// then three pipelines that discover 1.5.0 and later, checked once.
func trainWithStandby(t *testing.T) (w *world, a, b *replica, hook int64, pipes map[string]string) {
	g := NewWithT(t)
	w = newWorld(t)
	lease := controllers.Shard("").LeaderElectionID()
	a, _ = webhookReplica(t, "a", w.ns)
	g.Eventually(func() bool { return a.logged("Successfully acquired lease", "lock", w.ns+"/"+lease) }, timeout, interval).Should(BeTrue())
	b, standbyURL := webhookReplica(t, "b", w.ns)
	hook = w.sim.AddWebhook(standbyURL, []byte(hookSecret), "create", "check_run")
	pipes = w.discoveringPipelines(3)
	g.Eventually(w.discovered(pipes), timeout, interval).Should(BeTrue())
	return w, a, b, hook, pipes
}

// GitHub's deliveries reach the replica that is not the leader: it verifies
// them and stamps them on the pipelines and Releases they concern, and the
// leader acts on them. Nothing polls meanwhile (an hour's interval), so only
// the deliveries can move the train.
func TestDeliveriesToTheStandbyAreActedOn(t *testing.T) {
	g := NewWithT(t)
	w, _, _, hook, pipes := trainWithStandby(t)
	sha := w.tagRelease("1.5.0")
	g.Eventually(w.accepted(hook, "create"), timeout, interval).Should(Equal(1), w.deliveryLog)
	for name := range pipes {
		g.Eventually(func() bool { return w.exists(name + "-1-5-0") }, timeout, interval).Should(BeTrue(), "%s discovers 1.5.0 on the delivery", name)
		g.Eventually(w.gate(name+"-1-5-0", "dev", "checks"), timeout, interval).Should(HavePrefix("Pending/"), "%s waits on QA", name)
	}
	w.sim.SetCheckRun(appRepo, sha, "qa", "completed", "success")
	g.Eventually(w.accepted(hook, "check_run"), timeout, interval).Should(Equal(1), w.deliveryLog)
	w.finishedOnce(g, pipes, "1.5.0")
	g.Expect(w.get("app0-1-5-0").Annotations).To(HaveKey(controllers.AnnotationGitHubDelivery), "the delivery is recorded on the Release")
}

// The leader is killed while deliveries arrive: what the standby accepted
// meanwhile is in the API server, and the standby, once it leads, finishes
// every Release of the train exactly once.
func TestDeliveriesDuringFailoverAreNotLost(t *testing.T) {
	g := NewWithT(t)
	w, a, b, hook, pipes := trainWithStandby(t)
	lease := controllers.Shard("").LeaderElectionID()
	sha := w.tagRelease("1.5.0")
	for name := range pipes {
		g.Eventually(func() bool { return w.exists(name + "-1-5-0") }, timeout, interval).Should(BeTrue())
	}

	// The leader dies; QA turns green and a second version is tagged while
	// nobody leads.
	a.kill()
	w.sim.SetCheckRun(appRepo, sha, "qa", "completed", "success")
	next := w.tagRelease("1.5.1")
	g.Eventually(w.accepted(hook, "check_run"), timeout, interval).Should(Equal(1), w.deliveryLog)
	g.Eventually(w.accepted(hook, "create"), timeout, interval).Should(Equal(2), w.deliveryLog)
	for name := range pipes {
		g.Expect(w.get(name+"-1-5-0").Annotations).To(HaveKey(controllers.AnnotationGitHubDelivery), "the QA delivery is recorded on %s", name)
	}
	g.Eventually(func() bool { return b.logged("Successfully acquired lease", "lock", w.ns+"/"+lease) }, timeout, interval).Should(BeTrue())

	w.finishedOnce(g, pipes, "1.5.0")
	for name := range pipes {
		g.Eventually(func() bool { return w.exists(name + "-1-5-1") }, timeout, interval).Should(BeTrue(), "%s discovers 1.5.1", name)
	}
	w.sim.SetCheckRun(appRepo, next, "qa", "completed", "success")
	w.finishedOnce(g, pipes, "1.5.1")
	var list simulatorDeliveries = w.sim.Deliveries()
	g.Expect(list.refused()).To(BeEmpty(), "no delivery to the standby was refused")
}

// gate returns "Status/Reason: message" of a gate of a Release's stage.
func (w *world) gate(name, stage, gate string) func() string {
	return func() string {
		if ss := w.get(name).Status.StageStatus(stage); ss != nil {
			for _, g := range ss.Gates {
				if g.Name == gate {
					return fmt.Sprintf("%s/%s: %s", g.Status, g.Reason, g.Message)
				}
			}
		}
		return ""
	}
}

type simulatorDeliveries []githubsim.Delivery

// refused lists the deliveries answered with anything but 2xx.
func (ds simulatorDeliveries) refused() []string {
	var out []string
	for _, d := range ds {
		if d.Done && (d.StatusCode < 200 || d.StatusCode > 299) {
			out = append(out, fmt.Sprintf("%s %s: %d", d.Event, d.ID, d.StatusCode))
		}
	}
	return out
}
