package gates

import (
	"fmt"
	"strings"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// ArtifactFact is one pinned artifact's tag, resolved again.
type ArtifactFact struct {
	// Name of the artifact, Reference its tag, Pinned the digest the
	// Release recorded.
	Name, Reference, Pinned string
	// Current is the digest the tag points to now ("" when Err is set).
	Current string
	// Err is the registry's failure (a *registry.Error).
	Err error
}

// Artifacts requires every artifact's tag to point to the digest the
// Release pinned. A tag pushed again fails the gate (ArtifactChanged, both
// digests named); a tag gone fails it too (ArtifactNotFound); a registry
// that cannot be read waits, until the time a rate limit gave.
func Artifacts(facts []ArtifactFact, now time.Time) Result {
	r := Result{Name: NameArtifacts}
	var changed, missing, waiting, ok []string
	var until time.Time
	limited := false
	for _, f := range facts {
		switch {
		case f.Err == nil && f.Current == f.Pinned:
			ok = append(ok, fmt.Sprintf("%s@%s", f.Name, releasev1.ShortDigest(f.Pinned)))
		case f.Err == nil:
			changed = append(changed, fmt.Sprintf("%s now points to %s, not %s pinned by the Release", f.Reference, f.Current, f.Pinned))
		case registry.KindOf(f.Err) == registry.KindNotFound:
			missing = append(missing, fmt.Sprintf("%s (pinned %s) is not in the registry", f.Reference, releasev1.ShortDigest(f.Pinned)))
		default:
			waiting = append(waiting, fmt.Sprintf("%s: %v", f.Reference, f.Err))
			if t := registry.UntilOf(f.Err); !t.IsZero() {
				limited = true
				if until.IsZero() || t.After(until) {
					until = t
				}
			}
		}
	}
	switch {
	case len(changed) > 0:
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonArtifactChanged
		r.Message = strings.Join(changed, "; ") + ": the tag was pushed again; create a new Release for the new build"
	case len(missing) > 0:
		r.State, r.Reason = releasev1.GateFailed, releasev1.ReasonArtifactNotFound
		r.Message = strings.Join(missing, "; ") + ": push the tag back"
	case len(waiting) > 0:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonRegistryUnavailable
		r.Message = "cannot read the registry: " + strings.Join(waiting, "; ")
		if limited {
			r.Reason = releasev1.ReasonRegistryRateLimited
			r.RecheckAfter = max(until.Sub(now), time.Second)
		}
	default:
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonArtifactsPinned
		r.Message = "tags still point to the pinned digests: " + strings.Join(ok, ", ")
	}
	return r
}
