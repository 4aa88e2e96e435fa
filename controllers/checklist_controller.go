package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/analysis"
	"github.com/liftoff-dev/liftoff/internal/checklist"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/credentials"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/github"
	lreconcile "github.com/liftoff-dev/liftoff/internal/reconcile"
)

// checklistIndex indexes Releases by spec.launchChecklist.
const checklistIndex = "spec.launchChecklist"

// LaunchChecklistReconciler observes each automatic item of a checklist,
// folds in the sign-offs and writes where the launch stands.
type LaunchChecklistReconciler struct {
	client.Client
	// Shard is the shard this controller serves (see ShardLabel).
	Shard Shard
	// Credentials gives the GitHub and Prometheus clients of the checks.
	Credentials *credentials.Store
	Clock       clock.PassiveClock
	// PollInterval for automatic items (conditional requests to GitHub).
	PollInterval time.Duration
}

// +kubebuilder:rbac:groups=release.liftoff.dev,resources=launchchecklists,verbs=get;list;watch
// +kubebuilder:rbac:groups=release.liftoff.dev,resources=launchchecklists/status,verbs=get;update;patch

// SetupWithManager registers the reconciler.
func (r *LaunchChecklistReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.PollInterval == 0 {
		r.PollInterval = time.Minute
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&releasev1.LaunchChecklist{}, builder.WithPredicates(predicate.GenerationChangedPredicate{}, r.Shard.Predicate())).
		// A release check turns done when its Release lands in the stage.
		Watches(&releasev1.Release{}, handler.EnqueueRequestsFromMapFunc(r.checklistsOfRelease)).
		Named("launchchecklist").
		Complete(r)
}

func (r *LaunchChecklistReconciler) checklistsOfRelease(ctx context.Context, o client.Object) []reconcile.Request {
	var list releasev1.LaunchChecklistList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, lc := range list.Items {
		if lc.Name == o.(*releasev1.Release).Spec.LaunchChecklist || refersTo(&lc, o.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: lc.Namespace, Name: lc.Name}})
		}
	}
	return out
}

func refersTo(lc *releasev1.LaunchChecklist, release string) bool {
	for _, it := range lc.Spec.Items {
		if it.Check.Release != nil && it.Check.Release.Name == release {
			return true
		}
	}
	return false
}

// Reconcile observes, evaluates and writes the status once.
func (r *LaunchChecklistReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	out, err := r.reconcile(ctx, req)
	return out.Result(r.Clock.Now()), err
}

func (r *LaunchChecklistReconciler) reconcile(ctx context.Context, req ctrl.Request) (lreconcile.Outcome, error) {
	lc := &releasev1.LaunchChecklist{}
	if err := r.Get(ctx, req.NamespacedName, lc); err != nil {
		return lreconcile.Stop(), client.IgnoreNotFound(err)
	}
	if !lc.DeletionTimestamp.IsZero() || !r.Shard.Owns(lc) {
		return lreconcile.Stop(), nil
	}
	orig := lc.DeepCopy()
	now := r.Clock.Now()
	o := &observer{r: r, lc: lc, now: now}
	obs, err := o.observe(ctx)
	if err != nil {
		return lreconcile.Stop(), err
	}
	conds := lc.Status.Conditions
	lc.Status = checklist.Evaluate(lc, obs, lc.Status.Items, now)
	lc.Status.Conditions, lc.Status.ObservedGeneration = conds, lc.Generation
	st := &lc.Status
	summary := conditions.Ready(releasev1.ReasonReady, fmt.Sprintf("%d of %d items done or waived; every required item is", st.Done, st.Total))
	switch {
	case st.Ready:
	case o.trouble != nil:
		// An item cannot be read: say why, rather than only that it is open.
		summary = *o.trouble
	default:
		summary = conditions.NotReady(releasev1.ReasonItemsOpen, fmt.Sprintf("%d of %d done; open: %s", st.Done, st.Total, checklist.Open(lc)))
	}
	conditions.Set(&st.Conditions, lc.Generation, summary)
	out := lreconcile.Stop() // a sign-off or a change of the spec brings it back
	if automatic(lc) {
		out = lreconcile.Poll(max(r.PollInterval, o.retryAfter))
	}
	return writeStatus(ctx, r.Client, orig, lc, out, nil)
}

func automatic(lc *releasev1.LaunchChecklist) bool {
	for _, it := range lc.Spec.Items {
		if it.Check.Manual == nil {
			return true
		}
	}
	return false
}

// observer is one observation of a checklist's automatic items.
type observer struct {
	r   *LaunchChecklistReconciler
	lc  *releasev1.LaunchChecklist
	now time.Time
	// trouble is the worst failure to read an item (a stall beats a
	// retry), as the checklist's conditions say it; retryAfter is how long
	// GitHub asked to wait.
	trouble    *conditions.Summary
	retryAfter time.Duration
}

// checklistFixes say what to fix when GitHub answers 404 or refuses the token.
var checklistFixes = lreconcile.Fixes{
	NotFound:     "check the item's repository and number (or ref) and that the token can read them",
	Unauthorized: "check the token in the pipeline's spec.github.secretRef",
}

