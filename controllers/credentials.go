package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// credentialError: the pipeline's GitHub credential cannot be used. Its
// message says what to fix and never holds the token.
type credentialError struct {
	reason string
	msg    string
}

func (e *credentialError) Error() string { return e.msg }

// githubClient returns the shared client for the pipeline's API URL and
// token. The Secret is read straight from the API server: the controller
// keeps no cluster-wide Secret watch or cache.
func (r *ReleaseReconciler) githubClient(ctx context.Context, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientFor(ctx, r.APIReader, r.GitHub, pipe)
}

func clientFor(ctx context.Context, reader client.Reader, factory *github.Factory, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientWith(ctx, reader, factory, pipe.Namespace, pipe.Spec.GitHub.APIURL, pipe.Spec.GitHub.SecretRef, "pipeline "+pipe.Name)
}

// clientWith returns the shared client for apiURL and the token in the
// Secret ref (none when nil) of namespace. owner names the object whose
// spec.github holds them, for messages ("pipeline checkout").
func clientWith(ctx context.Context, reader client.Reader, factory *github.Factory, namespace, apiURL string, ref *releasev1.LocalObjectReference, owner string) (*github.Client, error) {
	token := ""
	key := types.NamespacedName{Namespace: namespace, Name: ""}
	if ref != nil {
		key.Name = ref.Name
	}
	if t, ok := tokens.get(key); ok {
		token = t
	} else if ref != nil {
		secret := &corev1.Secret{}
		if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &credentialError{reason: releasev1.ReasonSecretNotFound,
					msg: fmt.Sprintf("Secret %q (spec.github.secretRef of %s) not found in namespace %s: create it with a `token` key", ref.Name, owner, namespace)}
			}
			return nil, err
		}
		raw, ok := secret.Data["token"]
		if !ok || len(raw) == 0 {
			return nil, &credentialError{reason: releasev1.ReasonSecretInvalid,
				msg: fmt.Sprintf("Secret %q has no `token` key: add the GitHub token under the key `token`", ref.Name)}
		}
		token = string(raw)
		tokens.put(key, token)
	}
	c, err := factory.For(apiURL, token)
	if err != nil {
		return nil, &credentialError{reason: releasev1.ReasonInvalidSpec, msg: err.Error()}
	}
	return c, nil
}

// tokenTTL is how long a token read from a Secret is used before the Secret
// is read again.
const tokenTTL = 30 * time.Second

// tokens keeps the tokens read from Secrets for tokenTTL: every reconcile
// needs its pipeline's token, and reading the Secret from the API server
// each time costs a request per reconcile (the controller keeps no Secret
// watch). Only usable tokens are kept, so a missing Secret or key is seen
// again at once when fixed; a token GitHub refuses is forgotten
// (forgetToken), so a rotated one is read at the next reconcile. A process
// talks to one cluster, so namespace/name is a whole key.
var tokens = &tokenCache{m: map[types.NamespacedName]cachedToken{}, now: time.Now}

type tokenCache struct {
	mu  sync.Mutex
	m   map[types.NamespacedName]cachedToken
	now func() time.Time
}

type cachedToken struct {
	token string
	at    time.Time
}

func (c *tokenCache) get(key types.NamespacedName) (string, bool) {
	if key.Name == "" {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	if !ok || c.now().Sub(t.at) >= tokenTTL {
		delete(c.m, key)
		return "", false
	}
	return t.token, true
}

func (c *tokenCache) put(key types.NamespacedName, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = cachedToken{token: token, at: c.now()}
}

// forgetToken drops the cached token of a Secret GitHub refused.
func forgetToken(namespace string, ref *releasev1.LocalObjectReference) {
	if ref == nil {
		return
	}
	tokens.mu.Lock()
	defer tokens.mu.Unlock()
	delete(tokens.m, types.NamespacedName{Namespace: namespace, Name: ref.Name})
}
