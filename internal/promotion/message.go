package promotion

import (
	"fmt"
	"slices"
	"strings"
)

// Trailer keys Liftoff writes into every commit it makes. A retried promotion
// finds its own earlier commit by them, so a crash between the commit and the
// status write never produces a second commit.
const (
	TrailerRelease         = "Liftoff-Release"
	TrailerStage           = "Liftoff-Stage"
	TrailerVersion         = "Liftoff-Version"
	TrailerPreviousVersion = "Liftoff-Previous-Version"
	TrailerAction          = "Liftoff-Action"
	// TrailerRollbackRequest names a rollback on demand: its index in the
	// pipeline's spec.rollbacks.
	TrailerRollbackRequest = "Liftoff-Rollback-Request"
	// TrailerArtifact is written once per pinned artifact: name@digest.
	TrailerArtifact = "Liftoff-Artifact"
)

// Trailers parses the "Key: value" lines of a commit message's last
// paragraph. A key that repeats (a coalesced commit) keeps its last value:
// TrailerGroups tells the promotions apart.
func Trailers(message string) map[string]string {
	out := map[string]string{}
	for _, g := range TrailerGroups(message) {
		for k, v := range g {
			out[k] = v
		}
	}
	return out
}

// TrailerGroups parses the trailers of a commit message's last paragraph into
// one group per promotion: a coalesced commit holds several, each starting
// with its Liftoff-Release line. Trailers before the first Liftoff-Release
// form a group of their own.
func TrailerGroups(message string) []map[string]string {
	msg := strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), "\n")
	paragraphs := strings.Split(msg, "\n\n")
	last := paragraphs[len(paragraphs)-1]
	var groups []map[string]string
	for _, line := range strings.Split(last, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if k == TrailerRelease || len(groups) == 0 {
			groups = append(groups, map[string]string{})
		}
		groups[len(groups)-1][k] = strings.TrimSpace(v)
	}
	return groups
}

// ActionRollback marks Liftoff's rollback commits.
const ActionRollback = "rollback"

// groupOf returns the trailers of release's promotion into stage (action ""
// for a promotion, ActionRollback for its rollback, request the rollback on
// demand's) in message, or nil.
func groupOf(message, release, stage, action, request string) map[string]string {
	for _, t := range TrailerGroups(message) {
		if t[TrailerRelease] == release && t[TrailerStage] == stage && t[TrailerAction] == action && t[TrailerRollbackRequest] == request {
			return t
		}
	}
	return nil
}

// StagesIn are the stages (for a stage's target, stage/target) whose
// promotion of release (namespace/name) message holds, with action ("" for
// promotions, ActionRollback for rollbacks), in their order.
func StagesIn(message, release, action string) []string {
	var out []string
	for _, t := range TrailerGroups(message) {
		if t[TrailerRelease] == release && t[TrailerAction] == action {
			out = append(out, t[TrailerStage])
		}
	}
	return out
}

// isPromotionOf reports whether message is (or, coalesced, holds) Liftoff's
// promotion commit of release (namespace/name) into stage.
func isPromotionOf(message, release, stage string) bool {
	return groupOf(message, release, stage, "", "") != nil
}

// rollbackMessage is the message of a rollback commit. Version is what is
// written back; the bad version is recorded as the previous one.
func rollbackMessage(req *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Roll back %s %s in %s to %s\n\n", req.Application, req.Revert.BadVersion, req.Stage, req.Version)
	fmt.Fprintf(&b, "Liftoff rolled back release %s in stage %s", req.ReleaseKey(), req.Stage)
	if req.Revert.Reason != "" {
		fmt.Fprintf(&b, ": %s", req.Revert.Reason)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n%s: %s\n%s: %s\n%s: %s\n", TrailerRelease, req.ReleaseKey(), TrailerStage, req.Stage,
		TrailerVersion, req.Version, TrailerPreviousVersion, req.Revert.BadVersion, TrailerAction, ActionRollback)
	if req.Revert.Request != "" {
		fmt.Fprintf(&b, "%s: %s\n", TrailerRollbackRequest, req.Revert.Request)
	}
	return b.String()
}

// commitMessage is the message of a promotion commit.
func commitMessage(req *Request, previous string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promote %s %s to %s\n\n", req.Application, req.Version, req.Stage)
	fmt.Fprintf(&b, "Liftoff promoted release %s into stage %s", req.ReleaseKey(), req.Stage)
	if previous != "" {
		fmt.Fprintf(&b, ", replacing %s", previous)
	}
	b.WriteString(".\n\n")
	writeTrailers(&b, req, previous)
	return b.String()
}

// batchMessage is the message of a commit of several promotions: a headline,
// a line per promotion, and each promotion's trailers as in commitMessage.
// One promotion alone gets commitMessage's.
func batchMessage(promotions []planned) string {
	if len(promotions) == 1 {
		if promotions[0].req.Revert != nil {
			return rollbackMessage(promotions[0].req)
		}
		return commitMessage(promotions[0].req, promotions[0].previous)
	}
	var stages []string
	for _, p := range promotions {
		if !slices.Contains(stages, p.req.Stage) {
			stages = append(stages, p.req.Stage)
		}
	}
	var b strings.Builder
	if promotions[0].req.Revert != nil {
		fmt.Fprintf(&b, "Roll back %d promotions in %s\n\nLiftoff rolled back:\n", len(promotions), strings.Join(stages, ", "))
	} else {
		fmt.Fprintf(&b, "Promote %d releases to %s\n\nLiftoff promoted:\n", len(promotions), strings.Join(stages, ", "))
	}
	for _, p := range promotions {
		fmt.Fprintf(&b, "- %s %s to %s (release %s)", p.req.Application, p.req.Version, p.req.Stage, p.req.ReleaseKey())
		if p.req.Revert != nil {
			fmt.Fprintf(&b, ", in place of %s: %s\n", p.req.Revert.BadVersion, p.req.Revert.Reason)
			continue
		}
		if p.previous != "" {
			fmt.Fprintf(&b, ", replacing %s", p.previous)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, p := range promotions {
		writeTrailers(&b, p.req, p.previous)
	}
	return b.String()
}

// writeTrailers writes a promotion's trailer group.
func writeTrailers(b *strings.Builder, req *Request, previous string) {
	fmt.Fprintf(b, "%s: %s\n%s: %s\n%s: %s\n", TrailerRelease, req.ReleaseKey(), TrailerStage, req.Stage, TrailerVersion, req.Version)
	if previous != "" {
		fmt.Fprintf(b, "%s: %s\n", TrailerPreviousVersion, previous)
	}
	for _, a := range req.Pinned {
		fmt.Fprintf(b, "%s: %s@%s\n", TrailerArtifact, a.Name, a.Digest)
	}
	if req.Revert != nil {
		fmt.Fprintf(b, "%s: %s\n", TrailerAction, ActionRollback)
		if req.Revert.Request != "" {
			fmt.Fprintf(b, "%s: %s\n", TrailerRollbackRequest, req.Revert.Request)
		}
	}
}
