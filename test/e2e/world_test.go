package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/controllers"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

const (
	token   = "ghp_e2e-token"
	appRepo = "acme/checkout"
	// timeout bounds the waits that no requirement bounds.
	timeout  = 30 * time.Second
	interval = 50 * time.Millisecond
)

var nsSeq atomic.Int64

// world is one test's namespace (which also holds the leases) and GitHub: an
// application repository with tag v1.4.2 and green QA.
type world struct {
	t      *testing.T
	ns     string
	sim    *githubsim.Server
	appSHA string
	// onBranch is called for every branch an API request moves, before
	// the answer is sent (see githubsim.WithBranchHook).
	onBranch atomic.Pointer[func(githubsim.BranchUpdate)]
}

func newWorld(t *testing.T) *world {
	t.Helper()
	g := NewWithT(t)
	w := &world{t: t, ns: fmt.Sprintf("e2e-%d-%s", nsSeq.Add(1), strings.ToLower(t.Name()))}
	w.sim = githubsim.New(githubsim.WithBranchHook(func(u githubsim.BranchUpdate) {
		if f := w.onBranch.Load(); f != nil {
			(*f)(u)
		}
	}))
	t.Cleanup(w.sim.Close)
	w.sim.AddToken(token)
	g.Expect(w.sim.CreateRepo(appRepo, "main")).To(Succeed())
	sha, err := w.sim.CommitFiles(appRepo, "main", map[string]string{"main.go": "package main\n"}, "Release 1.4.2")
	g.Expect(err).NotTo(HaveOccurred())
	w.appSHA = sha
	g.Expect(w.sim.CreateTag(appRepo, "v1.4.2", sha)).To(Succeed())
	w.sim.SetCheckRun(appRepo, sha, "qa", "completed", "success")

	ctx := context.Background()
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: w.ns},
		Data:       map[string][]byte{"token": []byte(token)},
	})).To(Succeed())
	// envtest has no namespace controller: delete what the controllers
	// serve, so the next test's controllers (the suite shares one API
	// server) find nothing of this one. Runs after the replicas are killed.
	t.Cleanup(func() {
		for _, o := range []client.Object{&releasev1.Release{}, &releasev1.ReleasePipeline{}} {
			if err := k8s.DeleteAllOf(ctx, o, client.InNamespace(w.ns)); err != nil {
				t.Errorf("cleaning up %s: %v", w.ns, err)
			}
		}
	})
	return w
}

// gitopsRepo creates a GitOps repository with envs/<stage>/kustomization.yaml
// at version 1.4.1 for each stage.
func (w *world) gitopsRepo(name string, stages ...string) {
	w.t.Helper()
	g := NewWithT(w.t)
	g.Expect(w.sim.CreateRepo(name, "main")).To(Succeed())
	files := map[string]string{}
	for _, st := range stages {
		files["envs/"+st+"/kustomization.yaml"] = kustomization("1.4.1")
	}
	_, err := w.sim.CommitFiles(name, "main", files, "Initial environments")
	g.Expect(err).NotTo(HaveOccurred())
}

func kustomization(tag string) string {
	return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: ghcr.io/acme/checkout
    newTag: "` + tag + `" # promoted by Liftoff
`
}

// pipeline creates a pipeline promoting by commit into each stage's file of
// repo, gated on the qa check run. shard, when set, labels it.
func (w *world) pipeline(name, repo, shard string, mods ...func(*releasev1.ReleasePipeline)) *releasev1.ReleasePipeline {
	w.t.Helper()
	p := &releasev1.ReleasePipeline{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, Labels: shardLabel(shard)},
		Spec: releasev1.ReleasePipelineSpec{
			GitHub: releasev1.GitHubSpec{APIURL: w.sim.URL() + "/", SecretRef: &releasev1.LocalObjectReference{Name: "github"}},
			Source: releasev1.SourceSpec{Repository: appRepo},
		},
	}
	for _, st := range []string{"dev", "prod"} {
		p.Spec.Stages = append(p.Spec.Stages, releasev1.Stage{
			Name:  st,
			Gates: &releasev1.Gates{Checks: &releasev1.ChecksGate{Required: []string{"qa"}}},
			Target: releasev1.Target{
				Repository: repo, Branch: "main", Strategy: releasev1.StrategyCommit,
				Files: []releasev1.TargetFile{{Path: "envs/" + st + "/kustomization.yaml", KustomizeImage: &releasev1.KustomizeImageUpdater{Name: "ghcr.io/acme/checkout"}}},
			},
		})
	}
	for _, m := range mods {
		m(p)
	}
	NewWithT(w.t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
	return p
}

// release creates a Release of version 1.4.2 through pipeline.
func (w *world) release(name, pipeline, shard string) {
	w.t.Helper()
	r := &releasev1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, Labels: shardLabel(shard)},
		Spec: releasev1.ReleaseSpec{Pipeline: pipeline, Version: "1.4.2",
			Artifacts: []releasev1.Artifact{{Name: "checkout", Image: "ghcr.io/acme/checkout"}}},
	}
	NewWithT(w.t).Expect(k8s.Create(context.Background(), r)).To(Succeed())
}

func shardLabel(shard string) map[string]string {
	if shard == "" {
		return nil
	}
	return map[string]string{controllers.ShardLabel: shard}
}

func (w *world) get(name string) *releasev1.Release {
	r := &releasev1.Release{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: name}, r); err != nil {
		w.t.Fatalf("get release %s: %v", name, err)
	}
	return r
}

func (w *world) getPipeline(name string) *releasev1.ReleasePipeline {
	p := &releasev1.ReleasePipeline{}
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: w.ns, Name: name}, p); err != nil {
		w.t.Fatalf("get pipeline %s: %v", name, err)
	}
	return p
}

func (w *world) phase(name string) func() releasev1.ReleasePhase {
	return func() releasev1.ReleasePhase { return w.get(name).Status.Phase }
}

// condition returns "Status/Reason: message" of a Release's condition.
func (w *world) condition(name, ctype string) func() string {
	return func() string {
		for _, c := range w.get(name).Status.Conditions {
			if c.Type == ctype {
				return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return ""
	}
}

// promotionCommits lists the commits of repo's main branch that promote
// release into stage, by their trailers, newest first.
func (w *world) promotionCommits(repo, release, stage string) []githubsim.Commit {
	var out []githubsim.Commit
	for _, c := range w.sim.Commits(repo, "main") {
		if isPromotion(c.Message, w.ns+"/"+release, stage) {
			out = append(out, c)
		}
	}
	return out
}

// isPromotion reports whether a commit message is the promotion (not a
// rollback) of release (namespace/name) into stage.
func isPromotion(message, release, stage string) bool {
	tr := promotion.Trailers(message)
	return tr[promotion.TrailerRelease] == release && tr[promotion.TrailerStage] == stage && tr[promotion.TrailerAction] == ""
}
