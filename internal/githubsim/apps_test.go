package githubsim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	gh "github.com/google/go-github/v60/github"
	clocktesting "k8s.io/utils/clock/testing"
)

const appID = 42

// testKeys are two App private keys.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, _ := SharedAppKey(0)
	b, _ := SharedAppKey(1)
	return a, b
}

func pemOf(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// appWorld is a simulator with the App 42 installed on acme/gitops only, and
// repositories acme/checkout (same account, not selected) and other/lib.
func appWorld(t *testing.T, opts ...Option) (*Server, *rsa.PrivateKey, int64) {
	t.Helper()
	s, _, _ := seeded(t, opts...)
	for _, r := range []string{"acme/checkout", "other/lib"} {
		if err := s.CreateRepo(r, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitFiles(r, "main", map[string]string{"README.md": "hi\n"}, "init"); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := testKeys(t)
	s.AddApp(appID, "liftoff", &key.PublicKey)
	inst, err := s.InstallApp(appID, "acme", "acme/gitops")
	if err != nil {
		t.Fatal(err)
	}
	return s, key, inst
}

// jwtClient authenticates as the App with a JWT from the real ghinstallation.
func jwtClient(t *testing.T, s *Server, key *rsa.PrivateKey) *gh.Client {
	t.Helper()
	atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, appID, pemOf(key))
	if err != nil {
		t.Fatal(err)
	}
	atr.BaseURL = s.URL()
	return at(s, gh.NewClient(&http.Client{Transport: atr}))
}

func at(s *Server, c *gh.Client) *gh.Client {
	u, _ := url.Parse(s.URL() + "/")
	c.BaseURL = u
	return c
}

func tokenClient(s *Server, token string) *gh.Client {
	return at(s, gh.NewClient(nil).WithAuthToken(token))
}

func TestAppExchangesAJWTForAnInstallationToken(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	s, key, inst := appWorld(t, WithClock(clk.Now), WithInstallationTokenTTL(10*time.Minute))
	app := jwtClient(t, s, key)

	me, _, err := app.Apps.Get(ctx, "")
	if err != nil || me.GetSlug() != "liftoff" || me.GetID() != appID {
		t.Fatalf("GET /app: %+v %v", me, err)
	}
	in, _, err := app.Apps.GetInstallation(ctx, inst)
	if err != nil || in.GetAccount().GetLogin() != "acme" || in.GetAppID() != appID || in.GetRepositorySelection() != "selected" {
		t.Fatalf("GET /app/installations/%d: %+v %v", inst, in, err)
	}
	tok, resp, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
	if err != nil || resp.StatusCode != http.StatusCreated || !strings.HasPrefix(tok.GetToken(), "ghs_") {
		t.Fatalf("access token: %+v %v", tok, err)
	}
	if got := tok.GetExpiresAt().Time; !got.Equal(clk.Now().Add(10 * time.Minute)) {
		t.Fatalf("expires_at %v, want 10 minutes from now", got)
	}

	c := tokenClient(s, tok.GetToken())
	_, _, resp, err = c.Repositories.GetContents(ctx, "acme", "gitops", "README.md", nil)
	if err != nil || resp.Header.Get("X-RateLimit-Limit") != "5000" {
		t.Fatalf("read with the installation token: %v (limit %s)", err, resp.Header.Get("X-RateLimit-Limit"))
	}
	repos, _, err := c.Apps.ListRepos(ctx, nil)
	if err != nil || repos.GetTotalCount() != 1 || repos.Repositories[0].GetFullName() != "acme/gitops" {
		t.Fatalf("GET /installation/repositories: %+v %v", repos, err)
	}
	// The App's own routes want the JWT, not the installation token.
	if _, _, err := c.Apps.GetInstallation(ctx, inst); statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), msgJWTUndecodable) {
		t.Fatalf("installation token on /app: %v", err)
	}

	clk.Step(10 * time.Minute)
	if _, _, _, err := c.Repositories.GetContents(ctx, "acme", "gitops", "README.md", nil); statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("expired token: %v", err)
	}
}

