package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/notify"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// ReportAnnotation asks for a release report now: a new value (any, for
// example the time) makes the controller write and send one at once.
const ReportAnnotation = "release.liftoff.dev/report"

// defaultNotifyBackoff is the first wait after a failed delivery.
const defaultNotifyBackoff = 5 * time.Second

// maxDeliveriesPerReconcile bounds the deliveries of one reconcile; more
// wait for the next, which follows at once.
const maxDeliveriesPerReconcile = 20

// ReleaseNotificationReconciler tells people what happens to their Releases.
// It watches Releases, pipelines, calendars and milestones itself and derives
// events from their status; the release engine never calls it, so a slow or
// failing receiver never holds a promotion. Each reconcile reads the
// notification from the API server (not the cache), records the new events
// in its status before sending anything, then delivers what is due and
// records the outcome: a restart neither resends what was delivered nor
// loses what was not.
type ReleaseNotificationReconciler struct {
	client.Client
	// APIReader reads the notification itself (its delivery record must be
	// current), Secrets and RBAC, live.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	Shard     Shard
	// Sender delivers the messages.
	Sender *notify.Sender
	// Backoff is the first wait after a failed delivery, doubled per failure
	// up to 5 minutes; 5s when zero.
	Backoff time.Duration
	// metrics count deliveries, pending messages and reports.
	metrics *notificationMetrics
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasenotifications,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releasenotifications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=releases;releasepipelines;releasecalendars;milestones;launchchecklists,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=list
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler: a change to a Release, a
// pipeline, a calendar or a milestone wakes the notifications of its namespace.
func (r *ReleaseNotificationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Sender == nil {
		r.Sender = &notify.Sender{}
	}
	if r.Backoff <= 0 {
		r.Backoff = defaultNotifyBackoff
	}
	if r.metrics == nil {
		r.metrics = newNotificationMetrics(metrics.Registry)
	}
	wake := handler.EnqueueRequestsFromMapFunc(r.notificationsOf)
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.ReleaseNotification{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}), r.Shard.Predicate())).
		Watches(&releasev1.Release{}, wake).
		Watches(&releasev1.ReleasePipeline{}, wake).
		Watches(&releasev1.ReleaseCalendar{}, wake).
		Watches(&releasev1.Milestone{}, wake).
		Named("releasenotification").
		Complete(r)
}

// notificationsOf maps an object to the shard's notifications of its namespace.
func (r *ReleaseNotificationReconciler) notificationsOf(ctx context.Context, o client.Object) []reconcile.Request {
	var list releasev1.ReleaseNotificationList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing release notifications")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if r.Shard.Owns(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// Reconcile derives the events, queues the new ones (written before any
// delivery), delivers what is due and writes the outcome.
func (r *ReleaseNotificationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *ReleaseNotificationReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	n := &releasev1.ReleaseNotification{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, n); err != nil {
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.Namespace, req.Name)
		}
		return lreconcile.Stop(), client.IgnoreNotFound(err)
	}
	if !n.DeletionTimestamp.IsZero() || !r.Shard.Owns(n) {
		return lreconcile.Stop(), nil
	}
	now := r.Clock.Now()
	orig := n.DeepCopy()
	box := outboxOf(n)
	box.Init(n.CreationTimestamp.Time)
	box.Expire(now)

	snap, err := r.gather(ctx, n, now)
	if err != nil {
		return lreconcile.Stop(), err
	}
	rcs, err := r.receivers(ctx, n)
	if err != nil {
		return lreconcile.Stop(), err
	}
	rcs.record(n)
	box = outboxOf(n) // holds the receivers found unusable now
	events, wake := notify.Derive(snap.input)
	report, reportWake, schedErr := r.report(n, snap, now)
	if report != nil {
		events = append(events, *report)
	}
	if _, err := box.Enqueue(events, now); err != nil {
		return lreconcile.Stop(), err
	}
	stalled := stalledBy(snap.selectorErr, schedErr)
	r.setConditions(n, stalled, rcs)
	n.Status.ObservedGeneration = n.Generation
	if !equality.Semantic.DeepEqual(orig.Status, n.Status) {
		// The intent first: what is to be sent is recorded before anything is.
		conflict, err := patchStatus(ctx, r.Client, orig, n)
		if err != nil {
			return lreconcile.Stop(), fmt.Errorf("writing the delivery record: %w", err)
		}
		if conflict {
			return lreconcile.Requeue(), nil
		}
		r.observeDropped(orig, n)
		r.announceConfig(orig, n, rcs)
		if report != nil {
			r.metrics.reported(n.Namespace, n.Name)
			r.event(n, corev1.EventTypeNormal, releasev1.ReasonReportWritten, "Report", "Release report for %s written", n.Status.Report.Occurrence.UTC().Format(time.RFC3339))
		}
	}
	r.metrics.setPending(n.Namespace, n.Name, len(n.Status.Pending))

	if attempts := box.Due(now, maxDeliveriesPerReconcile); len(attempts) > 0 {
		if err := r.deliver(ctx, n, attempts, rcs, stalled); err != nil {
			return lreconcile.Stop(), err
		}
		if len(attempts) == maxDeliveriesPerReconcile {
			// Written; the rest of what is due goes at once, in the next reconcile.
			return lreconcile.WriteThenContinue(), nil
		}
	}
	return notificationNext(n, rcs, now, wake, reportWake), nil
}

