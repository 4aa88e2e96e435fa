package githubsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"maps"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// GitHub Apps, as GitHub documents them ("Authenticating as a GitHub App
// installation"): an App signs a JWT (RS256) with one of its private keys and
// exchanges it for an installation access token
// (POST /app/installations/{installation_id}/access_tokens); the token expires
// after an hour, sees only the installation's repositories and has the
// installation's rate limit.

// WithInstallationTokenTTL sets how long installation access tokens live
// (GitHub: one hour). Tests shorten it.
func WithInstallationTokenTTL(d time.Duration) Option {
	return func(s *Server) { s.apps.tokenTTL = d }
}

// WithInstallationRateLimit sets the core rate limit of an App installation
// per hour (default 5000, GitHub's minimum for an installation). All the
// tokens of one installation share it.
func WithInstallationRateLimit(limit int) Option {
	return func(s *Server) { s.apps.limit = limit }
}

// jwtDrift is how far in the future a JWT's iat may be: GitHub asks for iat
// 60 seconds in the past "to protect against clock drift".
const jwtDrift = 60 * time.Second

// jwtMaxLife is the longest a JWT may live (exp - iat): GitHub allows 10 minutes.
const jwtMaxLife = 10 * time.Minute

// GitHub's answers to a JWT it refuses (401).
const (
	msgJWTUndecodable = "A JSON web token could not be decoded"
	msgJWTIat         = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgJWTExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooLong     = "'Expiration time' claim ('exp') is too far in the future"
)

type appRegistry struct {
	tokenTTL time.Duration
	limit    int
	byID     map[int64]*app
	inst     map[int64]*installation
	tokens   map[string]*installToken
}

type app struct {
	id       int64
	slug     string
	clientID string
	keys     []*rsa.PublicKey
	created  time.Time
}

type installation struct {
	id      int64
	app     *app
	account string
	// repos are the selected repositories (lower-case owner/name); nil means
	// every repository of the account.
	repos map[string]bool
	// perms are the installation's permissions (SetInstallationPermissions).
	perms   Permissions
	created time.Time
}

type installToken struct {
	inst    *installation
	expires time.Time
	// perms are the installation's permissions when the token was made.
	perms Permissions
}

func (a *appRegistry) init() {
	a.tokenTTL, a.limit = time.Hour, 5000
	a.byID, a.inst, a.tokens = map[int64]*app{}, map[int64]*installation{}, map[string]*installToken{}
}

// NewAppKey makes a private key as a GitHub App's settings do ("Generate a
// private key"): RSA 2048 bits, PEM-encoded (PKCS #1). Register its public
// half with AddApp or AddAppKey.
func NewAppKey() (*rsa.PrivateKey, []byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
}

var sharedKeys struct {
	sync.Mutex
	keys []sharedKey
}

type sharedKey struct {
	key *rsa.PrivateKey
	pem []byte
}

// SharedAppKey returns the i-th of the App keys made once per process (with
// NewAppKey): RSA key generation is slow, and tests want distinct keys, not
// fresh ones.
func SharedAppKey(i int) (*rsa.PrivateKey, []byte) {
	sharedKeys.Lock()
	defer sharedKeys.Unlock()
	for len(sharedKeys.keys) <= i {
		k, p, err := NewAppKey()
		if err != nil {
			panic(err) // only a broken crypto/rand fails
		}
		sharedKeys.keys = append(sharedKeys.keys, sharedKey{k, p})
	}
	return sharedKeys.keys[i].key, sharedKeys.keys[i].pem
}

// AddApp registers a GitHub App whose JWTs verify with key (the public half
// of a private key generated in the App's settings). It returns the App's
// client ID, which GitHub accepts as the JWT's iss as well as the App ID.
func (s *Server) AddApp(id int64, slug string, key *rsa.PublicKey) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &app{id: id, slug: slug, clientID: fmt.Sprintf("Iv1.%016x", id), keys: []*rsa.PublicKey{key}, created: s.now()}
	s.apps.byID[id] = a
	return a.clientID
}

// AddAppKey adds a key to the App: GitHub Apps may hold several private keys,
// so one can be rotated without downtime.
func (s *Server) AddAppKey(id int64, key *rsa.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.app(id)
	if err != nil {
		return err
	}
	a.keys = append(a.keys, key)
	return nil
}

