package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// calendars keeps each ReleaseCalendar compiled once per generation: every
// Release evaluation and the calendar's status read it. The calendar
// controller forgets a calendar once it is gone. One manager has one.
type calendars struct {
	mu sync.Mutex
	m  map[types.NamespacedName]compiledCalendar
}

type compiledCalendar struct {
	uid        types.UID
	generation int64
	cal        *calendar.Calendar
	err        error
}

func newCalendars() *calendars {
	return &calendars{m: map[types.NamespacedName]compiledCalendar{}}
}

// compile compiles the calendar's windows, or says what to fix.
func (c *calendars) compile(rc *releasev1.ReleaseCalendar) (*calendar.Calendar, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := types.NamespacedName{Namespace: rc.Namespace, Name: rc.Name}
	if cc, ok := c.m[key]; ok && cc.uid == rc.UID && cc.generation == rc.Generation && rc.UID != "" {
		return cc.cal, cc.err
	}
	cal, err := calendar.Of(rc)
	if rc.UID != "" {
		c.m[key] = compiledCalendar{uid: rc.UID, generation: rc.Generation, cal: cal, err: err}
	}
	return cal, err
}

func (c *calendars) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}
