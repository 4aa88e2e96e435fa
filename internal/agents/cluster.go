package agents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// cluster is one API server the agents' objects are read from: the local
// one, or one named by a kubeconfig Secret. It keeps one informer per agent
// kind and namespace, started on first use and stopped with the cluster.
type cluster struct {
	// name is "" for the local cluster, else namespace/secret.
	name   string
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	ctx    context.Context
	cancel context.CancelFunc
	// onChange is called with every added, updated or deleted object.
	onChange func(cluster string, key informerKey, obj *unstructured.Unstructured)

	mu        sync.Mutex
	informers map[informerKey]*agentInformer
}

// informerKey is an agent kind in a namespace.
type informerKey struct {
	gvk       schema.GroupVersionKind
	namespace string
}

func newCluster(parent context.Context, name string, cfg *rest.Config, onChange func(string, informerKey, *unstructured.Unstructured)) (*cluster, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	// A lazy mapper: a kind installed after the first look is found later.
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	return &cluster{name: name, dyn: dyn, mapper: mapper, ctx: ctx, cancel: cancel, onChange: onChange, informers: map[informerKey]*agentInformer{}}, nil
}

func (c *cluster) stop() { c.cancel() }

// kindMissingError: the cluster does not serve the agent's kind (its CRD is
// not installed, or was removed).
type kindMissingError struct{ gvk schema.GroupVersionKind }

func (e *kindMissingError) Error() string {
	return fmt.Sprintf("the cluster has no %s (%s): install %s there, or fix the stage's deployment", e.gvk.Kind, e.gvk.GroupVersion(), agentOf(e.gvk))
}

// forbiddenError: Liftoff may not list or watch the agent's kind.
type forbiddenError struct {
	gvk       schema.GroupVersionKind
	namespace string
	err       error
}

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("Liftoff may not list and watch %s.%s in namespace %s (%v): grant the rule %s",
		resourceOf(e.gvk), e.gvk.Group, e.namespace, apierrors.ReasonForError(e.err), rbacRule(e.gvk))
}

func agentOf(gvk schema.GroupVersionKind) string {
	if gvk.Group == ApplicationKind.Group {
		return "Argo CD"
	}
	return "Flux"
}

// agentInformer is an informer with the outcome of its last list or watch
// call, so a read Liftoff may no longer make is not answered from a stale
// cache.
type agentInformer struct {
	inf cache.SharedIndexInformer

	mu  sync.Mutex
	err error
}

func (a *agentInformer) record(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

func (a *agentInformer) lastErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// informer returns the informer of a kind in a namespace, started on first
// use, once it has filled (or what keeps it from filling). A kind the
// cluster does not serve starts nothing.
func (c *cluster) informer(ctx context.Context, key informerKey, syncTimeout time.Duration) (*agentInformer, error) {
	c.mu.Lock()
	a, ok := c.informers[key]
	if !ok {
		mapping, err := c.mapper.RESTMapping(key.gvk.GroupKind(), key.gvk.Version)
		if err != nil {
			c.mu.Unlock()
			if meta.IsNoMatchError(err) {
				return nil, &kindMissingError{gvk: key.gvk}
			}
			return nil, err
		}
		a = c.start(key, mapping.Resource)
		c.informers[key] = a
	}
	c.mu.Unlock()
	return a, a.wait(ctx, key, syncTimeout)
}

func (c *cluster) start(key informerKey, gvr schema.GroupVersionResource) *agentInformer {
	a := &agentInformer{}
	res := c.dyn.Resource(gvr).Namespace(key.namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			l, err := res.List(ctx, opts)
			a.record(err)
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := res.Watch(ctx, opts)
			a.record(err)
			return w, err
		},
	}
	a.inf = cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
	log := ctrl.Log.WithName("agents").WithValues("kind", key.gvk.Kind, "namespace", key.namespace, "cluster", c.name)
	_ = a.inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		log.V(1).Info("Watch failed", "error", err.Error())
	})
	_ = a.inf.SetTransform(slim)
	notify := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if u, ok := obj.(*unstructured.Unstructured); ok {
			c.onChange(c.name, key, u)
		}
	}
	_, _ = a.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	})
	log.Info("Watching GitOps agent objects")
	go a.inf.RunWithContext(c.ctx)
	return a
}

// errNotSynced: the informer has not filled yet; the caller tries again.
var errNotSynced = errors.New("the watch of the agent's objects has not started yet")

// wait waits until the informer filled, or says why it cannot: forbidden
// (RBAC) or a kind the cluster stopped serving. A forbidden read after it
// filled is reported too: its cache is no longer kept up to date.
func (a *agentInformer) wait(ctx context.Context, key informerKey, timeout time.Duration) error {
	classify := func(err error) error {
		switch {
		case apierrors.IsForbidden(err):
			return &forbiddenError{gvk: key.gvk, namespace: key.namespace, err: err}
		case apierrors.IsNotFound(err):
			return &kindMissingError{gvk: key.gvk}
		}
		return nil
	}
	_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return a.inf.HasSynced() || classify(a.lastErr()) != nil, nil
	})
	if err := classify(a.lastErr()); err != nil {
		return err
	}
	if !a.inf.HasSynced() {
		if err := a.lastErr(); err != nil {
			return fmt.Errorf("%w: %v", errNotSynced, err)
		}
		return errNotSynced
	}
	return nil
}

// get returns the object namespace/name from the cache, nil when absent.
func (a *agentInformer) get(namespace, name string) *unstructured.Unstructured {
	obj, ok, err := a.inf.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	u, _ := obj.(*unstructured.Unstructured)
	return u
}

// list returns the cached objects, sorted by name by the caller.
func (a *agentInformer) list() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range a.inf.GetIndexer().List() {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// slim drops what Liftoff never reads from the cached objects (managed
// fields, the last applied configuration, Argo CD's sync history and the
// entries of resources that are healthy, Flux's inventory), so watching large
// Applications costs little memory.
func slim(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	u.SetManagedFields(nil)
	if ann := u.GetAnnotations(); ann != nil {
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		u.SetAnnotations(ann)
	}
	for _, path := range [][]string{
		{"status", "history"}, {"status", "summary"}, {"status", "sync", "comparedTo"},
		{"status", "operationState", "syncResult", "resources"}, {"status", "inventory"},
	} {
		if u.GetKind() == HelmReleaseKind.Kind && path[1] == "history" {
			continue // the HelmRelease's history names the deployed chart version
		}
		unstructured.RemoveNestedField(u.Object, path...)
	}
	if res, found, _ := unstructured.NestedSlice(u.Object, "status", "resources"); found {
		var keep []any
		for _, r := range res {
			if m, ok := r.(map[string]any); ok {
				if h := str(m, "health", "status"); h == "Degraded" || h == "Missing" || h == "Progressing" {
					keep = append(keep, r)
				}
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, keep, "status", "resources")
	}
	return u, nil
}
