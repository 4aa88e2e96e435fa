package release

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/artifacts"
	"github.com/liftoff-dev/liftoff/internal/conditions"
	"github.com/liftoff-dev/liftoff/internal/gates"
	"github.com/liftoff-dev/liftoff/internal/reconcile"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// Artifacts resolves a pipeline's artifacts in their registries
// (*artifacts.Resolver).
type Artifacts interface {
	// Digest is the digest the artifact's tag of version points to now. A
	// credentials Secret that cannot be used is a *credentials.Error, a
	// registry's failure a *registry.Error.
	Digest(ctx context.Context, pipe *releasev1.ReleasePipeline, a *releasev1.PipelineArtifact, version string) (string, error)
	// Verify checks the cosign signatures of the digest against the
	// gate's key or certificate identity; signer names whom it trusts.
	Verify(ctx context.Context, pipe *releasev1.ReleasePipeline, gate *releasev1.SignatureGate, a *releasev1.PipelineArtifact, digest string) (f registry.Finding, signer string, err error)
}

// pinArtifacts records the digest of every pipeline artifact the Release
// has not pinned yet (status.artifacts): the one its spec.artifacts entry
// of the same name gives, else the one the tag points to now. done is true
// when the step ends here: a tag not pushed yet, a registry that cannot be
// read, credentials refused.
func (s *step) pinArtifacts(ctx context.Context) (out reconcile.Outcome, done bool, err error) {
	rel := s.rel
	for i := range s.pipe.Spec.Artifacts {
		a := &s.pipe.Spec.Artifacts[i]
		if pinned(rel, a.Name) != nil {
			continue
		}
		digest := ""
		for _, sa := range rel.Spec.Artifacts {
			if sa.Name == a.Name && sa.Digest != "" {
				digest = sa.Digest
			}
		}
		if digest == "" {
			if s.artifacts == nil {
				s.stall(releasev1.ReasonInvalidSpec, "pipeline "+s.pipe.Name+" names artifacts but the controller has no registry client")
				return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), true, nil
			}
			d, err := s.artifacts.Digest(ctx, s.pipe, a, rel.Spec.Version)
			if err != nil {
				out, err := s.registryError(a, err, "cannot pin "+artifacts.Reference(a, rel.Spec.Version))
				return out, true, err
			}
			digest = d
		}
		rel.Status.Artifacts = append(rel.Status.Artifacts, releasev1.ArtifactStatus{Name: a.Name,
			Reference: artifacts.Reference(a, rel.Spec.Version), Digest: digest, ResolvedAt: metav1.NewTime(s.now)})
	}
	return reconcile.Outcome{}, false, nil
}

// artifactsMoved stops a promotion's write: the artifacts gate, asked again
// just before it, does not pass.
type artifactsMoved struct{ result gates.Result }

func (e *artifactsMoved) Error() string { return e.result.Name + ": " + e.result.Message }

// stillPinned is the promotion's check just before its write (nil when the
// Release pins nothing): every pinned tag is resolved again, so a tag
// pushed again between the gates and the write, or while the controller
// was down with the promotion in flight, stops the write. It works on
// copies: the coalescer may ask from its own goroutine.
func (s *step) stillPinned() func(context.Context) error {
	if len(s.rel.Status.Artifacts) == 0 || s.artifacts == nil {
		return nil
	}
	c := &step{artifacts: s.artifacts, rel: s.rel.DeepCopy(), pipe: s.pipe.DeepCopy(), now: s.now}
	return func(ctx context.Context) error {
		facts, err := c.artifactFacts(ctx)
		if err != nil {
			return err
		}
		if r := gates.Artifacts(facts, c.now); r.State != releasev1.GatePassed {
			return &artifactsMoved{r}
		}
		return nil
	}
}

// artifactsMovedBeforeWrite concludes a promotion whose write the
// artifacts stopped: a tag moved or gone gives the stage back and blocks
// the Release, as the gate does; a registry that cannot be read keeps the
// promotion in flight, to ask again.
func (s *step) artifactsMovedBeforeWrite(ctx context.Context, i int, r gates.Result) (reconcile.Outcome, error) {
	rel, stage := s.rel, &s.pipe.Spec.Stages[i]
	ss := &rel.Status.Stages[i]
	if r.State == releasev1.GatePending {
		setConditions(rel, conclusion{phase: releasev1.PhaseProgressing, reason: r.Reason,
			message: fmt.Sprintf("promoting into %s, before the write: %s", stage.Name, r.Message)})
		wait := s.pollInterval
		if r.RecheckAfter > 0 {
			wait = r.RecheckAfter
		}
		return reconcile.WaitFor(wait, reconcile.WaitRegistry), nil
	}
	if err := s.ledger.Free(ctx, s.pipe, rel); err != nil {
		return reconcile.Stop(), err
	}
	replaceGate(ss, r, s.now)
	ss.Phase, ss.Message = releasev1.StageWaiting, r.Name+": "+r.Message
	s.failDeployment(ctx, ss, "artifact changed before the write")
	ss.Promotion = nil
	setConditions(rel, conclusion{phase: releasev1.PhaseBlocked, blocked: true, reason: r.Reason,
		message: fmt.Sprintf("blocked before %s: %s", stage.Name, ss.Message)})
	return reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), nil
}

