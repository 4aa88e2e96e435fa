package gates

import (
	"errors"
	"strings"
	"testing"
	"time"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

func TestArtifactsGate(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	const a, b = "sha256:aaaaaaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbbbbbb"
	fact := func(current string, err error) ArtifactFact {
		return ArtifactFact{Name: "checkout", Reference: "ghcr.io/acme/checkout:1.4.2", Pinned: a, Current: current, Err: err}
	}
	cases := []struct {
		name   string
		facts  []ArtifactFact
		state  releasev1.GateState
		reason string
		says   []string
		after  time.Duration
	}{
		{"unchanged", []ArtifactFact{fact(a, nil)}, releasev1.GatePassed, releasev1.ReasonArtifactsPinned, []string{"checkout@aaaaaaaaaaaa"}, 0},
		{"pushed again", []ArtifactFact{fact(b, nil)}, releasev1.GateFailed, releasev1.ReasonArtifactChanged, []string{a, b, "ghcr.io/acme/checkout:1.4.2"}, 0},
		{"gone", []ArtifactFact{fact("", &registry.Error{Kind: registry.KindNotFound, Err: errors.New("MANIFEST_UNKNOWN")})}, releasev1.GateFailed, releasev1.ReasonArtifactNotFound, []string{"not in the registry"}, 0},
		{"unreachable", []ArtifactFact{fact("", &registry.Error{Kind: registry.KindUnavailable, Err: errors.New("connection refused")})}, releasev1.GatePending, releasev1.ReasonRegistryUnavailable, []string{"connection refused"}, 0},
		{"rate limited", []ArtifactFact{fact("", &registry.Error{Kind: registry.KindRateLimited, Until: now.Add(90 * time.Second), Err: errors.New("429")})}, releasev1.GatePending, releasev1.ReasonRegistryRateLimited, []string{"429"}, 90 * time.Second},
		{"a change beats a wait", []ArtifactFact{fact(b, nil), fact("", &registry.Error{Kind: registry.KindUnavailable, Err: errors.New("503")})}, releasev1.GateFailed, releasev1.ReasonArtifactChanged, []string{b}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Artifacts(c.facts, now)
			if r.Name != NameArtifacts || r.State != c.state || r.Reason != c.reason || r.RecheckAfter != c.after {
				t.Fatalf("got %+v", r)
			}
			for _, s := range c.says {
				if !strings.Contains(r.Message, s) {
					t.Errorf("message %q does not say %q", r.Message, s)
				}
			}
		})
	}
}
