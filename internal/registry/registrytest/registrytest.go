// Package registrytest serves a real OCI registry (go-containerregistry's
// pkg/registry, which speaks the distribution API) over HTTP for tests and
// the playground, and pushes images and Helm charts into it with
// go-containerregistry's client, as a CI pipeline would. Options put what
// real registries do in front of it: basic authentication, a rate limit, an
// outage; and it counts the requests it serves.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/liftoff-dev/liftoff/internal/registry"
)

// Registry is a registry served over HTTP.
type Registry struct {
	*httptest.Server
	// Host is host:port, the registry part of references.
	Host string

	mu sync.Mutex
	// user and password, when set, are required (HTTP basic authentication).
	user, password string
	// limitedUntil answers 429 with Retry-After until then.
	limitedUntil time.Time
	retryAfter   string
	dockerHub    bool
	down         bool
	etags        bool

	requests    atomic.Int64
	notModified atomic.Int64
	byKind      sync.Map // "GET /v2/<repo>/tags/list" style keys -> *atomic.Int64
}

// New serves a registry on a free port until the server is closed.
func New() *Registry {
	r, err := Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return r
}

// Listen serves a registry at addr (host:port) until the server is closed.
func Listen(addr string) (*Registry, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Registry{}
	inner := ggcrregistry.New(ggcrregistry.Logger(discard()))
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.serve(inner, w, req) }))
	_ = r.Listener.Close()
	r.Listener = ln
	r.Start()
	r.Host = strings.TrimPrefix(r.URL, "http://")
	return r, nil
}

func (r *Registry) serve(inner http.Handler, w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.count(req)
	r.mu.Lock()
	user, password, down := r.user, r.password, r.down
	limited, retryAfter, hub, etags := time.Now().Before(r.limitedUntil), r.retryAfter, r.dockerHub, r.etags
	r.mu.Unlock()
	if down {
		http.Error(w, "registry down", http.StatusServiceUnavailable)
		return
	}
	if user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
	}
	if limited && req.URL.Path != "/v2/" {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		if hub {
			w.Header().Set("RateLimit-Limit", "100;w=21600")
			w.Header().Set("RateLimit-Remaining", "0;w=21600")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit"}]}`))
		return
	}
	if etags && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/tags/list") {
		r.serveWithETag(inner, w, req)
		return
	}
	inner.ServeHTTP(w, req)
}

// serveWithETag serves a tag list with an ETag of its content, and 304 Not
// Modified to a request whose If-None-Match names it, as registries with
// conditional listings do.
func (r *Registry) serveWithETag(inner http.Handler, w http.ResponseWriter, req *http.Request) {
	rec := httptest.NewRecorder()
	inner.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec)
		return
	}
	sum := sha256.Sum256(append([]byte(req.URL.RawQuery+"\n"), rec.Body.Bytes()...))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	rec.Header().Set("ETag", etag)
	if req.Header.Get("If-None-Match") == etag {
		r.notModified.Add(1)
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	copyResponse(w, rec)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// ServeETags makes tag listings carry an ETag and answer a conditional
// request for an unchanged list with 304 Not Modified.
func (r *Registry) ServeETags(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.etags = on
}

// count keeps how many requests of each kind were served: "GET tags",
// "HEAD manifest", "GET manifest", "GET ping", and so on.
func (r *Registry) count(req *http.Request) {
	kind := "other"
	switch p := req.URL.Path; {
	case p == "/v2/" || p == "/v2":
		kind = "ping"
	case strings.HasSuffix(p, "/tags/list"):
		kind = "tags"
	case strings.Contains(p, "/manifests/"):
		kind = "manifest"
	case strings.Contains(p, "/blobs/"):
		kind = "blob"
	}
	v, _ := r.byKind.LoadOrStore(req.Method+" "+kind, &atomic.Int64{})
	v.(*atomic.Int64).Add(1)
}

// Requests is how many requests the registry served (or refused).
func (r *Registry) Requests() int64 { return r.requests.Load() }

// NotModified is how many conditional tag listings it answered 304.
func (r *Registry) NotModified() int64 { return r.notModified.Load() }

// RequestsOf is how many requests of a kind ("GET tags", "HEAD manifest")
// it served.
func (r *Registry) RequestsOf(kind string) int64 {
	v, ok := r.byKind.Load(kind)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// Counts are the requests served by kind since the last ResetCounts.
func (r *Registry) Counts() map[string]int64 {
	out := map[string]int64{}
	r.byKind.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// ResetCounts starts the counters over.
func (r *Registry) ResetCounts() {
	r.byKind.Range(func(k, _ any) bool {
		r.byKind.Delete(k)
		return true
	})
	r.requests.Store(0)
	r.notModified.Store(0)
}

// Tag points another tag of repo at what tag points to (one manifest PUT).
func (r *Registry) Tag(repo, tag, another string) error {
	ref, err := name.NewTag(r.Ref(repo) + ":" + tag)
	if err != nil {
		return err
	}
	desc, err := remote.Get(ref, r.options()...)
	if err != nil {
		return err
	}
	return remote.Tag(ref.Context().Tag(another), desc, r.options()...)
}

// RequireBasicAuth makes the registry refuse requests without these credentials.
func (r *Registry) RequireBasicAuth(user, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user, r.password = user, password
}

// RateLimit answers 429 until the time given, with retryAfter as the
// Retry-After header ("" for none); dockerHub adds Docker Hub's
// ratelimit-limit and ratelimit-remaining headers.
func (r *Registry) RateLimit(until time.Time, retryAfter string, dockerHub bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limitedUntil, r.retryAfter, r.dockerHub = until, retryAfter, dockerHub
}

// SetDown makes the registry answer 503 to everything (or serve again).
func (r *Registry) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// Ref is the registry's reference of repo ("acme/checkout" -> "127.0.0.1:PORT/acme/checkout").
func (r *Registry) Ref(repo string) string { return r.Host + "/" + repo }

// options authenticate the pushes when the registry requires it.
func (r *Registry) options() []remote.Option {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.user == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: r.user, Password: r.password})}
}

