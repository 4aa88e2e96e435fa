package dashboard

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// KubernetesAuth authenticates each request through the Kubernetes API and
// acts as the person: the bearer token (Authorization, or
// X-Forwarded-Access-Token from an authenticating proxy such as
// oauth2-proxy) is checked with a TokenReview; reading a namespace needs
// list on releases there, and each action is checked with a
// SubjectAccessReview and then made with impersonation of the reviewed user
// and groups, so RBAC and the identity webhooks see the person, not the
// manager.
type KubernetesAuth struct {
	// Config is the manager's; impersonating clients are made from copies.
	Config *rest.Config
	Scheme *runtime.Scheme
	// Reviewer creates TokenReviews and SubjectAccessReviews.
	Reviewer client.Client
	// Audiences the tokens must be for; the API server's when empty.
	Audiences []string
	// TTL of a reviewed token or access decision; 1 minute when zero.
	TTL time.Duration

	mu      sync.Mutex
	tokens  map[[32]byte]tokenEntry
	access  decisions
	clients map[string]client.Client
}

type tokenEntry struct {
	user authenticationv1.UserInfo
	err  error
	exp  time.Time
}

func (k *KubernetesAuth) ttl() time.Duration {
	if k.TTL > 0 {
		return k.TTL
	}
	return time.Minute
}

func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return strings.TrimSpace(r.Header.Get("X-Forwarded-Access-Token"))
}

// Session reviews the request's token and returns a session acting as its user.
func (k *KubernetesAuth) Session(r *http.Request) (*Session, error) {
	tok := bearer(r)
	if tok == "" {
		return nil, &HTTPError{http.StatusUnauthorized, "sign in first: this dashboard needs a Kubernetes bearer token (serve it behind an authenticating proxy that passes the user's token)"}
	}
	ui, err := k.review(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	c, err := k.impersonating(ui)
	if err != nil {
		return nil, err
	}
	return &Session{
		User:   ui.Username,
		Groups: ui.Groups,
		Client: c,
		Authorize: func(ctx context.Context, verb, resource, ns, name string) error {
			return k.allowed(ctx, ui, verb, resource, ns, name)
		},
		CanRead: func(ctx context.Context, ns string) bool {
			return k.allowed(ctx, ui, "list", "releases", ns, "") == nil
		},
	}, nil
}

func (k *KubernetesAuth) review(ctx context.Context, tok string) (authenticationv1.UserInfo, error) {
	h := sha256.Sum256([]byte(tok)) // the token itself is never kept
	now := time.Now()
	k.mu.Lock()
	if e, ok := k.tokens[h]; ok && now.Before(e.exp) {
		k.mu.Unlock()
		return e.user, e.err
	}
	k.mu.Unlock()
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tok, Audiences: k.Audiences}}
	if err := k.Reviewer.Create(ctx, tr); err != nil {
		return authenticationv1.UserInfo{}, &HTTPError{http.StatusServiceUnavailable, "checking the token failed; try again: " + err.Error()}
	}
	e := tokenEntry{user: tr.Status.User, exp: now.Add(k.ttl())}
	if !tr.Status.Authenticated {
		e.err = &HTTPError{http.StatusUnauthorized, "the Kubernetes API does not accept this token: sign in again"}
	}
	k.mu.Lock()
	if k.tokens == nil || len(k.tokens) > 10000 {
		k.tokens = map[[32]byte]tokenEntry{}
	}
	k.tokens[h] = e
	k.mu.Unlock()
	return e.user, e.err
}

// allowed asks the API server whether the user may do verb on resource.
func (k *KubernetesAuth) allowed(ctx context.Context, ui authenticationv1.UserInfo, verb, resource, ns, name string) error {
	key := strings.Join([]string{ui.Username, strings.Join(ui.Groups, ","), verb, resource, ns, name}, "\x00")
	return k.access.decide(key, k.ttl(), func() error {
		// Extra attributes are left out here as in the impersonation below
		// (impersonating them needs a grant per key).
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: ui.Username, Groups: ui.Groups, UID: ui.UID,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: releasev1.GroupVersion.Group, Resource: resource,
				Verb: verb, Namespace: ns, Name: name},
		}}
		if err := k.Reviewer.Create(ctx, sar); err != nil {
			return &HTTPError{http.StatusServiceUnavailable, "checking access failed; try again: " + err.Error()}
		}
		if !sar.Status.Allowed {
			return refusal(ui.Username, verb, resource, ns)
		}
		return nil
	})
}

// impersonating returns a client acting as the user, one per identity.
func (k *KubernetesAuth) impersonating(ui authenticationv1.UserInfo) (client.Client, error) {
	key := ui.Username + "\x00" + ui.UID + "\x00" + strings.Join(ui.Groups, ",")
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.clients[key]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(k.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: ui.Username, UID: ui.UID, Groups: ui.Groups}
	c, err := client.New(cfg, client.Options{Scheme: k.Scheme})
	if err != nil {
		return nil, err
	}
	if k.clients == nil || len(k.clients) > 1000 {
		k.clients = map[string]client.Client{}
	}
	k.clients[key] = c
	return c, nil
}
