package playground

import (
	"strings"
	"time"

	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// Repositories of the playground.
const (
	AppRepo    = "acme/checkout"
	GitOpsRepo = "acme/gitops"
	// ImageRepo is the sample's image in the playground's OCI registry.
	ImageRepo = "acme/checkout"
	// PaymentsRepo is the second service, which checkout requires.
	PaymentsRepo = "acme/payments"
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
// dev, staging, prod and prod-us's two clusters at 1.4.1.
func Seed(sim *githubsim.Server) error {
	if err := sim.CreateRepo(AppRepo, "main"); err != nil {
		return err
	}
	sha, err := tagged(sim, AppRepo, "1.4.2", map[string]string{
		"main.go":   "package main\n\nfunc main() {}\n",
		"README.md": "# checkout\n",
	})
	if err != nil {
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
	bad, err := tagged(sim, AppRepo, BadVersion, map[string]string{"main.go": "package main\n\n// 1.4.3: a change that breaks checkout\nfunc main() {}\n"})
	if err != nil {
		return err
	}
	// QA passes: the bug only shows in production.
	sim.SetCheckRun(AppRepo, bad, "qa", "completed", "success")
	sim.SetCheckRun(AppRepo, bad, "e2e", "completed", "success")
	sim.SetStatus(AppRepo, bad, "ci/build", "success")

	next, err := tagged(sim, AppRepo, "1.5.0", map[string]string{"main.go": "package main\n\n// 1.5.0\nfunc main() {}\n"})
	if err != nil {
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
	files["envs/prod-us-east/kustomization.yaml"] = kustomization("prod-us-east", "1.4.1")
	files["envs/prod-us-west/kustomization.yaml"] = kustomization("prod-us-west", "1.4.1")
	if _, err = sim.CommitFiles(GitOpsRepo, "main", files, "Environments of the checkout service"); err != nil {
		return err
	}
	return seedPayments(sim)
}

// seedPayments adds the payments service, which checkout requires: its
// repository with release 1.8.0 (green QA) and its environments at 1.7.2.
func seedPayments(sim *githubsim.Server) error {
	if err := sim.CreateRepo(PaymentsRepo, "main"); err != nil {
		return err
	}
	sha, err := tagged(sim, PaymentsRepo, "1.8.0", map[string]string{"main.go": "package main\n\nfunc main() {}\n"})
	if err != nil {
		return err
	}
	sim.SetCheckRun(PaymentsRepo, sha, "qa", "completed", "success")
	files := map[string]string{}
	for _, env := range []string{"dev", "staging", "prod"} {
		files["envs/payments/"+env+"/kustomization.yaml"] = strings.ReplaceAll(kustomization(env, "1.7.2"), "checkout", "payments")
	}
	_, err = sim.CommitFiles(GitOpsRepo, "main", files, "Environments of the payments service")
	return err
}

// tagged commits files to repo's main branch as release version and tags
// the commit v+version.
func tagged(sim *githubsim.Server, repo, version string, files map[string]string) (string, error) {
	sha, err := sim.CommitFiles(repo, "main", files, "Release "+version)
	if err != nil {
		return "", err
	}
	return sha, sim.CreateTag(repo, "v"+version, sha)
}
