package registry

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// The annotations of a keyless cosign signature layer: the Fulcio
// certificate that signed, its chain, and the Rekor bundle (the log's
// signed entry timestamp over the entry).
const (
	CosignCertificateAnnotation = "dev.sigstore.cosign/certificate"
	CosignChainAnnotation       = "dev.sigstore.cosign/chain"
	CosignBundleAnnotation      = "dev.sigstore.cosign/bundle"
)

// Identity is the certificate identity a keyless signature must carry, as
// cosign's --certificate-identity (or -regexp) and
// --certificate-oidc-issuer.
type Identity struct {
	// Subject is the certificate's SAN (an e-mail or a URI), exactly;
	// SubjectRegExp a regular expression it must match instead.
	Subject, SubjectRegExp string
	// Issuer is the OIDC issuer in the certificate's Fulcio extension.
	Issuer string
}

func (i Identity) String() string {
	subject := i.Subject
	if subject == "" {
		subject = "a subject matching " + i.SubjectRegExp
	}
	return subject + " via " + i.Issuer
}

// CosignBundle is the Rekor bundle cosign puts on a keyless signature: the
// log's entry and its signed entry timestamp (SET).
type CosignBundle struct {
	SignedEntryTimestamp []byte       `json:"SignedEntryTimestamp"`
	Payload              CosignLogged `json:"Payload"`
}

// CosignLogged is what the log signed: the entry's canonical body
// (base64), when it was integrated, where, and the log's ID (hex SHA-256 of
// its public key).
type CosignLogged struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"`
}

// Keyless trusts keyless signatures: a certificate issued by the CA
// bundle, valid when the transparency log integrated the signature, for
// the identity, with the log's SET verified by its key. Everything is
// verified offline with sigstore-go.
type Keyless struct {
	Identity Identity
	cas      []*root.FulcioCertificateAuthority
	logs     map[string]*root.TransparencyLog
	subject  *regexp.Regexp
}

// NewKeyless reads the trust roots: a PEM CA bundle (the Fulcio root and
// its intermediates) and the Rekor log's PEM public key. A bad bundle,
// key or regular expression is an error saying which.
func NewKeyless(caBundle, rekorKey []byte, id Identity) (*Keyless, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(caBundle)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("the CA bundle is not PEM certificates: %v", err)
	}
	var roots, intermediates []*x509.Certificate
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			roots = append(roots, c)
		} else {
			intermediates = append(intermediates, c)
		}
	}
	if len(roots) == 0 {
		return nil, errors.New("the CA bundle has no root (self-signed) certificate")
	}
	cas := make([]*root.FulcioCertificateAuthority, 0, len(roots))
	for _, r := range roots {
		cas = append(cas, &root.FulcioCertificateAuthority{Root: r, Intermediates: intermediates})
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(rekorKey)
	if err != nil {
		return nil, fmt.Errorf("the Rekor key is not a PEM public key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("the Rekor key: %w", err)
	}
	id0 := sha256.Sum256(der)
	logs := map[string]*root.TransparencyLog{hex.EncodeToString(id0[:]): {ID: id0[:], PublicKey: pub,
		HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256, ValidityPeriodStart: time.Unix(1, 0)}}
	k := &Keyless{Identity: id, cas: cas, logs: logs}
	if id.SubjectRegExp != "" {
		if k.subject, err = regexp.Compile(id.SubjectRegExp); err != nil {
			return nil, fmt.Errorf("subjectRegExp: %w", err)
		}
	}
	return k, nil
}

// material is the trust roots, with the intermediates of a signature's
// chain (dev.sigstore.cosign/chain) added to each CA's: they count only
// when they chain to a root of the CA bundle.
func (k *Keyless) material(l layer) (root.TrustedMaterial, error) {
	var extra []*x509.Certificate
	if chain, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(l.annotations[CosignChainAnnotation])); err == nil {
		for _, c := range chain {
			if !bytes.Equal(c.RawIssuer, c.RawSubject) {
				extra = append(extra, c)
			}
		}
	}
	cas := make([]root.CertificateAuthority, 0, len(k.cas))
	for _, ca := range k.cas {
		with := *ca
		with.Intermediates = append(append([]*x509.Certificate{}, ca.Intermediates...), extra...)
		cas = append(cas, &with)
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, nil, k.logs)
}

