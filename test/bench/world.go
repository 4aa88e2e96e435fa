package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/githubsim"
	"github.com/liftoff-dev/liftoff/internal/promotion"
)

const (
	token         = "bench-token"
	webhookSecret = "bench-webhook-secret"
)

// world is what every phase shares: the control plane, the GitHub
// simulator, the manager binary and a scratch directory.
type world struct {
	env        *envtest.Environment
	cfg        *rest.Config
	scheme     *runtime.Scheme
	k8s        client.Client
	sim        *githubsim.Server
	dir        string
	kubeconfig string
	manager    string // the manager binary
	secretFile string
	// deployments is the pipelines' spec.github.deployments.
	deployments releasev1.DeploymentsMode
	// hookPorts are the receivers' ports, one per controller slot, kept
	// across restarts so each is subscribed to the simulator once.
	hookPorts map[int]int
	commits   commitLog

	mu      sync.Mutex
	running []*controller
	failed  bool
}

func startWorld(ctx context.Context, o options) (*world, error) {
	if _, err := os.Stat(filepath.Join("config", "crd", "bases")); err != nil {
		return nil, fmt.Errorf("run from the repository root (`make bench`): %w", err)
	}
	dir, err := os.MkdirTemp("", "liftoff-bench-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, hookPorts: map[int]int{}, commits: commitLog{at: map[string]time.Time{}},
		deployments: releasev1.DeploymentsMode(o.deployments)}
	ok := false
	defer func() {
		if !ok {
			w.stop()
		}
	}()
	progress("scratch directory (kubeconfig, controller logs): %s", dir)

	progress("building the controller")
	w.manager = filepath.Join(dir, "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", w.manager, "./cmd/manager")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building ./cmd/manager: %w", err)
	}
	w.secretFile = filepath.Join(dir, "webhook-secret")
	if err := os.WriteFile(w.secretFile, []byte(webhookSecret+"\n"), 0o600); err != nil {
		return nil, err
	}

	w.scheme = runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(w.scheme); err != nil {
		return nil, err
	}
	if err := releasev1.AddToScheme(w.scheme); err != nil {
		return nil, err
	}
	progress("starting kube-apiserver and etcd")
	w.env = &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	if w.cfg, err = w.env.Start(); err != nil {
		return nil, fmt.Errorf("starting envtest (is KUBEBUILDER_ASSETS set? `make bench` sets it): %w", err)
	}
	// The benchmark's own client must not be the bottleneck.
	w.cfg.QPS, w.cfg.Burst = -1, 0
	if w.k8s, err = client.New(w.cfg, client.Options{Scheme: w.scheme}); err != nil {
		return nil, err
	}
	admin, err := w.env.AddUser(envtest.User{Name: "liftoff-bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	w.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(w.kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}

	w.sim = githubsim.New(githubsim.WithLatency(o.latency), githubsim.WithRateLimit(1<<40), githubsim.WithBranchHook(w.commits.record))
	w.sim.AddToken(token)
	ok = true
	return w, nil
}

// stop kills the controllers still running, stops the control plane and the
// simulator, and removes the scratch directory unless something failed.
func (w *world) stop() {
	w.mu.Lock()
	running := append([]*controller(nil), w.running...)
	w.mu.Unlock()
	for _, c := range running {
		c.kill()
	}
	if w.sim != nil {
		w.sim.Close()
	}
	if w.env != nil && w.cfg != nil {
		if err := w.env.Stop(); err != nil {
			progress("stopping envtest: %v", err)
		}
	}
	if w.failed {
		progress("controller logs kept in %s", w.dir)
		return
	}
	_ = os.RemoveAll(w.dir)
}

// namespace creates a namespace with the GitHub token Secret the pipelines name.
func (w *world) namespace(ctx context.Context, ns string) error {
	if err := w.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	return w.k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github", Namespace: ns},
		Data:       map[string][]byte{"token": []byte(token)},
	})
}

// clean deletes a phase's Releases and pipelines, so the next controller
// neither caches nor reconciles them. There is no namespace controller in
// envtest to do it by deleting the namespace.
func (w *world) clean(ctx context.Context, ns string) error {
	if err := w.k8s.DeleteAllOf(ctx, &releasev1.Release{}, client.InNamespace(ns)); err != nil {
		return err
	}
	return w.k8s.DeleteAllOf(ctx, &releasev1.ReleasePipeline{}, client.InNamespace(ns))
}

// dropLeases deletes the leader election leases, which a stopped controller
// does not release: the next one leads at once instead of after the lease
// duration.
func (w *world) dropLeases(ctx context.Context) error {
	return w.k8s.DeleteAllOf(ctx, &coordinationv1.Lease{}, client.InNamespace("default"))
}

// commitLog records when each promotion commit landed, from the
// simulator's branch hook and the commits' trailers.
type commitLog struct {
	mu sync.Mutex
	at map[string]time.Time // "namespace/release stage"
}

func (l *commitLog) record(u githubsim.BranchUpdate) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// A coalesced commit holds several promotions: a trailer group each.
	for _, t := range promotion.TrailerGroups(u.Message) {
		rel, stage := t[promotion.TrailerRelease], t[promotion.TrailerStage]
		if rel == "" || stage == "" || t[promotion.TrailerAction] != "" {
			continue
		}
		if _, ok := l.at[rel+" "+stage]; !ok {
			l.at[rel+" "+stage] = now
		}
	}
}

func (l *commitLog) get(release, stage string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.at[release+" "+stage]
	return t, ok
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// first error; it stops handing out work once one fails.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= n || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
