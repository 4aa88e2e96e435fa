package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/actions"
	"github.com/liftoff-dev/liftoff/internal/calendar"
)

func (s *Server) pipelinesQuery(r *http.Request, sess *Session) PipelinesQuery {
	q := PipelinesQuery{Namespace: r.URL.Query().Get("ns"), Search: r.URL.Query().Get("q"), Needs: r.URL.Query().Get("needs")}
	q.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	if sess.CanRead != nil {
		ctx := r.Context()
		q.allow = func(ns string) bool { return sess.CanRead(ctx, ns) }
	}
	return q
}

func (s *Server) pipelinesView(r *http.Request) (*PipelinesView, error) {
	sess, err := s.session(r)
	if err != nil {
		return nil, err
	}
	if err := readable(r, sess, r.URL.Query().Get("ns")); err != nil {
		return nil, err
	}
	q := s.pipelinesQuery(r, sess)
	v, err := buildPipelines(r.Context(), s.o.Store, q, viewerOf(sess), s.o.Now(), s.o.Location)
	if err != nil {
		return nil, err
	}
	allow := func(ns string) bool { return (q.allow == nil || q.allow(ns)) && launchesReadable(r, sess, ns) }
	v.Launches, v.MoreLaunches, err = launchSummaries(r.Context(), s.o.Store, q.Namespace, allow, maxLaunches)
	return v, err
}

// maxLaunches is how many launches the pipelines page lists.
const maxLaunches = 10

// launchesReadable tells whether the viewer may list the launches of ns, as
// the API server answers for them (every one when nothing authorizes).
func launchesReadable(r *http.Request, sess *Session, ns string) bool {
	return sess.Authorize == nil || sess.Authorize(r.Context(), "list", "launches", ns, "") == nil
}

// sessionFor is the requester of a page of one object (the path's ns and
// name), refused when they may not see its namespace.
func (s *Server) sessionFor(r *http.Request) (*Session, types.NamespacedName, error) {
	k := key(r)
	sess, err := s.session(r)
	if err == nil {
		err = readable(r, sess, k.Namespace)
	}
	return sess, k, err
}

func (s *Server) launchView(r *http.Request) (*LaunchView, error) {
	sess, k, err := s.sessionFor(r)
	if err != nil {
		return nil, err
	}
	if sess.Authorize != nil {
		if err := sess.Authorize(r.Context(), "get", "launches", k.Namespace, k.Name); err != nil {
			return nil, err
		}
	}
	return buildLaunch(r.Context(), s.o.Store, k, s.o.Location)
}

func launchPage(v *LaunchView) page {
	return page{Title: "Launch " + v.Name, Nav: "pipelines", Live: fmt.Sprintf("launch:%s/%s", v.Namespace, v.Name), Data: v}
}

// pipelinesJSON is the pipelines view for the API: a 503 while the Releases
// load, so a script never reads "nothing waiting" from a view without them.
func (s *Server) pipelinesJSON(r *http.Request) (*PipelinesView, error) {
	v, err := s.pipelinesView(r)
	if err == nil && v.ReleasesLoading != nil {
		return nil, v.ReleasesLoading
	}
	return v, err
}

// htmlOf serves a view as a page.
func htmlOf[T any](s *Server, name string, build func(*http.Request) (T, error), pg func(T) page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := build(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, name, pg(v))
	}
}

