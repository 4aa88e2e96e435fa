package agents

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Watcher reads the GitOps agents' objects that pipelines reference. It
// watches nothing until a stage's deployment is first observed; then it
// starts one informer per agent kind and namespace (and cluster), only when
// the cluster serves the kind, so a cluster without Argo CD or Flux costs
// nothing and never keeps the manager from starting. Every change of a
// watched object wakes the Releases waiting on it (Source).
//
// Add it to the manager (it is a Runnable that runs on the leader).
type Watcher struct {
	// SyncTimeout bounds how long Observe waits for a new watch to fill
	// (5s when zero); Observe returns an error after it, to be retried.
	SyncTimeout time.Duration
	// WaiterTTL: a Release that has not observed its agent for this long
	// is no longer woken (30m when zero). The engine calls Forget when a
	// Release stops waiting; this is the backstop.
	WaiterTTL time.Duration

	config  *rest.Config
	secrets client.Reader
	now     func() time.Time

	started chan struct{}
	ctx     context.Context
	local   *cluster

	mu      sync.Mutex
	remotes map[string]*remote
	waiters map[waitKey]map[string]*waiterSet
	queues  []workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// NewWatcher reads agents with config (the manager's) and kubeconfig
// Secrets with secrets (an uncached reader: no Secret watch).
func NewWatcher(config *rest.Config, secrets client.Reader) *Watcher {
	return &Watcher{
		config: config, secrets: secrets, now: time.Now, started: make(chan struct{}),
		remotes: map[string]*remote{}, waiters: map[waitKey]map[string]*waiterSet{},
	}
}

// Start runs the watches until ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	local, err := newCluster(ctx, "", w.config, w.dispatch)
	if err != nil {
		return fmt.Errorf("agents: %w", err)
	}
	w.ctx, w.local = ctx, local
	close(w.started)
	<-ctx.Done()
	local.stop()
	w.mu.Lock()
	for _, r := range w.remotes {
		r.cluster.stop()
	}
	w.mu.Unlock()
	return nil
}

// NeedLeaderElection is true: only the leader waits on deployments.
func (w *Watcher) NeedLeaderElection() bool { return true }

// waitUntilStarted blocks until Start ran (or ctx ends).
func (w *Watcher) waitUntilStarted(ctx context.Context) error {
	select {
	case <-w.started:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agents: the watcher has not started: %w", ctx.Err())
	}
}

// Source wakes the Releases waiting on an agent object when it changes.
// Register it on the Release controller (WatchesRawSource).
func (w *Watcher) Source() source.Source {
	return source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.queues = append(w.queues, q)
		return nil
	})
}

// waitKey is an agent kind in a namespace of a cluster.
type waitKey struct {
	cluster string
	key     informerKey
}

// waiterSet is the Releases waiting on one object (by name) or on the
// objects a selector matches.
type waiterSet struct {
	name     string
	selector labels.Selector
	releases map[types.NamespacedName]time.Time
}

func (s *waiterSet) matches(obj *unstructured.Unstructured) bool {
	if s.selector != nil {
		return s.selector.Matches(labels.Set(obj.GetLabels()))
	}
	return obj.GetName() == s.name
}

// wait records that release waits on the object name (or the objects
// selector matches) of a kind in a namespace of a cluster.
func (w *Watcher) wait(release types.NamespacedName, at waitKey, name string, selector labels.Selector) {
	if release.Name == "" {
		return
	}
	id := "name:" + name
	if selector != nil {
		id = "selector:" + selector.String()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sets := w.waiters[at]
	if sets == nil {
		sets = map[string]*waiterSet{}
		w.waiters[at] = sets
	}
	s := sets[id]
	if s == nil {
		s = &waiterSet{name: name, selector: selector, releases: map[types.NamespacedName]time.Time{}}
		sets[id] = s
	}
	s.releases[release] = w.now()
}

// Forget stops waking release: it no longer waits on a deployment.
func (w *Watcher) Forget(release types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for at, sets := range w.waiters {
		for id, s := range sets {
			delete(s.releases, release)
			if len(s.releases) == 0 {
				delete(sets, id)
			}
		}
		if len(sets) == 0 {
			delete(w.waiters, at)
		}
	}
}

// dispatch wakes the Releases waiting on a changed object.
func (w *Watcher) dispatch(clusterName string, key informerKey, obj *unstructured.Unstructured) {
	ttl := w.WaiterTTL
	if ttl == 0 {
		ttl = 30 * time.Minute
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, s := range w.waiters[waitKey{cluster: clusterName, key: key}] {
		if !s.matches(obj) {
			continue
		}
		for rel, seen := range s.releases {
			if now.Sub(seen) > ttl {
				delete(s.releases, rel)
				continue
			}
			for _, q := range w.queues {
				q.Add(reconcile.Request{NamespacedName: rel})
			}
		}
		if len(s.releases) == 0 {
			delete(w.waiters[waitKey{cluster: clusterName, key: key}], id)
		}
	}
}
