package reconcile

import (
	"errors"
	"fmt"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// Disposition is what a reconciler does about a GitHub error: the reason it
// shows, whether a person must act, when it tries again, and what to fix.
// Every reconciler asks GitHub, so a rate limit, a refused token or a
// missing repository reads and behaves the same on every kind.
type Disposition struct {
	// Kind of the error.
	Kind github.Kind
	// Reason of the conditions and events (an api/v1alpha1 Reason).
	Reason string
	// Stalled: nothing goes on until a person fixes the credential, the
	// spec or something in GitHub.
	Stalled bool
	// RetryAfter is when to try again, at least a second; zero for a
	// transient failure, which the reconciler returns as its error so that
	// controller-runtime retries with backoff.
	RetryAfter time.Duration
	// Fix says what a person should do, or how it is retried; empty when
	// the error's own message says it (a GitHub App's Problem).
	Fix string
	// Refused: GitHub refused the credential; a token kept in memory must
	// be read again.
	Refused bool
	// NextSlot is when the write budget has a slot for a write it turned
	// away (ReasonGitHubWriteBudget); zero otherwise.
	NextSlot time.Time
	// slot is the write budget's own message: when the slot comes, and for
	// which operation.
	slot string
}

// Fixes says, in a reconciler's terms, what a person fixes when GitHub
// answers 404 or refuses the credential. Empty fields take the defaults.
type Fixes struct {
	// NotFound, for example "check spec.source.repository and that the
	// token can read it".
	NotFound string
	// NotFoundReason replaces ReasonRepositoryNotFound (a Milestone's
	// GitHub milestone: ReasonMilestoneNotFound).
	NotFoundReason string
	// Unauthorized, for example "check the token in the pipeline's secretRef
	// and its permissions".
	Unauthorized string
}

// minRetry is the shortest wait GitHub is given, even when it did not say
// how long (a 429 without Retry-After).
const minRetry = time.Second

// GitHub says what to do about err, a failure internal/github classified. ok is false when err is no GitHub error:
// the caller handles it (usually returns it).
func GitHub(err error, fixes Fixes) (d Disposition, ok bool) {
	var e *github.Error
	if !errors.As(err, &e) {
		return Disposition{}, false
	}
	d = Disposition{Kind: e.Kind}
	if reason, ok := problemReasons[e.Problem]; ok {
		// A GitHub App's key, installation or clock, a repository
		// outside the installation or a permission it lacks: the error's
		// message says what to fix in the App's settings or the Secret,
		// which is read again (and the App's token exchanged again).
		d.Reason, d.Stalled, d.RetryAfter, d.Refused = reason, true, conditions.RetryStalled, true
		return d, true
	}
	switch {
	case !e.NextSlot.IsZero():
		// Nothing was sent: the credential's write budget has no slot for
		// this write before NextSlot. Not GitHub's refusal, and no backoff:
		// the write goes then.
		d.Reason, d.RetryAfter, d.NextSlot = releasev1.ReasonGitHubWriteBudget, max(e.RetryAfter, minRetry), e.NextSlot
		d.slot = e.Message
		if e.Op != "" {
			d.slot += " (" + e.Op + ")"
		}
	case e.Kind == github.KindRateLimited:
		d.Reason, d.RetryAfter = releasev1.ReasonGitHubRateLimited, max(e.RetryAfter, minRetry)
		d.Fix = fmt.Sprintf("retrying in %s", d.RetryAfter)
	case e.Kind == github.KindUnauthorized:
		d.Reason, d.Stalled, d.RetryAfter, d.Refused = releasev1.ReasonGitHubUnauthorized, true, conditions.RetryStalled, true
		d.Fix = or(fixes.Unauthorized, "check the token and its permissions")
	case e.Kind == github.KindNotFound:
		d.Reason, d.Stalled, d.RetryAfter = or(fixes.NotFoundReason, releasev1.ReasonRepositoryNotFound), true, conditions.RetryStalled
		d.Fix = or(fixes.NotFound, "check the repository's name and that the token can read it")
	case e.Kind == github.KindInvalid:
		d.Reason, d.Stalled, d.RetryAfter = releasev1.ReasonInvalidSpec, true, conditions.RetryStalled
		d.Fix = "GitHub refused the request as invalid: fix the spec"
	default: // KindTransient, and a KindConflict that outlived its own retries
		d.Reason, d.Fix = releasev1.ReasonGitHubUnavailable, "retrying with backoff"
	}
	return d, true
}

// problemReasons are the reasons of the credential problems a GitHub App
// meets (Error.Problem).
var problemReasons = map[github.Problem]string{
	github.ProblemKeyInvalid:           releasev1.ReasonGitHubAppKeyInvalid,
	github.ProblemKeyRefused:           releasev1.ReasonGitHubAppKeyRefused,
	github.ProblemInstallationNotFound: releasev1.ReasonGitHubAppInstallationNotFound,
	github.ProblemNotInstalled:         releasev1.ReasonGitHubAppNotInstalled,
	github.ProblemClockSkew:            releasev1.ReasonGitHubAppClockSkew,
	github.ProblemPermissionMissing:    releasev1.ReasonGitHubAppPermissionMissing,
}

// Message is err's message followed by what to do about it; for a write the
// budget turned away, "waiting for GitHub's write budget, next slot at T
// (operation)".
func (d Disposition) Message(err error) string {
	if d.slot != "" {
		return d.slot
	}
	return d.Explain(err.Error())
}

// Explain follows msg, which tells of the failure, with what to do about it.
func (d Disposition) Explain(msg string) string {
	switch {
	case d.Fix == "": // the message says it (a GitHub App's problem, the budget's slot)
		return msg
	case d.Stalled:
		return msg + ": " + d.Fix
	}
	return msg + "; " + d.Fix
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// Outcome is what the reconcile does next about the failure err: a person
// must fix it (tried again after RetryAfter), the write budget's slot comes,
// GitHub said when; otherwise err is returned for controller-runtime's
// backoff.
func (d Disposition) Outcome(err error) (Outcome, error) {
	switch {
	case d.Stalled:
		return WaitFor(d.RetryAfter, WaitFix), nil
	case !d.NextSlot.IsZero():
		return WaitUntil(d.NextSlot, WaitBudget), nil
	case d.RetryAfter > 0:
		return WaitFor(d.RetryAfter, WaitGitHub), nil
	}
	return Stop(), err
}

// Summary is the conditions the failure shows, with msg (usually
// d.Message(err), prefixed with what was being read): Stalled when a person
// must act, else still Reconciling.
func (d Disposition) Summary(msg string) conditions.Summary {
	if d.Stalled {
		return conditions.Stalled(d.Reason, msg)
	}
	return conditions.Reconciling(d.Reason, msg)
}
