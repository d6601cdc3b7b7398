package locations

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Target is a place an image is written to. Whatever the kind, nothing
// appears at the target until the whole image is there.
type Target interface {
	// Location is where the target writes, its kind resolved.
	Location() Location
	// Accepts refuses, before any work, what the target cannot hold: an
	// index in a place that holds one platform.
	Accepts(index bool) error
	// Check finds out, before any work, whether the target can be
	// written: the credentials a registry accepts for a push, a file's
	// directory that is writable, a path that is not a device.
	Check(ctx context.Context) error
	// WriteImage stores img.
	WriteImage(ctx context.Context, img v1.Image) error
	// WriteIndex stores idx and every image it holds.
	WriteIndex(ctx context.Context, idx v1.ImageIndex) error
}

// NewTarget gives the target at l. A bare reference is a place of the
// source's kind when that is a registry or the daemon; for a file source it
// is an error, which names what to write instead. The errors of NewTarget
// are all mistakes in l.
func NewTarget(l, src Location, opts ...Option) (Target, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if l.Kind == Bare {
		switch src.Kind {
		case Registry, Daemon:
			l.Kind = src.Kind
		default:
			return nil, fmt.Errorf("target %q: a %s source has no default place; write docker://%s, docker-daemon:%s or a file location", l.raw, src.Kind, l.Ref, l.Ref)
		}
	}
	switch l.Kind {
	case Registry:
		if _, err := name.ParseReference(l.Ref); err != nil {
			return nil, fmt.Errorf("bad image reference %q: %w", l.Ref, err)
		}
		return &registryTarget{loc: l, o: o}, nil
	case Daemon:
		if _, err := name.ParseReference(l.Ref); err != nil {
			return nil, fmt.Errorf("bad image reference %q: %w", l.Ref, err)
		}
		tag, err := name.NewTag(l.Ref)
		if err != nil {
			return nil, fmt.Errorf("target %s needs a tag: %w", l, err)
		}
		return &daemonTarget{loc: l, o: o, tag: tag}, nil
	case DockerArchive:
		return newArchiveTarget(l, o)
	case OCILayout:
		return &layoutTarget{loc: l, o: o}, nil
	case OCIArchive:
		return &ociArchiveTarget{loc: l, o: o}, nil
	}
	return nil, fmt.Errorf("unknown location kind %q", l.Kind)
}

// onePlatform is Accepts for the targets that hold a single image.
func onePlatform(l Location, index bool) error {
	if index {
		return fmt.Errorf("%s holds one platform and the source is a multi-platform index", l)
	}
	return nil
}

// PlainLayers reports whether rewritten layers of src should be stored at
// dst as plain tars. A daemon or docker-archive stores plain tars:
// compressing rewritten layers for them would be work the loader undoes.
// But untouched layers are copied as they are, and an archive that mixes
// plain and gzip members is misread by readers that look at its first
// layer only (go-containerregistry's tarball): a docker-archive gets plain
// tars only when the source's layers are plain.
func PlainLayers(dst Location, src v1.Image) bool {
	switch dst.Kind {
	case Daemon:
		return true
	case DockerArchive:
		return src != nil && plainLayers(src)
	}
	return false
}

// plainLayers reports whether every layer of img is stored as a plain tar.
func plainLayers(img v1.Image) bool {
	m, err := img.Manifest()
	if err != nil {
		return false
	}
	for _, l := range m.Layers {
		switch l.MediaType {
		case types.DockerUncompressedLayer, types.OCIUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		default:
			return false
		}
	}
	return true
}
