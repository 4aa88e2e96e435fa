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
// with the user's own credentials (RBAC decides), or with $GITHUB_TOKEN. A
// user who may read neither gets what the controller stored in the Release's
// status: the summary and the link.
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
	known := false
	for _, s := range pipe.Spec.Stages {
		known = known || s.Name == stage
	}
	if !known {
		return fmt.Errorf("pipeline %s has no stage %q", pipe.Name, stage)
	}
	ss := rel.Status.StageStatus(stage)
	from := ""
	if ss != nil && ss.Promotion != nil && ss.Promotion.PreviousVersion != "" {
		from = ss.Promotion.PreviousVersion // what the promotion replaced
	} else {
		for _, ps := range pipe.Status.Stages {
			if ps.Name == stage && ps.Release != rel.Name {
				from = ps.Version // what runs there now, before this Release
			}
		}
	}
	if from == "" {
		return fmt.Errorf("release/%s has no previous version in %s to compare with (it is the first version there)", name, stage)
	}
	to := rel.Spec.Version
	if rel.Status.Commit != "" {
		to = rel.Status.Commit
	}
	token, why := cl.githubToken(ctx, pipe)
	if token == "" && why != "" {
		if ss != nil && ss.ReleaseNotes != nil {
			n := ss.ReleaseNotes
			fmt.Fprintf(out, "%s %s -> %s in %s: %s\n%s\n(%s: this is the summary the controller stored)\n", pipe.Spec.Source.Repository, n.From, rel.Spec.Version, stage, n.Summary, n.URL, why)
			return nil
		}
		return fmt.Errorf("%s; set GITHUB_TOKEN to a token that can read %s", why, pipe.Spec.Source.Repository)
	}
	gh, err := (&github.Factory{Timeout: 30 * time.Second}).For(pipe.Spec.GitHub.APIURL, token)
	if err != nil {
		return err
	}
	n, err := notes.For(ctx, gh, pipe.Spec.Source.Repository, from, to)
	if err != nil {
		return err
	}
	shown := *n // shared with the cache: not modified
	shown.To = rel.Spec.Version
	fmt.Fprintf(out, "Stage %s: ", stage)
	_, err = io.WriteString(out, shown.Text())
	return err
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
