package notify

import (
	"errors"
	"strings"
	"testing"

	releasev1 "github.com/liftoff-dev/liftoff/api/v1alpha1"
)

// What a receiver's Secret must hold is checked when it is read, before
// anything is sent; the error names the receiver, the Secret and the key,
// and never quotes the URL.
func TestReceiverFromSecret(t *testing.T) {
	slack := releasev1.NotificationReceiver{Name: "chat", Type: releasev1.ReceiverSlack, SecretRef: releasev1.LocalObjectReference{Name: "slack-url"}}
	hook := releasev1.NotificationReceiver{Name: "ci", Type: releasev1.ReceiverWebhook, SecretRef: releasev1.LocalObjectReference{Name: "ci-hook"}}
	const secretPath = "/services/T0/B0/XXXXsecretXXXX"
	for _, tt := range []struct {
		name string
		rc   releasev1.NotificationReceiver
		data map[string][]byte
		want string // "" when usable
	}{
		{"https", slack, map[string][]byte{"url": []byte(" https://hooks.slack.com" + secretPath + "\n")}, ""},
		{"http to a service in the cluster", slack, map[string][]byte{"url": []byte("http://relay.chat.svc:8080" + secretPath)}, ""},
		{"webhook with its signing key", hook, map[string][]byte{"url": []byte("https://ci.example.com" + secretPath), "secret": []byte("s")}, ""},
		{"no url", slack, map[string][]byte{"URL": []byte("https://hooks.slack.com" + secretPath)},
			"receiver chat: Secret \"slack-url\" has no key `url`: put the incoming webhook's URL under `url`"},
		{"ftp", slack, map[string][]byte{"url": []byte("ftp://hooks.slack.com" + secretPath)},
			"receiver chat: Secret \"slack-url\" key `url` is not an http(s) URL (scheme \"ftp\"): put the incoming webhook's https:// URL under `url`"},
		{"no scheme", slack, map[string][]byte{"url": []byte("hooks.slack.com" + secretPath)},
			"receiver chat: Secret \"slack-url\" key `url` is not an http(s) URL: put the incoming webhook's https:// URL under `url`"},
		{"no host", slack, map[string][]byte{"url": []byte("https://" + secretPath)},
			"receiver chat: Secret \"slack-url\" key `url` is an http(s) URL without a host: put the incoming webhook's https:// URL under `url`"},
		{"not a URL", slack, map[string][]byte{"url": []byte("https://hooks.slack.com/%zz" + secretPath)},
			"receiver chat: Secret \"slack-url\" key `url` is not a URL: put the incoming webhook's https:// URL under `url`"},
		{"webhook without its signing key", hook, map[string][]byte{"url": []byte("https://ci.example.com" + secretPath)},
			"receiver ci: Secret \"ci-hook\" has no key `secret`: put the key that signs the deliveries under `secret`"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReceiverFromSecret(tt.rc, tt.data)
			if tt.want == "" {
				if err != nil || !strings.HasPrefix(got.URL, "http") || got.Name != tt.rc.Name || got.Type != tt.rc.Type {
					t.Fatalf("%+v, %v; want a usable receiver", got, err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Reason != releasev1.ReasonSecretInvalid || ce.Message != tt.want {
				t.Fatalf("error %#v\nwant SecretInvalid %q", err, tt.want)
			}
			if strings.Contains(ce.Message, "XXXXsecretXXXX") {
				t.Error("the message quotes the URL")
			}
		})
	}
}
