package locations

import (
	"context"
	"fmt"
	"os"

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
	}
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
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
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

// WriteImage pushes every blob, then the manifest under the tag, so the tag
// never names a partial image.
func (t *registryTarget) WriteImage(ctx context.Context, img v1.Image) error {
	ref, err := t.o.parseRef(t.loc.Ref)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, t.o.remoteOptions(ctx)...)
}

func (t *registryTarget) WriteIndex(ctx context.Context, idx v1.ImageIndex) error {
	ref, err := t.o.parseRef(t.loc.Ref)
	if err != nil {
		return err
	}
	return remote.WriteIndex(ref, idx, t.o.remoteOptions(ctx)...)
}
