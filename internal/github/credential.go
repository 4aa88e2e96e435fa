package github

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	gh "github.com/google/go-github/v60/github"
	"k8s.io/utils/clock"
)

// CredentialKey names one credential at one API: what GitHub's limits apply
// to. The Factory keeps one Client per key, so the ETag cache, the rate-limit
// state and anything else kept per credential are shared by every pipeline
// that uses it. It holds no secret.
type CredentialKey struct {
	// APIURL is the API base URL, with its trailing slash.
	APIURL string
	// Token is a short hash of a token; empty for a GitHub App.
	Token string
	// AppID and InstallationID name a GitHub App installation (0 for a
	// token).
	AppID, InstallationID int64
	// PrivateKey is a short hash of the App's private key: each key has a
	// client and a token of its own, so a wrong key in one Secret is
	// refused alone and never replaces another Secret's key or token. The
	// clients of one installation share its ETag cache, write budget and
	// rate limit (shared).
	PrivateKey string
}

// shared is the key of what every client of the credential shares: the
// installation, whichever private key signs its tokens.
func (k CredentialKey) shared() CredentialKey {
	k.PrivateKey = ""
	return k
}

// IsApp reports whether the key names a GitHub App installation.
func (k CredentialKey) IsApp() bool { return k.InstallationID != 0 }

func (k CredentialKey) String() string {
	if k.IsApp() {
		return fmt.Sprintf("%s app %d installation %d key %s", k.APIURL, k.AppID, k.InstallationID, k.PrivateKey)
	}
	return fmt.Sprintf("%s token %s", k.APIURL, k.Token)
}

// label is the credential in metrics and in the ETag cache's keys.
func (k CredentialKey) label() string {
	if k.IsApp() {
		return "installation-" + strconv.FormatInt(k.InstallationID, 10)
	}
	return k.Token
}

// AppCredential is a GitHub App installation: Liftoff signs a JWT with the
// App's private key and exchanges it for an installation token, renewed
// before it expires.
type AppCredential struct {
	AppID, InstallationID int64
	// PrivateKey is the PEM the App's settings generate (RSA).
	PrivateKey []byte
}

// Problem says what a person must fix about a credential.
type Problem string

const (
	// ProblemKeyInvalid means the App's private key is not a PEM-encoded
	// RSA key.
	ProblemKeyInvalid Problem = "KeyInvalid"
	// ProblemKeyRefused means GitHub refused the JWT: the key is not (or no
	// longer) one of the App's, or the App ID is wrong.
	ProblemKeyRefused Problem = "KeyRefused"
	// ProblemInstallationNotFound means the App has no such installation.
	ProblemInstallationNotFound Problem = "InstallationNotFound"
	// ProblemClockSkew means GitHub refused the JWT's times: the clocks
	// differ.
	ProblemClockSkew Problem = "ClockSkew"
	// ProblemNotInstalled means a repository is outside the App's
	// installation.
	ProblemNotInstalled Problem = "NotInstalled"
)

// ProblemOf returns the credential problem err reports, "" for none.
func ProblemOf(err error) Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problem
	}
	return ""
}

// ForApp returns the client of the App installation at apiURL signing with
// app's private key, shared by every Secret holding that key. Another key
// (a rotated Secret, or another Secret's wrong one) is another client with
// a token of its own; the installation's ETag cache, write budget and rate
// limit are shared by all of them. A key that cannot be read is refused
// before any client is made.
func (f *Factory) ForApp(apiURL string, app AppCredential) (*Client, error) {
	base, err := parseAPIURL(apiURL)
	if err != nil {
		return nil, err
	}
	if app.AppID <= 0 || app.InstallationID <= 0 {
		return nil, fmt.Errorf("GitHub App %d installation %d: both IDs must be positive", app.AppID, app.InstallationID)
	}
	sum := sha256.Sum256(app.PrivateKey)
	key := CredentialKey{APIURL: base.String(), AppID: app.AppID, InstallationID: app.InstallationID, PrivateKey: hex.EncodeToString(sum[:6])}
	if c := f.existing(key); c != nil {
		return c, nil
	}
	signer, err := f.signer(app.PrivateKey)
	if err != nil {
		return nil, err
	}
	return f.shared(key, base, func(next http.RoundTripper) (http.RoundTripper, *appAuth) {
		a := &appAuth{key: key, baseURL: strings.TrimSuffix(base.String(), "/"), next: next, clock: f.clock(), timeout: f.timeout(), signer: signer}
		return a, a
	}), nil
}

// existing returns the client of key if there is one.
func (f *Factory) existing(key CredentialKey) *Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clients[key]
}

