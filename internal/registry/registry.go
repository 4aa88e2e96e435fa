// Package registry reads OCI registries (any registry speaking the
// distribution API: GHCR, ECR, Docker Hub, Harbor, a local one): the tags of
// a repository and the digest a tag points to. It goes through
// go-containerregistry's transport (authentication handshake, bearer
// tokens), knows nothing of Kubernetes, and returns typed errors (*Error)
// that say whether to wait (a rate limit, until when), retry (the registry is
// unreachable), or ask a person (credentials refused, a name that does not
// exist).
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"k8s.io/utils/clock"
)

// Media types of the manifests a tag may point to: a Helm chart pushed with
// `helm push` has an OCI image manifest whose config is the chart's.
const (
	MediaTypeHelmChartConfig = "application/vnd.cncf.helm.config.v1+json"
	MediaTypeHelmChartLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Client reads registries. One Client serves the whole process: it keeps an
// authenticated transport per repository and credential (a bearer token is
// scoped to a repository), and what each registry host said about its rate
// limit, so that no request goes to a host before the time it asked for.
type Client struct {
	base  http.RoundTripper
	clock clock.PassiveClock
	// PageSize is how many tags one listing request asks for (n=).
	pageSize int

	mu         sync.Mutex
	transports map[transportKey]http.RoundTripper
	notBefore  map[string]*Error
	// listings are the last one-page tag listings with the registry's ETag:
	// asked again with If-None-Match, an unchanged one costs one request
	// and no body.
	listings map[transportKey]listing
}

type listing struct {
	etag string
	tags []string
}

type transportKey struct {
	repository string
	credential [sha256.Size]byte
}

// Options configure a Client; every field has a default.
type Options struct {
	// Transport sends the requests (http.DefaultTransport's settings by default).
	Transport http.RoundTripper
	// Clock times rate limits (the real clock by default).
	Clock clock.PassiveClock
	// PageSize of tag listings; 1000 by default (ECR's largest).
	PageSize int
}

// New returns a Client.
func New(o Options) *Client {
	if o.Transport == nil {
		o.Transport = remote.DefaultTransport
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	c := &Client{clock: o.Clock, pageSize: o.PageSize,
		transports: map[transportKey]http.RoundTripper{}, notBefore: map[string]*Error{}, listings: map[transportKey]listing{}}
	c.base = &limitTransport{c: c, inner: o.Transport}
	return c
}

// ParseRepository parses an image repository (ghcr.io/acme/checkout) or a
// chart's OCI reference (oci://ghcr.io/acme/charts/checkout). A tag or a
// digest is refused: the version names the tag.
func ParseRepository(ref string) (name.Repository, error) {
	s := strings.TrimPrefix(ref, "oci://")
	if strings.Contains(s, "@") {
		return name.Repository{}, fmt.Errorf("%q names a digest: give the repository alone, the version names the tag", ref)
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return name.Repository{}, fmt.Errorf("%q names a tag: give the repository alone, the version names the tag", ref)
	}
	repo, err := name.NewRepository(s)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%q is not a repository reference (registry/path, for example ghcr.io/acme/checkout): %v", ref, err)
	}
	return repo, nil
}

// Tags lists every tag of the repository, page after page: it follows the
// registry's Link header, and asks for the tags after the last one it got
// (last=) when a full page came without one. A listing that fit in one page
// and came with an ETag is asked again conditionally: when the registry
// answers 304 Not Modified, the tags are those of the last listing.
func (c *Client) Tags(ctx context.Context, repo name.Repository, keys authn.Keychain) ([]string, error) {
	rt, err := c.transport(ctx, repo, keys)
	if err != nil {
		return nil, err
	}
	key := c.key(repo, keys)
	c.mu.Lock()
	last := c.listings[key]
	c.mu.Unlock()
	hc := &http.Client{Transport: rt}
	var out []string
	u := c.tagsURL(repo, "")
	etag := ""
	for pages := 0; u != nil; pages++ {
		if pages == maxPages {
			return nil, &Error{Kind: KindInvalid, Err: fmt.Errorf("%s: more than %d pages of tags", repo, maxPages)}
		}
		ifNoneMatch := ""
		if pages == 0 {
			ifNoneMatch = last.etag
		}
		page, err := c.listPage(ctx, hc, u, ifNoneMatch)
		if err != nil {
			return nil, c.classify(repo, err)
		}
		if page.notModified {
			return slices.Clone(last.tags), nil
		}
		if pages == 0 {
			etag = page.etag
		}
		out = append(out, page.tags...)
		u = page.next
		if u == nil && len(page.tags) == c.pageSize {
			u = c.tagsURL(repo, page.tags[len(page.tags)-1])
		}
		if u != nil {
			etag = "" // an ETag speaks for its page only
		}
	}
	c.mu.Lock()
	if etag != "" {
		c.listings[key] = listing{etag: etag, tags: slices.Clone(out)}
	} else {
		delete(c.listings, key)
	}
	c.mu.Unlock()
	return out, nil
}

// tagsURL is the first page of the repository's tag list, or the page
// after the tag last.
func (c *Client) tagsURL(repo name.Repository, last string) *url.URL {
	q := url.Values{"n": {fmt.Sprint(c.pageSize)}}
	if last != "" {
		q.Set("last", last)
	}
	return &url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/tags/list", repo.RepositoryStr()), RawQuery: q.Encode()}
}

// maxPages bounds a listing (a registry whose Link loops).
const maxPages = 1000

type page struct {
	tags        []string
	next        *url.URL
	etag        string
	notModified bool
}

func (c *Client) listPage(ctx context.Context, hc *http.Client, u *url.URL, ifNoneMatch string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return page{}, err
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return page{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusNotModified && ifNoneMatch != "" {
		return page{notModified: true}, nil
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return page{}, err
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return page{}, fmt.Errorf("reading the tag list: %w", err)
	}
	next, err := nextPage(u, resp.Header.Get("Link"))
	return page{tags: body.Tags, next: next, etag: resp.Header.Get("ETag")}, err
}

// nextPage is the URL of the Link header's rel="next", resolved against the
// page's own URL, or nil. It must stay on the same host.
func nextPage(page *url.URL, link string) (*url.URL, error) {
	if link == "" {
		return nil, nil
	}
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		u, err := page.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return nil, fmt.Errorf("the registry's Link header %q: %w", link, err)
		}
		if u.Host != page.Host {
			return nil, fmt.Errorf("the registry's Link header points to another host (%s)", u.Host)
		}
		return u, nil
	}
	return nil, nil
}

