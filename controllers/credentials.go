package controllers

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
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
// message says what to fix and never holds the token or the key.
type credentialError struct {
	reason string
	msg    string
}

func (e *credentialError) Error() string { return e.msg }

// problemReasons are the reasons of the credential problems GitHub reports.
var problemReasons = map[github.Problem]string{
	github.ProblemKeyInvalid:           releasev1.ReasonGitHubAppKeyInvalid,
	github.ProblemKeyRefused:           releasev1.ReasonGitHubAppKeyRefused,
	github.ProblemInstallationNotFound: releasev1.ReasonGitHubAppInstallationNotFound,
	github.ProblemNotInstalled:         releasev1.ReasonGitHubAppNotInstalled,
	github.ProblemClockSkew:            releasev1.ReasonGitHubAppClockSkew,
}

// credentialProblem returns the credentialError of a GitHub error that says
// the credential cannot be used (a GitHub App's key, installation or clock,
// a repository outside the installation), nil for any other error. A person
// must fix it: a step that meets one stalls with its reason.
func credentialProblem(err error) *credentialError {
	reason, ok := problemReasons[github.ProblemOf(err)]
	if !ok {
		return nil
	}
	return &credentialError{reason: reason, msg: err.Error()}
}

// githubClient returns the shared client for the pipeline's API URL and
// credential. The Secret is read straight from the API server: the
// controller keeps no cluster-wide Secret watch or cache.
func (r *ReleaseReconciler) githubClient(ctx context.Context, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientFor(ctx, r.APIReader, r.GitHub, pipe)
}

func clientFor(ctx context.Context, reader client.Reader, factory *github.Factory, pipe *releasev1.ReleasePipeline) (*github.Client, error) {
	return clientWith(ctx, reader, factory, pipe.Namespace, pipe.Spec.GitHub.APIURL, pipe.Spec.GitHub.SecretRef, "pipeline "+pipe.Name)
}

// clientWith returns the shared client for apiURL and the credential in the
// Secret ref (anonymous when nil) of namespace. owner names the object whose
// spec.github holds them, for messages ("pipeline checkout"). A GitHub App's
// client holds a live installation token when it is returned; when GitHub
// refuses the App's credential as it was cached, the Secret is read again
// at once (it may have been rotated).
func clientWith(ctx context.Context, reader client.Reader, factory *github.Factory, namespace, apiURL string, ref *releasev1.LocalObjectReference, owner string) (*github.Client, error) {
	key := credentialKey{factory: factory, NamespacedName: types.NamespacedName{Namespace: namespace}}
	if ref != nil {
		key.Name = ref.Name
	}
	cred, cached := credentials.get(key)
	for {
		if !cached && ref != nil {
			var err error
			if cred, err = readCredential(ctx, reader, namespace, ref, owner); err != nil {
				return nil, err
			}
			credentials.put(key, cred)
		}
		c, err := cred.client(factory, apiURL)
		if err != nil && github.ProblemOf(err) == "" {
			return nil, &credentialError{reason: releasev1.ReasonInvalidSpec, msg: err.Error()}
		}
		if err == nil {
			if err = c.Authenticate(ctx); err == nil {
				return c, nil
			}
		}
		ce := credentialProblem(err)
		if ce == nil {
			return nil, err // GitHub unavailable: retried with backoff
		}
		credentials.forget(key.NamespacedName)
		if cached {
			cached = false
			continue
		}
		ce.msg = fmt.Sprintf("GitHub App credential in Secret %q (spec.github.secretRef of %s): %s", ref.Name, owner, ce.msg)
		return nil, ce
	}
}

// credential is what a Secret holds: a token, or a GitHub App installation.
type credential struct {
	token string
	app   *github.AppCredential
}

func (c credential) client(f *github.Factory, apiURL string) (*github.Client, error) {
	if c.app != nil {
		return f.ForApp(apiURL, *c.app)
	}
	return f.For(apiURL, c.token)
}

// appKeys are the keys of a GitHub App credential.
var appKeys = []string{"appID", "installationID", "privateKey"}