func TestInstallationTokenSeesOnlyItsRepositories(t *testing.T) {
	s, key, inst := appWorld(t)
	tok, _, err := jwtClient(t, s, key).Apps.CreateInstallationToken(ctx, inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := tokenClient(s, tok.GetToken())
	for _, repo := range []string{"acme/checkout", "other/lib"} {
		owner, name, _ := strings.Cut(repo, "/")
		if _, _, err := c.Repositories.Get(ctx, owner, name); statusOf(err) != http.StatusNotFound {
			t.Errorf("%s outside the installation: %v", repo, err)
		}
		if _, _, err := c.Issues.Create(ctx, owner, name, &gh.IssueRequest{Title: gh.String("x")}); statusOf(err) != http.StatusNotFound {
			t.Errorf("write to %s outside the installation: %v", repo, err)
		}
	}
	if _, _, err := c.Search.Issues(ctx, "repo:acme/checkout is:open", nil); statusOf(err) != http.StatusUnprocessableEntity {
		t.Errorf("search outside the installation: %v", err)
	}
	// The token (PAT) of a person sees everything.
	if _, _, err := client(t, s).Repositories.Get(ctx, "acme", "checkout"); err != nil {
		t.Errorf("PAT: %v", err)
	}
	if _, _, err := client(t, s).Apps.ListRepos(ctx, nil); statusOf(err) != http.StatusForbidden {
		t.Errorf("PAT on /installation/repositories: %v", err)
	}

	// Installed on the whole account: every repository of acme, nothing else.
	all, err := s.InstallApp(appID, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err = jwtClient(t, s, key).Apps.CreateInstallationToken(ctx, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = tokenClient(s, tok.GetToken())
	if _, _, err := c.Repositories.Get(ctx, "acme", "checkout"); err != nil {
		t.Errorf("acme/checkout with an all-repositories installation: %v", err)
	}
	if _, _, err := c.Repositories.Get(ctx, "other", "lib"); statusOf(err) != http.StatusNotFound {
		t.Errorf("other/lib in another account: %v", err)
	}
	repos, _, err := c.Apps.ListRepos(ctx, &gh.ListOptions{PerPage: 1})
	if err != nil || repos.GetTotalCount() != 2 || len(repos.Repositories) != 1 {
		t.Errorf("first page of an all-repositories installation: %+v %v", repos, err)
	}
}

func TestAppJWTRefusals(t *testing.T) {
	key, other := testKeys(t)
	s, _, inst := appWorld(t)
	now := time.Now().Unix()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iat": now - 60, "exp": now + 9*60, "iss": "42"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(k *rsa.PrivateKey, c jwt.MapClaims) string {
		raw, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString([]byte("secret"))
	tests := []struct {
		name   string
		jwt    string
		status int
		msg    string
	}{
		{"valid", sign(key, claims(nil)), http.StatusCreated, ""},
		{"iss is the client ID", sign(key, claims(func(c jwt.MapClaims) { c["iss"] = s.apps.byID[appID].clientID })), http.StatusCreated, ""},
		{"iss a number", sign(key, claims(func(c jwt.MapClaims) { c["iss"] = appID })), http.StatusCreated, ""},
		{"iat within the drift GitHub allows", sign(key, claims(func(c jwt.MapClaims) { c["iat"] = now + 30 })), http.StatusCreated, ""},
		{"another key", sign(other, claims(nil)), http.StatusUnauthorized, msgJWTUndecodable},
		{"HS256", hs, http.StatusUnauthorized, msgJWTUndecodable},
		{"unknown App", sign(key, claims(func(c jwt.MapClaims) { c["iss"] = "43" })), http.StatusUnauthorized, msgJWTUndecodable},
		{"not a JWT", "ghp_personal", http.StatusUnauthorized, msgJWTUndecodable},
		{"iat in the future", sign(key, claims(func(c jwt.MapClaims) { c["iat"] = now + 120 })), http.StatusUnauthorized, msgJWTIat},
		{"iat fractional", sign(key, claims(func(c jwt.MapClaims) { c["iat"] = float64(now) - 0.5 })), http.StatusUnauthorized, msgJWTIat},
		{"no iat", sign(key, claims(func(c jwt.MapClaims) { delete(c, "iat") })), http.StatusUnauthorized, msgJWTIat},
		{"expired", sign(key, claims(func(c jwt.MapClaims) { c["iat"], c["exp"] = now-600, now-1 })), http.StatusUnauthorized, msgJWTExpired},
		{"lives over 10 minutes", sign(key, claims(func(c jwt.MapClaims) { c["exp"] = now - 60 + 10*60 + 1 })), http.StatusUnauthorized, msgJWTTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL()+"/app/installations/"+strconv.FormatInt(inst, 10)+"/access_tokens", nil)
			req.Header.Set("Authorization", "Bearer "+tt.jwt)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(raw)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.msg) {
				t.Fatalf("%d %s, want %d %q", resp.StatusCode, body, tt.status, tt.msg)
			}
		})
	}

	t.Run("unknown installation", func(t *testing.T) {
		if _, _, err := jwtClient(t, s, key).Apps.CreateInstallationToken(ctx, 999999, nil); statusOf(err) != http.StatusNotFound {
			t.Fatalf("%v", err)
		}
		if _, _, err := jwtClient(t, s, key).Apps.GetInstallation(ctx, 999999); statusOf(err) != http.StatusNotFound {
			t.Fatalf("%v", err)
		}
	})
	t.Run("another App's installation", func(t *testing.T) {
		s.AddApp(7, "other", &other.PublicKey)
		theirs, _ := s.InstallApp(7, "other")
		if _, _, err := jwtClient(t, s, key).Apps.CreateInstallationToken(ctx, theirs, nil); statusOf(err) != http.StatusNotFound {
			t.Fatalf("%v", err)
		}
	})
	t.Run("rotated key", func(t *testing.T) {
		if err := s.AddAppKey(appID, &other.PublicKey); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAppKey(appID, &key.PublicKey); err != nil {
			t.Fatal(err)
		}
		if _, _, err := jwtClient(t, s, key).Apps.CreateInstallationToken(ctx, inst, nil); statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), msgJWTUndecodable) {
			t.Fatalf("revoked key: %v", err)
		}
		if _, _, err := jwtClient(t, s, other).Apps.CreateInstallationToken(ctx, inst, nil); err != nil {
			t.Fatalf("new key: %v", err)
		}
	})
}

