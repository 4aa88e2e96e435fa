package release

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
)

// conclusion is what one step concluded about a Release, before it is
// written as phase and conditions. One small function turns it into status so
// the rules are in one place and table-tested.
type conclusion struct {
	phase releasev1.ReleasePhase
	// reason and message explain the phase (UpperCamelCase reason).
	reason, message string
	// blocked: a gate failed or the Release is paused; a person must act.
	blocked bool
	// stalled: the spec or something it references is wrong.
	stalled bool
}

// setConditions writes the phase and the conditions from o: Ready,
// Reconciling and Stalled the way every kind writes them (internal/conditions),
// and the Release's own Progressing and Blocked. Reconciling is True exactly
// while Progressing is.
func setConditions(rel *releasev1.Release, o conclusion) {
	rel.Status.Phase = o.phase
	terminal := o.phase == releasev1.PhaseReleased || o.phase == releasev1.PhaseSuperseded || o.phase == releasev1.PhaseFailed
	progressing := !terminal && !o.blocked && !o.stalled

	summary := conditions.NotReady(o.reason, o.message)
	switch {
	case o.phase == releasev1.PhaseReleased:
		summary = conditions.Ready(o.reason, o.message)
	case o.stalled:
		summary = conditions.Stalled(o.reason, o.message)
	case progressing:
		summary = conditions.Reconciling(o.reason, o.message)
	}
	conditions.Set(&rel.Status.Conditions, rel.Generation, summary)

	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: rel.Generation})
	}
	if progressing {
		set(releasev1.ConditionProgressing, metav1.ConditionTrue, o.reason, o.message)
	} else {
		set(releasev1.ConditionProgressing, metav1.ConditionFalse, o.reason, o.message)
	}
	if o.blocked {
		set(releasev1.ConditionBlocked, metav1.ConditionTrue, o.reason, o.message)
	} else {
		set(releasev1.ConditionBlocked, metav1.ConditionFalse, releasev1.ReasonNotBlocked, "no gate blocks the Release")
	}
}

func (s *step) stall(reason, message string) {
	if s.rel.Status.Phase == "" {
		s.rel.Status.Phase = releasev1.PhasePending
	}
	setConditions(s.rel, conclusion{phase: releasev1.PhaseBlocked, reason: reason, message: message, blocked: true, stalled: true})
}

// githubFixes say what to fix after a 404 or a refused token, in a
// pipeline's terms.
var githubFixes = reconcile.Fixes{
	NotFound:     "check the repository and branch names and that the token can read them",
	Unauthorized: "check the token in the pipeline's secretRef and its permissions",
}

// githubError turns a GitHub failure into conditions and a retry, as
// reconcile.GitHub says. Nothing recorded is lost: the step is retried from
// the status as written.
func (s *step) githubError(err error) (reconcile.Outcome, error) {
	d, ok := reconcile.GitHub(err, githubFixes)
	if !ok {
		// Not GitHub's answer (the request never went out, a promotion's own
		// failure): retried with backoff like an outage.
		d = reconcile.Disposition{Reason: releasev1.ReasonGitHubUnavailable, Fix: "retrying with backoff"}
	}
	if d.Refused {
		s.credentials.Refused(s.pipe)
	}
	if d.Stalled {
		s.stall(d.Reason, d.Message(err))
		return d.Outcome(err)
	}
	phase := s.rel.Status.Phase
	if phase == "" {
		phase = releasev1.PhasePending
	}
	setConditions(s.rel, conclusion{phase: phase, reason: d.Reason, message: d.Message(err)})
	return d.Outcome(err)
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// gateStatuses turns gate results into status, keeping lastChecked of a gate
// whose outcome did not change unless it is older than lastCheckedRefresh:
// every poll of a pending gate would otherwise be a write to the API server.
func gateStatuses(old []releasev1.GateStatus, results []gates.Result, now time.Time) []releasev1.GateStatus {
	prev := map[string]releasev1.GateStatus{}
	for _, g := range old {
		prev[g.Name] = g
	}
	out := make([]releasev1.GateStatus, 0, len(results))
	t := metav1.NewTime(now)
	for _, r := range results {
		g := releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, URL: r.URL, Issues: r.Issues, LastChecked: &t}
		if p, ok := prev[r.Name]; ok && p.LastChecked != nil && p.Status == g.Status && p.Reason == g.Reason && p.Message == g.Message && p.URL == g.URL &&
			now.Sub(p.LastChecked.Time) < lastCheckedRefresh {
			g.LastChecked = p.LastChecked
		}
		out = append(out, g)
	}
	return out
}

// gateSummary is the Markdown table of gate results for a pull request.
func gateSummary(gs []releasev1.GateStatus) string {
	if len(gs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Gate | Status | Detail |\n| --- | --- | --- |\n")
	for _, g := range gs {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.Name, g.Status, strings.ReplaceAll(g.Message, "|", "\\|"))
	}
	return b.String()
}

// replaceGate puts a gate's result in the stage's gate statuses, in place
// of the gate's earlier one.
func replaceGate(ss *releasev1.ReleaseStageStatus, r gates.Result, now time.Time) {
	checked := metav1.NewTime(now)
	kept := ss.Gates[:0]
	for _, g := range ss.Gates {
		if g.Name != r.Name {
			kept = append(kept, g)
		}
	}
	ss.Gates = append(kept, releasev1.GateStatus{Name: r.Name, Status: r.State, Reason: r.Reason, Message: r.Message, LastChecked: &checked})
}

// lastCheckedRefresh is how long a lastChecked stays as it was while what
// it stamps did not change: every poll would otherwise be a write to the
// API server.
const lastCheckedRefresh = 5 * time.Minute

func stamp(t *metav1.Time) string {
	if t == nil {
		return "(unset)"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// plannedFor is the Release's planned time for the stage, if any.
func plannedFor(rel *releasev1.Release, stage string) *metav1.Time {
	for i := range rel.Spec.Plan {
		if rel.Spec.Plan[i].Stage == stage {
			return &rel.Spec.Plan[i].At
		}
	}
	return nil
}
