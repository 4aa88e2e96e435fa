package controllers

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/agents"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/hooks"
	"github.com/liftoff-dev/liftoff/internal/notes"
	"github.com/liftoff-dev/liftoff/internal/promotion"
	"github.com/liftoff-dev/liftoff/internal/registry"
	"github.com/liftoff-dev/liftoff/internal/release"
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
	// Metrics registers the controller's metrics; controller-runtime's
	// registry (served on the manager's metrics endpoint) when nil.
	Metrics prometheus.Registerer
	// SeparateCommits makes each promotion a commit of its own: promotions
	// ready together into one repository and branch are not coalesced (the
	// benchmark's baseline, --coalesce-commits=false).
	SeparateCommits bool
	// Registry reads the pipelines' artifacts in OCI registries; one
	// client for the process (its transports and the registries' rate
	// limits are shared). A new one when nil.
	Registry *registry.Client
}

// Setup registers every Liftoff reconciler with the manager. The manager
// binary, the playground and the tests all start the controller this way.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if o.GitHub == nil {
		o.GitHub = &github.Factory{}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.StaleLockAfter == 0 {
		o.StaleLockAfter = time.Minute
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Registry
	}
	if o.Registry == nil {
		o.Registry = registry.New(registry.Options{Clock: o.Clock})
	}
	// What the reconcilers share: the credentials read from Secrets (tokens
	// kept a while), the calendars compiled once per generation.
	creds := credentials.NewStore(mgr.GetAPIReader(), o.GitHub, o.Clock)
	cals := newCalendars()
	resolver := &artifacts.Resolver{Registry: o.Registry, Keys: creds}
	// Every event's message fits what the API server accepts.
	recorder := shortEvents{mgr.GetEventRecorder("liftoff")}
	if err := indexSourceRepository(ctx, mgr); err != nil {
		return err
	}
	if err := indexLaunches(ctx, mgr); err != nil {
		return err
	}
	if err := (&LaunchReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: o.Clock, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ReleasePipelineReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Credentials: creds, Artifacts: resolver,
		Recorder: recorder, Clock: o.Clock, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ReleaseCalendarReconciler{Client: mgr.GetClient(), Clock: o.Clock, Shard: o.Shard, calendars: cals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if o.HTTP != nil {
		o.HTTP.Handle(CalendarFeedPath, &CalendarFeed{Client: mgr.GetClient(), Clock: o.Clock})
	}
	if err := (&MilestoneReconciler{Client: mgr.GetClient(), Credentials: creds, Recorder: recorder, Clock: o.Clock, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&LaunchChecklistReconciler{Client: mgr.GetClient(), Credentials: creds, Clock: o.Clock, PollInterval: o.PollInterval, Shard: o.Shard}).SetupWithManager(mgr); err != nil {
		return err
	}
	// One coalescer per credential, repository and branch for the whole
	// process: the promotions of every worker meet in it. It wakes a
	// Release once its commit is made.
	var coalescers *promotion.Coalescers
	var coalesced chan event.GenericEvent
	if !o.SeparateCommits {
		coalesced = make(chan event.GenericEvent, coalescedBuffer)
		coalescers = promotion.NewCoalescers(ctx, wakeRelease(coalesced))
	}
	// The GitOps agents (Argo CD, Flux) of stages with a deployment: watched
	// from the first look, on the leader only; a change wakes the Releases
	// waiting on it.
	deployments := agents.NewWatcher(mgr.GetConfig(), mgr.GetAPIReader())
	if err := mgr.Add(deployments); err != nil {
		return err
	}
	engine := release.New(release.Deps{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Ledger:      &release.StageLedger{Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(), StaleAfter: o.StaleLockAfter},
		Coalescers:  coalescers,
		Credentials: release.StoreCredentials{Store: creds}, Calendar: cals.compile,
		Clock: o.Clock, Recorder: recorder, Shard: o.Shard, PollInterval: o.PollInterval, Agents: deployments,
		Notes: notes.NewCache(notesKept, o.Clock.Now), Artifacts: resolver,
	})
	if err := (&ReleaseReconciler{
		Client: mgr.GetClient(), Engine: engine, Recorder: recorder, Clock: o.Clock,
		MaxConcurrentReconciles: o.Concurrency, Coalesced: coalesced, Deployments: deployments.Source(), Shard: o.Shard,
		metrics: newReleaseMetrics(o.Metrics),
	}).SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&ReleaseNotificationReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder,
		Clock: o.Clock, Shard: o.Shard, Backoff: o.NotifyBackoff, metrics: newNotificationMetrics(o.Metrics)}).SetupWithManager(mgr); err != nil {
		return err
	}
	if o.HTTP != nil {
		// Every replica receives deliveries: it stamps them on the objects
		// concerned, whose watches wake the leader's controllers.
		o.HTTP.Handle(hooks.Path, hooks.NewHandler(o.WebhookSecret, &deliveryStamps{Reader: mgr.GetClient(), Writer: mgr.GetClient()}))
	}
	return nil
}

// wakeRelease wakes the Release of a coalesced promotion whose commit was
// made (or refused). It never blocks the coalescer: on a full channel the
// Release's own fallback requeue brings it back.
func wakeRelease(ch chan<- event.GenericEvent) func(*promotion.Request) {
	return func(req *promotion.Request) {
		select {
		case ch <- event.GenericEvent{Object: &releasev1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Release}}}:
		default:
		}
	}
}

// coalescedBuffer is how many wake-ups of coalesced promotions wait for the
// Release controller before more are dropped.
const coalescedBuffer = 1024

// notesKept is how many version pairs' release notes the Release
// controller keeps (a few kilobytes each).
const notesKept = 256
