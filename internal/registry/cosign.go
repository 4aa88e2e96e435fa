package registry

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Cosign's signature format: the signatures of repo@sha256:HEX are the
// layers of the manifest tagged sha256-HEX.sig in the same repository; each
// layer is a simple-signing payload naming the digest it signs, with the
// base64 signature of that payload in an annotation.
const (
	CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	CosignPayloadMediaType    = "application/vnd.dev.cosign.simplesigning.v1+json"
)

// CosignTag is the tag of the signatures of digest.
func CosignTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// CosignPayload is the simple-signing payload cosign signs for digest.
func CosignPayload(repo, digest string) []byte {
	b, _ := json.Marshal(map[string]any{
		"critical": map[string]any{
			"identity": map[string]string{"docker-reference": repo},
			"image":    map[string]string{"docker-manifest-digest": digest},
			"type":     "cosign container image signature",
		},
		"optional": nil,
	})
	return b
}

// Verdict is what the signatures of a digest say.
type Verdict string

// Verdicts.
const (
	// Verified: a signature by the trusted signer signs this digest.
	Verified Verdict = "Verified"
	// Unsigned: no signature at all.
	Unsigned Verdict = "Unsigned"
	// WrongSigner: signatures, none made with the key (or, keyless, none
	// that verifies with its certificate).
	WrongSigner Verdict = "WrongSigner"
	// DigestMismatch: a trusted signature, over another digest.
	DigestMismatch Verdict = "DigestMismatch"
	// WrongIdentity: a keyless signature whose certificate names another
	// subject or OIDC issuer.
	WrongIdentity Verdict = "WrongIdentity"
	// UntrustedCertificate: a keyless signature whose certificate does not
	// chain to the CA bundle.
	UntrustedCertificate Verdict = "UntrustedCertificate"
	// CertificateExpired: a keyless signature logged when its certificate
	// was not valid.
	CertificateExpired Verdict = "CertificateExpired"
	// UntrustedLog: a keyless signature without a transparency log entry
	// signed by the Rekor key.
	UntrustedLog Verdict = "UntrustedLog"
)

// rank orders the verdicts of several signatures: the one nearest to a
// verified signature is the one reported.
var rank = map[Verdict]int{Unsigned: 0, WrongSigner: 1, UntrustedLog: 2, UntrustedCertificate: 3,
	CertificateExpired: 4, WrongIdentity: 5, DigestMismatch: 6, Verified: 7}

// Finding is what the signatures of a digest say, for people: the
// verdict, who signed when the signature says it (a certificate's
// identity) and what is wrong.
type Finding struct {
	Verdict Verdict
	// Found is the signer the signature names: a keyless certificate's
	// identity ("release@acme.dev via https://token.actions.githubusercontent.com").
	Found string
	// Detail says what failed (the certificate's validity and the log's
	// time, the log's ID).
	Detail string
}

// Trust is whom a signature must come from: a public key (Key) or a
// certificate identity under trust roots (Keyless).
type Trust interface {
	check(l layer) Finding
}

// layer is one signature of a digest: the signature, the payload it
// signs and the layer's annotations (a keyless signature's certificate
// and Rekor bundle).
type layer struct {
	sig, payload []byte
	annotations  map[string]string
}

// Key trusts signatures made with a public key.
type Key struct{ signature.Verifier }

func (k Key) check(l layer) Finding {
	if k.VerifySignature(bytes.NewReader(l.sig), bytes.NewReader(l.payload)) != nil {
		return Finding{Verdict: WrongSigner}
	}
	return Finding{Verdict: Verified}
}

// PublicKeyVerifier parses a PEM public key (ECDSA, RSA or Ed25519, as
// `cosign generate-key-pair` writes cosign.pub) into a verifier of SHA-256
// signatures.
func PublicKeyVerifier(pemKey []byte) (signature.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemKey)
	if err != nil {
		return nil, fmt.Errorf("not a PEM public key: %w", err)
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// VerifyCosign reads the cosign signatures of repo@digest and checks them
// against the trust, offline. An error is the registry's (*Error); the
// finding says what the signatures hold (of several, the one nearest to a
// verified signature).
func (c *Client) VerifyCosign(ctx context.Context, repo name.Repository, digest string, keys authn.Keychain, trust Trust) (Finding, error) {
	rt, err := c.transport(ctx, repo, keys)
	if err != nil {
		return Finding{}, err
	}
	opts := []remote.Option{remote.WithTransport(rt), remote.WithContext(ctx)}
	desc, err := remote.Get(repo.Tag(CosignTag(digest)), opts...)
	if err != nil {
		if err = c.classify(repo, err); KindOf(err) == KindNotFound {
			return Finding{Verdict: Unsigned}, nil
		}
		return Finding{}, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return Finding{}, &Error{Kind: KindInvalid, Err: fmt.Errorf("the signature manifest %s: %w", CosignTag(digest), err)}
	}
	best := Finding{Verdict: Unsigned}
	for _, l := range m.Layers {
		sig, ok := l.Annotations[CosignSignatureAnnotation]
		if !ok {
			continue
		}
		f := Finding{Verdict: WrongSigner, Detail: "the signature is not base64"}
		if raw, err := base64.StdEncoding.DecodeString(sig); err == nil {
			payload, err := c.blob(repo.Digest(l.Digest.String()), opts)
			if err != nil {
				return Finding{}, c.classify(repo, err)
			}
			f = trust.check(layer{sig: raw, payload: payload, annotations: l.Annotations})
			if f.Verdict == Verified && signedDigest(payload) != digest {
				f.Verdict, f.Detail = DigestMismatch, "the payload names "+signedDigest(payload)
			}
		}
		if f.Verdict == Verified {
			return f, nil
		}
		if rank[f.Verdict] > rank[best.Verdict] {
			best = f
		}
	}
	return best, nil
}

// signedDigest is the digest a simple-signing payload names.
func signedDigest(payload []byte) string {
	var p struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Critical.Image.Digest
}

// maxPayload bounds a signature payload read.
const maxPayload = 1 << 20

func (c *Client) blob(ref name.Digest, opts []remote.Option) ([]byte, error) {
	l, err := remote.Layer(ref, opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err == nil && len(b) > maxPayload {
		err = errors.New("signature payload over 1 MiB")
	}
	return b, err
}
