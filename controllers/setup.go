package controllers

import (
	"context"
	"net/http"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/hooks"
)

// Options configure every Liftoff reconciler.
type Options struct {
	// GitHub hands out the shared GitHub clients.
	GitHub *github.Factory
	// Clock; the real clock when nil. Tests inject a fake one.
	Clock clock.PassiveClock
	// PollInterval for pending QA checks and pull requests.
	PollInterval time.Duration
	// StaleLockAfter: see ReleaseReconciler.
	StaleLockAfter time.Duration
	// Concurrency is the number of Releases reconciled in parallel.
	Concurrency int
	// HTTP, when set, gets the manager's plain HTTP endpoints mounted:
	// /hooks/github (the GitHub webhook receiver) and /calendars/ (iCalendar
	// feeds). The caller serves it (internal/serve).
	HTTP *http.ServeMux
	// Shard is the shard this controller serves: Releases, pipelines,
	// calendars, milestones and checklists labelled ShardLabel=Shard, or the
	// unlabelled ones when empty. The manager's cache should hold only the
	// shard's Releases and pipelines (Shard.CacheByObject).
	Shard Shard
	// WebhookSecret verifies X-Hub-Signature-256 of GitHub webhook deliveries.
	// Without it the receiver refuses every delivery.
	WebhookSecret []byte
	// NotifyBackoff is the first wait after a failed notification delivery
	// (doubled per failure, at most 5m); 5s when zero.
	NotifyBackoff time.Duration
}

// Setup registers every Liftoff reconciler with the manager. The manager
// binary, the playground and the tests all start the controller this way.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if o.GitHub == nil {
		o.GitHub = &github.Factory{}
	}
	// Webhook deliveries become triggers on these channels; the controllers
	// consume them. A full channel drops a trigger: polling is the fallback.
	triggers := hooks.NewTriggers(triggerBuffer)
	if err := indexSourceRepository(ctx, mgr); err != nil {
		return err
	}
	if err := (&ReleasePipelineReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), GitHub: o.GitHub,
		Recorder: mgr.GetEventRecorder("liftoff"), Clock: o.Clock, Discover: triggers.Discover, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ReleaseCalendarReconciler{Client: mgr.GetClient(), Clock: o.Clock, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if o.HTTP != nil {
		clk := o.Clock
		if clk == nil {
			clk = clock.RealClock{}
		}
		o.HTTP.Handle(CalendarFeedPath, &CalendarFeed{Client: mgr.GetClient(), Clock: clk})
	}
	if err := (&MilestoneReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("liftoff"), GitHub: o.GitHub, Clock: o.Clock, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&LaunchChecklistReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), GitHub: o.GitHub, Clock: o.Clock, PollInterval: o.PollInterval, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ReleaseReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("liftoff"),
		GitHub: o.GitHub, Clock: o.Clock, PollInterval: o.PollInterval, StaleLockAfter: o.StaleLockAfter,
		MaxConcurrentReconciles: o.Concurrency, Recheck: triggers.Recheck, Shard: o.Shard,
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&ReleaseNotificationReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("liftoff"),
		Clock: o.Clock, Shard: o.Shard, Backoff: o.NotifyBackoff}).SetupWithManager(mgr); err != nil {
		return err
	}
	if o.HTTP != nil {
		h := hooks.NewHandler(o.WebhookSecret, triggers)
		h.Leading = leading(mgr)
		o.HTTP.Handle(hooks.Path, h)
	}
	return nil
}

// leading tells whether the manager's leader-election controllers run: always
// without leader election, once elected with it.
func leading(mgr ctrl.Manager) func() bool {
	elected := mgr.Elected()
	return func() bool {
		select {
		case <-elected:
			return true
		default:
			return false
		}
	}
}

// triggerBuffer is how many webhook triggers of each kind wait for the
// controllers before more are dropped.
const triggerBuffer = 256
