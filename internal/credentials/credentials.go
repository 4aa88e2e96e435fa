// Package credentials reads the Secrets that hold Liftoff's credentials, a
// GitHub token or Prometheus headers, when a reconciler needs them. The
// controller keeps no cluster-wide Secret watch: Secrets are read from the API
// server, and a token is kept for a short while so that every reconcile does
// not cost a read. Credentials never appear in errors, logs or status.
package credentials

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
	"github.com/liftoff-dev/liftoff/internal/prometheus"
)

// Error says that a credential cannot be used and what to fix. Its message
// never holds the credential.
type Error struct {
	// Reason for the Stalled condition (an api/v1alpha1 Reason).
	Reason string
	// Message says what is wrong and what to do.
	Message string
}

func (e *Error) Error() string { return e.Message }

// TokenTTL is how long a token read from a Secret is used before the Secret
// is read again.
const TokenTTL = 30 * time.Second

// Store hands out GitHub and Prometheus clients for the credentials Secrets
// name. It keeps tokens for TokenTTL: every reconcile needs its pipeline's
// token, and reading the Secret from the API server each time costs a
// request per reconcile. Only usable tokens are kept, so a missing Secret or
// key is seen again at once when fixed; a token GitHub refuses is forgotten
// (Forget), so a rotated one is read at the next reconcile. A process talks
// to one cluster, so namespace/name is a whole key. One Store serves every
// reconciler of a manager.
type Store struct {
	reader  client.Reader
	factory *github.Factory
	clock   clock.PassiveClock

	mu     sync.Mutex
	tokens map[types.NamespacedName]cachedToken
}

type cachedToken struct {
	token string
	at    time.Time
}

// NewStore returns a Store that reads Secrets with reader (the API server,
// not a cache), builds GitHub clients with factory and times its tokens
// with clk (the real clock when nil).
func NewStore(reader client.Reader, factory *github.Factory, clk clock.PassiveClock) *Store {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if factory == nil {
		factory = &github.Factory{}
	}
	return &Store{reader: reader, factory: factory, clock: clk, tokens: map[types.NamespacedName]cachedToken{}}
}

// ForPipeline returns the shared GitHub client for the pipeline's API URL
// and token.
func (s *Store) ForPipeline(ctx context.Context, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return s.GitHub(ctx, pipe.Namespace, pipe.Spec.GitHub.APIURL, pipe.Spec.GitHub.SecretRef, "pipeline "+pipe.Name)
}

// GitHub returns the shared client for apiURL and the token in the Secret
// ref (none when nil) of namespace. owner names the object whose
// spec.github holds them, for messages ("pipeline checkout").
func (s *Store) GitHub(ctx context.Context, namespace, apiURL string, ref *releasev1.LocalObjectReference, owner string) (*github.Client, error) {
	token := ""
	key := types.NamespacedName{Namespace: namespace}
	if ref != nil {
		key.Name = ref.Name
	}
	if t, ok := s.cached(key); ok {
		token = t
	} else if ref != nil {
		secret := &corev1.Secret{}
		if err := s.reader.Get(ctx, key, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &Error{Reason: releasev1.ReasonSecretNotFound,
					Message: fmt.Sprintf("Secret %q (spec.github.secretRef of %s) not found in namespace %s: create it with a `token` key", ref.Name, owner, namespace)}
			}
			return nil, err
		}
		raw, ok := secret.Data["token"]
		if !ok || len(raw) == 0 {
			return nil, &Error{Reason: releasev1.ReasonSecretInvalid,
				Message: fmt.Sprintf("Secret %q has no `token` key: add the GitHub token under the key `token`", ref.Name)}
		}
		token = string(raw)
		s.keep(key, token)
	}
	c, err := s.factory.For(apiURL, token)
	if err != nil {
		return nil, &Error{Reason: releasev1.ReasonInvalidSpec, Message: err.Error()}
	}
	return c, nil
}

// Forget drops the cached token of a Secret GitHub refused.
func (s *Store) Forget(namespace string, ref *releasev1.LocalObjectReference) {
	if ref == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, types.NamespacedName{Namespace: namespace, Name: ref.Name})
}

func (s *Store) cached(key types.NamespacedName) (string, bool) {
	if key.Name == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[key]
	if !ok || s.clock.Since(t.at) >= TokenTTL {
		delete(s.tokens, key)
		return "", false
	}
	return t.token, true
}

func (s *Store) keep(key types.NamespacedName, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[key] = cachedToken{token: token, at: s.clock.Now()}
}

// Prometheus returns a client for p; its Secret (headers) is read from
// namespace on demand.
func (s *Store) Prometheus(ctx context.Context, namespace string, p *releasev1.PrometheusSpec) (*prometheus.Client, error) {
	headers := map[string]string{}
	if p.SecretRef != nil {
		secret := &corev1.Secret{}
		if err := s.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: p.SecretRef.Name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &Error{Reason: releasev1.ReasonSecretNotFound, Message: fmt.Sprintf("Secret %q (spec.prometheus.secretRef) not found in namespace %s", p.SecretRef.Name, namespace)}
			}
			return nil, err
		}
		for k, v := range secret.Data {
			headers[k] = string(v)
		}
	}
	timeout := 30 * time.Second
	if p.Timeout != nil {
		timeout = p.Timeout.Duration
	}
	c, err := prometheus.New(p.Address, headers, timeout)
	if err != nil {
		return nil, &Error{Reason: releasev1.ReasonPrometheusNotConfigured, Message: err.Error()}
	}
	return c, nil
}
