package release

import (
	"context"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/gates"
)

// groupFacts finds the Release's launch and where its other members stand,
// for stage i; nil when the Release is in no launch that is still on.
func (s *step) groupFacts(ctx context.Context, i int) (*gates.GroupFacts, error) {
	launch, err := LaunchOf(ctx, s.client, s.rel)
	if launch == nil || err != nil {
		return nil, err
	}
	f := &gates.GroupFacts{Launch: launch.Name, OnFailure: launch.FailurePolicy(), Stage: s.pipe.Spec.Stages[i].Name}
	for _, j := range s.pipe.Spec.AfterIndexes(i) {
		f.After = append(f.After, s.pipe.Spec.Stages[j].Name)
	}
	members, missing, err := LaunchMembers(ctx, s.client, s.apiReader, launch)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.Name != s.rel.Name {
			f.Members = append(f.Members, gates.GroupMember{Name: m.Name, Version: m.Spec.Version, Phase: m.Status.Phase, Stages: m.StagePhases()})
		}
	}
	for _, name := range missing {
		f.Members = append(f.Members, gates.GroupMember{Name: name, Missing: true})
	}
	return f, nil
}

// LaunchOf is the launch rel is a member of and that is not over yet (the
// first by name: admission refuses a member in two), or nil.
func LaunchOf(ctx context.Context, c client.Reader, rel *releasev1.Release) (*releasev1.Launch, error) {
	var list releasev1.LaunchList
	if err := c.List(ctx, &list, client.InNamespace(rel.Namespace)); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	for i := range list.Items {
		if l := &list.Items[i]; !l.Done() && l.Includes(rel) {
			return l, nil
		}
	}
	return nil, nil
}

// LaunchMembers reads the launch's Releases, sorted by name, and the names
// in spec.members that no Release has. A member the cache does not hold
// (another shard's) is read from api, when set.
func LaunchMembers(ctx context.Context, c, api client.Reader, l *releasev1.Launch) (members []releasev1.Release, missing []string, err error) {
	if l.Spec.Selector != nil {
		var list releasev1.ReleaseList
		if err := c.List(ctx, &list, client.InNamespace(l.Namespace)); err != nil {
			return nil, nil, err
		}
		for _, rel := range list.Items {
			if l.Includes(&rel) {
				members = append(members, rel)
			}
		}
	}
	for _, name := range l.Spec.Members {
		rel := releasev1.Release{}
		key := types.NamespacedName{Namespace: l.Namespace, Name: name}
		err := c.Get(ctx, key, &rel)
		if apierrors.IsNotFound(err) && api != nil {
			err = api.Get(ctx, key, &rel)
		}
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			return nil, nil, err
		default:
			members = append(members, rel)
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	sort.Strings(missing)
	return members, missing, nil
}
