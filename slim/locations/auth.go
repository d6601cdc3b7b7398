package locations

import (
	"fmt"
	"os"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Credentials: by default, go-containerregistry's keychain (the Docker
// config and its credential helpers, then $REGISTRY_AUTH_FILE and podman's
// auth.json). AuthFile reads one file of that format, as skopeo's
// --authfile does; Static gives one user and password, as --creds does.
// For ECR, GCR and ACR, the Docker config's credHelpers entries name the
// cloud's credential helper (docker-credential-ecr-login, -gcr, -acr-env),
// which the keychains run.

// AuthFile gives the credentials of the auth file at p (skopeo's and
// podman's auth.json, or a Docker config.json: the same format). An entry
// for a repository or namespace ("quay.io/org") wins over the registry's.
func AuthFile(p string) (authn.Keychain, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading auth file: %w", err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading auth file %s: %w", p, err)
	}
	return &fileKeychain{cf: cf}, nil
}

type fileKeychain struct{ cf *configfile.ConfigFile }

func (k *fileKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	// Most specific first: registry/ns/repo, registry/ns, registry.
	var keys []string
	for s := r.String(); s != ""; {
		keys = append(keys, s)
		i := strings.LastIndex(s, "/")
		if i < 0 {
			break
		}
		s = s[:i]
	}
	if len(keys) == 0 || keys[len(keys)-1] != r.RegistryStr() {
		keys = append(keys, r.RegistryStr())
	}
	for _, key := range keys {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		cfg, err := k.cf.GetAuthConfig(key)
		if err != nil {
			return nil, err
		}
		cfg.ServerAddress = ""
		if cfg != (types.AuthConfig{}) {
			return authn.FromConfig(authn.AuthConfig{
				Username:      cfg.Username,
				Password:      cfg.Password,
				Auth:          cfg.Auth,
				IdentityToken: cfg.IdentityToken,
				RegistryToken: cfg.RegistryToken,
			}), nil
		}
	}
	return authn.Anonymous, nil
}

// Static gives the credentials "USER:PASSWORD" (skopeo's --creds) for
// every registry. The password may hold colons; it may not be empty.
func Static(creds string) (authn.Keychain, error) {
	user, pass, ok := strings.Cut(creds, ":")
	if !ok || user == "" || pass == "" {
		return nil, fmt.Errorf("want USER:PASSWORD")
	}
	return staticKeychain{&authn.Basic{Username: user, Password: pass}}, nil
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
