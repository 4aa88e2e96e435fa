package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

// compiledCalendars keeps each ReleaseCalendar compiled once per generation:
// every Release evaluation, the calendar's status and its feed read it. The
// calendar controller forgets a calendar once it is gone.
var compiledCalendars = struct {
	sync.Mutex
	m map[types.NamespacedName]compiledCalendar
}{m: map[types.NamespacedName]compiledCalendar{}}

type compiledCalendar struct {
	uid        types.UID
	generation int64
	cal        *calendar.Calendar
	err        error
}

// compileCalendar compiles the calendar's windows, or says what to fix.
func compileCalendar(rc *releasev1.ReleaseCalendar) (*calendar.Calendar, error) {
	compiledCalendars.Lock()
	defer compiledCalendars.Unlock()
	key := types.NamespacedName{Namespace: rc.Namespace, Name: rc.Name}
	if c, ok := compiledCalendars.m[key]; ok && c.uid == rc.UID && c.generation == rc.Generation && rc.UID != "" {
		return c.cal, c.err
	}
	cal, err := calendar.New(rc.Spec.TimeZone, webhooks.WindowSpecs(rc.Spec.Windows))
	if rc.UID != "" {
		compiledCalendars.m[key] = compiledCalendar{uid: rc.UID, generation: rc.Generation, cal: cal, err: err}
	}
	return cal, err
}

func forgetCalendar(key types.NamespacedName) {
	compiledCalendars.Lock()
	defer compiledCalendars.Unlock()
	delete(compiledCalendars.m, key)
}