// outboxOf is the notification's delivery record; receivers whose
// configuration is broken (a ConfigError in status) are held.
func outboxOf(n *releasev1.ReleaseNotification) *notify.Outbox {
	names := make([]string, 0, len(n.Spec.Receivers))
	for _, rc := range n.Spec.Receivers {
		names = append(names, rc.Name)
	}
	held := map[string]bool{}
	for _, rs := range n.Status.Receivers {
		if rs.ConfigError != "" {
			held[rs.Name] = true
		}
	}
	return &notify.Outbox{Status: &n.Status, Receivers: names, Held: held}
}

// deliver sends the attempts, receiver by receiver in order, and writes the
// results. A receiver that fails is not tried again in this reconcile. The
// results are written even when the manager is stopping, so a message that
// was delivered is recorded as such.
func (r *ReleaseNotificationReconciler) deliver(ctx context.Context, n *releasev1.ReleaseNotification, attempts []notify.Attempt, rcs *receiverSet, stalled string) error {
	failed := map[string]bool{}
	var results []notify.Result
	for _, a := range attempts {
		if failed[a.Receiver] || rcs.problems[a.Receiver] != nil {
			continue
		}
		rc, ok := rcs.usable[a.Receiver]
		res := notify.Result{Attempt: a}
		start := r.Clock.Now()
		if !ok {
			rc.Name = a.Receiver
			res.Err = &notify.DeliveryError{Permanent: true, Message: "receiver " + a.Receiver + " is no longer in the spec"}
		} else if ev, perr := notify.ParsePayload([]byte(a.Payload)); perr != nil {
			res.Err = &notify.DeliveryError{Permanent: true, Message: "the queued message is unreadable: " + perr.Error()}
		} else {
			res.Err = r.Sender.Send(ctx, rc, ev)
		}
		res.At = r.Clock.Now()
		took := res.At.Sub(start)
		r.metrics.delivered(n.Namespace, n.Name, rc, res, took)
		if res.Err != nil && !notify.IsPermanent(res.Err) {
			failed[a.Receiver] = true
		}
		results = append(results, res)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	before := n.DeepCopy()
	cur := n
	for try := 1; ; try++ {
		orig := cur.DeepCopy()
		box := outboxOf(cur)
		box.Apply(results, r.Backoff)
		rcs.record(cur)
		r.setConditions(cur, stalled, rcs)
		r.metrics.setPending(cur.Namespace, cur.Name, len(cur.Status.Pending))
		conflict, err := patchStatus(wctx, r.Client, orig, cur)
		switch {
		case err != nil:
			return fmt.Errorf("recording deliveries: %w", err)
		case !conflict:
			r.announce(before, cur)
			return nil
		case try == 5:
			return fmt.Errorf("recording deliveries: the notification changed %d times meanwhile", try)
		}
		// Someone changed the spec meanwhile: apply the results to the object as it is now.
		cur = &releasev1.ReleaseNotification{}
		if err := r.APIReader.Get(wctx, client.ObjectKeyFromObject(n), cur); err != nil {
			return fmt.Errorf("recording deliveries: %w", err)
		}
	}
}

// receiverSet is what the receivers' Secrets hold: the receivers that can
// be used, and why each other cannot.
type receiverSet struct {
	usable   map[string]notify.Receiver
	problems map[string]*notify.ConfigError
}

// receivers reads every receiver's Secret, live (Secrets are not cached),
// and checks what can be checked before anything is sent. An error other
// than a missing Secret is returned, to be retried.
func (r *ReleaseNotificationReconciler) receivers(ctx context.Context, n *releasev1.ReleaseNotification) (*receiverSet, error) {
	out := &receiverSet{usable: map[string]notify.Receiver{}, problems: map[string]*notify.ConfigError{}}
	for _, rc := range n.Spec.Receivers {
		secret := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: rc.SecretRef.Name}, secret); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading Secret %q of receiver %s: %w", rc.SecretRef.Name, rc.Name, err)
			}
			out.problems[rc.Name] = notify.SecretNotFound(rc, n.Namespace)
			continue
		}
		got, err := notify.ReceiverFromSecret(rc, secret.Data)
		var ce *notify.ConfigError
		if errors.As(err, &ce) {
			out.problems[rc.Name] = ce
			continue
		}
		out.usable[rc.Name] = got
	}
	return out, nil
}

