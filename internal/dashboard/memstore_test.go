package dashboard

import (
	"context"
	"encoding/json"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// memStore is a Store over slices, for handler tests and the render
// benchmark (the informer cache's lists cost nothing comparable).
type memStore struct {
	pipelines  []*releasev1.ReleasePipeline
	releases   []*releasev1.Release
	calendars  []*releasev1.ReleaseCalendar
	milestones []*releasev1.Milestone
	checklists []*releasev1.LaunchChecklist
	launches   []*releasev1.Launch
	// releasesLoading, when set, is what reading a Release answers, as
	// CacheStore does before the Releases are listed.
	releasesLoading *Loading
}

func inNS[T interface{ GetNamespace() string }](all []T, ns string) []T {
	if ns == "" {
		return append([]T(nil), all...)
	}
	var out []T
	for _, o := range all {
		if o.GetNamespace() == ns {
			out = append(out, o)
		}
	}
	return out
}

func (m *memStore) Pipelines(_ context.Context, ns string) ([]*releasev1.ReleasePipeline, error) {
	return inNS(m.pipelines, ns), nil
}
func (m *memStore) Releases(_ context.Context, ns string) ([]*releasev1.Release, error) {
	if m.releasesLoading != nil {
		return nil, m.releasesLoading
	}
	return inNS(m.releases, ns), nil
}
func (m *memStore) Calendars(_ context.Context, ns string) ([]*releasev1.ReleaseCalendar, error) {
	return inNS(m.calendars, ns), nil
}
func (m *memStore) Milestones(_ context.Context, ns string) ([]*releasev1.Milestone, error) {
	return inNS(m.milestones, ns), nil
}
func (m *memStore) Checklists(_ context.Context, ns string) ([]*releasev1.LaunchChecklist, error) {
	return inNS(m.checklists, ns), nil
}
func (m *memStore) Launches(_ context.Context, ns string) ([]*releasev1.Launch, error) {
	return inNS(m.launches, ns), nil
}

func (m *memStore) Get(_ context.Context, key types.NamespacedName, obj client.Object) error {
	var found client.Object
	switch obj.(type) {
	case *releasev1.Release:
		if m.releasesLoading != nil {
			return m.releasesLoading
		}
		if o := find(m.releases, key); o != nil {
			found = o
		}
	case *releasev1.ReleasePipeline:
		if o := find(m.pipelines, key); o != nil {
			found = o
		}
	case *releasev1.ReleaseCalendar:
		if o := find(m.calendars, key); o != nil {
			found = o
		}
	case *releasev1.LaunchChecklist:
		if o := find(m.checklists, key); o != nil {
			found = o
		}
	case *releasev1.Milestone:
		if o := find(m.milestones, key); o != nil {
			found = o
		}
	case *releasev1.Launch:
		if o := find(m.launches, key); o != nil {
			found = o
		}
	}
	if found == nil {
		return apierrors.NewNotFound(schema.GroupResource{Group: releasev1.GroupVersion.Group}, key.Name)
	}
	b, err := json.Marshal(found)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, obj)
}
