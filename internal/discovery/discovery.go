// Package discovery holds the pure parts of automatic release discovery:
// which tags are versions in a range, which of them are new, and the name of
// the Release each becomes. The reconcile step in controllers reads GitHub and
// the cluster; every decision is made here, over a snapshot.
package discovery

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Candidate is one tag (of a published release, or of the repository) that
// may become a Release.
type Candidate struct {
	// Tag as it is named in the repository, for example v1.4.3.
	Tag string
	// Commit the tag points at; may be empty until resolved.
	Commit string
}

// Found is a candidate whose tag is a version in range.
type Found struct {
	Candidate
	Version *semver.Version
}

// VersionString is the Release's spec.version: the tag without its v prefix.
func (f Found) VersionString() string { return f.Version.String() }

// Constraint parses spec.source.versionConstraint. Empty means every version
// without a pre-release (as the range "*" does). The error says what to fix.
func Constraint(s string) (*semver.Constraints, error) {
	if strings.TrimSpace(s) == "" {
		s = "*"
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("versionConstraint %q is not a semver range (%v): write one like \">=1.4.0 <2.0.0\", \"~1.4\" or \"^2\"", s, err)
	}
	return c, nil
}

// Version parses a tag as a version: v1.4.3 and 1.4.3 are both 1.4.3. Only
// full semantic versions count: v1.4, release-1 and latest are not versions.
func Version(tag string) (*semver.Version, bool) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return nil, false
	}
	return v, true
}

// InRange keeps the candidates whose tag is a version the constraint allows
// (a pre-release only when the range allows it, as Masterminds does), one per
// version, in ascending order. When v1.4.3 and 1.4.3 both exist, the
// lexically smaller tag ("1.4.3") wins, so the choice is stable.
func InRange(cands []Candidate, c *semver.Constraints) []Found {
	byVersion := map[string]Found{}
	for _, cand := range cands {
		v, ok := Version(cand.Tag)
		if !ok || (c != nil && !c.Check(v)) {
			continue
		}
		key := v.String()
		if cur, seen := byVersion[key]; seen && cur.Tag <= cand.Tag {
			continue
		}
		byVersion[key] = Found{Candidate: cand, Version: v}
	}
	out := make([]Found, 0, len(byVersion))
	for _, f := range byVersion {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Version.Compare(out[j].Version); c != 0 {
			return c < 0
		}
		return out[i].Tag < out[j].Tag // equal precedence: 1.0.0+a and 1.0.0+b
	})
	return out
}

// New returns the versions to create, ascending. Without a previous version
// (the first discovery) only the newest is created, not the whole history;
// afterwards every version newer than latest is. known lists versions that
// already have a Release in the pipeline (made by hand or before a crash):
// they are never created again.
func New(found []Found, latest string, known map[string]bool) []Found {
	var out []Found
	if latest == "" {
		if len(found) == 0 {
			return nil
		}
		out = found[len(found)-1:]
	} else {
		last, err := semver.NewVersion(latest)
		if err != nil {
			// A hand-edited status: start over as a first discovery.
			return New(found, "", known)
		}
		for _, f := range found {
			if f.Version.GreaterThan(last) {
				out = append(out, f)
			}
		}
	}
	kept := out[:0:0]
	for _, f := range out {
		if !known[f.VersionString()] {
			kept = append(kept, f)
		}
	}
	return kept
}

// Waiting is a new version not created yet: some of its artifacts are not
// in their registries (Missing names their references).
type Waiting struct {
	Version string
	Missing []string
}

// WaitingMessage says what discovery waits for. A version waiting for its
// artifacts does not hold a later one whose artifacts are all there: once
// a later version is created (latest), the earlier one is passed over for
// good, as its Release would be superseded by the newer one anyway; those
// are named as passed over, the others as waiting. "" when nothing waits.
func WaitingMessage(waits []Waiting, latest string) string {
	last, err := semver.NewVersion(latest)
	parts := make([]string, 0, len(waits))
	for _, w := range waits {
		missing := strings.Join(w.Missing, ", ")
		if v, verr := semver.NewVersion(w.Version); err == nil && verr == nil && v.LessThan(last) {
			parts = append(parts, fmt.Sprintf("%s passed over for %s: %s never arrived", w.Version, latest, missing))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s waits for its artifacts: %s not in the registry yet", w.Version, missing))
	}
	return strings.Join(parts, "; ")
}

// Latest returns the newest of the versions, or "" when none parses.
func Latest(versions ...string) string {
	var best *semver.Version
	out := ""
	for _, s := range versions {
		v, err := semver.NewVersion(s)
		if err != nil {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, out = v, s
		}
	}
	return out
}

// maxName is the longest name discovery gives a Release: a DNS-1123 label,
// so the name also fits in a label value.
const maxName = 63

// Name is the deterministic Release name <pipeline>-<version> as a DNS-1123
// label: lowercase, dots and + become dashes, anything else not allowed
// becomes a dash; a name over 63 characters is cut and ends with a short
// hash of the whole, so two long names stay distinct.
func Name(pipeline, version string) string {
	full := strings.ToLower(pipeline + "-" + version)
	var b strings.Builder
	for _, r := range full {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(pipeline + "\x00" + version))
	suffix := hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(name[:maxName-len(suffix)-1], "-") + "-" + suffix
}