// failed notes why an item could not be read from GitHub, as reconcile.GitHub
// says, and returns the message the item shows.
func (o *observer) failed(item string, pipe *releasev1.ReleasePipeline, err error) string {
	var ce *credentials.Error
	if errors.As(err, &ce) {
		o.note(conditions.Stalled(ce.Reason, fmt.Sprintf("item %s: %s", item, ce.Error())), conditions.RetryStalled)
		return ce.Error()
	}
	d, ok := lreconcile.GitHub(err, checklistFixes)
	if !ok {
		return "reading GitHub failed: " + err.Error()
	}
	if d.Refused && pipe != nil {
		o.r.Credentials.Forget(pipe.Namespace, pipe.Spec.GitHub.SecretRef)
	}
	msg := d.Message(err)
	if d.Stalled {
		o.note(conditions.Stalled(d.Reason, fmt.Sprintf("item %s: %s", item, msg)), d.RetryAfter)
	} else {
		o.note(conditions.Reconciling(d.Reason, fmt.Sprintf("item %s: %s", item, msg)), d.RetryAfter)
	}
	return "reading GitHub failed: " + msg
}

func (o *observer) note(s conditions.Summary, retryAfter time.Duration) {
	if o.trouble == nil || s.IsStalled() && !o.trouble.IsStalled() {
		o.trouble = &s
	}
	o.retryAfter = max(o.retryAfter, retryAfter)
}

// observe reads every automatic item's check. A failure to read one item
// leaves it Pending with the reason; it never counts as done.
func (o *observer) observe(ctx context.Context) (map[string]checklist.Observation, error) {
	r, lc, now := o.r, o.lc, o.now
	obs := map[string]checklist.Observation{}
	pipe, err := r.pipelineOf(ctx, lc)
	if err != nil {
		return nil, err
	}
	var gh *github.Client
	ghProblem := ""
	ghClient := func(item string) *github.Client {
		if gh != nil || ghProblem != "" {
			return gh
		}
		if pipe == nil {
			ghProblem = "no Release names this checklist in spec.launchChecklist yet: the GitHub credential of its pipeline is used"
			return nil
		}
		c, err := r.Credentials.ForPipeline(ctx, pipe)
		if err != nil {
			ghProblem = o.failed(item, pipe, err)
			return nil
		}
		gh = c
		return gh
	}
	for _, it := range lc.Spec.Items {
		c := it.Check
		var ob checklist.Observation
		switch {
		case c.Manual != nil:
			continue
		case c.Release != nil:
			ob = r.observeRelease(ctx, lc.Namespace, c.Release)
		case c.Prometheus != nil:
			ob = r.observePrometheus(ctx, lc.Namespace, pipe, c.Prometheus, now)
		default:
			if g := ghClient(it.Name); g == nil {
				ob = checklist.Observation{State: releasev1.ItemPending, Message: ghProblem}
			} else {
				ob = observeGitHub(ctx, g, c, func(err error) string { return o.failed(it.Name, pipe, err) })
			}
		}
		obs[it.Name] = ob
	}
	return obs, nil
}

// pipelineOf is the pipeline of the first Release (by name) using the checklist.
func (r *LaunchChecklistReconciler) pipelineOf(ctx context.Context, lc *releasev1.LaunchChecklist) (*releasev1.ReleasePipeline, error) {
	var rels releasev1.ReleaseList
	if err := r.List(ctx, &rels, client.InNamespace(lc.Namespace), client.MatchingFields{checklistIndex: lc.Name}); err != nil {
		return nil, err
	}
	sort.Slice(rels.Items, func(i, j int) bool { return rels.Items[i].Name < rels.Items[j].Name })
	for _, rel := range rels.Items {
		pipe := &releasev1.ReleasePipeline{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: lc.Namespace, Name: rel.Spec.Pipeline}, pipe); err == nil {
			return pipe, nil
		}
	}
	return nil, nil
}

func (r *LaunchChecklistReconciler) observeRelease(ctx context.Context, ns string, c *releasev1.ReleaseCheck) checklist.Observation {
	rel := &releasev1.Release{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: c.Name}, rel); err != nil {
		return checklist.Observation{State: releasev1.ItemPending, Message: fmt.Sprintf("Release %s not found", c.Name)}
	}
	ss := rel.Status.StageStatus(c.Stage)
	switch {
	case ss != nil && ss.Phase == releasev1.StagePromoted:
		return checklist.Observation{State: releasev1.ItemDone, Message: fmt.Sprintf("%s %s is live in %s", c.Name, rel.Spec.Version, c.Stage)}
	case ss != nil && ss.Phase == releasev1.StageSuperseded && ss.Promotion != nil && ss.Promotion.CompletedAt != nil:
		// It reached the stage; a newer version followed it there.
		return checklist.Observation{State: releasev1.ItemDone, Message: fmt.Sprintf("%s %s reached %s (since superseded)", c.Name, rel.Spec.Version, c.Stage)}
	case ss != nil && (ss.Phase == releasev1.StageFailed || ss.Phase == releasev1.StageRolledBack):
		return checklist.Observation{State: releasev1.ItemFailed, Message: fmt.Sprintf("%s %s %s in %s", c.Name, rel.Spec.Version, ss.Phase, c.Stage)}
	}
	where := "not there yet"
	if ss != nil {
		where = string(ss.Phase)
	}
	return checklist.Observation{State: releasev1.ItemPending, Message: fmt.Sprintf("waiting for %s %s to reach %s (%s)", c.Name, rel.Spec.Version, c.Stage, where)}
}