// record writes each receiver's configuration problem into its status
// (ConfigError), or clears it.
func (s *receiverSet) record(n *releasev1.ReleaseNotification) {
	box := outboxOf(n)
	for _, rc := range n.Spec.Receivers {
		msg := ""
		if p := s.problems[rc.Name]; p != nil {
			msg = p.Message
		}
		if rs := box.Receiver(rc.Name); rs.ConfigError != msg {
			rs.ConfigError = msg
		}
	}
}

// setConditions writes where the notification stands (notificationSummary)
// as its Ready, Reconciling and Stalled conditions.
func (r *ReleaseNotificationReconciler) setConditions(n *releasev1.ReleaseNotification, stalled string, rcs *receiverSet) {
	var broken []*notify.ConfigError
	if rcs != nil {
		for _, rc := range n.Spec.Receivers {
			if p := rcs.problems[rc.Name]; p != nil {
				broken = append(broken, p)
			}
		}
	}
	conditions.Set(&n.Status.Conditions, n.Generation, notificationSummary(n, stalled, broken))
}

// notificationSummary: Stalled while the spec cannot be used (stalled says
// why; what can be derived is still sent) or a receiver's Secret is missing
// or invalid (broken: nothing is sent to it, nothing retried, until a
// person fixes it), Reconciling while a receiver fails (its messages are
// retried with back-off; the message names each failing receiver's last
// error and next try), else Ready.
func notificationSummary(n *releasev1.ReleaseNotification, stalled string, broken []*notify.ConfigError) conditions.Summary {
	reason, why := releasev1.ReasonSecretInvalid, []string{}
	if stalled != "" {
		reason, why = releasev1.ReasonInvalidSpec, append(why, stalled)
	}
	for _, p := range broken {
		if p.Reason == releasev1.ReasonSecretNotFound && stalled == "" {
			reason = releasev1.ReasonSecretNotFound
		}
		why = append(why, p.Message)
	}
	if len(broken) > 0 {
		why = append(why, "its messages wait until the Secret is fixed")
	}
	if len(why) > 0 {
		return conditions.Stalled(reason, strings.Join(why, "; "))
	}
	var failing []string
	for _, rs := range n.Status.Receivers {
		if rs.ConsecutiveFailures > 0 {
			msg := fmt.Sprintf("%s: %s", rs.Name, rs.LastError)
			if rs.RetryAt != nil {
				msg += "; retrying at " + rs.RetryAt.UTC().Format(time.RFC3339)
			}
			failing = append(failing, msg)
		}
	}
	if len(failing) > 0 {
		return conditions.Reconciling(releasev1.ReasonDeliveryFailing, strings.Join(failing, "; "))
	}
	return conditions.Ready(releasev1.ReasonDelivering,
		fmt.Sprintf("%d receiver(s), %d message(s) pending", len(n.Spec.Receivers), len(n.Status.Pending)))
}

