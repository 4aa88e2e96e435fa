package launch

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// A launch reaches a stage once every member is promoted there, and a
// member enters a stage only once every member is promoted in the stages it
// comes after (the group gate). So the forecast walks the launch's stages in
// order: a member starts a stage at the latest of now, the launch reaching
// each stage it comes after, its own soak after them, its plan and the
// launch's, moved to when the pipeline's calendar opens the stage; it is
// promoted there once its verification ran. The member promoted last in a
// stage is on the critical path there.

// MemberStages is what the forecast knows of one member.
type MemberStages struct {
	Name, Version string
	// Stages on the member's way, in its pipeline's order.
	Stages []StageEstimate
	// Opens is when the member's pipeline's calendar lets a promotion into
	// stage at or after t (t itself without a calendar, or while open).
	Opens func(stage string, t time.Time) time.Time
}

// StageEstimate is what one stage takes a member.
type StageEstimate struct {
	Name string
	// After are the stages it comes after.
	After []string
	// Done is when the member was promoted there (deployed and verified),
	// nil while it is not.
	Done *time.Time
	// Started is when its promotion there started, nil before.
	Started *time.Time
	// Soak is the stage's soak gate: time live in the stages it comes after.
	Soak time.Duration
	// Verify is how long its verification runs (the analysis's initial
	// delay and its measurements), 0 without one.
	Verify time.Duration
	// NotBefore is the plan's time for the stage (the member's or the
	// launch's, the later), nil without one.
	NotBefore *time.Time
}

// Forecast says, for each stage of the launch (stages, in order), when the
// launch reaches it (every member promoted there) and which member is last
// there: the critical path. A stage every member is promoted in is reached
// at the last promotion.
func Forecast(members []MemberStages, stages []string, now time.Time) []releasev1.LaunchStageForecast {
	reached := map[string]time.Time{}
	done := make([]map[string]time.Time, len(members))
	for k := range members {
		done[k] = map[string]time.Time{}
	}
	var out []releasev1.LaunchStageForecast
	for _, stage := range stages {
		f := releasev1.LaunchStageForecast{Stage: stage, Reached: true}
		var at time.Time
		counted := false
		for k := range members {
			m := &members[k]
			est := m.stage(stage)
			if est == nil {
				continue
			}
			t := m.finish(est, now, reached, done[k])
			done[k][stage] = t
			f.Reached = f.Reached && est.Done != nil
			if !counted || t.After(at) {
				at, f.Member, counted = t, m.Name+" "+m.Version, true
			}
		}
		if !counted {
			continue
		}
		reached[stage] = at
		f.At = metav1.NewTime(at)
		out = append(out, f)
	}
	return out
}

// stage is m's estimate of the named stage, nil when its way has none.
func (m *MemberStages) stage(name string) *StageEstimate {
	for i := range m.Stages {
		if m.Stages[i].Name == name {
			return &m.Stages[i]
		}
	}
	return nil
}

// finish is when m is promoted in est's stage: when it was, or its
// estimate from when it can start there.
func (m *MemberStages) finish(est *StageEstimate, now time.Time, reached, own map[string]time.Time) time.Time {
	if est.Done != nil {
		return *est.Done
	}
	if est.Started != nil {
		// Under way: its verification ends as planned, or now at the
		// earliest.
		return later(now, est.Started.Add(est.Verify))
	}
	start := now
	for _, a := range est.After {
		if t, ok := reached[a]; ok && t.After(start) {
			start = t
		}
		if t, ok := own[a]; ok && t.Add(est.Soak).After(start) {
			start = t.Add(est.Soak)
		}
	}
	if est.NotBefore != nil && est.NotBefore.After(start) {
		start = *est.NotBefore
	}
	if m.Opens != nil {
		start = m.Opens(est.Name, start)
	}
	return start.Add(est.Verify)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
