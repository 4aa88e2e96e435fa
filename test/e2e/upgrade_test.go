package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/prometheus/promtest"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

// upgradeFrom is the earlier commit of main the upgrade starts from: the
// first with the current API (v1alpha1 with the pipelines' live status).
const upgradeFrom = "8e174c384c6bdaa470c0fee969405ee65e38e2aa"

// An installation of upgradeFrom (its CRDs and its manager) has three
// Releases in flight: one waiting on QA, one verifying in prod, one rolled
// back. The manager is replaced by this build and the CRDs by this
// checkout's: the stored objects stay readable, and each Release finishes as
// it would have, with one commit per promotion (and the rolled-back one no
// further commit).
func TestUpgradeKeepsReleasesInFlight(t *testing.T) {
	g := NewWithT(t)
	if err := exec.Command("git", "-C", root, "cat-file", "-e", upgradeFrom+"^{commit}").Run(); err != nil {
		t.Skipf("the upgrade starts from commit %s of main, which this clone does not have (a shallow clone?): fetch the history (git fetch --unshallow) to run it", upgradeFrom)
	}
	oldBin, oldCRDs := buildCommit(t, upgradeFrom)
	replaceCRDs(t, oldCRDs)
	t.Cleanup(func() { replaceCRDs(t, currentCRDs(t)) })

	prom := promtest.Start(t, time.Second, "127.0.0.1:1")
	w := newWorld(t)
	verify := func(query string) func(*releasev1.ReleasePipeline) {
		return func(p *releasev1.ReleasePipeline) {
			p.Spec.Prometheus = &releasev1.PrometheusSpec{Address: prom.URL}
			p.Spec.Stages[1].OnFailure = releasev1.FailureRollback
			p.Spec.Stages[1].Verify = &releasev1.Verify{Analysis: releasev1.AnalysisSpec{
				Interval: &metav1.Duration{Duration: 2 * time.Second}, Count: 4,
				Metrics: []releasev1.AnalysisMetric{{Name: "error-ratio", Query: query, SuccessCondition: "result < 0.05"}},
			}}
		}
	}
	for name, mod := range map[string]func(*releasev1.ReleasePipeline){
		"qa": func(p *releasev1.ReleasePipeline) {
			p.Spec.Stages[0].Gates.Checks.Required = []string{"qa", "qa-late"}
		},
		"verifying":   verify("vector(0.01)"),
		"rolled-back": verify("vector(0.25)"),
	} {
		w.gitopsRepo("acme/gitops-"+name, "dev", "prod")
		w.pipeline(name, "acme/gitops-"+name, "", mod)
		w.release(name, name, "")
	}

	old := startBinary(t, oldBin, "old", w.ns)
	g.Eventually(w.gate("qa", "dev", "checks"), timeout, interval).Should(And(HavePrefix("Pending/"), ContainSubstring("qa-late")))
	g.Eventually(w.phase("rolled-back"), timeout, interval).Should(Equal(releasev1.PhaseFailed))
	g.Expect(w.get("rolled-back").Status.StageStatus("prod").Phase).To(Equal(releasev1.StageRolledBack))
	g.Eventually(w.phase("verifying"), timeout, interval).Should(Equal(releasev1.PhaseVerifying))

	// The upgrade: the old manager goes, this checkout's CRDs and manager come.
	old.kill()
	replaceCRDs(t, currentCRDs(t))
	for _, name := range []string{"qa", "verifying", "rolled-back"} {
		g.Expect(w.get(name).Spec.Pipeline).To(Equal(name), "Release %s stored by the old version reads back", name)
	}
	startReplica(t, "new", w.ns)
	g.Eventually(w.phase("verifying"), timeout, interval).Should(Equal(releasev1.PhaseReleased))
	g.Expect(w.phase("qa")()).NotTo(Equal(releasev1.PhaseReleased), "QA has not passed yet")
	w.sim.SetCheckRun(appRepo, w.appSHA, "qa-late", "completed", "success")
	g.Eventually(w.phase("qa"), timeout, interval).Should(Equal(releasev1.PhaseReleased))

	for _, name := range []string{"qa", "verifying", "rolled-back"} {
		for _, st := range []string{"dev", "prod"} {
			g.Expect(w.promotionCommits("acme/gitops-"+name, name, st)).To(HaveLen(1), "one commit of %s into %s", name, st)
		}
	}
	g.Expect(w.rollbackCommits("acme/gitops-rolled-back", "rolled-back")).To(HaveLen(1), "one rollback commit")
	file, _ := w.sim.FileAt("acme/gitops-rolled-back", "main", "envs/prod/kustomization.yaml")
	g.Expect(file).To(Equal(kustomization("1.4.1")), "prod is back on 1.4.1")
	g.Expect(w.phase("rolled-back")()).To(Equal(releasev1.PhaseFailed))
	g.Expect(w.get("rolled-back").Status.StageStatus("prod").Phase).To(Equal(releasev1.StageRolledBack))
}

// rollbackCommits lists the rollback commits of release in repo's main branch.
func (w *world) rollbackCommits(repo, release string) []string {
	var out []string
	for _, c := range w.sim.Commits(repo, "main") {
		tr := promotion.Trailers(c.Message)
		if tr[promotion.TrailerRelease] == w.ns+"/"+release && tr[promotion.TrailerAction] == promotion.ActionRollback {
			out = append(out, c.SHA)
		}
	}
	return out
}

// buildCommit extracts commit of this repository into a temporary
// directory (git archive: the clone is left alone), builds its manager and
// returns it with its CRDs.
func buildCommit(t *testing.T, commit string) (string, []*unstructured.Unstructured) {
	t.Helper()
	dir := t.TempDir()
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", commit)
	var tarball bytes.Buffer
	archive.Stdout, archive.Stderr = &tarball, os.Stderr
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v", commit, err)
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin, untar.Stderr = &tarball, os.Stderr
	if err := untar.Run(); err != nil {
		t.Fatalf("extracting %s: %v", commit, err)
	}
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	build.Dir, build.Stdout, build.Stderr = dir, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building the manager of %s: %v", commit, err)
	}
	return bin, crdsIn(t, filepath.Join(dir, "config", "crd", "bases"))
}

// crdsIn reads the CRDs of a config/crd/bases directory.
func crdsIn(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objects(t, string(b))...)
	}
	return out
}

// currentCRDs are this checkout's.
func currentCRDs(t *testing.T) []*unstructured.Unstructured {
	return crdsIn(t, filepath.Join(root, "config", "crd", "bases"))
}

// replaceCRDs writes each CRD whole, as an upgrade installs its version's
// (fields the other version had are gone).
func replaceCRDs(t *testing.T, crds []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, crd := range crds {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(crd.GroupVersionKind())
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(crd), cur); err != nil {
			t.Fatalf("reading CRD %s: %v", crd.GetName(), err)
		}
		crd = crd.DeepCopy()
		crd.SetResourceVersion(cur.GetResourceVersion())
		if err := k8s.Update(ctx, crd); err != nil {
			t.Fatalf("replacing CRD %s: %v", crd.GetName(), err)
		}
	}
}
