package main

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"

	"github.com/liftoff-dev/liftoff/internal/github"
)

// render draws a Release as a tree: its stages in order, each stage's gates
// (or its promotion and analysis once it moved), and its launch checklist.
// A pipeline whose stages form a graph is drawn first in columns by depth,
// and each stage says what it comes after.
func (cl *cli) render(ctx context.Context, name string) (string, error) {
	rel := &releasev1.Release{}
	if err := cl.c.Get(ctx, cl.key(name), rel); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Name:       %s\n", rel.Name)
	fmt.Fprintf(&b, "Namespace:  %s\n", rel.Namespace)
	fmt.Fprintf(&b, "Pipeline:   %s\n", rel.Spec.Pipeline)
	fmt.Fprintf(&b, "Version:    %s\n", rel.Spec.Version)
	fmt.Fprintf(&b, "Phase:      %s %s\n", symbol(string(rel.Status.Phase)), rel.Status.Phase)
	if c := meta.FindStatusCondition(rel.Status.Conditions, releasev1.ConditionReady); c != nil {
		fmt.Fprintf(&b, "Message:    %s\n", c.Message)
	}
	if lines := artifactLines(rel.Status.Artifacts); len(lines) > 0 {
		b.WriteString("\nARTIFACT\n")
		for i, l := range lines {
			fmt.Fprintf(&b, "%s %s\n", branch(i == len(lines)-1), l)
		}
	}
	// The pipeline only draws the graph: without it (gone, or not
	// readable by this user) the stages are listed as the Release has them.
	pipe := &releasev1.ReleasePipeline{}
	graph := cl.c.Get(ctx, cl.key(rel.Spec.Pipeline), pipe) == nil && isGraph(pipe)
	if graph {
		b.WriteString("\nGRAPH\n")
		for _, l := range graphLines(pipe, rel) {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("\nSTAGE\n")
	for i, ss := range rel.Status.Stages {
		last := i == len(rel.Status.Stages)-1
		note := ""
		if graph {
			note = afterNote(pipe, ss.Name)
		}
		fmt.Fprintf(&b, "%s %s %s %s%s\n", branch(last), pad(ss.Name, 10), symbol(string(ss.Phase)), ss.Phase, note)
		lines := stageLines(&ss)
		for j, l := range lines {
			fmt.Fprintf(&b, "%s %s %s\n", indent(last), branch(j == len(lines)-1), l)
		}
	}
	if rel.Spec.LaunchChecklist != "" {
		lc := &releasev1.LaunchChecklist{}
		err := cl.c.Get(ctx, cl.key(rel.Spec.LaunchChecklist), lc)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(&b, "\nCHECKLIST  %s not found\n", rel.Spec.LaunchChecklist)
		case err != nil:
			return "", err
		default:
			ready := "not ready"
			if lc.Status.Ready {
				ready = "ready"
			}
			fmt.Fprintf(&b, "\nCHECKLIST  %s: %s, %d/%d done\n", lc.Name, ready, lc.Status.Done, lc.Status.Total)
			for i, is := range lc.Status.Items {
				opt := ""
				if !is.Required {
					opt = " (optional)"
				}
				fmt.Fprintf(&b, "%s %s %s %s %s %s%s\n", branch(i == len(lc.Status.Items)-1), pad(is.Function, 12), pad(is.Name, 20),
					symbol(string(is.State)), pad(string(is.State), 8), is.Message, opt)
			}
		}
	}
	return b.String(), nil
}

// artifactLines are the Release's pinned artifacts: name, the tag it was
// resolved from, the digest (short) and who signed it.
func artifactLines(pins []releasev1.ArtifactStatus) []string {
	out := make([]string, 0, len(pins))
	for _, a := range pins {
		out = append(out, pad(a.Name, 10)+" "+a.Summary())
	}
	return out
}

// stageLines are the lines under a stage: its plan, its promotion with when
// it was committed and deployed, what its GitOps agent says, its analysis,
// rollback and postmortem, and its gates.
func stageLines(ss *releasev1.ReleaseStageStatus) []string {
	var lines []string
	if ss.PlannedAt != nil {
		l := "planned " + stamp(ss.PlannedAt)
		if ss.Slip != nil {
			l += ", slip " + ss.Slip.Duration.String()
		}
		lines = append(lines, l)
	}
	if p := ss.Promotion; p != nil && (p.Commit != "" || p.PullRequest != nil) {
		l := "promotion"
		if p.Commit != "" {
			l += " commit " + github.ShortSHA(p.Commit)
		}
		if p.PullRequest != nil {
			l += fmt.Sprintf(" pull request #%d %s", p.PullRequest.Number, p.PullRequest.URL)
		}
		if ss.CommittedAt != nil {
			l += ", committed " + stamp(ss.CommittedAt)
		}
		if ss.DeployedAt != nil {
			l += ", deployed " + stamp(ss.DeployedAt)
		}
		lines = append(lines, l)
	}
	if d := ss.Deployment; d != nil {
		lines = append(lines, "deployment "+deploymentLine(d, ss.DeployedAt == nil))
	}
	lines = append(lines, waveLines(ss)...)
	if a := ss.Analysis; a != nil {
		lines = append(lines, fmt.Sprintf("analysis %s %s %s", symbol(a.Phase), a.Phase, a.Message))
	}
	if rb := ss.Rollback; rb != nil {
		l := fmt.Sprintf("rollback to %s commit %s", rb.Version, github.ShortSHA(rb.Commit))
		if rb.DeployedAt != nil {
			l += ", deployed " + stamp(rb.DeployedAt)
		}
		lines = append(lines, l)
		if d := rb.Deployment; d != nil && rb.DeployedAt == nil {
			lines = append(lines, "rollback deployment "+deploymentLine(d, true))
		}
	}
	if ss.Postmortem != nil {
		lines = append(lines, "postmortem "+ss.Postmortem.URL)
	}
	for _, g := range ss.Gates {
		lines = append(lines, fmt.Sprintf("%s %s %s", pad(g.Name, 16), symbol(string(g.Status)), g.Message))
	}
	return lines
}

// deploymentLine is what a stage's GitOps agent says: its state, the
// revision it is on, its own message and, while waiting, the deadline.
func deploymentLine(d *releasev1.DeploymentStatus, waiting bool) string {
	l := fmt.Sprintf("%s %s", symbol(string(d.State)), d.State)
	if d.Revision != "" {
		l += " on " + github.ShortSHA(d.Revision)
	}
	if d.Message != "" {
		l += ": " + d.Message
	}
	if waiting && d.Deadline != nil && d.Reason == releasev1.ReasonDeploying {
		l += " (until " + stamp(d.Deadline) + ")"
	}
	return l
}

func stamp(t *metav1.Time) string { return t.UTC().Format(time.RFC3339) }

func symbol(state string) string {
	switch state {
	case "Passed", "Promoted", "Released", "Done", "Succeeded", "Deployed":
		return "✔"
	case "Failed", "RolledBack", "Blocked", "Error", "Degraded", "Missing", "Forbidden":
		return "✖"
	case "Waived", "Skipped", "Superseded":
		return "-"
	case "Promoting", "Deploying", "Verifying", "Running", "AwaitingMerge", "Progressing", "OutOfSync":
		return "◌"
	}
	return "⧗"
}

func branch(last bool) string {
	if last {
		return "└─"
	}
	return "├─"
}

func indent(last bool) string {
	if last {
		return "  "
	}
	return "│ "
}

// pad fills s with spaces to n characters.
func pad(s string, n int) string {
	if w := utf8.RuneCountInString(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}