// jsonOf serves a view as JSON.
func jsonOf[T any](s *Server, build func(*http.Request) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := build(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func pipelinesPage(v *PipelinesView) page {
	live := "pipeline release launch"
	if v.ReleasesLoading != nil {
		live += " " + loadingKind
	}
	return page{Title: "Pipelines", Nav: "pipelines", Live: live, Data: v}
}

func (s *Server) releaseView(r *http.Request) (*ReleaseView, error) {
	sess, k, err := s.sessionFor(r)
	if err != nil {
		return nil, err
	}
	v, err := buildRelease(r.Context(), s.o.Store, k, viewerOf(sess), s.o.Now(), s.o.Location)
	if err != nil || !launchesReadable(r, sess, k.Namespace) {
		return v, err
	}
	rel := &releasev1.Release{}
	if err := s.o.Store.Get(r.Context(), k, rel); err != nil {
		return nil, err
	}
	v.Launches, err = launchesOf(r.Context(), s.o.Store, rel)
	return v, err
}

func releasePage(v *ReleaseView) page {
	live := fmt.Sprintf("release:%s/%s pipeline:%s/%s", v.Namespace, v.Name, v.Namespace, v.Pipeline)
	if v.Checklist != nil {
		live += fmt.Sprintf(" checklist:%s/%s", v.Namespace, v.Checklist.Name)
	}
	if len(v.Launches) > 0 {
		live += " launch"
	}
	return page{Title: "Release " + v.Name, Nav: "pipelines", Live: live, Data: v}
}

func (s *Server) calendarView(r *http.Request, name string) (*CalendarView, error) {
	sess, err := s.session(r)
	if err != nil {
		return nil, err
	}
	k := types.NamespacedName{Namespace: r.PathValue("ns"), Name: name}
	if err := readable(r, sess, k.Namespace); err != nil {
		return nil, err
	}
	return buildCalendar(r.Context(), s.o.Store, k, r.URL.Query().Get("view"), r.URL.Query().Get("date"), s.o.Now(), s.o.Location)
}

func (s *Server) calendarsPage(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cals, err := s.o.Store.Calendars(r.Context(), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sortByKey(cals)
	var refs []ObjectRef
	for _, c := range cals {
		if sess.CanRead == nil || sess.CanRead(r.Context(), c.Namespace) {
			refs = append(refs, ObjectRef{Namespace: c.Namespace, Name: c.Name})
		}
	}
	if len(refs) == 1 {
		http.Redirect(w, r, fmt.Sprintf("/calendars/%s/%s", refs[0].Namespace, refs[0].Name), http.StatusFound)
		return
	}
	s.render(w, r, "calendars", page{Title: "Calendars", Nav: "calendar", Live: "calendar", Data: refs})
}

func (s *Server) calendarPage(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if name, ok := strings.CutSuffix(file, ".ics"); ok {
		s.calendarICS(w, r, name)
		return
	}
	htmlOf(s, "calendar", func(r *http.Request) (*CalendarView, error) { return s.calendarView(r, file) }, func(v *CalendarView) page {
		return page{Title: "Calendar " + v.Name, Nav: "calendar", Live: fmt.Sprintf("calendar:%s/%s", v.Namespace, v.Name), Data: v}
	})(w, r)
}

func (s *Server) milestonesView(r *http.Request) (*MilestonesView, error) {
	sess, err := s.session(r)
	if err != nil {
		return nil, err
	}
	ns := r.URL.Query().Get("ns")
	if err := readable(r, sess, ns); err != nil {
		return nil, err
	}
	v, err := buildMilestones(r.Context(), s.o.Store, ns, s.o.Location)
	if err != nil || sess.CanRead == nil {
		return v, err
	}
	kept := v.Milestones[:0]
	for _, m := range v.Milestones {
		if sess.CanRead(r.Context(), m.Namespace) {
			kept = append(kept, m)
		}
	}
	v.Milestones = kept
	return v, nil
}

func milestonesPage(v *MilestonesView) page {
	return page{Title: "Milestones", Nav: "milestones", Live: "milestone", Data: v}
}

// actor checks that a write may be made and returns who makes it.
func (s *Server) actor(r *http.Request, verb, resource string, k types.NamespacedName) (*Session, error) {
	if err := s.checkCSRF(r); err != nil {
		return nil, err
	}
	sess, err := s.session(r)
	if err != nil {
		return nil, err
	}
	if sess.Client == nil {
		return nil, &HTTPError{http.StatusForbidden, "this dashboard is read-only: use kubectl liftoff, or ask for a dashboard with authentication"}
	}
	if sess.Authorize != nil {
		if err := sess.Authorize(r.Context(), verb, resource, k.Namespace, k.Name); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// apiError keeps the API server's (and so the identity webhook's) message
// and status code: that is what the person must read.
func apiError(err error) error {
	if st, ok := err.(apierrors.APIStatus); ok {
		code := int(st.Status().Code)
		if code == 0 {
			code = http.StatusBadGateway
		}
		return &HTTPError{code, err.Error()}
	}
	if _, ok := err.(*HTTPError); ok {
		return err
	}
	return &HTTPError{http.StatusBadGateway, err.Error()}
}

func (s *Server) releaseAction(w http.ResponseWriter, r *http.Request) {
	k := key(r)
	action := r.PathValue("action")
	verb := map[string]string{"approve": "update", "pause": "patch", "resume": "patch", "verdict": "patch"}[action]
	if verb == "" {
		s.fail(w, r, &HTTPError{http.StatusNotFound, "unknown action " + strconv.Quote(action) + ": approve, pause, resume or verdict"})
		return
	}
	sess, err := s.actor(r, verb, "releases", k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	var msg string
	switch action {
	case "approve":
		stage := r.PostFormValue("stage")
		if stage == "" {
			s.fail(w, r, &HTTPError{http.StatusBadRequest, "approve needs the stage"})
			return
		}
		var a releasev1.Approval
		if a, err = actions.Approve(ctx, sess.Client, k, stage, r.PostFormValue("comment")); err == nil {
			msg = fmt.Sprintf("%s approved for %s by %s", k.Name, stage, a.By)
		}
	case "pause", "resume":
		if err = actions.SetPaused(ctx, sess.Client, k, action == "pause"); err == nil {
			msg = fmt.Sprintf("%s %sd", k.Name, action)
		}
	case "verdict":
		v := r.PostFormValue("verdict")
		if err = actions.Verdict(ctx, sess.Client, k, v); err == nil {
			msg = fmt.Sprintf("%s verdict: %s", k.Name, v)
		}
	}
	s.done(w, r, msg, err, fmt.Sprintf("/releases/%s/%s", k.Namespace, k.Name))
}

func (s *Server) signOff(w http.ResponseWriter, r *http.Request) {
	k := key(r)
	sess, err := s.actor(r, "update", "launchchecklists", k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	item := r.PostFormValue("item")
	decision := releasev1.SignOffDecision(r.PostFormValue("decision"))
	if decision == "" {
		decision = releasev1.DecisionApprove
	}
	if item == "" {
		s.fail(w, r, &HTTPError{http.StatusBadRequest, "sign-off needs the item"})
		return
	}
	so, err := actions.SignOff(r.Context(), sess.Client, k, item, decision, r.PostFormValue("comment"))
	msg := ""
	if err == nil {
		msg = fmt.Sprintf("%s: %s by %s", item, strings.ToLower(string(decision))+"d", so.By)
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/releases/") {
		back = "/"
	}
	s.done(w, r, msg, err, back)
}

// rollBack asks for a rollback on demand of a stage of the pipeline, to the
// version it ran before; the webhook checks the verb rollback and stamps who.
func (s *Server) rollBack(w http.ResponseWriter, r *http.Request) {
	k := key(r)
	sess, err := s.actor(r, "update", "releasepipelines", k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stage, reason := r.PostFormValue("stage"), strings.TrimSpace(r.PostFormValue("reason"))
	if stage == "" || reason == "" {
		s.fail(w, r, &HTTPError{http.StatusBadRequest, "a rollback needs the stage and a reason: say why, for the postmortem"})
		return
	}
	rb, _, err := actions.RollBack(r.Context(), sess.Client, k, stage, "", reason)
	msg := ""
	if err == nil {
		msg = fmt.Sprintf("%s: %s rolled back to %s by %s; later releases wait before %s until it is resumed", k.Name, stage, rb.To, rb.By, stage)
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/releases/") {
		back = "/"
	}
	s.done(w, r, msg, err, back)
}

// done answers an action: JSON for the page's script, a small page for a
// browser without it.
func (s *Server) done(w http.ResponseWriter, r *http.Request, msg string, err error, back string) {
	if err != nil {
		s.fail(w, r, apiError(err))
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": msg})
		return
	}
	s.render(w, r, "result", page{Title: "Done", Data: map[string]string{"Message": msg, "Back": back}})
}

func (s *Server) calendarICS(w http.ResponseWriter, r *http.Request, name string) {
	sess, err := s.session(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k := types.NamespacedName{Namespace: r.PathValue("ns"), Name: name}
	if err := readable(r, sess, k.Namespace); err != nil {
		s.fail(w, r, err)
		return
	}
	rc := &releasev1.ReleaseCalendar{}
	if err := s.o.Store.Get(r.Context(), k, rc); err != nil {
		if apierrors.IsNotFound(err) {
			err = errNotFound
		}
		s.fail(w, r, err)
		return
	}
	calendar.ServeICS(w, rc, s.o.Now())
}
