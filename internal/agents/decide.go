package agents

import (
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// DecideCommitStatus says what the status context (or check run) posted on
// commit of repo means: success is deployed, pending in progress, failure or
// error a failed deployment; none yet is pending. Every message begins with
// the status it is about (context, repository and commit).
func DecideCommitStatus(repo, context, commit string, results []github.CheckResult) ObjectObservation {
	o := ObjectObservation{Object: context, Revision: commit}
	set := func(s releasev1.DeploymentState, predicate string, args ...any) ObjectObservation {
		who := fmt.Sprintf("Status %q on %s@%s ", context, repo, shortSHA(commit))
		o.State, o.Message = s, truncate(who+fmt.Sprintf(predicate, args...))
		return o
	}
	for _, r := range results {
		if r.Name != context {
			continue
		}
		where := ""
		if r.URL != "" {
			where = " (" + r.URL + ")"
		}
		switch r.State {
		case github.CheckSuccess:
			return set(releasev1.DeploymentDeployed, "is %s%s", r.Detail, where)
		case github.CheckPending:
			return set(releasev1.DeploymentProgressing, "is %s%s", r.Detail, where)
		}
		return set(releasev1.DeploymentFailed, "is %s%s", r.Detail, where)
	}
	return set(releasev1.DeploymentPending, "is not posted yet")
}

// subject opens a message about an agent object: "Application argocd/checkout ".
func subject(kind, object string) string { return kind + " " + object + " " }

// severity orders states for a summary: what a person must act on first,
// then the least advanced wait, Deployed last.
var severity = map[releasev1.DeploymentState]int{
	releasev1.DeploymentFailed:      0,
	releasev1.DeploymentDegraded:    1,
	releasev1.DeploymentForbidden:   2,
	releasev1.DeploymentMissing:     3,
	releasev1.DeploymentUnknown:     4,
	releasev1.DeploymentSuspended:   5,
	releasev1.DeploymentPending:     6,
	releasev1.DeploymentOutOfSync:   7,
	releasev1.DeploymentProgressing: 8,
	releasev1.DeploymentDeployed:    9,
}

// Summarize makes one Observation of the objects' observations: the state
// of the most severe, Deployed only when every object is. base carries the
// agent, kind, object and cluster.
func Summarize(base Observation, objects []ObjectObservation) Observation {
	o := base
	o.Objects = objects
	if len(objects) == 0 {
		o.State = releasev1.DeploymentMissing
		o.Message = fmt.Sprintf("no %s matches %s", base.Kind, base.Object)
		o.Reason = reasonOf(o.State)
		return o
	}
	worst, deployed := 0, 0
	for i, ob := range objects {
		if severity[ob.State] < severity[objects[worst].State] {
			worst = i
		}
		if ob.State == releasev1.DeploymentDeployed {
			deployed++
		}
	}
	w := objects[worst]
	o.State, o.Revision, o.Message = w.State, w.Revision, w.Message
	if len(objects) > 1 {
		o.Message = truncate(fmt.Sprintf("%d of %d %ss deployed; %s", deployed, len(objects), base.Kind, w.Message))
	}
	o.Reason = reasonOf(o.State)
	return o
}

// Next is what the engine's "wait for deployed" step does next.
type Next string

// What comes after an observation.
const (
	// NextDeployed: record deployedAt and go on (soak, verify, the next
	// stage count from now).
	NextDeployed Next = "Deployed"
	// NextWait: look again at RecheckAt at the latest; a change of the
	// agent's object wakes the Release sooner (Watcher.Source).
	NextWait Next = "Wait"
	// NextFail: the deployment failed (DeployFailed, DeployTimeout); the
	// stage's onFailure applies.
	NextFail Next = "Fail"
	// NextBlocked: a person must fix what the message says (the object,
	// the RBAC, the kubeconfig); nothing is promoted further meanwhile.
	NextBlocked Next = "Blocked"
)

// Decision is what to do with an Observation.
type Decision struct {
	Next Next
	// Reason and Message for the stage's status, conditions and events.
	Reason, Message string
	// RecheckAt, when waiting or blocked: the deadline or the next poll,
	// whichever comes first.
	RecheckAt time.Time
}

// Timeout of a deployment spec: spec.timeout or 10 minutes.
func Timeout(spec *releasev1.DeploymentSpec) time.Duration {
	if spec != nil && spec.Timeout != nil && spec.Timeout.Duration > 0 {
		return spec.Timeout.Duration
	}
	return releasev1.DefaultDeploymentTimeout
}

// Deadline is when a commit that landed at committedAt must be deployed.
func Deadline(spec *releasev1.DeploymentSpec, committedAt time.Time) time.Time {
	return committedAt.Add(Timeout(spec))
}

// Decide turns an observation of a commit that landed at committedAt into
// the next step. Waiting past the deadline fails with DeployTimeout and the
// agent's last word; a blocked agent stays blocked (there is nothing to
// roll back to safety when Liftoff cannot see the agent). poll bounds the
// wait between looks (a commit status has no watch).
func Decide(obs Observation, spec *releasev1.DeploymentSpec, committedAt, now time.Time, poll time.Duration) Decision {
	deadline := Deadline(spec, committedAt)
	recheck := now.Add(poll)
	switch {
	case obs.Deployed():
		return Decision{Next: NextDeployed, Reason: releasev1.ReasonDeployed, Message: obs.Message}
	case obs.Failed():
		return Decision{Next: NextFail, Reason: releasev1.ReasonDeployFailed, Message: obs.Message}
	case obs.Blocked() || obs.Reason == releasev1.ReasonKubeConfigInvalid:
		return Decision{Next: NextBlocked, Reason: obs.Reason, Message: obs.Message, RecheckAt: recheck}
	case !now.Before(deadline):
		return Decision{Next: NextFail, Reason: releasev1.ReasonDeployTimeout,
			Message: truncate(fmt.Sprintf("not deployed within %s of the commit: %s", Timeout(spec), obs.Message))}
	}
	if deadline.Before(recheck) {
		recheck = deadline
	}
	return Decision{Next: NextWait, Reason: releasev1.ReasonDeploying, Message: obs.Message, RecheckAt: recheck}
}

// Status renders the observation as the stage's deployment status.
func (o Observation) Status(checked time.Time) *releasev1.DeploymentStatus {
	st := &releasev1.DeploymentStatus{
		Agent: o.Agent, Kind: o.Kind, Object: o.Object, Cluster: o.Cluster,
		State: o.State, Reason: o.Reason, Revision: o.Revision, Message: o.Message,
	}
	if !checked.IsZero() {
		t := metaTime(checked)
		st.LastChecked = &t
	}
	return st
}

// maxMessage bounds a message kept in status.
const maxMessage = 1024

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - 3
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// joinMessages joins the non-empty, distinct messages.
func joinMessages(msgs ...string) string {
	var out []string
	seen := map[string]bool{}
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		if m != "" && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return strings.Join(out, "; ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orUnknown(s string) string { return orDefault(s, "Unknown") }

func shortSHA(s string) string {
	if hexShort.MatchString(s) && len(s) > 7 {
		return s[:7]
	}
	return s
}
