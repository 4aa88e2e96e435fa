package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/notes"
)

// notes prints the release notes of a Release in a stage: the pull requests
// merged between the version the stage ran before it and the Release's.
//
// They are read from GitHub with the pipeline's token, read from its Secret
// with the user's own credentials (RBAC decides), or with $GITHUB_TOKEN. When
// GitHub cannot be read (no token the user may read, GitHub refuses or
// fails) the plugin prints what the controller stored in the Release's
// status, the summary and the link, and says why.
func (cl *cli) notes(ctx context.Context, name, stage string, out io.Writer) error {
	rel := &releasev1.Release{}
	if err := cl.c.Get(ctx, cl.key(name), rel); err != nil {
		return err
	}
	pipe := &releasev1.ReleasePipeline{}
	if err := cl.c.Get(ctx, cl.key(rel.Spec.Pipeline), pipe); err != nil {
		return fmt.Errorf("pipeline of release/%s: %w", name, err)
	}
	if stage == "" {
		stage = rel.Status.CurrentStage
	}
	if stage == "" && len(pipe.Spec.Stages) > 0 {
		stage = pipe.Spec.Stages[0].Name
	}
	if pipe.StageIndex(stage) < 0 {
		return fmt.Errorf("pipeline %s has no stage %q", pipe.Name, stage)
	}
	ss := rel.Status.StageStatus(stage)
	from := ""
	if ss != nil && ss.Promotion != nil && ss.Promotion.PreviousVersion != "" {
		from = ss.Promotion.PreviousVersion // what the promotion replaced
	} else if ps := pipe.Status.StageStatus(stage); ps != nil && ps.Release != rel.Name {
		from = ps.Version // what runs there now, before this Release
	}
	if from == "" {
		return fmt.Errorf("release/%s has no previous version in %s to compare with (it is the first version there)", name, stage)
	}
	n, why := cl.readNotes(ctx, pipe, rel, from)
	if n == nil {
		if ss != nil && ss.ReleaseNotes != nil {
			storedNotes(out, pipe, rel, ss, why)
			return nil
		}
		return fmt.Errorf("%s; set GITHUB_TOKEN to a token that can read %s", why, pipe.Spec.Source.Repository)
	}
	shown := *n // shared with the cache: not modified
	shown.To = rel.Spec.Version
	fmt.Fprintf(out, "Stage %s: ", stage)
	if _, err := io.WriteString(out, shown.Text()); err != nil {
		return err
	}
	_, err := io.WriteString(out, pinnedArtifacts(rel))
	return err
}

// pinnedArtifacts lists what the Release ships, by digest (and signer):
// the exact binaries the notes are about.
func pinnedArtifacts(rel *releasev1.Release) string {
	if len(rel.Status.Artifacts) == 0 {
		return ""
	}
	s := "Artifacts:\n"
	for i := range rel.Status.Artifacts {
		s += "  " + rel.Status.Artifacts[i].Summary() + "\n"
	}
	return s
}

// readNotes reads the notes from from to the Release's commit from GitHub;
// why says why there are none.
func (cl *cli) readNotes(ctx context.Context, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, from string) (*notes.Notes, string) {
	token, why := cl.githubToken(ctx, pipe)
	if token == "" && why != "" {
		return nil, why
	}
	gh, err := (&github.Factory{Timeout: 30 * time.Second}).For(pipe.Spec.GitHub.APIURL, token)
	if err != nil {
		return nil, err.Error()
	}
	to := rel.Spec.Version
	if rel.Status.Commit != "" {
		to = rel.Status.Commit
	}
	n, err := notes.For(ctx, gh, pipe.Spec.Source.Repository, from, to)
	if err != nil {
		return nil, "GitHub cannot be read: " + err.Error()
	}
	return n, ""
}

// storedNotes prints the summary the controller stored in the stage's status
// when the version landed, and why it is not GitHub's whole list.
func storedNotes(out io.Writer, pipe *releasev1.ReleasePipeline, rel *releasev1.Release, ss *releasev1.ReleaseStageStatus, why string) {
	n := ss.ReleaseNotes
	fmt.Fprintf(out, "Stage %s: %s %s -> %s: %s, as the controller stored them (%s)\n  %s\n",
		ss.Name, pipe.Spec.Source.Repository, n.From, rel.Spec.Version, notes.Count(int(n.Count), "pull request"), why, n.Summary)
	if n.Truncated {
		fmt.Fprintln(out, "  (the range is long: the list may be incomplete)")
	}
	if n.URL != "" {
		fmt.Fprintf(out, "Compare: %s\n", n.URL)
	}
	_, _ = io.WriteString(out, pinnedArtifacts(rel))
}

// githubToken is $GITHUB_TOKEN, else the pipeline's token read with the
// user's credentials; why says why there is none.
func (cl *cli) githubToken(ctx context.Context, pipe *releasev1.ReleasePipeline) (string, string) {
	if t := os.Getenv("GITHUB_TOKEN"); t != "" {
		return t, ""
	}
	ref := pipe.Spec.GitHub.SecretRef
	if ref == nil {
		return "", "" // anonymous: public repositories
	}
	s := &corev1.Secret{}
	if err := cl.c.Get(ctx, cl.key(ref.Name), s); err != nil {
		if apierrors.IsForbidden(err) {
			return "", fmt.Sprintf("you may not read Secret %s (the pipeline's GitHub token)", ref.Name)
		}
		return "", fmt.Sprintf("reading Secret %s (the pipeline's GitHub token): %v", ref.Name, err)
	}
	if t := string(s.Data["token"]); t != "" {
		return t, ""
	}
	return "", fmt.Sprintf("Secret %s has no `token`", ref.Name)
}

// reportAnnotation asks the controller for a report now (see controllers.ReportAnnotation).
const reportAnnotation = "release.liftoff.dev/report"

// report prints the latest release report of a ReleaseNotification. With
// send, it asks the controller to write and send one now and waits for it.
func (cl *cli) report(ctx context.Context, name string, send bool, out io.Writer) error {
	n := &releasev1.ReleaseNotification{}
	if err := cl.c.Get(ctx, cl.key(name), n); err != nil {
		return err
	}
	if n.Spec.Report == nil {
		return fmt.Errorf("releasenotification/%s has no report: set spec.report (rrule, start, timeZone)", name)
	}
	if send {
		asked := time.Now().UTC().Format(time.RFC3339Nano)
		patch := client.MergeFrom(n.DeepCopy())
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[reportAnnotation] = asked
		if err := cl.c.Patch(ctx, n, patch); err != nil {
			return err
		}
		deadline := time.Now().Add(time.Minute)
		for n.Status.Report == nil || n.Status.Report.Request != asked {
			if time.Now().After(deadline) {
				return fmt.Errorf("no report from the controller within a minute: is it running? (kubectl get releasenotification %s)", name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			if err := cl.c.Get(ctx, cl.key(name), n); err != nil {
				return err
			}
		}
	}
	if n.Status.Report == nil {
		next := "not scheduled"
		if n.Status.NextReport != nil {
			next = n.Status.NextReport.Format(time.RFC3339)
		}
		fmt.Fprintf(out, "No report yet; the next is due at %s.\n", next)
		return nil
	}
	_, err := io.WriteString(out, n.Status.Report.Markdown)
	return err
}
