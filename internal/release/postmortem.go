package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

// failure is why a stage failed after its version landed.
type failure struct {
	// reason of the Ready condition when the stage halts:
	// VerificationFailed, DeployFailed or DeployTimeout.
	reason string
	// what failed, for the postmortem's title: "failed verification",
	// "failed to deploy".
	what string
	// why, for people.
	why string
	// launch names the launch whose other member failed, for a member
	// that goes back with it; "" for a failure of the Release's own.
	launch string
}

// owedFailure is the failure an owed postmortem of stage ss tells of: a
// rollback on demand, else the stage failed to deploy when its agent never
// reported it deployed, else it failed verification.
func owedFailure(ss *releasev1.ReleaseStageStatus, why string) failure {
	if ss.Rollback != nil && ss.Rollback.Request != nil {
		return failure{reason: releasev1.ReasonRolledBack, what: onDemandWhat, why: why}
	}
	if ss.DeployedAt == nil {
		return failure{reason: releasev1.ReasonDeployFailed, what: "failed to deploy", why: why}
	}
	return failure{reason: releasev1.ReasonVerificationFailed, what: "failed verification", why: why}
}

// onDemandWhat is what the postmortem's title says happened.
const onDemandWhat = "was rolled back on demand"

// postmortem opens the stage's postmortem issue when it asks for one. One
// that GitHub (or its write budget) turns away is owed and opened later: the
// rollback before it has landed and is recorded either way.
func (s *step) postmortem(ctx context.Context, i int, f failure) {
	ss := &s.rel.Status.Stages[i]
	if s.pipe.Spec.Stages[i].Postmortem == nil || ss.Postmortem != nil || owedRecord(s.rel, releasev1.RecordPostmortem, ss.Name) != nil {
		return
	}
	issue, err := s.openPostmortem(ctx, i, f, s.now)
	if err != nil {
		s.recordNotWritten(ctx, ss.Name, "postmortem issue", err)
		s.owe(releasev1.PendingRecord{Kind: releasev1.RecordPostmortem, Stage: ss.Name, Description: trim(f.why, 1024)}, err)
		return
	}
	ss.Postmortem = issue
}

// postmortemMarker identifies Liftoff's postmortem of one stage of one
// Release, so a retried failure finds its issue instead of opening another.
func postmortemMarker(rel *releasev1.Release, stage string) string {
	return fmt.Sprintf("<!-- liftoff-postmortem: %s/%s/%s -->", rel.Namespace, rel.Name, stage)
}

// openPostmortem opens (or finds) the postmortem issue of stage i, which
// failed at failedAt.
func (s *step) openPostmortem(ctx context.Context, i int, f failure, failedAt time.Time) (*releasev1.IssueRef, error) {
	ctx = recordContext(ctx)
	stage := &s.pipe.Spec.Stages[i]
	repo := stage.Postmortem.Repository
	if repo == "" {
		repo = s.pipe.Spec.Source.Repository
	}
	marker := postmortemMarker(s.rel, stage.Name)
	found, err := s.gh.FindIssue(ctx, repo, marker, stage.Postmortem.Labels)
	if err != nil {
		return nil, err
	}
	if found == nil {
		title := fmt.Sprintf("Postmortem: %s %s %s in %s", s.pipe.Name, s.rel.Spec.Version, f.what, stage.Name)
		body := postmortemBody(s.rel, &s.rel.Status.Stages[i], f, failedAt, s.stageNotes(ctx, i))
		if found, err = s.gh.CreateIssue(ctx, repo, title, body+"\n"+marker+"\n", stage.Postmortem.Labels); err != nil {
			return nil, err
		}
	}
	return &releasev1.IssueRef{Number: found.Number, URL: found.URL}, nil
}

// postmortemBody is the issue text: what happened, when, the changes the
// version brought (the first suspects; changes is nil without notes), and
// the sections a postmortem review fills in.
func postmortemBody(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, f failure, now time.Time, changes *notes.Notes) string {
	var b strings.Builder
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	fmt.Fprintf(&b, "## Summary\n\nRelease `%s/%s` (version %s) %s in stage **%s**: %s.\n\n", rel.Namespace, rel.Name, rel.Spec.Version, f.what, ss.Name, f.why)
	b.WriteString("## Timeline (UTC)\n\n| Time | Event |\n| --- | --- |\n")
	if p := ss.Promotion; p != nil {
		if p.StartedAt != nil {
			fmt.Fprintf(&b, "| %s | Promotion into %s started |\n", at(p.StartedAt.Time), ss.Name)
		}
		if p.CompletedAt != nil {
			fmt.Fprintf(&b, "| %s | Commit %s landed: %s → %s |\n", at(p.CompletedAt.Time), github.ShortSHA(p.Commit), orUnset(p.PreviousVersion), rel.Spec.Version)
		}
	}
	if ss.DeployedAt != nil && ss.Deployment != nil {
		fmt.Fprintf(&b, "| %s | Deployed: %s |\n", at(ss.DeployedAt.Time), strings.ReplaceAll(ss.Deployment.Message, "|", "\\|"))
	} else if d := ss.Deployment; d != nil && d.LastChecked != nil {
		fmt.Fprintf(&b, "| %s | %s %s: %s |\n", at(d.LastChecked.Time), d.Reason, d.State, strings.ReplaceAll(d.Message, "|", "\\|"))
	}
	if a := ss.Analysis; a != nil {
		fmt.Fprintf(&b, "| %s | Analysis started |\n", at(a.StartedAt.Time))
		for _, m := range a.Metrics {
			for _, x := range m.Measurements {
				fmt.Fprintf(&b, "| %s | %s: %s %s %s |\n", at(x.At.Time), m.Name, x.Phase, x.Value, strings.ReplaceAll(x.Message, "|", "\\|"))
			}
		}
		fmt.Fprintf(&b, "| %s | Analysis %s: %s |\n", at(now), a.Phase, strings.ReplaceAll(a.Message, "|", "\\|"))
	}
	if r := ss.Rollback; r != nil && r.Commit != "" {
		when := now
		if r.At != nil {
			when = r.At.Time
		}
		fmt.Fprintf(&b, "| %s | Rolled back to %s: commit %s |\n", at(when), r.Version, github.ShortSHA(r.Commit))
	}
	if changes != nil {
		b.WriteString("\n" + changes.PostmortemSection())
	}
	b.WriteString("\n## What went well\n\n- \n\n## What can be improved\n\n- \n\n## Action items\n\n- [ ] \n")
	return b.String()
}

func orUnset(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}
