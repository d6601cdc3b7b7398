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
	opts := s.o.remoteOptions(ctx)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	c := &Contents{}
	if desc.MediaType.IsIndex() && s.o.platform == nil {
		if c.Index, err = desc.ImageIndex(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.loc, err)
		}
		return c, nil
	}
	if s.o.platform != nil {
		opts = append(opts, remote.WithPlatform(*s.o.platform))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.loc, err)
	}
	if err := s.o.checkPlatform(img, s.loc); err != nil {
		return nil, err
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
