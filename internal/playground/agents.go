package playground

import (
	"context"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/agents/agenttest"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
)

// DefaultRolloutDelay is how long the playground's agents take to roll a
// changed stage out (Progressing, then Healthy).
const DefaultRolloutDelay = 2 * time.Second

// stageAgent is the GitOps agent that deploys one stage of the sample
// pipeline (config/samples: each stage's deployment names it).
type stageAgent struct {
	stage string
	// kind is Application (Argo CD) or Kustomization (Flux).
	kind string
	key  types.NamespacedName
	// files of the stage in the GitOps repository: a commit that changes
	// one of them is rolled out, any other is applied at once.
	files []string
}

// sampleAgents: Argo CD deploys dev, staging and prod-us's two targets
// (prod-us-east, prod-us-west: stage names their directory envs/<stage>),
// Flux deploys prod.
var sampleAgents = []stageAgent{
	{stage: "dev", kind: agents.ApplicationKind.Kind, key: types.NamespacedName{Namespace: "argocd", Name: "checkout-dev"},
		files: []string{"envs/dev/kustomization.yaml"}},
	{stage: "staging", kind: agents.ApplicationKind.Kind, key: types.NamespacedName{Namespace: "argocd", Name: "checkout-staging"},
		files: []string{"envs/staging/kustomization.yaml", "envs/staging/values.yaml"}},
	{stage: "prod", kind: agents.KustomizationKind.Kind, key: types.NamespacedName{Namespace: "flux-system", Name: "checkout-prod"},
		files: []string{"envs/prod/kustomization.yaml"}},
	{stage: "prod-us-east", kind: agents.ApplicationKind.Kind, key: types.NamespacedName{Namespace: "argocd", Name: "checkout-prod-us-east"},
		files: []string{"envs/prod-us-east/kustomization.yaml"}},
	{stage: "prod-us-west", kind: agents.ApplicationKind.Kind, key: types.NamespacedName{Namespace: "argocd", Name: "checkout-prod-us-west"},
		files: []string{"envs/prod-us-west/kustomization.yaml"}},
}

// deployer plays Argo CD and Flux for the sample pipeline: each stage's
// agent follows the GitOps branch, and rolls a commit that changes its
// stage's files out as the agents report it (Progressing, then after delay
// Healthy or Ready); a commit that does not is applied at once.
type deployer struct {
	sim   *githubsim.Server
	agent *agenttest.Agent
	delay time.Duration
	// deployed is told each commit a stage's agent finished applying.
	deployed func(stage, commit string)
	wg       sync.WaitGroup
}

// install creates the agents' namespaces and objects, applied at the
// branch's head.
func (d *deployer) install(ctx context.Context, c client.Client) error {
	for _, ns := range []string{"argocd", "flux-system"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	head, _ := d.sim.BranchHead(GitOpsRepo, "main")
	for _, a := range sampleAgents {
		var err error
		if a.kind == agents.ApplicationKind.Kind {
			err = d.agent.CreateApplication(ctx, a.key, map[string]string{"app": "checkout"}, "https://github.com/"+GitOpsRepo, "main", "envs/"+a.stage)
		} else {
			err = d.agent.CreateKustomization(ctx, a.key, "gitops", "./envs/"+a.stage)
		}
		if err != nil {
			return err
		}
		if err := d.agent.Rollout(ctx, a.kind, a.key, "main", head, 0); err != nil {
			return err
		}
		d.deployed(a.stage, head)
	}
	return nil
}

// run follows the branch for every stage until ctx ends; wait waits for it.
func (d *deployer) run(ctx context.Context) {
	for _, a := range sampleAgents {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.follow(ctx, a)
		}()
	}
}

func (d *deployer) wait() { d.wg.Wait() }

func (d *deployer) follow(ctx context.Context, a stageAgent) {
	last, _ := d.sim.BranchHead(GitOpsRepo, "main")
	content := d.content(a, last)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		head, ok := d.sim.BranchHead(GitOpsRepo, "main")
		if !ok || head == last {
			continue
		}
		delay := time.Duration(0)
		if c := d.content(a, head); c != content {
			delay, content = d.delay, c
		}
		if err := d.agent.Rollout(ctx, a.kind, a.key, "main", head, delay); err != nil {
			if ctx.Err() == nil {
				ctrl.Log.Error(err, "Playing the GitOps agent", "stage", a.stage)
			}
			continue
		}
		last = head
		d.deployed(a.stage, head)
	}
}

// content is the stage's files at commit.
func (d *deployer) content(a stageAgent, commit string) string {
	var b strings.Builder
	for _, f := range a.files {
		c, _ := d.sim.FileAt(GitOpsRepo, commit, f)
		b.WriteString(c)
	}
	return b.String()
}