// stalledBy says why the spec cannot be used: a selector, the schedule, or
// both; "" when it can.
func stalledBy(selectorErr, scheduleErr error) string {
	var why []string
	for _, err := range []error{selectorErr, scheduleErr} {
		if err != nil {
			why = append(why, err.Error())
		}
	}
	return strings.Join(why, "; ")
}

// announce emits an event when a receiver starts failing or recovers.
func (r *ReleaseNotificationReconciler) announce(before, after *releasev1.ReleaseNotification) {
	was := map[string]int32{}
	for _, rs := range before.Status.Receivers {
		was[rs.Name] = rs.ConsecutiveFailures
	}
	for _, rs := range after.Status.Receivers {
		switch {
		case was[rs.Name] == 0 && rs.ConsecutiveFailures > 0:
			r.event(after, corev1.EventTypeWarning, releasev1.ReasonDeliveryFailing, deliverTo(rs.Name), "Receiver %s: %s", rs.Name, rs.LastError)
		case was[rs.Name] > 0 && rs.ConsecutiveFailures == 0 && rs.LastSent != nil:
			r.event(after, corev1.EventTypeNormal, releasev1.ReasonDeliveryRecovered, deliverTo(rs.Name), "Receiver %s delivers again", rs.Name)
		}
	}
}

// announceConfig emits an event when a receiver's Secret is found missing
// or invalid.
func (r *ReleaseNotificationReconciler) announceConfig(before, after *releasev1.ReleaseNotification, rcs *receiverSet) {
	was := map[string]string{}
	for _, rs := range before.Status.Receivers {
		was[rs.Name] = rs.ConfigError
	}
	for _, rc := range after.Spec.Receivers {
		if p := rcs.problems[rc.Name]; p != nil && was[rc.Name] != p.Message {
			r.event(after, corev1.EventTypeWarning, p.Reason, deliverTo(rc.Name), "%s", p.Message)
		}
	}
}

// deliverTo is the action of a receiver's events. The events API folds
// events of the same object, reason and action into one series that keeps
// the first one's message (its key leaves the message out): with one action
// per receiver, each receiver's failure and recovery is an event of its own,
// under its name.
func deliverTo(receiver string) string { return "DeliverTo/" + receiver }

// observeDropped counts what the outbox gave up while queueing.
func (r *ReleaseNotificationReconciler) observeDropped(before, after *releasev1.ReleaseNotification) {
	was := map[string]int64{}
	for _, rs := range before.Status.Receivers {
		was[rs.Name] = rs.Dropped
	}
	for _, rs := range after.Status.Receivers {
		r.metrics.dropped(after.Namespace, after.Name, rs.Name, rs.Dropped-was[rs.Name])
	}
}

func (r *ReleaseNotificationReconciler) event(n *releasev1.ReleaseNotification, eventType, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(n, nil, eventType, reason, action, format, args...)
	}
}

// notificationNext is when the notification next has work, the earliest of:
// a receiver's retry or a message to give up on (the outbox's Wake:
// WaitDelivery); a time at which time alone makes a message (due: a wait
// that turns into Blocked, a freeze coming into notice, the next report:
// WaitDue); and, while a receiver's Secret is missing or invalid, reading
// the Secrets again (no watch tells of them: WaitFix). Nothing of these:
// a change of what it watches brings it back (Stop).
func notificationNext(n *releasev1.ReleaseNotification, rcs *receiverSet, now time.Time, due ...time.Time) lreconcile.Outcome {
	out := lreconcile.Stop()
	if len(rcs.problems) > 0 {
		out = lreconcile.WaitFor(conditions.RetryStalled, lreconcile.WaitFix)
	}
	if at := outboxOf(n).Wake(now); !at.IsZero() {
		out = out.NoLaterThan(at, now, lreconcile.WaitDelivery)
	}
	for _, at := range due {
		if !at.IsZero() {
			out = out.NoLaterThan(at, now, lreconcile.WaitDue)
		}
	}
	return out
}