// check verifies one keyless signature layer over payload: the full
// verification by sigstore-go first, then, when it fails, the checks one
// by one to say what is wrong.
func (k *Keyless) check(l layer) Finding {
	cert, entity, f := k.parse(l)
	if f.Verdict != "" {
		return f
	}
	found := identityOf(cert)
	f = Finding{Found: found}
	material, err := k.material(l)
	if err != nil {
		return Finding{Verdict: WrongSigner, Detail: err.Error()}
	}
	v, err := verify.NewVerifier(material, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	if err != nil {
		return Finding{Verdict: WrongSigner, Detail: err.Error()}
	}
	want, err := verify.NewShortCertificateIdentity(k.Identity.Issuer, "", k.Identity.Subject, k.Identity.SubjectRegExp)
	if err != nil {
		return Finding{Verdict: WrongSigner, Detail: err.Error()}
	}
	_, err = v.Verify(entity, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(l.payload)), verify.WithCertificateIdentity(want)))
	if err == nil {
		f.Verdict = Verified
		return f
	}
	entry := entity.entry
	at := entry.IntegratedTime()
	switch {
	case tlog.VerifySET(entry, k.logs) != nil:
		f.Verdict, f.Detail = UntrustedLog, fmt.Sprintf("the transparency log's signed entry timestamp (log %s) does not verify with the Rekor key", hex.EncodeToString([]byte(entry.LogKeyID())))
	case at.Before(cert.NotBefore) || at.After(cert.NotAfter):
		f.Verdict, f.Detail = CertificateExpired, fmt.Sprintf("the certificate is valid from %s to %s, the log integrated the signature at %s",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	case verifyChain(at, cert, material) != nil:
		f.Verdict, f.Detail = UntrustedCertificate, fmt.Sprintf("the certificate (issued by %q) does not chain to the CA bundle", cert.Issuer.CommonName)
	case !k.matches(cert):
		f.Verdict = WrongIdentity
	default:
		f.Verdict, f.Detail = WrongSigner, err.Error()
	}
	return f
}

func verifyChain(at time.Time, cert *x509.Certificate, m root.TrustedMaterial) error {
	_, err := verify.VerifyLeafCertificate(at, cert, m)
	return err
}

// matches reports whether the certificate carries the identity.
func (k *Keyless) matches(cert *x509.Certificate) bool {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil || s.Issuer != k.Identity.Issuer {
		return false
	}
	if k.subject != nil {
		return k.subject.MatchString(s.SubjectAlternativeName)
	}
	return s.SubjectAlternativeName == k.Identity.Subject
}

// identityOf is the certificate's identity, as people read it.
func identityOf(cert *x509.Certificate) string {
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return "a certificate without a subject (" + err.Error() + ")"
	}
	if s.Issuer == "" {
		return s.SubjectAlternativeName + " via no OIDC issuer"
	}
	return s.SubjectAlternativeName + " via " + s.Issuer
}

// parse reads the layer's certificate and Rekor bundle into what
// sigstore-go verifies; a layer without them is a finding.
func (k *Keyless) parse(l layer) (*x509.Certificate, *keylessEntity, Finding) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(l.annotations[CosignCertificateAnnotation]))
	if err != nil || len(certs) == 0 {
		return nil, nil, Finding{Verdict: WrongSigner, Detail: "signed with a key, not a certificate: sign it keyless (cosign sign without --key)"}
	}
	cert := certs[0]
	raw, ok := l.annotations[CosignBundleAnnotation]
	if !ok {
		return nil, nil, Finding{Verdict: UntrustedLog, Found: identityOf(cert), Detail: "the signature has no Rekor bundle: sign it with the transparency log (without --tlog-upload=false)"}
	}
	var b CosignBundle
	body, logID := []byte(nil), []byte(nil)
	if err = json.Unmarshal([]byte(raw), &b); err == nil {
		if body, err = base64.StdEncoding.DecodeString(b.Payload.Body); err == nil {
			logID, err = hex.DecodeString(b.Payload.LogID)
		}
	}
	var entry *tlog.Entry
	if err == nil {
		entry, err = tlog.NewTlogEntry(&protorekor.TransparencyLogEntry{LogIndex: b.Payload.LogIndex, LogId: &protocommon.LogId{KeyId: logID},
			KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"}, IntegratedTime: b.Payload.IntegratedTime,
			InclusionPromise: &protorekor.InclusionPromise{SignedEntryTimestamp: b.SignedEntryTimestamp}, CanonicalizedBody: body})
	}
	if err != nil {
		return nil, nil, Finding{Verdict: UntrustedLog, Found: identityOf(cert), Detail: "the signature's Rekor bundle cannot be read: " + err.Error()}
	}
	sum := sha256.Sum256(l.payload)
	return cert, &keylessEntity{cert: cert, entry: entry, sig: bundle.NewMessageSignature(sum[:], "SHA2_256", l.sig)}, Finding{}
}

// keylessEntity is a cosign keyless signature as sigstore-go verifies it:
// a message signature over the payload, the certificate, the log entry.
type keylessEntity struct {
	verify.BaseSignedEntity
	cert  *x509.Certificate
	entry *tlog.Entry
	sig   *bundle.MessageSignature
}

func (e *keylessEntity) HasInclusionPromise() bool { return true }

func (e *keylessEntity) SignatureContent() (verify.SignatureContent, error) { return e.sig, nil }

func (e *keylessEntity) Timestamps() ([][]byte, error) { return nil, nil }

func (e *keylessEntity) TlogEntries() ([]*tlog.Entry, error) { return []*tlog.Entry{e.entry}, nil }

func (e *keylessEntity) VerificationContent() (verify.VerificationContent, error) {
	return bundle.NewCertificate(e.cert), nil
}

func (e *keylessEntity) Version() (string, error) { return "v0.1", nil }
