package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
	"github.com/liftoff-dev/liftoff/internal/webhooks"
)

// compiledCalendars keeps each ReleaseCalendar compiled once per generation:
// every Release evaluation, the calendar's status and its feed read it.
var compiledCalendars = struct {
	sync.Mutex
	m map[types.UID]compiledCalendar
}{m: map[types.UID]compiledCalendar{}}

type compiledCalendar struct {
	generation int64
	cal        *calendar.Calendar
	err        error
}

// compileCalendar compiles the calendar's windows, or says what to fix.
func compileCalendar(rc *releasev1.ReleaseCalendar) (*calendar.Calendar, error) {
	compiledCalendars.Lock()
	defer compiledCalendars.Unlock()
	if c, ok := compiledCalendars.m[rc.UID]; ok && c.generation == rc.Generation && rc.UID != "" {
		return c.cal, c.err
	}
	cal, err := calendar.New(rc.Spec.TimeZone, webhooks.WindowSpecs(rc.Spec.Windows))
	if rc.UID != "" {
		compiledCalendars.m[rc.UID] = compiledCalendar{generation: rc.Generation, cal: cal, err: err}
	}
	return cal, err
}

func forgetCalendar(uid types.UID) {
	compiledCalendars.Lock()
	defer compiledCalendars.Unlock()
	delete(compiledCalendars.m, uid)
}