// RevokeAppKey deletes a key of the App: JWTs it signs are refused from then
// on. Installation tokens already issued keep working until they expire.
func (s *Server) RevokeAppKey(id int64, key *rsa.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.app(id)
	if err != nil {
		return err
	}
	for i, k := range a.keys {
		if k.Equal(key) {
			a.keys = append(a.keys[:i], a.keys[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("no such key of App %d", id)
}

// app finds a registered App; the caller holds s.mu.
func (s *Server) app(id int64) (*app, error) {
	if a := s.apps.byID[id]; a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("no App %d", id)
}

// InstallApp installs the App on account: on every repository of the account
// when repos is empty, else on the repositories named (owner/name) only, with
// DefaultAppPermissions (see SetInstallationPermissions). It returns the
// installation ID.
func (s *Server) InstallApp(appID int64, account string, repos ...string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.app(appID)
	if err != nil {
		return 0, err
	}
	in := &installation{id: s.id(), app: a, account: account, perms: DefaultAppPermissions(), created: s.now()}
	if len(repos) > 0 {
		in.repos = map[string]bool{}
		for _, r := range repos {
			in.repos[strings.ToLower(r)] = true
		}
	}
	s.apps.inst[in.id] = in
	return in.id, nil
}

// covers reports whether the installation may see the repository.
func (in *installation) covers(r *repo) bool {
	if in.repos != nil {
		return in.repos[strings.ToLower(r.fullName())]
	}
	return strings.EqualFold(r.owner, in.account)
}

func (in *installation) selection() string {
	if in.repos != nil {
		return "selected"
	}
	return "all"
}

// caller is who a request authenticates as.
type caller struct {
	// rateKey names the rate-limit window; limit is its size.
	rateKey string
	limit   int
	// app is set for a request signed with an App's JWT.
	app *app
	// inst is set for a request with an installation access token; perms
	// are the token's permissions.
	inst  *installation
	perms Permissions
}

type callerKey struct{}

// installationKey is the rate-limit key of an App installation's tokens.
func installationKey(id int64) string { return "installation/" + strconv.FormatInt(id, 10) }

func callerOf(req *http.Request) caller {
	c, _ := req.Context().Value(callerKey{}).(caller)
	return c
}

// authenticate finds who the request is from; a non-empty message is the
// 401 to answer.
func (s *Server) authenticate(req *http.Request) (caller, string) {
	token := bearer(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(req.URL.Path, "/app/") || req.URL.Path == "/app" {
		a, msg := s.verifyJWT(token)
		if msg != "" {
			return caller{}, msg
		}
		return caller{rateKey: "app/" + strconv.FormatInt(a.id, 10), limit: s.apps.limit, app: a}, ""
	}
	if s.tokens[token] {
		return caller{rateKey: token, limit: s.limit}, ""
	}
	if it := s.apps.tokens[token]; it != nil {
		if !s.now().Before(it.expires) {
			return caller{}, "Bad credentials"
		}
		return caller{rateKey: installationKey(it.inst.id), limit: s.apps.limit, inst: it.inst, perms: it.perms}, ""
	}
	if len(s.tokens) > 0 || len(s.apps.byID) > 0 {
		return caller{}, "Bad credentials"
	}
	return caller{rateKey: token, limit: s.limit}, ""
}

// verifyJWT checks an App's JWT as GitHub does: RS256 signed by one of the
// App's keys, iss the App ID or client ID, iat an integer not in the future
// (beyond the drift GitHub allows), exp in the future and at most 10 minutes
// after iat. The caller holds s.mu.
func (s *Server) verifyJWT(raw string) (*app, string) {
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	tok, parts, err := p.ParseUnverified(raw, claims)
	if err != nil || tok.Method.Alg() != "RS256" {
		return nil, msgJWTUndecodable
	}
	a := s.appByIssuer(claims["iss"])
	if a == nil {
		return nil, msgJWTUndecodable
	}
	signed := false
	for _, k := range a.keys {
		if jwt.SigningMethodRS256.Verify(parts[0]+"."+parts[1], parts[2], k) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return nil, msgJWTUndecodable
	}
	now := s.now()
	iat, ok := integer(claims["iat"])
	if !ok || time.Unix(iat, 0).After(now.Add(jwtDrift)) {
		return nil, msgJWTIat
	}
	exp, ok := integer(claims["exp"])
	if !ok || !time.Unix(exp, 0).After(now) {
		return nil, msgJWTExpired
	}
	if time.Duration(exp-iat)*time.Second > jwtMaxLife {
		return nil, msgJWTTooLong
	}
	return a, ""
}

func (s *Server) appByIssuer(iss any) *app {
	var id int64
	switch v := iss.(type) {
	case string:
		for _, a := range s.apps.byID {
			if a.clientID == v {
				return a
			}
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil
		}
		id = n
	case float64:
		n, ok := integer(v)
		if !ok {
			return nil
		}
		id = n
	default:
		return nil
	}
	return s.apps.byID[id]
}

// integer is a JSON number without a fraction (GitHub refuses fractional times).
func integer(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}

// sees reports whether the caller may see the repository: always, but for an
// installation token outside its installation (GitHub answers 404).
func (c caller) sees(r *repo) bool { return c.inst == nil || c.inst.covers(r) }

// repoOfPath returns owner and name of a /repos/{owner}/{repo}... path.
func repoOfPath(path string) (string, string, bool) {
	rest, ok := strings.CutPrefix(path, "/repos/")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// hiddenFrom reports whether the request names a repository its installation
// token may not see.
func (s *Server) hiddenFrom(c caller, req *http.Request) bool {
	owner, name, ok := repoOfPath(req.URL.Path)
	if !ok || c.inst == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(owner+"/"+name)]
	return r != nil && !c.sees(r)
}

// limitMessage is GitHub's message when the caller's rate limit is spent.
func (c caller) limitMessage() string {
	if c.inst != nil {
		return fmt.Sprintf("API rate limit exceeded for installation ID %d.", c.inst.id)
	}
	return "API rate limit exceeded for user ID 1."
}

func withCaller(req *http.Request, c caller) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), callerKey{}, c))
}

func (s *Server) appRoutes() {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /app": s.handleGetApp,
		"GET /app/installations/{installation_id}":                s.handleGetInstallation,
		"POST /app/installations/{installation_id}/access_tokens": s.handleCreateInstallationToken,
		"GET /installation/repositories":                          s.handleListInstallationRepos,
	} {
		s.handle(pattern, h)
	}
}

