package playground

import (
	"github.com/liftoff-dev/liftoff/internal/github/simulator"
	"time"
)

// Repositories of the playground.
const (
	AppRepo    = "acme/checkout"
	GitOpsRepo = "acme/gitops"
	// ImageRepo is the sample's image in the playground's OCI registry.
	ImageRepo = "acme/checkout"
)

// SeededVersions are the versions Seed tags; the registry holds an image of each.
var SeededVersions = []string{"1.4.2", BadVersion, "1.5.0"}

func kustomization(env, tag string) string {
	return `# ` + env + ` environment of the checkout service.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: checkout-` + env + `
resources:
  - ../../base

images:
  - name: ghcr.io/acme/checkout
    newTag: "` + tag + `" # promoted by Liftoff
`
}

// Seed fills the simulator: the application repository with release 1.4.2
// (green QA) and 1.5.0 (QA still running), and the GitOps repository with
// dev, staging, prod and prod-us at 1.4.1.
func Seed(sim *simulator.Server) error {
	if err := sim.CreateRepo(AppRepo, "main"); err != nil {
		return err
	}
	sha, err := sim.CommitFiles(AppRepo, "main", map[string]string{
		"main.go":   "package main\n\nfunc main() {}\n",
		"README.md": "# checkout\n",
	}, "Release 1.4.2")
	if err != nil {
		return err
	}
	if err := sim.CreateTag(AppRepo, "v1.4.2", sha); err != nil {
		return err
	}
	sim.SetCheckRun(AppRepo, sha, "qa", "completed", "success")
	sim.SetCheckRun(AppRepo, sha, "e2e", "completed", "success")
	sim.SetStatus(AppRepo, sha, "ci/build", "success")

	// Two pull requests merged for 1.4.3: its release notes (`kubectl liftoff
	// notes`), and the first suspects once it fails in prod.
	for _, pr := range []struct{ branch, title, author string }{
		{"retry-timeouts", "Retry card payments once on a gateway timeout", "alice"},
		{"exchange-cache", "Cache exchange rates for a minute", "bob"},
	} {
		if _, err := sim.CommitFiles(AppRepo, pr.branch, map[string]string{pr.branch + ".go": "package main\n"}, pr.title); err != nil {
			return err
		}
		n, err := sim.CreatePullRequest(AppRepo, pr.branch, "main", pr.title, pr.author)
		if err != nil {
			return err
		}
		if _, err := sim.MergePull(AppRepo, n); err != nil {
			return err
		}
	}
	bad, err := sim.CommitFiles(AppRepo, "main", map[string]string{"main.go": "package main\n\n// 1.4.3: a change that breaks checkout\nfunc main() {}\n"}, "Release "+BadVersion)
	if err != nil {
		return err
	}
	if err := sim.CreateTag(AppRepo, "v"+BadVersion, bad); err != nil {
		return err
	}
	// QA passes: the bug only shows in production.
	sim.SetCheckRun(AppRepo, bad, "qa", "completed", "success")
	sim.SetCheckRun(AppRepo, bad, "e2e", "completed", "success")
	sim.SetStatus(AppRepo, bad, "ci/build", "success")

	next, err := sim.CommitFiles(AppRepo, "main", map[string]string{"main.go": "package main\n\n// 1.5.0\nfunc main() {}\n"}, "Release 1.5.0")
	if err != nil {
		return err
	}
	if err := sim.CreateTag(AppRepo, "v1.5.0", next); err != nil {
		return err
	}
	sim.SetCheckRun(AppRepo, next, "qa", "in_progress", "")

	// The 1.5 milestone: its FAQ issue is #3 (after the two pull requests; the 1.5 launch checklist
	// names it), two issues closed, one release blocker open.
	now := time.Now()
	ms := sim.CreateMilestone(AppRepo, "1.5", now.Add(21*24*time.Hour))
	sim.CreateIssue(AppRepo, "Write the Checkout 1.5 FAQ", []string{"docs"}, ms)
	sim.CloseIssue(AppRepo, sim.CreateIssue(AppRepo, "New payment flow", nil, ms), now.Add(-5*24*time.Hour))
	sim.CloseIssue(AppRepo, sim.CreateIssue(AppRepo, "Receipt redesign", nil, ms), now.Add(-12*24*time.Hour))
	sim.CreateIssue(AppRepo, "3-D Secure fails on Safari", []string{"release-blocker"}, ms)

	if err := sim.CreateRepo(GitOpsRepo, "main"); err != nil {
		return err
	}
	files := map[string]string{
		"base/kustomization.yaml":     "resources:\n  - deployment.yaml\n",
		"envs/staging/values.yaml":    "# Helm-style values read by the staging smoke tests.\napp:\n  name: checkout\n  version: 1.4.1 # promoted by Liftoff\n",
		"envs/dev/kustomization.yaml": kustomization("dev", "1.4.1"),
	}
	files["envs/staging/kustomization.yaml"] = kustomization("staging", "1.4.1")
	files["envs/prod/kustomization.yaml"] = kustomization("prod", "1.4.1")
	files["envs/prod-us/kustomization.yaml"] = kustomization("prod-us", "1.4.1")
	_, err = sim.CommitFiles(GitOpsRepo, "main", files, "Environments of the checkout service")
	return err
}
