package gates

import (
	"fmt"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// NameSignature holds a stage whose artifacts are not signed by the
// gate's key (Signature).
const NameSignature = "signature"

// SignatureFact is what one pinned artifact's signatures say.
type SignatureFact struct {
	Name, Digest string
	// Signer names the key (Secret "cosign" key cosign.pub).
	Signer  string
	Verdict registry.Verdict
	// Err is the registry's failure (a *registry.Error).
	Err error
}

// Signature requires every artifact's pinned digest to be signed by the
// key: unsigned, another signer or a signature of another digest fails
// the gate; a registry that cannot be read waits.
func Signature(facts []SignatureFact) Result {
	r := Result{Name: NameSignature}
	var failed, waiting, ok []string
	for _, f := range facts {
		d := releasev1.ShortDigest(f.Digest)
		switch {
		case f.Err != nil:
			waiting = append(waiting, fmt.Sprintf("%s@%s: %v", f.Name, d, f.Err))
		case f.Verdict == registry.Verified:
			ok = append(ok, fmt.Sprintf("%s@%s", f.Name, d))
		default:
			if r.Reason == "" {
				r.Reason = map[registry.Verdict]string{registry.Unsigned: releasev1.ReasonArtifactUnsigned,
					registry.WrongSigner: releasev1.ReasonSignatureWrongSigner, registry.DigestMismatch: releasev1.ReasonSignatureDigestMismatch}[f.Verdict]
			}
			failed = append(failed, fmt.Sprintf("%s@%s: %s", f.Name, f.Digest, verdictText(f.Verdict, f.Signer)))
		}
	}
	signer := ""
	if len(facts) > 0 {
		signer = facts[0].Signer
	}
	switch {
	case len(failed) > 0:
		r.State, r.Message = releasev1.GateFailed, strings.Join(failed, "; ")
	case len(waiting) > 0:
		r.State, r.Reason = releasev1.GatePending, releasev1.ReasonRegistryUnavailable
		r.Message = "cannot read the signatures: " + strings.Join(waiting, "; ")
	default:
		r.State, r.Reason = releasev1.GatePassed, releasev1.ReasonSignatureVerified
		r.Message = fmt.Sprintf("signed by %s: %s", signer, strings.Join(ok, ", "))
	}
	return r
}

func verdictText(v registry.Verdict, signer string) string {
	switch v {
	case registry.Unsigned:
		return "not signed: sign it with the key of " + signer
	case registry.WrongSigner:
		return "signed, but not with the key of " + signer
	}
	return "the key of " + signer + " signed another digest under this one's signature tag"
}