// PushImage pushes a new random image as repo:tag (a tag pushed again points
// to a new digest, as a rebuilt image would) and returns its digest.
func (r *Registry) PushImage(repo, tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	return r.push(repo, tag, img)
}

// PushChart pushes a Helm chart named after repo's last element at version,
// as `helm push` does: an OCI manifest whose config is the chart's metadata
// (application/vnd.cncf.helm.config.v1+json) and whose one layer is the
// chart's archive (application/vnd.cncf.helm.chart.content.v1.tar+gzip).
// The tag is the version with + written _, as Helm tags it.
func (r *Registry) PushChart(repo, version string) (string, error) {
	chart := repo[strings.LastIndex(repo, "/")+1:]
	meta, err := json.Marshal(map[string]string{"apiVersion": "v2", "name": chart, "version": version})
	if err != nil {
		return "", err
	}
	archive, err := chartArchive(chart, version)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(r.Ref(repo) + ":" + strings.ReplaceAll(version, "+", "_"))
	if err != nil {
		return "", err
	}
	config, layer := static.NewLayer(meta, MediaTypeHelmConfig), static.NewLayer(archive, MediaTypeHelmChart)
	manifest := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	for i, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(ref.Context(), l, r.options()...); err != nil {
			return "", err
		}
		d, _ := l.Digest()
		size, _ := l.Size()
		mt, _ := l.MediaType()
		desc := v1.Descriptor{MediaType: mt, Digest: d, Size: size}
		if i == 0 {
			manifest.Config = desc
		} else {
			manifest.Layers = append(manifest.Layers, desc)
		}
	}
	raw, err := json.Marshal(manifest)
	if err != nil {
		return "", err
	}
	if err := remote.Put(ref, rawManifest(raw), r.options()...); err != nil {
		return "", err
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// Media types of a Helm chart in an OCI registry.
const (
	MediaTypeHelmConfig types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	MediaTypeHelmChart  types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// rawManifest is a manifest pushed as it is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (r *Registry) push(repo, tag string, img v1.Image) (string, error) {
	ref, err := name.NewTag(r.Ref(repo) + ":" + tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, r.options()...); err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// chartArchive is a chart's .tgz with its Chart.yaml.
func chartArchive(chart, version string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	content := []byte(fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", chart, version))
	if err := tw.WriteHeader(&tar.Header{Name: chart + "/Chart.yaml", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func discard() *log.Logger { return log.New(io.Discard, "", 0) }

// Sign pushes a cosign signature of repo@digest made with key (ECDSA P-256
// over SHA-256, as `cosign sign --key` makes): a simple-signing payload
// naming signed (the digest the payload claims; digest unless testing a
// mismatch) under the tag sha256-HEX.sig. Signing again adds a signature.
func (r *Registry) Sign(repo, digest, signed string, key *ecdsa.PrivateKey) error {
	payload := registry.CosignPayload(r.Ref(repo), signed)
	sig, err := signSHA256(key, payload)
	if err != nil {
		return err
	}
	return r.pushSignature(repo, digest, payload, map[string]string{registry.CosignSignatureAnnotation: base64.StdEncoding.EncodeToString(sig)})
}

// pushSignature adds a layer holding payload, with the annotations, to the
// signatures of repo@digest.
func (r *Registry) pushSignature(repo, digest string, payload []byte, annotations map[string]string) error {
	ref, err := name.NewTag(r.Ref(repo) + ":" + registry.CosignTag(digest))
	if err != nil {
		return err
	}
	base := empty.Image
	if existing, err := remote.Image(ref, r.options()...); err == nil {
		base = existing
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: static.NewLayer(payload, registry.CosignPayloadMediaType), Annotations: annotations})
	if err != nil {
		return err
	}
	return remote.Write(ref, img, r.options()...)
}

func signSHA256(key *ecdsa.PrivateKey, payload []byte) ([]byte, error) {
	sum := sha256.Sum256(payload)
	return ecdsa.SignASN1(rand.Reader, key, sum[:])
}

// PublicKeyPEM is key's public half as `cosign generate-key-pair` writes
// cosign.pub.
func PublicKeyPEM(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// NewKey is a new ECDSA P-256 signing key.
func NewKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}
