package notify

import (
	"fmt"
	"net/url"
	"strings"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// ConfigError says why a receiver cannot be used as configured: its Secret
// is missing, lacks a key, or holds a URL that is not http(s). Sending would
// not help, nor would waiting: its messages wait, untried, until a person
// fixes the Secret.
type ConfigError struct {
	// Reason is releasev1.ReasonSecretNotFound or ReasonSecretInvalid.
	Reason string
	// Message names the receiver, the Secret and the key, and says what to
	// fix; it never holds the Secret's values.
	Message string
}

func (e *ConfigError) Error() string { return e.Message }

// SecretNotFound is the ConfigError of a receiver whose Secret does not exist.
func SecretNotFound(rc releasev1.NotificationReceiver, namespace string) *ConfigError {
	return &ConfigError{Reason: releasev1.ReasonSecretNotFound, Message: fmt.Sprintf(
		"receiver %s: Secret %q not found in namespace %s: create it with the incoming webhook's URL under the key `url`%s",
		rc.Name, rc.SecretRef.Name, namespace, signingKeyHint(rc))}
}

func signingKeyHint(rc releasev1.NotificationReceiver) string {
	if rc.Type == releasev1.ReceiverWebhook {
		return " and the signing key under `secret`"
	}
	return ""
}

// ReceiverFromSecret reads a receiver's URL (and, for a webhook, its signing
// key) from its Secret's data, checking what can be checked before anything
// is sent: the keys are there and the URL is an http(s) URL with a host.
func ReceiverFromSecret(rc releasev1.NotificationReceiver, data map[string][]byte) (Receiver, error) {
	out := Receiver{Name: rc.Name, Type: rc.Type, URL: strings.TrimSpace(string(data["url"])), Secret: data["secret"]}
	invalid := func(format string, args ...any) (Receiver, error) {
		return out, &ConfigError{Reason: releasev1.ReasonSecretInvalid,
			Message: fmt.Sprintf("receiver %s: Secret %q ", rc.Name, rc.SecretRef.Name) + fmt.Sprintf(format, args...)}
	}
	if out.URL == "" {
		return invalid("has no key `url`: put the incoming webhook's URL under `url`")
	}
	if problem := checkURL(out.URL); problem != "" {
		return invalid("key `url` %s: put the incoming webhook's https:// URL under `url`", problem)
	}
	if rc.Type == releasev1.ReceiverWebhook && len(out.Secret) == 0 {
		return invalid("has no key `secret`: put the key that signs the deliveries under `secret`")
	}
	return out, nil
}

// checkURL says what is wrong with a receiver's URL, or "". It never
// quotes the URL: an incoming webhook's URL is a credential.
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "https" && u.Scheme != "http":
		if u.Scheme == "" || len(u.Scheme) > 10 {
			return "is not an http(s) URL"
		}
		return fmt.Sprintf("is not an http(s) URL (scheme %q)", u.Scheme)
	case u.Host == "":
		return "is an http(s) URL without a host"
	}
	return ""
}
