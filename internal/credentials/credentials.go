// Package credentials reads the Secrets that hold Liftoff's credentials, a
// GitHub token or GitHub App, or Prometheus headers, when a reconciler needs
// them. The controller keeps no cluster-wide Secret watch: Secrets are read
// from the API server, and a credential is kept for a short while so that
// every reconcile does not cost a read. Credentials never appear in errors,
// logs or status.
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
	"github.com/liftoff-dev/liftoff/internal/reconcile"
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

// TokenTTL is how long a credential read from a Secret is used before the
// Secret is read again.
const TokenTTL = 30 * time.Second

// Store hands out GitHub and Prometheus clients for the credentials Secrets
// name. It keeps GitHub credentials for TokenTTL: every reconcile needs its
// pipeline's, and reading the Secret from the API server each time costs a
// request per reconcile. Only usable credentials are kept, so a missing
// Secret or key is seen again at once when fixed; a credential GitHub
// refuses is forgotten (Forget), so a rotated one is read at the next
// reconcile, or at once when the Store itself finds it refused. A process
// talks to one cluster, so namespace/name is a whole key. One Store serves
// every reconciler of a manager.
type Store struct {
	reader  client.Reader
	factory *github.Factory
	clock   clock.PassiveClock

	mu          sync.Mutex
	credentials map[types.NamespacedName]cachedCredential
}

type cachedCredential struct {
	credential
	at time.Time
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
	return &Store{reader: reader, factory: factory, clock: clk, credentials: map[types.NamespacedName]cachedCredential{}}
}

// ForPipeline returns the shared GitHub client for the pipeline's API URL
// and credential.
func (s *Store) ForPipeline(ctx context.Context, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return s.GitHub(ctx, pipe.Namespace, pipe.Spec.GitHub.APIURL, pipe.Spec.GitHub.SecretRef, "pipeline "+pipe.Name)
}

// GitHub returns the shared client for apiURL and the credential in the
// Secret ref (anonymous when nil) of namespace. owner names the object whose
// spec.github holds them, for messages ("pipeline checkout"). A GitHub App's
// client holds a live installation token when it is returned; when GitHub
// refuses the App's credential as it was cached, the Secret is read again at
// once (it may have been rotated). A credential that cannot work is an
// *Error with the reason reconcile.GitHub gives; GitHub failing is returned as
// it is.
func (s *Store) GitHub(ctx context.Context, namespace, apiURL string, ref *releasev1.LocalObjectReference, owner string) (*github.Client, error) {
	key := types.NamespacedName{Namespace: namespace}
	if ref != nil {
		key.Name = ref.Name
	}
	cred, cached := s.cached(key)
	for {
		if !cached && ref != nil {
			var err error
			if cred, err = s.read(ctx, key, owner); err != nil {
				return nil, err
			}
			s.keep(key, cred)
		}
		c, err := cred.client(s.factory, apiURL)
		if err != nil && github.KindOf(err) == "" {
			return nil, &Error{Reason: releasev1.ReasonInvalidSpec, Message: err.Error()}
		}
		if err == nil {
			if err = c.Authenticate(ctx); err == nil {
				return c, nil
			}
		}
		d, ok := reconcile.GitHub(err, appFixes)
		if !ok || !d.Stalled {
			return nil, err // GitHub unavailable or rate limited: retried
		}
		s.Forget(namespace, ref)
		if cached {
			cached = false
			continue
		}
		return nil, &Error{Reason: d.Reason,
			Message: fmt.Sprintf("GitHub App credential in Secret %q (spec.github.secretRef of %s): %s", ref.Name, owner, d.Message(err))}
	}
}

// appFixes say what to fix when GitHub refuses a GitHub App for no reason
// of its own (a suspended App).
var appFixes = reconcile.Fixes{Unauthorized: "check the App's appID, installationID and privateKey, and that the App is not suspended"}

// Forget drops the cached credential of a Secret GitHub refused.
func (s *Store) Forget(namespace string, ref *releasev1.LocalObjectReference) {
	if ref == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.credentials, types.NamespacedName{Namespace: namespace, Name: ref.Name})
}

func (s *Store) cached(key types.NamespacedName) (credential, bool) {
	if key.Name == "" {
		return credential{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.credentials[key]
	if !ok || s.clock.Since(c.at) >= TokenTTL {
		delete(s.credentials, key)
		return credential{}, false
	}
	return c.credential, true
}

func (s *Store) keep(key types.NamespacedName, cred credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credentials[key] = cachedCredential{credential: cred, at: s.clock.Now()}
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
