package registrytest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/liftoff-dev/liftoff/internal/registry"
)

// Sigstore is a test Fulcio (a root CA and an intermediate that issues
// signing certificates) and a test Rekor (the key that signs the log's
// entry timestamps), for keyless signatures verified offline.
type Sigstore struct {
	CA    *CA
	Rekor *ecdsa.PrivateKey
	// logIndex numbers the entries of the log.
	logIndex int64
}

// CA is a root certificate and the intermediate that issues leaves.
type CA struct {
	Root, Intermediate *x509.Certificate
	key                *ecdsa.PrivateKey
}

// NewSigstore is a new test Fulcio CA and Rekor key.
func NewSigstore() *Sigstore { return &Sigstore{CA: NewCA(), Rekor: NewKey()} }

// NewCA is a new root and intermediate, valid from a year ago for ten years.
func NewCA() *CA {
	rootKey, key := NewKey(), NewKey()
	from := time.Now().Add(-365 * 24 * time.Hour)
	root := mustCertificate(&x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"sigstore.test"}, CommonName: "sigstore-test-root"},
		NotBefore: from, NotAfter: from.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, &rootKey.PublicKey, rootKey)
	inter := mustCertificate(&x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"sigstore.test"}, CommonName: "sigstore-test-intermediate"},
		NotBefore: from, NotAfter: from.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, root, &key.PublicKey, rootKey)
	return &CA{Root: root, Intermediate: inter, key: key}
}

// BundlePEM is the CA bundle a verifier trusts: the root and the
// intermediate, as SIGSTORE_ROOT_FILE holds them.
func (ca *CA) BundlePEM() []byte { return append(certPEM(ca.Root), certPEM(ca.Intermediate)...) }

// RootPEM is the root alone, for a bundle that leaves the intermediate to
// the signature's chain.
func (ca *CA) RootPEM() []byte { return certPEM(ca.Root) }

// RekorKeyPEM is the Rekor key's public half (rekor.pub).
func (s *Sigstore) RekorKeyPEM() []byte { return PublicKeyPEM(s.Rekor) }

// Keyless is how a keyless signature is made: the identity its
// certificate carries, when the certificate was issued (it is valid ten
// minutes, as Fulcio's are) and when the log integrated the signature.
type Keyless struct {
	// Subject is the SAN: an e-mail, or a URI (a workflow's) when it has ://.
	Subject string
	// Issuer is the OIDC issuer (Fulcio's extensions 1.3.6.1.4.1.57264.1.1 and .8).
	Issuer string
	// Issued defaults to an hour ago; Logged to a minute after Issued.
	Issued, Logged time.Time
}

// Fulcio's OIDC issuer extensions: the raw string (deprecated) and the DER
// UTF8String.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// SignKeyless pushes a keyless cosign signature of repo@digest into r, as
// `cosign sign` without a key makes one: an ephemeral key signs the
// simple-signing payload naming signed, the CA certifies the key for the
// identity, and the log's entry (a hashedrekord of the signature and the
// certificate) comes with its signed entry timestamp by the Rekor key.
func (s *Sigstore) SignKeyless(r *Registry, repo, digest, signed string, k Keyless) error {
	if k.Issued.IsZero() {
		k.Issued = time.Now().Add(-time.Hour)
	}
	if k.Logged.IsZero() {
		k.Logged = k.Issued.Add(time.Minute)
	}
	key := NewKey()
	leaf := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: k.Issued, NotAfter: k.Issued.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	if strings.Contains(k.Subject, "://") {
		u, err := url.Parse(k.Subject)
		if err != nil {
			return err
		}
		leaf.URIs = []*url.URL{u}
	} else {
		leaf.EmailAddresses = []string{k.Subject}
	}
	v2, err := asn1.MarshalWithParams(k.Issuer, "utf8")
	if err != nil {
		return err
	}
	leaf.ExtraExtensions = []pkix.Extension{{Id: oidIssuerV1, Value: []byte(k.Issuer)}, {Id: oidIssuerV2, Value: v2}}
	cert := mustCertificate(leaf, s.CA.Intermediate, &key.PublicKey, s.CA.key)

	payload := registry.CosignPayload(r.Ref(repo), signed)
	sig, err := signSHA256(key, payload)
	if err != nil {
		return err
	}
	bundle, err := s.logged(payload, sig, certPEM(cert), k.Logged)
	if err != nil {
		return err
	}
	return r.pushSignature(repo, digest, payload, map[string]string{
		registry.CosignSignatureAnnotation:   base64.StdEncoding.EncodeToString(sig),
		registry.CosignCertificateAnnotation: string(certPEM(cert)),
		registry.CosignChainAnnotation:       string(append(certPEM(s.CA.Intermediate), certPEM(s.CA.Root)...)),
		registry.CosignBundleAnnotation:      string(bundle),
	})
}

