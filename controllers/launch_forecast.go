package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/launch"
)

// forecast is when the launch reaches each of its stages and the member on
// its critical path, from what each member's pipeline (its soak gates, its
// verifications, its calendar) and plans say.
func (r *LaunchReconciler) forecast(ctx context.Context, l *releasev1.Launch, members []releasev1.Release, stages []string) ([]releasev1.LaunchStageForecast, string, error) {
	var in []launch.MemberStages
	for i := range members {
		m, err := r.memberStages(ctx, l, &members[i])
		if err != nil {
			return nil, "", err
		}
		if m != nil {
			in = append(in, *m)
		}
	}
	out := launch.Forecast(in, stages, r.Clock.Now().Truncate(time.Minute))
	if n := len(out); n > 0 && !out[n-1].Reached && l.Status.Phase != releasev1.LaunchFailed {
		last := out[n-1]
		return out, fmt.Sprintf("%s, %s at %s", last.Member, last.Stage, last.At.UTC().Format(time.RFC3339)), nil
	}
	return out, "", nil
}

// memberStages is what one member takes in each stage on its way; nil when
// its pipeline does not exist.
func (r *LaunchReconciler) memberStages(ctx context.Context, l *releasev1.Launch, rel *releasev1.Release) (*launch.MemberStages, error) {
	pipe := &releasev1.ReleasePipeline{}
	key := types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.Pipeline}
	if err := r.Get(ctx, key, pipe); err != nil {
		if !apierrors.IsNotFound(err) || r.APIReader == nil {
			return nil, client.IgnoreNotFound(err)
		}
		if err := r.APIReader.Get(ctx, key, pipe); err != nil {
			return nil, client.IgnoreNotFound(err)
		}
	}
	m := &launch.MemberStages{Name: rel.Name, Version: rel.Spec.Version}
	if ref := pipe.Spec.CalendarRef; ref != nil {
		rc := &releasev1.ReleaseCalendar{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: pipe.Namespace, Name: ref.Name}, rc); client.IgnoreNotFound(err) != nil {
			return nil, err
		} else if err == nil {
			if cal, err := calendar.Of(rc); err == nil {
				m.Opens = opens(cal)
			}
		}
	}
	for i, st := range pipe.Spec.Stages {
		ss := rel.Status.StageStatus(st.Name)
		if ss != nil && ss.Phase == releasev1.StageSkipped {
			continue
		}
		est := launch.StageEstimate{Name: st.Name, Verify: verifyTime(st.Verify), NotBefore: laterPlan(rel.Spec.Plan, l.Spec.Plan, st.Name)}
		for _, j := range pipe.Spec.AfterIndexes(i) {
			est.After = append(est.After, pipe.Spec.Stages[j].Name)
		}
		if st.Gates != nil && st.Gates.Soak != nil {
			est.Soak = st.Gates.Soak.Duration
		}
		if ss != nil {
			switch ss.Phase {
			case releasev1.StagePromoted:
				t := promotedAt(ss, r.Clock.Now())
				est.Done = &t
			case releasev1.StagePromoting, releasev1.StageAwaitingMerge, releasev1.StageDeploying, releasev1.StageVerifying:
				if ss.Promotion != nil && ss.Promotion.StartedAt != nil {
					t := ss.Promotion.StartedAt.Time
					est.Started = &t
				}
			}
		}
		m.Stages = append(m.Stages, est)
	}
	return m, nil
}

// opens is when cal lets a promotion into stage at or after t: t while it
// is open, else its next opening (a few changes ahead at most).
func opens(cal *calendar.Calendar) func(string, time.Time) time.Time {
	return func(stage string, t time.Time) time.Time {
		for range 8 {
			if cal.At(stage, t).Open {
				return t
			}
			next, _, ok := cal.NextChange(stage, t)
			if !ok {
				return t
			}
			t = next
		}
		return t
	}
}

// verifyTime is how long a stage's verification runs when it passes: the
// initial delay, then count measurements an interval apart.
func verifyTime(v *releasev1.Verify) time.Duration {
	if v == nil {
		return 0
	}
	a := v.Analysis
	d, interval, count := time.Duration(0), 30*time.Second, a.Count
	if a.InitialDelay != nil {
		d = a.InitialDelay.Duration
	}
	if a.Interval != nil {
		interval = a.Interval.Duration
	}
	if count <= 0 {
		count = 5
	}
	return d + time.Duration(count-1)*interval
}

// laterPlan is the later of a member's and its launch's plan for stage,
// nil when neither plans it.
func laterPlan(own, group []releasev1.PlannedPromotion, stage string) *time.Time {
	var out *time.Time
	for _, plan := range [][]releasev1.PlannedPromotion{own, group} {
		for _, p := range plan {
			if p.Stage == stage && (out == nil || p.At.After(*out)) {
				t := p.At.Time
				out = &t
			}
		}
	}
	return out
}

// promotedAt is when a member was promoted in a stage: its verification's
// last measurement, else when it went live.
func promotedAt(ss *releasev1.ReleaseStageStatus, now time.Time) time.Time {
	if a := ss.Analysis; a != nil {
		var last time.Time
		for _, m := range a.Metrics {
			if n := len(m.Measurements); n > 0 && m.Measurements[n-1].At.After(last) {
				last = m.Measurements[n-1].At.Time
			}
		}
		if !last.IsZero() {
			return last
		}
	}
	switch {
	case ss.DeployedAt != nil:
		return ss.DeployedAt.Time
	case ss.Promotion != nil && ss.Promotion.CompletedAt != nil:
		return ss.Promotion.CompletedAt.Time
	}
	return now
}
