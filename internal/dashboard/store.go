package dashboard

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// Store is what the pages read: the objects of one shared informer cache,
// never copied and never to be modified. Every browser reads the same cache.
type Store interface {
	Pipelines(ctx context.Context, ns string) ([]*releasev1.ReleasePipeline, error)
	Releases(ctx context.Context, ns string) ([]*releasev1.Release, error)
	Calendars(ctx context.Context, ns string) ([]*releasev1.ReleaseCalendar, error)
	Milestones(ctx context.Context, ns string) ([]*releasev1.Milestone, error)
	Checklists(ctx context.Context, ns string) ([]*releasev1.LaunchChecklist, error)
	Launches(ctx context.Context, ns string) ([]*releasev1.Launch, error)
	// Get reads one object (a copy).
	Get(ctx context.Context, key types.NamespacedName, obj client.Object) error
}

// Kinds the dashboard watches, in the order the pages name them.
var kinds = []client.Object{
	&releasev1.ReleasePipeline{}, &releasev1.Release{}, &releasev1.ReleaseCalendar{},
	&releasev1.Milestone{}, &releasev1.LaunchChecklist{}, &releasev1.Launch{},
}

// CacheStore reads a controller-runtime cache without deep copies: the
// pages only read, and a copy of 5,000 Releases per view would cost more
// than rendering them.
type CacheStore struct {
	Reader client.Reader
	// Loaded, when set, says which kinds are listed: a read of one that is
	// not returns a *Loading error rather than block until it is.
	Loaded *Loaded
}

func list[T any, L client.ObjectList](ctx context.Context, s CacheStore, kind, ns string, l L, items func(L) []T) ([]*T, error) {
	if err := s.Loaded.check(kind); err != nil {
		return nil, err
	}
	if err := s.Reader.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	it := items(l)
	out := make([]*T, len(it))
	for i := range it {
		out[i] = &it[i]
	}
	return out, nil
}

// Pipelines lists the pipelines of namespace ns ("" for all) from the cache.
func (s CacheStore) Pipelines(ctx context.Context, ns string) ([]*releasev1.ReleasePipeline, error) {
	return list(ctx, s, "pipeline", ns, &releasev1.ReleasePipelineList{}, func(l *releasev1.ReleasePipelineList) []releasev1.ReleasePipeline { return l.Items })
}

// Releases lists the Releases of namespace ns ("" for all) from the cache.
func (s CacheStore) Releases(ctx context.Context, ns string) ([]*releasev1.Release, error) {
	return list(ctx, s, "release", ns, &releasev1.ReleaseList{}, func(l *releasev1.ReleaseList) []releasev1.Release { return l.Items })
}

// Calendars lists the calendars of namespace ns ("" for all) from the cache.
func (s CacheStore) Calendars(ctx context.Context, ns string) ([]*releasev1.ReleaseCalendar, error) {
	return list(ctx, s, "calendar", ns, &releasev1.ReleaseCalendarList{}, func(l *releasev1.ReleaseCalendarList) []releasev1.ReleaseCalendar { return l.Items })
}

// Milestones lists the milestones of namespace ns ("" for all) from the cache.
func (s CacheStore) Milestones(ctx context.Context, ns string) ([]*releasev1.Milestone, error) {
	return list(ctx, s, "milestone", ns, &releasev1.MilestoneList{}, func(l *releasev1.MilestoneList) []releasev1.Milestone { return l.Items })
}

// Checklists lists the launch checklists of namespace ns ("" for all) from the cache.
func (s CacheStore) Checklists(ctx context.Context, ns string) ([]*releasev1.LaunchChecklist, error) {
	return list(ctx, s, "checklist", ns, &releasev1.LaunchChecklistList{}, func(l *releasev1.LaunchChecklistList) []releasev1.LaunchChecklist { return l.Items })
}

// Launches lists the launches of namespace ns ("" for all) from the cache.
func (s CacheStore) Launches(ctx context.Context, ns string) ([]*releasev1.Launch, error) {
	return list(ctx, s, "launch", ns, &releasev1.LaunchList{}, func(l *releasev1.LaunchList) []releasev1.Launch { return l.Items })
}

// Get reads one object from the cache, or says it is still loading.
func (s CacheStore) Get(ctx context.Context, key types.NamespacedName, obj client.Object) error {
	if err := s.Loaded.check(kindOf(obj)); err != nil {
		return err
	}
	return s.Reader.Get(ctx, key, obj)
}

// NewCache makes the dashboard's own informer cache (the plugin's; the
// manager shares its own): the six Liftoff kinds of one namespace, or of
// all when ns is empty, without managed fields. onWatchError, when set, is
// told why a list or watch failed (Loaded.WatchError).
func NewCache(cfg *rest.Config, scheme *runtime.Scheme, ns string, onWatchError toolscache.WatchErrorHandlerWithContext) (cache.Cache, error) {
	o := cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields(), DefaultWatchErrorHandler: onWatchError}
	if ns != "" {
		o.DefaultNamespaces = map[string]cache.Config{ns: {}}
	}
	return cache.New(cfg, o)
}

// Watch starts the informers of the six kinds in c, sends every change to
// b, and tracks in loaded when each kind is listed. It returns once they are
// registered; c.Start runs them.
func Watch(ctx context.Context, c cache.Informers, b *Broker, loaded *Loaded) error {
	for _, obj := range kinds {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
		kind := kindOf(obj)
		notify := func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if co, ok := o.(client.Object); ok {
				b.Publish(Change{Kind: kind, Namespace: co.GetNamespace(), Name: co.GetName()})
			}
		}
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, o any) { notify(o) },
			DeleteFunc: notify,
		})
		if err != nil {
			return err
		}
		loaded.track(ctx, kind, inf.HasSynced, reg, b)
	}
	return nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *releasev1.ReleasePipeline:
		return "pipeline"
	case *releasev1.Release:
		return "release"
	case *releasev1.ReleaseCalendar:
		return "calendar"
	case *releasev1.Milestone:
		return "milestone"
	case *releasev1.LaunchChecklist:
		return "checklist"
	case *releasev1.Launch:
		return "launch"
	}
	return "other"
}

// find returns the object named key among objs, or nil.
func find[T interface {
	GetNamespace() string
	GetName() string
}](objs []T, key types.NamespacedName) T {
	var zero T
	for _, o := range objs {
		if o.GetName() == key.Name && o.GetNamespace() == key.Namespace {
			return o
		}
	}
	return zero
}

func sortByKey[T interface {
	GetNamespace() string
	GetName() string
}](objs []T) {
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].GetNamespace() != objs[j].GetNamespace() {
			return objs[i].GetNamespace() < objs[j].GetNamespace()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}