func TestInstallationRateLimitIsSharedByItsTokens(t *testing.T) {
	s, key, inst := appWorld(t, WithInstallationRateLimit(3))
	app := jwtClient(t, s, key)
	first, _, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range []string{first.GetToken(), first.GetToken(), second.GetToken()} {
		_, resp, err := tokenClient(s, tok).Repositories.Get(ctx, "acme", "gitops")
		if err != nil || resp.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("request %d: %v (limit %s)", i, err, resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	_, _, err = tokenClient(s, second.GetToken()).Repositories.Get(ctx, "acme", "gitops")
	var rl *gh.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Limit != 3 || !strings.Contains(rl.Message, "installation ID") {
		t.Fatalf("fourth request of the installation: %v", err)
	}
	// A person's token has its own window.
	if _, _, err := client(t, s).Repositories.Get(ctx, "acme", "gitops"); err != nil {
		t.Fatalf("PAT: %v", err)
	}
}

// The real ghinstallation transport works against the simulator, also when
// the API is served under a GitHub Enterprise Server path (/api/v3).
func TestGhinstallationTransportAgainstTheSimulator(t *testing.T) {
	s, key, inst := appWorld(t)
	ghes := http.NewServeMux()
	ghes.Handle("/api/v3/", http.StripPrefix("/api/v3", s.Handler()))
	srv := httptest.NewServer(ghes)
	defer srv.Close()
	tr, err := ghinstallation.New(http.DefaultTransport, appID, inst, pemOf(key))
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = srv.URL + "/api/v3"
	c := gh.NewClient(&http.Client{Transport: tr})
	c.BaseURL, _ = url.Parse(srv.URL + "/api/v3/")
	file, _, _, err := c.Repositories.GetContents(ctx, "acme", "gitops", "README.md", nil)
	if err != nil {
		t.Fatal(err)
	}
	if content, _ := file.GetContent(); content != "hi\n" {
		t.Fatalf("content %q", content)
	}
	if n := s.Requests().ByOperation["POST /app/installations/{installation_id}/access_tokens"]; n != 1 {
		t.Fatalf("%d token exchanges", n)
	}
}

// The secondary limits count an installation's requests, whichever of its
// tokens makes them (a new token every hour starts no new window), apart
// from a person's token; the token exchange itself creates no content.
func TestInstallationTokensShareTheSecondaryLimits(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Second)) // the JWTs are signed on the wall clock
	s, key, inst := appWorld(t, WithClock(clk.Now), WithSecondaryLimits(SecondaryLimits{ContentPerMinute: 3}))
	sha, _ := s.BranchHead("acme/gitops", "main")
	if err := s.SetInstallationPermissions(inst, with("statuses", "write")); err != nil { // the writes below
		t.Fatal(err)
	}
	app := jwtClient(t, s, key)
	var tokens []string
	for range 2 {
		tok, _, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok.GetToken())
	}
	if st := s.Requests(); st.ContentGenerating != 0 {
		t.Fatalf("%d content-generating requests after two token exchanges, want 0", st.ContentGenerating)
	}
	write := func(c *gh.Client) error {
		_, _, err := c.Repositories.CreateStatus(ctx, "acme", "gitops", sha, &gh.RepoStatus{State: gh.String("success"), Context: gh.String("qa")})
		return err
	}
	for i, tok := range []string{tokens[0], tokens[0], tokens[1]} {
		if err := write(tokenClient(s, tok)); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	if u := s.InstallationUsage(inst); u.ContentLastMinute != 3 || s.Usage(tokens[0]) != u || s.Usage(tokens[1]) != u {
		t.Fatalf("installation %+v, tokens %+v and %+v: want 3 each, the installation's", u, s.Usage(tokens[0]), s.Usage(tokens[1]))
	}
	var abuse *gh.AbuseRateLimitError
	if err := write(tokenClient(s, tokens[1])); !errors.As(err, &abuse) {
		t.Fatalf("the installation's fourth write within a minute: %v, want a secondary-limit refusal", err)
	}
	// A person's token has its own.
	if err := write(client(t, s)); err != nil {
		t.Fatalf("PAT: %v", err)
	}
	clk.Step(time.Minute)
	if err := write(tokenClient(s, tokens[1])); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}
