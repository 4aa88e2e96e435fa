package controllers

import (
	"context"
	"sort"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/milestone"
	"github.com/liftoff-dev/liftoff/internal/release"
)

// milestoneOfLaunch maps a launch to the milestone it tracks.
func milestoneOfLaunch(_ context.Context, o client.Object) []reconcile.Request {
	l, ok := o.(*releasev1.Launch)
	if !ok || l.Spec.Milestone == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l.Namespace, Name: l.Spec.Milestone}}}
}

// launches reads the launches that track the milestone: it records when
// each reaches the target stage (status.launches) and returns that for
// health, with releases and the launches' members not among them.
func (s *milestoneSync) launches(ctx context.Context, releases []releasev1.Release) ([]milestone.Launch, []releasev1.Release, error) {
	var list releasev1.LaunchList
	if err := s.r.List(ctx, &list, client.InNamespace(s.ms.Namespace)); err != nil {
		return nil, nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	have := map[string]bool{}
	for _, rel := range releases {
		have[rel.Name] = true
	}
	s.ms.Status.Launches = nil
	var out []milestone.Launch
	for i := range list.Items {
		l := &list.Items[i]
		if l.Spec.Milestone != s.ms.Name {
			continue
		}
		members, _, err := release.LaunchMembers(ctx, s.r.Client, nil, l)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range members {
			if !have[m.Name] {
				have[m.Name] = true
				releases = append(releases, m)
			}
		}
		ml := trackedLaunch(l, s.ms.Spec.TargetStage)
		s.ms.Status.Launches = append(s.ms.Status.Launches, ml)
		ms := milestone.Launch{Name: ml.Name, Stage: ml.Stage, CriticalPath: ml.CriticalPath}
		if ml.Forecast != nil {
			t := ml.Forecast.Time
			ms.Reaches = &t
		}
		out = append(out, ms)
	}
	sort.Slice(releases, func(i, j int) bool { return releases[i].Name < releases[j].Name })
	return out, releases, nil
}

// trackedLaunch is where launch l stands against stage (its last stage
// when ""), from its forecast.
func trackedLaunch(l *releasev1.Launch, stage string) releasev1.MilestoneLaunch {
	if stage == "" && len(l.Status.Stages) > 0 {
		stage = l.Status.Stages[len(l.Status.Stages)-1]
	}
	out := releasev1.MilestoneLaunch{Name: l.Name, Stage: stage}
	for _, f := range l.Status.Forecast {
		if f.Stage != stage {
			continue
		}
		out.Reached, out.CriticalPath = f.Reached, f.Member
		if !f.Reached {
			at := f.At
			out.Forecast = &at
		}
	}
	return out
}
