package dashboard

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// Point states.
const (
	pointDone    = "done"
	pointPending = "pending"
	pointFailed  = "failed"
	pointWaiting = "waiting"
)

// timeline is a stage's path: committed, deployed, soaked (when the next
// stage asks for a soak), verified (when the stage verifies), and a
// rollback when there was one, with when the stage's agent deployed it. A
// point not reached yet is "waiting".
func timeline(ss *releasev1.ReleaseStageStatus, spec, next *releasev1.Stage, web, repo string, now time.Time, loc *time.Location) []Point {
	var pts []Point
	at := func(t *metav1.Time) string {
		if t == nil {
			return ""
		}
		return stamp(t.Time, loc)
	}
	// Committed: the promotion landed on the target branch.
	committed := Point{Label: "committed", State: pointWaiting}
	var landed *metav1.Time
	if p := ss.Promotion; p != nil {
		switch {
		case ss.CommittedAt != nil:
			committed.State, committed.At, landed = pointDone, at(ss.CommittedAt), ss.CommittedAt
		case p.CompletedAt != nil:
			committed.State, committed.At, landed = pointDone, at(p.CompletedAt), p.CompletedAt
		case p.StartedAt != nil:
			committed.State, committed.At = pointPending, at(p.StartedAt)
		}
		switch {
		case p.NoChange:
			committed.Detail = "the files already held the version"
		case p.PullRequest != nil:
			committed.Detail, committed.URL = fmt.Sprintf("pull request #%d", p.PullRequest.Number), p.PullRequest.URL
		case p.Commit != "":
			committed.Detail, committed.URL = "commit "+github.ShortSHA(p.Commit), commitURL(web, repo, p.Commit)
		}
	}
	pts = append(pts, committed)

	// Deployed: the stage's agent applied the version and it is healthy.
	deployed := deployedPoint(ss, spec, landed)
	deployed.At = at(deployed.when)
	pts = append(pts, deployed.Point)
	base := landed
	if deployed.when != nil {
		base = deployed.when
	}

	// Verified: the stage's analysis succeeded.
	var verifiedAt *metav1.Time
	if spec != nil && spec.Verify != nil {
		v := Point{Label: "verified", State: pointWaiting}
		if a := ss.Analysis; a != nil {
			v.Detail = "analysis " + a.Phase
			switch a.Phase {
			case "Succeeded":
				v.State = pointDone
				verifiedAt = lastMeasurement(a)
				v.At = at(verifiedAt)
			case "Failed", "Error":
				v.State = pointFailed
				v.At = at(lastMeasurement(a))
			default:
				v.State = pointPending
			}
		}
		pts = append(pts, v)
		if verifiedAt != nil {
			base = verifiedAt
		}
	}

	// Soaked: as long in this stage as the next stage's soak gate asks.
	if next != nil && next.Gates != nil && next.Gates.Soak != nil && next.Gates.Soak.Duration > 0 {
		soak := next.Gates.Soak.Duration
		s := Point{Label: "soaked", State: pointWaiting, Detail: soak.String() + " before " + next.Name}
		if base != nil && ss.Phase != releasev1.StageRolledBack && ss.Phase != releasev1.StageFailed {
			end := base.Add(soak)
			s.At = stamp(end, loc)
			if now.Before(end) {
				s.State = pointPending
			} else {
				s.State = pointDone
			}
		}
		pts = append(pts, s)
	}

	if rb := ss.Rollback; rb != nil {
		pts = append(pts, Point{Label: "rolled back", State: pointFailed, At: at(rb.At),
			Detail: "to " + rb.Version, URL: commitURL(web, repo, rb.Commit)})
		if rb.Deployment != nil || spec != nil && spec.Deployment != nil {
			// The stage is back once its agent applied the rollback commit.
			back := agentPoint("rollback deployed", rb.Deployment, rb.DeployedAt, rb.At)
			back.At = at(back.when)
			pts = append(pts, back.Point)
		}
	}
	for i := range pts {
		pts[i].Detail = inZone(pts[i].Detail, loc) // the agents' messages
	}
	return pts
}

// deployment is the deployed point and when it was reached.
type deployment struct {
	Point
	when *metav1.Time
}

// deployedPoint says whether the version is deployed in the stage: what the
// stage's GitOps agent (spec.deployment) reported, else the rollout check
// (verify.rollout: the new version serves), else, as the controller counts
// it, the commit itself.
func deployedPoint(ss *releasev1.ReleaseStageStatus, spec *releasev1.Stage, landed *metav1.Time) deployment {
	d := deployment{Point: Point{Label: "deployed", State: pointWaiting}}
	switch {
	case ss.Deployment != nil || spec != nil && spec.Deployment != nil:
		return agentPoint("deployed", ss.Deployment, ss.DeployedAt, landed)
	case spec != nil && spec.Verify != nil && spec.Verify.Rollout != nil:
		if ss.RolloutReadyAt != nil {
			d.State, d.when, d.Detail = pointDone, ss.RolloutReadyAt, "serving (rollout check)"
		} else if landed != nil {
			d.State = pointPending
		}
	case landed != nil:
		d.State, d.when, d.Detail = pointDone, landed, "no deployment agent: committed counts as deployed"
		if ss.DeployedAt != nil {
			d.when = ss.DeployedAt
		}
	}
	return d
}

// agentPoint is what a stage's GitOps agent said of a commit that landed at
// landed (the promotion's, or the rollback's): done at deployedAt, failed
// when the agent reported a failure, the deadline passed or the agent could
// not be read, pending while it works on it.
func agentPoint(label string, dep *releasev1.DeploymentStatus, deployedAt, landed *metav1.Time) deployment {
	d := deployment{Point: Point{Label: label, State: pointWaiting}}
	if dep != nil {
		d.Detail = fmt.Sprintf("%s %s %s: %s", dep.Agent, dep.Kind, dep.Object, dep.State)
		if dep.Message != "" {
			d.Detail += ": " + dep.Message
		}
		switch {
		case dep.State == releasev1.DeploymentDeployed:
			d.State = pointDone
		case dep.State == releasev1.DeploymentFailed, dep.State == releasev1.DeploymentDegraded, dep.State == releasev1.DeploymentMissing,
			dep.State == releasev1.DeploymentForbidden, dep.Reason == releasev1.ReasonDeployTimeout:
			d.State = pointFailed
		default:
			d.State = pointPending
		}
	} else if landed != nil {
		d.State = pointPending
	}
	if deployedAt != nil {
		d.State, d.when = pointDone, deployedAt
	}
	return d
}

func lastMeasurement(a *releasev1.AnalysisStatus) *metav1.Time {
	var last *metav1.Time
	for i := range a.Metrics {
		for j := range a.Metrics[i].Measurements {
			m := &a.Metrics[i].Measurements[j]
			if last == nil || m.At.After(last.Time) {
				last = &m.At
			}
		}
	}
	return last
}
