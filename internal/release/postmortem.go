package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// postmortemMarker identifies Liftoff's postmortem of one stage of one
// Release, so a retried failure finds its issue instead of opening another.
func postmortemMarker(rel *releasev1.Release, stage string) string {
	return fmt.Sprintf("<!-- liftoff-postmortem: %s/%s/%s -->", rel.Namespace, rel.Name, stage)
}

// openPostmortem opens (or finds) the postmortem issue of stage i, whose
// verification failed at failedAt because of why.
func (s *step) openPostmortem(ctx context.Context, i int, why string, failedAt time.Time) (*releasev1.IssueRef, error) {
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
		title := fmt.Sprintf("Postmortem: %s %s failed verification in %s", s.pipe.Name, s.rel.Spec.Version, stage.Name)
		if found, err = s.gh.CreateIssue(ctx, repo, title, postmortemBody(s.rel, &s.rel.Status.Stages[i], why, failedAt)+"\n"+marker+"\n", stage.Postmortem.Labels); err != nil {
			return nil, err
		}
	}
	return &releasev1.IssueRef{Number: found.Number, URL: found.URL}, nil
}

// postmortemBody is the issue text: what happened, when, and the two
// sections a postmortem review fills in.
func postmortemBody(rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, why string, now time.Time) string {
	var b strings.Builder
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	fmt.Fprintf(&b, "## Summary\n\nRelease `%s/%s` (version %s) failed verification in stage **%s**: %s.\n\n", rel.Namespace, rel.Name, rel.Spec.Version, ss.Name, why)
	b.WriteString("## Timeline (UTC)\n\n| Time | Event |\n| --- | --- |\n")
	if p := ss.Promotion; p != nil {
		if p.StartedAt != nil {
			fmt.Fprintf(&b, "| %s | Promotion into %s started |\n", at(p.StartedAt.Time), ss.Name)
		}
		if p.CompletedAt != nil {
			fmt.Fprintf(&b, "| %s | Commit %s landed: %s → %s |\n", at(p.CompletedAt.Time), github.ShortSHA(p.Commit), orUnset(p.PreviousVersion), rel.Spec.Version)
		}
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
	b.WriteString("\n## What went well\n\n- \n\n## What can be improved\n\n- \n\n## Action items\n\n- [ ] \n")
	return b.String()
}

func orUnset(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}