// Digest resolves repo:tag to the digest of its manifest with a HEAD
// request (which Docker Hub does not count as a pull).
func (c *Client) Digest(ctx context.Context, repo name.Repository, tag string, keys authn.Keychain) (string, error) {
	rt, err := c.transport(ctx, repo, keys)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(repo.Tag(tag), remote.WithTransport(rt), remote.WithContext(ctx))
	if err != nil {
		return "", c.classify(repo, err)
	}
	return desc.Digest.String(), nil
}

// transport is the authenticated transport of repo with keys: made once
// (the handshake costs a ping and a token), then kept.
func (c *Client) transport(ctx context.Context, repo name.Repository, keys authn.Keychain) (http.RoundTripper, error) {
	if keys == nil {
		keys = authn.NewMultiKeychain()
	}
	key := c.key(repo, keys)
	c.mu.Lock()
	rt, ok := c.transports[key]
	c.mu.Unlock()
	if ok {
		return rt, nil
	}
	auth, err := authn.Resolve(ctx, keys, repo)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Err: err}
	}
	rt, err = transport.NewWithContext(ctx, repo.Registry, auth, c.base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, c.classify(repo, err)
	}
	c.mu.Lock()
	c.transports[key] = rt
	c.mu.Unlock()
	return rt, nil
}

// key tells a repository read with a credential apart from others.
func (c *Client) key(repo name.Repository, keys authn.Keychain) transportKey {
	key := transportKey{repository: repo.String()}
	if fp, ok := keys.(interface{ fingerprint() [sha256.Size]byte }); ok {
		key.credential = fp.fingerprint()
	}
	return key
}

// forget drops the transports of a repository whose credentials were
// refused: the next request makes the handshake again.
func (c *Client) forget(repository string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.transports {
		if k.repository == repository {
			delete(c.transports, k)
		}
	}
}

// classify turns what go-containerregistry returned into an *Error.
func (c *Client) classify(repo name.Repository, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			c.forget(repo.String())
			return &Error{Kind: KindRefused, Err: err}
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return &Error{Kind: KindNotFound, Err: err}
		case te.StatusCode >= 400 && te.StatusCode < 500 && te.StatusCode != http.StatusRequestTimeout:
			return &Error{Kind: KindInvalid, Err: err}
		}
	}
	return &Error{Kind: KindUnavailable, Err: err}
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, code := range codes {
			if d.Code == code {
				return true
			}
		}
	}
	return false
}
