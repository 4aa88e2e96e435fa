package controllers

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

// CalendarFeedPath is where the feeds are served: /calendars/NAMESPACE/NAME.ics.
const CalendarFeedPath = "/calendars/"

// CalendarFeed serves a ReleaseCalendar's status as an iCalendar feed that
// Google Calendar or Outlook can subscribe to: the upcoming windows, freezes,
// planned promotions and milestone due dates, and the recent promotions.
type CalendarFeed struct {
	Client client.Reader
	Clock  clock.PassiveClock
}

func (f *CalendarFeed) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(req.URL.Path, CalendarFeedPath)
	ns, file, ok := strings.Cut(rest, "/")
	name, isICS := strings.CutSuffix(file, ".ics")
	if !ok || !isICS || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		http.Error(w, "not found: feeds are at /calendars/NAMESPACE/NAME.ics", http.StatusNotFound)
		return
	}
	rc := &releasev1.ReleaseCalendar{}
	if err := f.Client.Get(req.Context(), types.NamespacedName{Namespace: ns, Name: name}, rc); err != nil {
		if apierrors.IsNotFound(err) {
			http.Error(w, fmt.Sprintf("ReleaseCalendar %s/%s not found", ns, name), http.StatusNotFound)
			return
		}
		http.Error(w, "reading the calendar failed; try again", http.StatusServiceUnavailable)
		return
	}
	calendar.ServeICS(w, rc, f.Clock.Now())
}
