package promotion

import (
	"fmt"
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
)

// Trailers parses the "Key: value" lines of a commit message's last paragraph.
func Trailers(message string) map[string]string {
	msg := strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), "\n")
	paragraphs := strings.Split(msg, "\n\n")
	last := paragraphs[len(paragraphs)-1]
	out := map[string]string{}
	for _, line := range strings.Split(last, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// isPromotionOf reports whether message is Liftoff's promotion commit of
// release (namespace/name) into stage.
func isPromotionOf(message, release, stage string) bool {
	t := Trailers(message)
	return t[TrailerRelease] == release && t[TrailerStage] == stage && t[TrailerAction] == ""
}

// ActionRollback marks Liftoff's rollback commits.
const ActionRollback = "rollback"

// isRollbackOf reports whether message is Liftoff's rollback commit of
// release's promotion into stage.
func isRollbackOf(message, release, stage string) bool {
	t := Trailers(message)
	return t[TrailerRelease] == release && t[TrailerStage] == stage && t[TrailerAction] == ActionRollback
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
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n%s: %s\n", TrailerRelease, req.ReleaseKey(), TrailerStage, req.Stage, TrailerVersion, req.Version)
	if previous != "" {
		fmt.Fprintf(&b, "%s: %s\n", TrailerPreviousVersion, previous)
	}
	return b.String()
}