// signer reads the App's private key and signs with it, on Liftoff's clock
// when a test set one.
func (f *Factory) signer(pemBytes []byte) (ghinstallation.Signer, error) {
	key, err := parseAppKey(pemBytes)
	if err != nil {
		return nil, err
	}
	var signer ghinstallation.Signer = ghinstallation.NewRSASigner(jwt.SigningMethodRS256, key)
	if f.Clock != nil {
		signer = clockSigner{Signer: signer, clock: f.Clock}
	}
	return signer, nil
}

// Authenticate makes sure the client can be used: for a GitHub App, that it
// holds a live installation token (exchanging one if not), so a refused key,
// an unknown installation or a clock GitHub refuses is known before any
// request of a reconcile; and, while GitHub refuses a permission the App
// lacked, that the token is recent enough to carry it if it was accepted
// since. A token is first checked by GitHub's answer.
func (c *Client) Authenticate(ctx context.Context) error {
	if c.app == nil {
		return nil
	}
	_, err := c.app.transport(ctx, c.app.recheck())
	return err
}

// appAuth authenticates requests as a GitHub App installation with one
// private key through ghinstallation, in authTransport's place above the
// ETag cache: its requests, the token exchange too, go to the API URL
// through the cache and the instrumented transport.
type appAuth struct {
	key     CredentialKey
	baseURL string
	next    http.RoundTripper
	clock   clock.PassiveClock
	timeout time.Duration
	// signer signs the JWTs with the key's private key.
	signer ghinstallation.Signer

	mu sync.Mutex
	// tr holds the installation token; nil: exchange one at the next use.
	tr *ghinstallation.Transport
	// renewAt is when tr's token is renewed: a minute before it expires;
	// issued is when it was exchanged.
	renewAt, issued time.Time
	// lacking are the permissions GitHub refused that no token exchanged
	// since has (X-Accepted-GitHub-Permissions' form).
	lacking map[string]bool
}

// transport returns ghinstallation's transport with a live token: renewed by
// Liftoff's clock a minute before the token expires (ghinstallation renews
// by the wall clock too; they agree outside tests), or when stale names the
// transport whose token GitHub refused. One exchange at a time.
func (a *appAuth) transport(ctx context.Context, stale *ghinstallation.Transport) (*ghinstallation.Transport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tr != nil && a.tr != stale && a.clock.Now().Before(a.renewAt) {
		return a.tr, nil
	}
	atr, err := ghinstallation.NewAppsTransportWithOptions(a.next, a.key.AppID, ghinstallation.WithSigner(a.signer))
	if err != nil {
		return nil, err
	}
	atr.BaseURL = a.baseURL
	tr := ghinstallation.NewFromAppsTransport(atr, a.key.InstallationID)
	tr.BaseURL = a.baseURL
	ctx, cancel := context.WithTimeout(withCredential(ctx, a.key.label()), a.timeout)
	defer cancel()
	if _, err := tr.Token(ctx); err != nil {
		if a.tr == stale {
			a.tr = nil // refused by GitHub: not to be used again
		}
		return nil, a.exchangeError(err)
	}
	_, renewAt, err := tr.Expiry()
	if err != nil {
		return nil, err
	}
	a.tr, a.renewAt, a.issued = tr, renewAt, a.clock.Now()
	a.settle(tr)
	return tr, nil
}

func (a *appAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(withCredential(req.Context(), a.key.label()))
	tr, err := a.transport(req.Context(), nil)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	retry := req.Body == nil || req.GetBody != nil
	resp, err := tr.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !retry {
		return resp, err
	}
	// GitHub refused the token (revoked, or expired by its clock before
	// ours): nothing was done, so exchange a new one and ask once more.
	_ = resp.Body.Close()
	if tr, err = a.transport(req.Context(), tr); err != nil {
		return nil, err
	}
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return tr.RoundTrip(again)
}

// exchangeError says what GitHub's refusal of the token exchange means and
// what to fix. Nothing of the key or the JWT is in it.
func (a *appAuth) exchangeError(err error) error {
	op := fmt.Sprintf("create an installation token of GitHub App %d", a.key.AppID)
	var he *ghinstallation.HTTPError
	if !errors.As(err, &he) || he.Response == nil {
		return classify(op, err, a.clock.Now())
	}
	resp := he.Response
	defer resp.Body.Close() // CheckResponse replaces resp.Body with what it read
	refused := gh.CheckResponse(resp)
	if refused == nil {
		refused = err
	}
	out := classify(op, refused, a.clock.Now()).(*Error)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if strings.Contains(out.Message, "'Issued at'") || strings.Contains(out.Message, "'Expiration time'") {
			out.Problem = ProblemClockSkew
			out.Message += ": " + skew(resp.Header.Get("Date"), a.clock.Now())
			break
		}
		out.Problem = ProblemKeyRefused
		out.Message += fmt.Sprintf(": the privateKey is not a key of GitHub App %d (or it was deleted), or appID is not this App's ID: generate a private key in the App's settings and put its .pem in the Secret", a.key.AppID)
	case http.StatusNotFound:
		out.Kind, out.Problem = KindUnauthorized, ProblemInstallationNotFound
		out.Message = fmt.Sprintf("GitHub App %d has no installation %d: installationID is the number at the end of the installation's page (…/settings/installations/NUMBER); install the App on the account if it is not", a.key.AppID, a.key.InstallationID)
	}
	return out
}

