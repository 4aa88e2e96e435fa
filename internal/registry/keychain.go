package registry

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Keychain holds the credentials of a Docker config (the
// `.dockerconfigjson` of a kubernetes.io/dockerconfigjson Secret): one per
// registry host. A registry it has none for is read anonymously.
type Keychain struct {
	auths map[string]authn.AuthConfig
	fp    [sha256.Size]byte
}

// ParseDockerConfig reads a Docker config JSON ({"auths": {"ghcr.io":
// {"username": ..., "password": ...} or {"auth": base64(user:password)}}}).
// Errors never quote the credentials.
func ParseDockerConfig(data []byte) (*Keychain, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("not a Docker config JSON (%s)", jsonProblem(err))
	}
	if len(cfg.Auths) == 0 {
		return nil, fmt.Errorf(`no "auths" in the Docker config JSON`)
	}
	k := &Keychain{auths: map[string]authn.AuthConfig{}, fp: sha256.Sum256(data)}
	for server, a := range cfg.Auths {
		ac := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("the auth of %q is not base64", server)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("the auth of %q is not base64 of username:password", server)
			}
			ac.Username, ac.Password = user, pass
		}
		k.auths[hostOf(server)] = ac
	}
	return k, nil
}

// jsonProblem says where JSON is broken without quoting it.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("%s is a %s", e.Field, e.Value)
	}
	return "malformed"
}

// hostOf is the registry host a Docker config key names
// ("https://index.docker.io/v1/", "ghcr.io", "https://ghcr.io").
func hostOf(server string) string {
	s := server
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Host
		}
	}
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return s
}

// Resolve is the credential of the target's registry (authn.Keychain).
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if k == nil {
		return authn.Anonymous, nil
	}
	a, ok := k.auths[hostOf(target.RegistryStr())]
	if !ok {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(a), nil
}

// fingerprint tells credentials apart in the client's cache of transports.
func (k *Keychain) fingerprint() [sha256.Size]byte {
	if k == nil {
		return [sha256.Size]byte{}
	}
	return k.fp
}
