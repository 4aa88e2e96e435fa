package agents_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// A commit status on the GitOps commit says whether it is deployed; an
// agent that reports on a later commit Liftoff wrote counts too. Polling
// an unchanged status costs no rate limit.
func TestCommitStatusOnTheGitOpsCommit(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	sim := githubsim.New()
	defer sim.Close()
	g.Expect(sim.CreateRepo("acme/gitops", "main")).To(Succeed())
	ours, err := sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/prod/version": "1.4.2\n"}, "promote")
	g.Expect(err).NotTo(HaveOccurred())
	later, err := sim.CommitFiles("acme/gitops", "main", map[string]string{"envs/dev/version": "1.5.0\n"}, "promote dev")
	g.Expect(err).NotTo(HaveOccurred())
	gh, err := (&github.Factory{}).For(sim.URL(), "")
	g.Expect(err).NotTo(HaveOccurred())
	w := agents.NewWatcher(nil, nil) // a commit status needs no cluster
	spec := &releasev1.DeploymentSpec{CommitStatus: &releasev1.CommitStatusDeployment{Context: "kustomization/apps"}}
	req := agents.Request{Stage: "prod", Spec: spec, GitHub: gh, Commits: agents.Commits{Repository: "acme/gitops", Commit: ours}}
	observe := func() agents.Observation {
		o, err := w.Observe(ctx, req)
		g.Expect(err).NotTo(HaveOccurred())
		return o
	}

	g.Expect(observe()).To(And(state(releasev1.DeploymentPending), message(`Status "kustomization/apps" on acme/gitops@`+ours[:7]+" is not posted yet")))
	sim.SetStatus("acme/gitops", ours, "kustomization/apps", "pending")
	g.Expect(observe()).To(state(releasev1.DeploymentProgressing))
	sim.SetStatus("acme/gitops", ours, "kustomization/apps", "failure")
	o := observe()
	g.Expect(o).To(state(releasev1.DeploymentFailed))
	g.Expect(o.Failed()).To(BeTrue())

	// The agent applied a later commit Liftoff wrote and reports there.
	sim.SetStatus("acme/gitops", later, "kustomization/apps", "success")
	req.Commits.Later = []string{later}
	o = observe()
	g.Expect(o).To(And(state(releasev1.DeploymentDeployed), message(`Status "kustomization/apps" on acme/gitops@`+later[:7]+" is success")))
	g.Expect(o.Revision).To(Equal(later))

	sim.ResetStats()
	observe()
	g.Expect(sim.Requests().Counted).To(BeZero(), "an unchanged status is read with conditional requests")
}