// readCredential reads the Secret ref: `token`, or a GitHub App's `appID`,
// `installationID` and `privateKey`.
func readCredential(ctx context.Context, reader client.Reader, namespace string, ref *releasev1.LocalObjectReference, owner string) (credential, error) {
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return credential{}, &credentialError{reason: releasev1.ReasonSecretNotFound,
				msg: fmt.Sprintf("Secret %q (spec.github.secretRef of %s) not found in namespace %s: create it with a `token` key, or a GitHub App's `appID`, `installationID` and `privateKey`", ref.Name, owner, namespace)}
		}
		return credential{}, err
	}
	return parseCredential(secret)
}

// parseCredential reads a Secret's credential. Its errors name keys, never
// their values.
func parseCredential(secret *corev1.Secret) (credential, error) {
	value := func(k string) []byte { return bytes.TrimSpace(secret.Data[k]) }
	invalid := func(format string, args ...any) error {
		return &credentialError{reason: releasev1.ReasonSecretInvalid, msg: fmt.Sprintf("Secret %q ", secret.Name) + fmt.Sprintf(format, args...)}
	}
	var present, missing []string
	for _, k := range appKeys {
		if len(value(k)) > 0 {
			present = append(present, k)
		} else {
			missing = append(missing, k)
		}
	}
	token := string(value("token"))
	switch {
	case token != "" && len(present) > 0:
		return credential{}, invalid("has both `token` and GitHub App keys (%s): keep one kind of credential", strings.Join(present, ", "))
	case token != "":
		return credential{token: token}, nil
	case len(present) == 0:
		return credential{}, invalid("has no `token` key: add the GitHub token under the key `token`, or a GitHub App's `appID`, `installationID` and `privateKey`")
	case len(missing) > 0:
		return credential{}, invalid("has no %s: a GitHub App credential needs appID, installationID and privateKey", strings.Join(missing, ", "))
	}
	app := &github.AppCredential{PrivateKey: secret.Data["privateKey"]}
	for _, id := range []struct {
		key, fix string
		to       *int64
	}{
		{"appID", "the App ID on the App's settings page (not its client ID or name)", &app.AppID},
		{"installationID", "the number at the end of the installation's page (…/settings/installations/NUMBER)", &app.InstallationID},
	} {
		n, err := strconv.ParseInt(string(value(id.key)), 10, 64)
		if err != nil || n <= 0 {
			return credential{}, invalid("`%s` is not a number: use %s", id.key, id.fix)
		}
		*id.to = n
	}
	return credential{app: app}, nil
}

// tokenTTL is how long a credential read from a Secret is used before the
// Secret is read again.
const tokenTTL = 30 * time.Second

// credentials keeps the credentials read from Secrets for tokenTTL: every
// reconcile needs its pipeline's, and reading the Secret from the API server
// each time costs a request per reconcile (the controller keeps no Secret
// watch). Only usable credentials are kept, so a missing Secret or key is
// seen again at once when fixed; one GitHub refuses is forgotten
// (forgetToken), so a rotated one is read at the next reconcile.
var credentials = &credentialCache{m: map[credentialKey]cachedCredential{}, now: time.Now}

// credentialKey is a Secret of the cluster a Factory's controllers serve (a
// process serves one, but tests and the playground run several in one).
type credentialKey struct {
	factory *github.Factory
	types.NamespacedName
}

type credentialCache struct {
	mu  sync.Mutex
	m   map[credentialKey]cachedCredential
	now func() time.Time
}

type cachedCredential struct {
	credential
	at time.Time
}

func (c *credentialCache) get(key credentialKey) (credential, bool) {
	if key.Name == "" {
		return credential{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	if !ok || c.now().Sub(t.at) >= tokenTTL {
		delete(c.m, key)
		return credential{}, false
	}
	return t.credential, true
}

func (c *credentialCache) put(key credentialKey, cred credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = cachedCredential{credential: cred, at: c.now()}
}

// forget drops the Secret's credential, for every Factory.
func (c *credentialCache) forget(secret types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.NamespacedName == secret {
			delete(c.m, k)
		}
	}
}

// forgetToken drops the cached credential of a Secret GitHub refused.
func forgetToken(namespace string, ref *releasev1.LocalObjectReference) {
	if ref != nil {
		credentials.forget(types.NamespacedName{Namespace: namespace, Name: ref.Name})
	}
}
