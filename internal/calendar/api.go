package calendar

import releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"

// Of compiles a ReleaseCalendar's spec: its time zone and windows.
func Of(rc *releasev1.ReleaseCalendar) (*Calendar, error) {
	specs := make([]WindowSpec, 0, len(rc.Spec.Windows))
	for _, w := range rc.Spec.Windows {
		s := WindowSpec{Name: w.Name, Kind: Kind(w.Kind), RRule: w.RRule, Start: w.Start, End: w.End, Stages: w.Stages, Reason: w.Reason}
		if w.Duration != nil {
			s.Duration = w.Duration.Duration
		}
		specs = append(specs, s)
	}
	return New(rc.Spec.TimeZone, specs)
}
