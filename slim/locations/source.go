package locations

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Source is a place an image is read from.
type Source interface {
	// Location is where the source reads, its kind resolved.
	Location() Location
	// Open reads the image, or the index when the location holds
	// several platforms and no platform was chosen (WithPlatform). The
	// caller closes what it gets.
	Open(ctx context.Context) (*Contents, error)
}

// Contents is an opened image: one image, or an index of several.
type Contents struct {
	Image v1.Image      // nil when Index is set
	Index v1.ImageIndex // nil when Image is set

	closers []func() error
}

// Close releases the files the contents are read from and removes the
// temporary ones.
func (c *Contents) Close() error {
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = append(errs, c.closers[i]())
	}
	c.closers = nil
	return errors.Join(errs...)
}

func (c *Contents) onClose(f func() error) { c.closers = append(c.closers, f) }

func closerFunc(c io.Closer) func() error { return c.Close }

// NewSource gives the source at l. A bare reference reads from the
// daemon when it is reachable and holds the image, else from the registry:
// finding out asks the daemon, hence ctx.
func NewSource(ctx context.Context, l Location, opts ...Option) (Source, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	switch l.Kind {
	case Bare:
		if c, err := o.daemonClient(); err == nil {
			_, err := c.ImageInspect(ctx, l.Ref)
			if err == nil {
				l.Kind = Daemon
				return &daemonSource{loc: l, o: o}, nil
			}
		}
		l.Kind = Registry
		return &registrySource{loc: l, o: o}, nil
	case Registry:
		return &registrySource{loc: l, o: o}, nil
	case Daemon:
		return &daemonSource{loc: l, o: o}, nil
	case DockerArchive:
		return &archiveSource{loc: l, o: o}, nil
	case OCILayout:
		return &layoutSource{loc: l, o: o}, nil
	case OCIArchive:
		return &ociArchiveSource{loc: l, o: o}, nil
	}
	return nil, fmt.Errorf("unknown location kind %q", l.Kind)
}

// checkPlatform refuses an image that is not of the platform asked for.
func (o *options) checkPlatform(img v1.Image, l Location) error {
	if o.platform == nil {
		return nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config of %s: %w", l, err)
	}
	if p := cfg.Platform(); p != nil && !p.Satisfies(*o.platform) {
		return fmt.Errorf("%s is %s, not %s", l, p, o.platform)
	}
	return nil
}

// pickPlatform finds the image for want in idx or the indexes it nests
// (whose depth the verified index bounds).
func pickPlatform(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	img, err := findPlatform(idx, want)
	if err == nil && img == nil {
		err = fmt.Errorf("no image for platform %s", want.String())
	}
	return img, err
}

func findPlatform(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage() && d.Platform != nil && d.Platform.Satisfies(want):
			return idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := findPlatform(child, want); img != nil || err != nil {
				return img, err
			}
		}
	}
	return nil, nil
}