// signatureFacts verifies the signatures of the pinned artifacts the
// stage's signature gate covers. Keys or credentials that cannot be used
// are a *stallError.
func (s *step) signatureFacts(ctx context.Context, gate *releasev1.SignatureGate) ([]gates.SignatureFact, error) {
	out := []gates.SignatureFact{}
	for i := range s.pipe.Spec.Artifacts {
		a := &s.pipe.Spec.Artifacts[i]
		p := pinned(s.rel, a.Name)
		if p == nil || !gate.Covers(a.Name) {
			continue
		}
		f := gates.SignatureFact{Name: a.Name, Digest: p.Digest, Keyless: gate.Identity != nil}
		f.Finding, f.Signer, f.Err = s.artifacts.Verify(ctx, s.pipe, gate, a, p.Digest)
		if reason, msg, stalled := artifacts.Stall(s.pipe, a, f.Err); stalled {
			return nil, &stallError{reason, msg}
		}
		out = append(out, f)
	}
	return out, nil
}

// recordSigners notes who signed each verified pin.
func recordSigners(rel *releasev1.Release, facts []gates.SignatureFact) {
	for i := range facts {
		f := &facts[i]
		if p := pinned(rel, f.Name); p != nil && f.Err == nil && f.Verdict == registry.Verified {
			p.Signer = f.SignedBy()
		}
	}
}

// registryError turns a failure to read an artifact's registry into
// conditions and a retry: a stall for a person, Blocked for a tag not
// pushed yet, a wait for a registry that cannot be read now.
func (s *step) registryError(a *releasev1.PipelineArtifact, err error, what string) (reconcile.Outcome, error) {
	if reason, msg, stalled := artifacts.Stall(s.pipe, a, err); stalled {
		s.stall(reason, msg)
		return reconcile.WaitFor(conditions.RetryStalled, reconcile.WaitFix), nil
	}
	phase := s.rel.Status.Phase
	if phase == "" {
		phase = releasev1.PhasePending
	}
	switch registry.KindOf(err) {
	case registry.KindNotFound:
		setConditions(s.rel, conclusion{phase: releasev1.PhaseBlocked, reason: releasev1.ReasonArtifactNotFound, blocked: true,
			message: fmt.Sprintf("%s: %s is not in the registry: push it, or fix the pipeline's artifact %s", what, artifacts.Reference(a, s.rel.Spec.Version), a.Name)})
		return reconcile.WaitFor(s.pollInterval, reconcile.WaitPoll), nil
	case registry.KindRateLimited:
		setConditions(s.rel, conclusion{phase: phase, reason: releasev1.ReasonRegistryRateLimited, message: fmt.Sprintf("%s: %v", what, err)})
		return reconcile.WaitUntil(registry.UntilOf(err), reconcile.WaitRegistry), nil
	}
	setConditions(s.rel, conclusion{phase: phase, reason: releasev1.ReasonRegistryUnavailable,
		message: fmt.Sprintf("%s: %s, retrying", what, strings.TrimSpace(err.Error()))})
	return reconcile.WaitFor(s.pollInterval, reconcile.WaitRegistry), nil
}

// artifactFacts resolves every pinned artifact's tag again, just before a
// promotion. Credentials that cannot be used are a *stallError; every other
// failure is the gate's to weigh.
func (s *step) artifactFacts(ctx context.Context) ([]gates.ArtifactFact, error) {
	var out []gates.ArtifactFact
	for i := range s.pipe.Spec.Artifacts {
		a := &s.pipe.Spec.Artifacts[i]
		p := pinned(s.rel, a.Name)
		if p == nil || s.artifacts == nil {
			continue
		}
		f := gates.ArtifactFact{Name: a.Name, Reference: p.Reference, Pinned: p.Digest}
		f.Current, f.Err = s.artifacts.Digest(ctx, s.pipe, a, s.rel.Spec.Version)
		if reason, msg, stalled := artifacts.Stall(s.pipe, a, f.Err); stalled {
			return nil, &stallError{reason, msg}
		}
		out = append(out, f)
	}
	return out, nil
}

// pinned is the Release's record of the named artifact, or nil.
func pinned(rel *releasev1.Release, name string) *releasev1.ArtifactStatus {
	for i := range rel.Status.Artifacts {
		if rel.Status.Artifacts[i].Name == name {
			return &rel.Status.Artifacts[i]
		}
	}
	return nil
}