func (r *LaunchChecklistReconciler) observePrometheus(ctx context.Context, ns string, pipe *releasev1.ReleasePipeline, c *releasev1.PrometheusCheck, now time.Time) checklist.Observation {
	pending := func(msg string) checklist.Observation {
		return checklist.Observation{State: releasev1.ItemPending, Message: msg}
	}
	cond, err := analysis.CompileCondition(c.Condition)
	if err != nil {
		return checklist.Observation{State: releasev1.ItemFailed, Message: fmt.Sprintf("condition %q: %v: fix the item", c.Condition, err)}
	}
	var spec *releasev1.PrometheusSpec
	switch {
	case c.Address != "":
		spec = &releasev1.PrometheusSpec{Address: c.Address}
	case pipe != nil && pipe.Spec.Prometheus != nil:
		spec = pipe.Spec.Prometheus
	default:
		return pending("no Prometheus: set the item's address, or use the checklist from a pipeline with spec.prometheus")
	}
	prom, err := r.Credentials.Prometheus(ctx, ns, spec)
	if err != nil {
		return pending(err.Error())
	}
	v, err := prom.Query(ctx, c.Query, now)
	if err != nil {
		return pending("query failed: " + err.Error())
	}
	if v.NoData() {
		return pending("the query returned no data")
	}
	ok, err := cond.Eval(v)
	if err != nil {
		return pending(err.Error())
	}
	if !ok {
		return pending(fmt.Sprintf("%s is false (value %s)", c.Condition, v))
	}
	return checklist.Observation{State: releasev1.ItemDone, Message: fmt.Sprintf("%s holds (value %s)", c.Condition, v)}
}

// observeGitHub reads an item's GitHub check; failed says what a failure to
// read it means.
func observeGitHub(ctx context.Context, gh *github.Client, c releasev1.ItemCheck, failed func(error) string) checklist.Observation {
	fail := func(err error) checklist.Observation {
		return checklist.Observation{State: releasev1.ItemPending, Message: failed(err)}
	}
	switch {
	case c.GitHubIssue != nil:
		is, err := gh.GetIssueState(ctx, c.GitHubIssue.Repository, c.GitHubIssue.Number)
		if err != nil {
			return fail(err)
		}
		if is.State == "closed" {
			return checklist.Observation{State: releasev1.ItemDone, Message: fmt.Sprintf("issue #%d closed: %s", is.Number, is.Title), URL: is.URL}
		}
		return checklist.Observation{State: releasev1.ItemPending, Message: fmt.Sprintf("issue #%d open: %s", is.Number, is.Title), URL: is.URL}
	case c.GitHubPullRequest != nil:
		pr, err := gh.GetPullRequestState(ctx, c.GitHubPullRequest.Repository, c.GitHubPullRequest.Number)
		if err != nil {
			return fail(err)
		}
		switch {
		case pr.Merged:
			return checklist.Observation{State: releasev1.ItemDone, Message: fmt.Sprintf("pull request #%d merged: %s", pr.Number, pr.Title), URL: pr.URL}
		case pr.State == "closed":
			return checklist.Observation{State: releasev1.ItemFailed, Message: fmt.Sprintf("pull request #%d closed without merge: %s", pr.Number, pr.Title), URL: pr.URL}
		}
		return checklist.Observation{State: releasev1.ItemPending, Message: fmt.Sprintf("pull request #%d open: %s", pr.Number, pr.Title), URL: pr.URL}
	case c.GitHubChecks != nil:
		sha, err := gh.ResolveCommit(ctx, c.GitHubChecks.Repository, c.GitHubChecks.Ref)
		if err != nil {
			return fail(err)
		}
		results, err := gh.Checks(ctx, c.GitHubChecks.Repository, sha, c.GitHubChecks.Required)
		if err != nil {
			return fail(err)
		}
		g := gates.Checks(c.GitHubChecks.Required, results, sha)
		state := map[releasev1.GateState]releasev1.ItemState{releasev1.GatePassed: releasev1.ItemDone, releasev1.GatePending: releasev1.ItemPending, releasev1.GateFailed: releasev1.ItemFailed}[g.State]
		return checklist.Observation{State: state, Message: "checks on " + c.GitHubChecks.Ref + ": " + g.Message, URL: g.URL}
	}
	return checklist.Observation{State: releasev1.ItemPending, Message: "unknown check"}
}
