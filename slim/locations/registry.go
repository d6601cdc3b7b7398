package locations

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/cache"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A registry location: docker://REF.

func (o *options) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithJobs(o.jobs),
		remote.WithUserAgent("imgslim"),
		remote.WithTransport(o.rt),
		remote.WithRetryBackoff(retryBackoff),
	}
}

// retryBackoff is go-containerregistry's own: a request that failed
// transiently (5xx, reset) is tried again after 1 s, then 3 s.
var retryBackoff = remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3}

// ErrCredentialsRefused and ErrNoCredentials are wrapped by the errors of a
// registry that answered 401: with credentials, it refused them; without,
// it wants some.
var (
	ErrCredentialsRefused = errors.New("registry refused the credentials")
	ErrNoCredentials      = errors.New("no credentials found")
)

// authError says what a 401 or 403 from the registry of ref means, naming
// whether credentials were sent. Other errors are returned as they are.
func (o *options) authError(err error, ref name.Reference) error {
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized && te.StatusCode != http.StatusForbidden {
		return err
	}
	reg := ref.Context().RegistryStr()
	auth, kerr := o.keychain.Resolve(ref.Context())
	anonymous := kerr == nil && auth == authn.Anonymous
	switch {
	case te.StatusCode == http.StatusForbidden && !anonymous:
		return fmt.Errorf("the registry %s denied access to %s to the credentials given: %w", reg, ref.Context(), err)
	case anonymous:
		return fmt.Errorf("%w for %s, which asks for them (docker login %s): %w", ErrNoCredentials, reg, reg, err)
	}
	return fmt.Errorf("%s: the %w (wrong user or password?): %w", reg, ErrCredentialsRefused, err)
}

type registrySource struct {
	loc Location
	o   *options
}

func (s *registrySource) Location() Location { return s.loc }

func (s *registrySource) Open(ctx context.Context) (*Contents, error) {
	ref, err := s.o.parseRef(s.loc.Ref)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, s.o.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.loc, s.o.authError(err, ref))
	}
	// A manifest asked for by digest was checked against it by
	// remote.Get, and children are fetched by digest and checked; what a
	// manifest references is checked here.
	c := &Contents{}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
		vi, err := verifyIndex(idx, &desc.Digest, desc.MediaType, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
		if s.o.platform == nil {
			if err := checkTree(vi); err != nil {
				return nil, fmt.Errorf("reading %s: %w", s.loc, err)
			}
			c.Index = vi
			return c, nil
		}
		if img, err = pickPlatform(vi, *s.o.platform); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
	} else {
		raw, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
		if img, err = verifyImage(raw, &desc.Digest, desc.MediaType, nil); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
		if err := s.o.checkPlatform(img, s.loc); err != nil {
			return nil, err
		}
	}
	c.Image = img
	if s.o.layerCache {
		// A layer that loses nothing is read again to be written to
		// the target: keep the blobs of the first read on disk rather
		// than download them twice. (Rewritten layers are read back from
		// the plan's spool, and a push to the source's registry uploads
		// nothing for an unchanged layer.)
		dir, err := os.MkdirTemp(s.o.workDir, "cache-*")
		if err != nil {
			return nil, err
		}
		c.onClose(func() error { return os.RemoveAll(dir) })
		c.Image = cache.Image(img, cache.NewFilesystemCache(dir))
	}
	return c, nil
}

type registryTarget struct {
	loc Location
	o   *options
}

func (t *registryTarget) Location() Location { return t.loc }
func (t *registryTarget) Accepts(bool) error { return nil }

// Check starts, and cancels, a blob upload: the one request that shows
// whether the credentials are accepted and may push to the repository
// (a token for the push scope alone is not enough on Docker Hub).
func (t *registryTarget) Check(ctx context.Context) error {
	ref, err := t.o.parseRef(t.loc.Ref)
	if err != nil {
		return err
	}
	repo := ref.Context()
	auth, err := authn.Resolve(ctx, t.o.keychain, repo)
	if err != nil {
		return fmt.Errorf("finding credentials for %s: %w", repo.RegistryStr(), err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, t.o.rt, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return t.o.authError(err, ref)
	}
	client := &http.Client{Transport: rt}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return t.o.authError(err, ref)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return t.o.authError(err, ref)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		// Cancelling frees what the registry reserved; it may not
		// support it, which changes nothing.
		if lu, err := u.Parse(loc); err == nil {
			if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, lu.String(), nil); err == nil {
				if r, err := client.Do(del); err == nil {
					r.Body.Close()
				}
			}
		}
	}
	return nil
}

// WriteImage pushes every blob, then the manifest under the tag, so the tag
// never names a partial image.
func (t *registryTarget) WriteImage(ctx context.Context, img v1.Image) error {
	ref, err := t.o.parseRef(t.loc.Ref)
	if err != nil {
		return err
	}
	return t.o.authError(remote.Write(ref, img, t.o.remoteOptions(ctx)...), ref)
}

func (t *registryTarget) WriteIndex(ctx context.Context, idx v1.ImageIndex) error {
	ref, err := t.o.parseRef(t.loc.Ref)
	if err != nil {
		return err
	}
	return t.o.authError(remote.WriteIndex(ref, idx, t.o.remoteOptions(ctx)...), ref)
}
