package main

import (
	"slices"

	"github.com/spf13/pflag"

	"github.com/imgslim/imgslim/slim/locations"
)

// registryFlags are how imgslim reaches registries beyond the Docker
// config's: skopeo's flags, with the same meaning.
type registryFlags struct {
	authfile                   string
	creds, srcCreds, destCreds string
	certDir                    string
	tlsVerify                  bool
}

func (r *registryFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&r.authfile, "authfile", "", "read registry credentials from `FILE` (skopeo's and podman's auth.json, or a Docker config.json) instead of the Docker config")
	fs.StringVar(&r.creds, "creds", "", "log in to the source's and the target's registries as `USER:PASSWORD`")
	fs.StringVar(&r.srcCreds, "src-creds", "", "log in to the source's registry as `USER:PASSWORD` (beats --creds)")
	fs.StringVar(&r.destCreds, "dest-creds", "", "log in to the target's registry as `USER:PASSWORD` (beats --creds)")
	fs.StringVar(&r.certDir, "cert-dir", "", "trust the CA certificates (*.crt) and use the client certificates (*.cert, *.key) of `DIR` for HTTPS registries")
	fs.BoolVar(&r.tlsVerify, "tls-verify", true, "verify HTTPS registries' certificates (--tls-verify=false accepts any; --insecure is for plain HTTP)")
}

// options gives the location options of the source and of the target:
// common ones, then each side's credentials.
func (r *registryFlags) options(common []locations.Option) (src, dst []locations.Option, err error) {
	common = slices.Clip(common)
	if r.certDir != "" {
		common = append(common, locations.WithCertDir(r.certDir))
	}
	if !r.tlsVerify {
		common = append(common, locations.WithoutTLSVerify())
	}
	side := func(flag, creds string) ([]locations.Option, error) {
		opts := slices.Clip(common)
		switch {
		case creds != "":
			kc, err := locations.Static(creds)
			if err != nil {
				return nil, usagef("bad %s: %w", flag, err)
			}
			return append(opts, locations.WithKeychain(kc)), nil
		case r.creds != "":
			kc, err := locations.Static(r.creds)
			if err != nil {
				return nil, usagef("bad --creds: %w", err)
			}
			return append(opts, locations.WithKeychain(kc)), nil
		case r.authfile != "":
			kc, err := locations.AuthFile(r.authfile)
			if err != nil {
				return nil, usagef("bad --authfile: %w", err)
			}
			return append(opts, locations.WithKeychain(kc)), nil
		}
		return opts, nil
	}
	if src, err = side("--src-creds", r.srcCreds); err != nil {
		return nil, nil, err
	}
	if dst, err = side("--dest-creds", r.destCreds); err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}