// logged is the Rekor bundle of a hashedrekord entry of the signature,
// integrated at the time given.
func (s *Sigstore) logged(payload, sig, cert []byte, at time.Time) ([]byte, error) {
	sum := sha256.Sum256(payload)
	body, err := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
		"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]string{"content": base64.StdEncoding.EncodeToString(cert)}},
	}})
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&s.Rekor.PublicKey)
	if err != nil {
		return nil, err
	}
	logID := sha256.Sum256(der)
	s.logIndex++
	entry := registry.CosignLogged{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: at.Unix(), LogIndex: s.logIndex, LogID: hex.EncodeToString(logID[:])}
	// The SET signs the entry's canonical JSON: keys sorted, no spaces, as
	// encoding/json writes a map.
	canonical, err := json.Marshal(map[string]any{"body": entry.Body, "integratedTime": entry.IntegratedTime, "logIndex": entry.LogIndex, "logID": entry.LogID})
	if err != nil {
		return nil, err
	}
	set, err := signSHA256(s.Rekor, canonical)
	if err != nil {
		return nil, err
	}
	return json.Marshal(registry.CosignBundle{SignedEntryTimestamp: set, Payload: entry})
}

func mustCertificate(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) *x509.Certificate {
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeylessWay is one way a keyless signature can be made, right or wrong,
// for tables of what a verifier says.
type KeylessWay struct {
	Name string
	By   *Sigstore
	As   Keyless
	// Other: the payload names another digest than the one it signs.
	Other bool
}

// Ways of signing keyless that a verifier trusting s for the identity
// (subject, issuer) must tell apart: verified, wrong subject, wrong
// issuer, a certificate not from the CA, expired at the integrated time,
// a SET not from the Rekor key, digest mismatch. The expired certificate
// was issued at issued and logged an hour later.
func (s *Sigstore) Ways(subject, issuer string, issued time.Time) []KeylessWay {
	right := Keyless{Subject: subject, Issuer: issuer}
	return []KeylessWay{
		{Name: "verified", By: s, As: right},
		{Name: "wrong subject", By: s, As: Keyless{Subject: "mallory@acme.dev", Issuer: issuer}},
		{Name: "wrong issuer", By: s, As: Keyless{Subject: subject, Issuer: "https://accounts.google.com"}},
		{Name: "a certificate not from the CA", By: &Sigstore{CA: NewCA(), Rekor: s.Rekor}, As: right},
		{Name: "expired at the integrated time", By: s, As: Keyless{Subject: subject, Issuer: issuer, Issued: issued, Logged: issued.Add(time.Hour)}},
		{Name: "a SET not from the Rekor key", By: &Sigstore{CA: s.CA, Rekor: NewKey()}, As: right},
		{Name: "digest mismatch", By: s, As: right, Other: true},
	}
}

// Sign signs repo@digest this way; other is the digest the payload names
// when the way is Other.
func (w KeylessWay) Sign(r *Registry, repo, digest, other string) error {
	signed := digest
	if w.Other {
		signed = other
	}
	return w.By.SignKeyless(r, repo, digest, signed, w.As)
}
