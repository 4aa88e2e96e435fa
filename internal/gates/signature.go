package gates

import (
	"fmt"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/registry"
)

// NameSignature holds a stage whose artifacts are not signed by the
// gate's key or certificate identity (Signature).
const NameSignature = "signature"

// SignatureFact is what one pinned artifact's signatures say.
type SignatureFact struct {
	Name, Digest string
	// Signer names whom the gate trusts: the key (Secret "cosign" key
	// cosign.pub) or, Keyless, the identity (release@acme.dev via
	// https://token.actions.githubusercontent.com).
	Signer  string
	Keyless bool
	// Finding is what the signatures say: the verdict, the identity found.
	registry.Finding
	// Err is the registry's failure (a *registry.Error).
	Err error
}

// SignedBy is who signed a verified digest: the certificate's identity,
// else the key.
func (f *SignatureFact) SignedBy() string {
	if f.Found != "" {
		return f.Found
	}
	return f.Signer
}

// signatureReasons are the failed gate's reasons by verdict.
var signatureReasons = map[registry.Verdict]string{
	registry.Unsigned: releasev1.ReasonArtifactUnsigned, registry.WrongSigner: releasev1.ReasonSignatureWrongSigner,
	registry.DigestMismatch: releasev1.ReasonSignatureDigestMismatch, registry.WrongIdentity: releasev1.ReasonSignatureWrongIdentity,
	registry.UntrustedCertificate: releasev1.ReasonSignatureUntrustedCertificate,
	registry.CertificateExpired:   releasev1.ReasonSignatureCertificateExpired, registry.UntrustedLog: releasev1.ReasonSignatureUntrustedLog,
}

// Signature requires every artifact's pinned digest to be signed by the
// key or the certificate identity: unsigned, another signer or a
// signature of another digest fails the gate; a registry that cannot be
// read waits.
func Signature(facts []SignatureFact) Result {
	r := Result{Name: NameSignature}
	var failed, waiting, ok []string
	for i := range facts {
		f := &facts[i]
		d := releasev1.ShortDigest(f.Digest)
		switch {
		case f.Err != nil:
			waiting = append(waiting, fmt.Sprintf("%s@%s: %v", f.Name, d, f.Err))
		case f.Verdict == registry.Verified:
			ok = append(ok, fmt.Sprintf("%s@%s", f.Name, d))
		default:
			if r.Reason == "" {
				r.Reason = signatureReasons[f.Verdict]
			}
			failed = append(failed, fmt.Sprintf("%s@%s: %s", f.Name, f.Digest, verdictText(f)))
		}
	}
	signer := ""
	if len(facts) > 0 {
		signer = facts[0].SignedBy()
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

// verdictText says what is wrong with an artifact's signatures and what
// to fix.
func verdictText(f *SignatureFact) string {
	if !f.Keyless {
		switch f.Verdict {
		case registry.Unsigned:
			return "not signed: sign it with the key of " + f.Signer
		case registry.WrongSigner:
			return "signed, but not with the key of " + f.Signer
		}
		return "the key of " + f.Signer + " signed another digest under this one's signature tag"
	}
	switch f.Verdict {
	case registry.Unsigned:
		return "not signed: sign it keyless (cosign sign, without --key) as " + f.Signer
	case registry.WrongIdentity:
		return fmt.Sprintf("signed by %s, expected %s: sign it as that identity, or fix gates.signature.identity", f.Found, f.Signer)
	case registry.UntrustedCertificate:
		return fmt.Sprintf("signed by %s, but %s: put its Fulcio root and intermediates in the Secret's %s", f.Found, f.Detail, releasev1.SecretKeyFulcioBundle)
	case registry.CertificateExpired:
		return fmt.Sprintf("signed by %s, but %s: sign it again (the log must integrate the signature while the certificate is valid)", f.Found, f.Detail)
	case registry.UntrustedLog:
		return fmt.Sprintf("signed by %s, but %s: put the log's key in the Secret's %s", f.Found, f.Detail, releasev1.SecretKeyRekorKey)
	case registry.DigestMismatch:
		return fmt.Sprintf("%s signed another digest under this one's signature tag (%s)", f.Found, f.Detail)
	}
	return fmt.Sprintf("signed, but not by %s: %s", f.Signer, f.Detail)
}
