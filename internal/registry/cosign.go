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
	// Verified: a signature made with the key signs this digest.
	Verified Verdict = "Verified"
	// Unsigned: no signature at all.
	Unsigned Verdict = "Unsigned"
	// WrongSigner: signatures, none made with the key.
	WrongSigner Verdict = "WrongSigner"
	// DigestMismatch: a signature made with the key, over another digest.
	DigestMismatch Verdict = "DigestMismatch"
)

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
// against the key, offline (no transparency log, no certificate). An error
// is the registry's (*Error); a verdict says what the signatures hold.
func (c *Client) VerifyCosign(ctx context.Context, repo name.Repository, digest string, keys authn.Keychain, key signature.Verifier) (Verdict, error) {
	rt, err := c.transport(ctx, repo, keys)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithTransport(rt), remote.WithContext(ctx)}
	desc, err := remote.Get(repo.Tag(CosignTag(digest)), opts...)
	if err != nil {
		if err = c.classify(repo, err); KindOf(err) == KindNotFound {
			return Unsigned, nil
		}
		return "", err
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return "", &Error{Kind: KindInvalid, Err: fmt.Errorf("the signature manifest %s: %w", CosignTag(digest), err)}
	}
	verdict := Unsigned
	for _, l := range m.Layers {
		sig, ok := l.Annotations[CosignSignatureAnnotation]
		if !ok {
			continue
		}
		if verdict == Unsigned {
			verdict = WrongSigner
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		payload, err := c.blob(repo.Digest(l.Digest.String()), opts)
		if err != nil {
			return "", c.classify(repo, err)
		}
		if key.VerifySignature(bytes.NewReader(raw), bytes.NewReader(payload)) != nil {
			continue
		}
		var p struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		if json.Unmarshal(payload, &p) == nil && p.Critical.Image.Digest == digest {
			return Verified, nil
		}
		verdict = DigestMismatch
	}
	return verdict, nil
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
