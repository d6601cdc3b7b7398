package locations

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
)

// Option configures sources and targets.
type Option func(*options) error

type options struct {
	insecure   bool
	platform   *v1.Platform
	workDir    string
	jobs       int
	keychain   authn.Keychain
	daemon     DaemonClient
	layerCache bool
	timeout    time.Duration
	rt         http.RoundTripper
	stdout     io.Writer
	tls        *tls.Config
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{jobs: 4, keychain: authn.DefaultKeychain, layerCache: true, timeout: DefaultTimeout}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	o.rt = newTransport(o.timeout, o.tls)
	return o, nil
}

// WithCertDir trusts the certificates of dir as skopeo's --cert-dir does:
// *.crt files are CA certificates added to the system's, each *.cert with
// its *.key is a client certificate.
func WithCertDir(dir string) Option {
	return func(o *options) error {
		cfg, err := certDirConfig(dir, o.tlsConfig())
		if err != nil {
			return err
		}
		o.tls = cfg
		return nil
	}
}

// WithoutTLSVerify accepts any certificate a registry presents over HTTPS
// (skopeo's --tls-verify=false). Unlike WithInsecure, it never falls back
// to plain HTTP.
func WithoutTLSVerify() Option {
	return func(o *options) error {
		o.tls = o.tlsConfig()
		o.tls.InsecureSkipVerify = true
		return nil
	}
}

func (o *options) tlsConfig() *tls.Config {
	if o.tls != nil {
		return o.tls
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// WithStdout is where an archive target named "-" is written.
func WithStdout(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return fmt.Errorf("nil stdout")
		}
		o.stdout = w
		return nil
	}
}

// WithTimeout sets how long a registry request may wait for a connection
// or go without sending or receiving a byte (default DefaultTimeout). A
// download that stalls or breaks is resumed where it stopped before the
// connection is reported lost.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("timeout: got %s, want a positive duration", d)
		}
		o.timeout = d
		return nil
	}
}

// WithInsecure allows plain-HTTP registries.
func WithInsecure() Option {
	return func(o *options) error { o.insecure = true; return nil }
}

// WithPlatform picks the image of one platform from a multi-platform
// index, and refuses a single image of another platform.
func WithPlatform(p v1.Platform) Option {
	return func(o *options) error { o.platform = &p; return nil }
}

// WithWorkDir puts the temporary files of sources and targets (a daemon's
// saved image, an unpacked oci-archive, downloaded layers) under dir
// rather than the system's temporary directory.
func WithWorkDir(dir string) Option {
	return func(o *options) error { o.workDir = dir; return nil }
}

// WithJobs sets how many blobs a registry source or target transfers at
// once.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs: got %d, want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithKeychain sets where registry credentials come from (default: the
// Docker config and its credential helpers).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return fmt.Errorf("nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithDockerClient sets the client of the daemon locations (default: one
// configured from the environment, as the docker CLI is).
func WithDockerClient(c DaemonClient) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("nil docker client")
		}
		o.daemon = c
		return nil
	}
}

// WithoutLayerCache keeps no copy of the layers a registry source
// downloads. By default they are kept on disk, because a layer that loses
// nothing is read a second time to be written to the target; when the
// target is in the source's registry, the push mounts such a layer and
// reads nothing (see SameRegistry).
func WithoutLayerCache() Option {
	return func(o *options) error { o.layerCache = false; return nil }
}

func (o *options) parseRef(ref string) (name.Reference, error) {
	var opts []name.Option
	if o.insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("bad image reference %q: %w", ref, err)
	}
	return r, nil
}
