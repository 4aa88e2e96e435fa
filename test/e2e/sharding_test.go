package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
)

// Each controller serves its shard only: the default one the unlabelled
// objects, --shard=blue those labelled blue; a shard without a controller is
// served by nobody. Each shard elects its own leader.
func TestShards(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t)
	for _, repo := range []string{"acme/gitops", "acme/gitops-blue", "acme/gitops-found"} {
		w.gitopsRepo(repo, "dev", "prod")
	}
	w.pipeline("checkout", "acme/gitops", "")
	w.pipeline("checkout-blue", "acme/gitops-blue", "blue")
	// Discovery in the blue shard makes a Release of the newest tag, v1.4.2.
	w.pipeline("found", "acme/gitops-found", "blue", func(p *releasev1.ReleasePipeline) {
		p.Spec.Source.From = releasev1.DiscoverTags
		p.Spec.Source.Interval = &metav1.Duration{Duration: time.Hour}
		p.Spec.Source.ReleaseTemplate = &releasev1.ReleaseTemplate{
			Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}},
		}
	})
	const discovered = "found-1-4-2"
	w.release("plain", "checkout", "")
	w.release("blue", "checkout-blue", "blue")
	w.release("nobodys", "checkout", "nobody")
	// Unlabelled, so in the default shard, but its pipeline is blue.
	w.release("stray", "checkout-blue", "")

	// The default shard alone: it serves the unlabelled objects, and
	// nothing of the blue shard (no discovery either).
	startReplica(t, "default", w.ns)
	g.Eventually(w.phase("plain"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Eventually(w.condition("stray", releasev1.ConditionStalled), timeout, interval).Should(And(
		HavePrefix("True/"+releasev1.ReasonPipelineNotFound),
		ContainSubstring(`ReleasePipeline "checkout-blue" is in shard blue, this Release in shard default`),
		ContainSubstring("give the Release the pipeline's "+controllers.ShardLabel+" label")))
	g.Consistently(func() releasev1.ReleasePhase { return w.get("blue").Status.Phase }, time.Second, 100*time.Millisecond).Should(BeEmpty())
	g.Expect(w.exists(discovered)).To(BeFalse(), "the default shard does not discover for a blue pipeline")

	// The blue shard's controller serves the blue pipeline and Releases,
	// including the Release its discovery creates, which carries the label.
	startReplica(t, "blue", w.ns, "--shard=blue")
	g.Eventually(w.phase("blue"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Eventually(func() bool { return w.exists(discovered) }, timeout, interval).Should(BeTrue())
	g.Expect(w.get(discovered).Labels).To(HaveKeyWithValue(controllers.ShardLabel, "blue"))
	g.Eventually(w.phase(discovered), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	for repo, release := range map[string]string{"acme/gitops": "plain", "acme/gitops-blue": "blue", "acme/gitops-found": discovered} {
		for _, st := range []string{"dev", "prod"} {
			g.Expect(w.promotionCommits(repo, release, st)).To(HaveLen(1), "one commit of %s into %s", release, st)
		}
	}

	// Nobody serves shard nobody: its Release never gets a status.
	g.Consistently(func() releasev1.ReleaseStatus { return w.get("nobodys").Status }, time.Second, 100*time.Millisecond).Should(BeZero())
	g.Expect(w.condition("stray", releasev1.ConditionStalled)()).To(HavePrefix("True/"), "the stray Release still waits for its label")

	// Two leases, two leaders.
	def, blue := leaseHolder(w.ns, controllers.Shard("").LeaderElectionID())(), leaseHolder(w.ns, controllers.Shard("blue").LeaderElectionID())()
	g.Expect(def).NotTo(BeEmpty())
	g.Expect(blue).NotTo(BeEmpty())
	g.Expect(def).NotTo(Equal(blue))
}

// exists reports whether the Release exists.
func (w *world) exists(name string) bool {
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: name}, &releasev1.Release{})
	if err != nil && !apierrors.IsNotFound(err) {
		w.t.Fatalf("get release %s: %v", name, err)
	}
	return err == nil
}
