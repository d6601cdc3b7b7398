package main

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/locations"
)

// openBase opens --onto's BASE: one image, or the image of the source's
// platform in an index. The caller closes it.
func openBase(ctx context.Context, arg string, src locations.Location, img v1.Image, srcOpts []locations.Option) (*locations.Contents, error) {
	l, err := locations.Parse(arg)
	if err != nil {
		return nil, usagef("bad --onto: %w", err)
	}
	if l.Same(src) {
		return nil, usagef("--onto %s is the source", l)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the source's config: %w", err)
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	source, err := locations.NewSource(ctx, l, append(srcOpts, locations.WithPlatform(p))...)
	if err != nil {
		return nil, fmt.Errorf("--onto %s: %w", l, err)
	}
	s, err := source.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("--onto %s: %w", l, err)
	}
	if s.Image == nil {
		s.Close()
		return nil, fmt.Errorf("--onto %s: no image of %s in it", l, p.String())
	}
	return s, nil
}

// scratchOrOnto makes the --scratch image: on an empty image, or on base
// with --onto.
func scratchOrOnto(img, base v1.Image, opts []slim.ScratchOption) (v1.Image, *slim.ScratchReport, *slim.OntoSection, error) {
	if base == nil {
		out, r, err := slim.Scratch(img, opts...)
		return out, r, nil, err
	}
	return slim.Onto(img, base, opts...)
}
