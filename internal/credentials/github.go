package credentials

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
	"github.com/liftoff-dev/liftoff/internal/github"
)

// credential is what a GitHub Secret holds: a token, or a GitHub App
// installation.
type credential struct {
	token string
	app   *github.AppCredential
}

// client is the Factory's shared client of the credential: one per token,
// one per App installation.
func (c credential) client(f *github.Factory, apiURL string) (*github.Client, error) {
	if c.app != nil {
		return f.ForApp(apiURL, *c.app)
	}
	return f.For(apiURL, c.token)
}

// appKeys are the keys of a GitHub App credential.
var appKeys = []string{"appID", "installationID", "privateKey"}

// read reads the Secret key: `token`, or a GitHub App's `appID`,
// `installationID` and `privateKey`.
func (s *Store) read(ctx context.Context, key types.NamespacedName, owner string) (credential, error) {
	secret := &corev1.Secret{}
	if err := s.reader.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return credential{}, &Error{Reason: releasev1.ReasonSecretNotFound,
				Message: fmt.Sprintf("Secret %q (spec.github.secretRef of %s) not found in namespace %s: create it with a `token` key, or a GitHub App's `appID`, `installationID` and `privateKey`", key.Name, owner, key.Namespace)}
		}
		return credential{}, err
	}
	return parse(secret)
}

// parse reads a Secret's GitHub credential. Its errors name keys, never
// their values.
func parse(secret *corev1.Secret) (credential, error) {
	value := func(k string) []byte { return bytes.TrimSpace(secret.Data[k]) }
	invalid := func(format string, args ...any) error {
		return &Error{Reason: releasev1.ReasonSecretInvalid, Message: fmt.Sprintf("Secret %q ", secret.Name) + fmt.Sprintf(format, args...)}
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