// skew says how far the controller's clock is from GitHub's, from the Date
// of GitHub's answer.
func skew(date string, now time.Time) string {
	msg := "the controller's clock differs from GitHub's"
	if t, err := http.ParseTime(date); err == nil {
		d := now.Sub(t).Round(time.Second)
		switch {
		case d > 0:
			msg = fmt.Sprintf("the controller's clock is %s ahead of GitHub's", d)
		case d < 0:
			msg = fmt.Sprintf("the controller's clock is %s behind GitHub's", -d)
		}
	}
	return msg + ": synchronise the node's clock (NTP)"
}

// clockSigner signs the claims ghinstallation makes with their times moved
// from the wall clock to Liftoff's (a test's fake clock, against which the
// simulator checks them).
type clockSigner struct {
	ghinstallation.Signer
	clock clock.PassiveClock
}

func (s clockSigner) Sign(claims jwt.Claims) (string, error) {
	rc, ok := claims.(*jwt.RegisteredClaims)
	if d := time.Until(s.clock.Now()).Truncate(time.Second); ok && d != 0 && rc.IssuedAt != nil && rc.ExpiresAt != nil {
		moved := *rc
		moved.IssuedAt = jwt.NewNumericDate(rc.IssuedAt.Add(d))
		moved.ExpiresAt = jwt.NewNumericDate(rc.ExpiresAt.Add(d))
		claims = &moved
	}
	return s.Signer.Sign(claims)
}

// parseAppKey reads the App's private key. Its messages never quote it.
func parseAppKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	invalid := func(msg string) error {
		return &Error{Kind: KindUnauthorized, Problem: ProblemKeyInvalid, Op: "read the GitHub App's private key", Message: msg}
	}
	block, _ := pem.Decode(bytes.TrimSpace(pemBytes))
	if block == nil {
		return nil, invalid("privateKey is not PEM: put the whole .pem file the App's settings generate (from -----BEGIN RSA PRIVATE KEY----- to its END line)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, invalid(fmt.Sprintf("privateKey is a PEM %q block, not an RSA private key: put the .pem file the App's settings generate", block.Type))
	}
	kind := "non-RSA"
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		kind = "an ECDSA"
	case ed25519.PrivateKey:
		kind = "an Ed25519"
	}
	return nil, invalid(fmt.Sprintf("privateKey is %s key; GitHub Apps sign with RSA keys: put the .pem file the App's settings generate", kind))
}

// outsideInstallation: GitHub answers 404 (GraphQL: NOT_FOUND) for a
// repository outside the App's installation. Read as a 404 it would say "no
// such tag" or "no such file"; it is a credential problem, fixed in the App's
// installation settings. err is a KindNotFound error of a request to repo.
func (c *Client) outsideInstallation(repo string, err error) error {
	var e *Error
	if !errors.As(err, &e) || repo == "" {
		return err
	}
	// The request's context may end with its answer: list on a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), c.app.timeout)
	defer cancel()
	if in, lerr := c.installationHas(ctx, repo); lerr != nil || in {
		return err
	}
	return &Error{Kind: KindUnauthorized, Problem: ProblemNotInstalled, Op: e.Op, Status: e.Status, err: err,
		Message: fmt.Sprintf("repository %s is not among the repositories of GitHub App installation %d (GitHub answers 404): add it to the installation's repository access in the App's settings, or fix the repository's name", repo, c.key.InstallationID)}
}

// requestRepo is the owner/name of the repository a REST error's request
// named, "" for another request.
func (c *Client) requestRepo(err error) string {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.Request == nil {
		return ""
	}
	path := strings.TrimPrefix(er.Response.Request.URL.Path, c.gh.BaseURL.Path)
	rest, ok := strings.CutPrefix(path, "repos/")
	parts := strings.SplitN(rest, "/", 3)
	if !ok || len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// installationHas reports whether the installation's repositories include
// repo (conditional requests: a 304 costs nothing).
func (c *Client) installationHas(ctx context.Context, repo string) (bool, error) {
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			return false, err
		}
		for _, r := range page.Repositories {
			if strings.EqualFold(r.GetFullName(), repo) {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}