// GET /app (JWT)
func (s *Server) handleGetApp(w http.ResponseWriter, req *http.Request) {
	a := callerOf(req).app
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": a.id, "slug": a.slug, "client_id": a.clientID, "name": a.slug,
		"html_url": "https://github.com/apps/" + a.slug, "created_at": ts(a.created), "updated_at": ts(a.created)})
}

// installationOf finds the App's installation named by the path; it answers
// 404 for an unknown one or another App's. The caller holds s.mu.
func (s *Server) installationOf(w http.ResponseWriter, req *http.Request) *installation {
	id, _ := strconv.ParseInt(req.PathValue("installation_id"), 10, 64)
	in := s.apps.inst[id]
	if in == nil || in.app != callerOf(req).app {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return in
}

// GET /app/installations/{installation_id} (JWT)
func (s *Server) handleGetInstallation(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationOf(w, req)
	if in == nil {
		return
	}
	base := s.baseURL(req)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                   in.id,
		"account":              map[string]any{"login": in.account, "id": 1, "type": "Organization"},
		"app_id":               in.app.id,
		"app_slug":             in.app.slug,
		"client_id":            in.app.clientID,
		"target_type":          "Organization",
		"repository_selection": in.selection(),
		"permissions":          in.perms,
		"events":               []string{},
		"access_tokens_url":    fmt.Sprintf("%s/app/installations/%d/access_tokens", base, in.id),
		"repositories_url":     base + "/installation/repositories",
		"html_url":             fmt.Sprintf("https://github.com/organizations/%s/settings/installations/%d", in.account, in.id),
		"created_at":           ts(in.created),
		"updated_at":           ts(in.created),
	})
}

// POST /app/installations/{installation_id}/access_tokens (JWT). The token
// carries the installation's permissions as they are now. The body's
// repositories and permissions (narrowing the token) are not simulated.
func (s *Server) handleCreateInstallationToken(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationOf(w, req)
	if in == nil {
		return
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	token := "ghs_" + hex.EncodeToString(b)
	now := s.now()
	for t, it := range s.apps.tokens {
		if !now.Before(it.expires) {
			delete(s.apps.tokens, t) // unknown or expired: both "Bad credentials"
		}
	}
	expires := now.Add(s.apps.tokenTTL).Truncate(time.Second)
	perms := maps.Clone(in.perms)
	s.apps.tokens[token] = &installToken{inst: in, expires: expires, perms: perms}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": token, "expires_at": ts(expires), "permissions": perms, "repository_selection": in.selection(),
	})
}

// GET /installation/repositories (installation token)
func (s *Server) handleListInstallationRepos(w http.ResponseWriter, req *http.Request) {
	in := callerOf(req).inst
	if in == nil {
		writeError(w, http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var repos []*repo
	for _, r := range s.repos {
		if in.covers(r) {
			repos = append(repos, r)
		}
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].id < repos[j].id })
	start, end := pageBounds(w, req, len(repos))
	items := make([]any, 0, end-start)
	for _, r := range repos[start:end] {
		items = append(items, s.repoJSON(req, r))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(repos), "repository_selection": in.selection(), "repositories": items})
}
