package locations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An OCI image layout location: oci:DIR[:TAG]. The tag is the
// org.opencontainers.image.ref.name annotation of the image's entry in
// index.json.

const refNameAnnotation = "org.opencontainers.image.ref.name"

type layoutSource struct {
	loc Location
	o   *options
}

func (s *layoutSource) Location() Location { return s.loc }

func (s *layoutSource) Open(ctx context.Context) (*Contents, error) {
	return openLayout(ctx, s.loc, s.loc.Path, s.o)
}

// openLayout reads the image that l names from the layout in dir (l's own
// path, or where its archive was unpacked).
func openLayout(ctx context.Context, l Location, dir string, o *options) (*Contents, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.Path, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "index.json")); err == nil && fi.Size() > maxMetadataSize {
		return nil, fmt.Errorf("reading OCI layout %s: index.json of %d bytes", l.Path, fi.Size())
	}
	raw, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.Path, err)
	}
	// index.json is named by no digest; what it lists is checked against
	// the digests it gives.
	ii, err := verifyIndex(raw, nil, types.OCIImageIndex, nil, layoutSizer(dir))
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.Path, err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.Path, err)
	}
	var found []v1.Descriptor
	var tags []string
	for _, d := range im.Manifests {
		tag := d.Annotations[refNameAnnotation]
		tags = append(tags, tag)
		if l.Ref == "" || tag == l.Ref {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && l.Ref != "":
		return nil, fmt.Errorf("OCI layout %s has no image tagged %q (it has %q)", l.Path, l.Ref, tags)
	case len(found) == 0:
		return nil, fmt.Errorf("OCI layout %s holds no image", l.Path)
	case len(found) > 1:
		return nil, fmt.Errorf("OCI layout %s holds %d images: name one as %s:%s:TAG (tags: %q)", l.Path, len(found), l.Kind, l.Path, tags)
	}
	d := found[0]
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() && !d.MediaType.IsSchema1() {
		return nil, fmt.Errorf("reading %s: %s is a %s, neither an image nor an index", l, d.Digest, d.MediaType)
	}
	c := &Contents{}
	if d.MediaType.IsIndex() {
		idx, err := ii.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", l, err)
		}
		if o.platform == nil {
			if err := checkTree(idx); err != nil {
				return nil, fmt.Errorf("reading %s: %w", l, err)
			}
			c.Index = idx
			return c, nil
		}
		c.Image, err = pickPlatform(idx, *o.platform)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", l, err)
		}
		return c, nil
	}
	if c.Image, err = ii.Image(d.Digest); err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	return c, o.checkPlatform(c.Image, l)
}

type layoutTarget struct {
	loc Location
	o   *options
}

func (t *layoutTarget) Location() Location { return t.loc }
func (t *layoutTarget) Accepts(bool) error { return nil }

func (t *layoutTarget) Check(context.Context) error { return checkLayoutTarget(t.loc.Path) }

func (t *layoutTarget) WriteImage(ctx context.Context, img v1.Image) error {
	return writeLayout(ctx, t.loc.Path, t.loc.Ref, img, nil)
}

func (t *layoutTarget) WriteIndex(ctx context.Context, idx v1.ImageIndex) error {
	return writeLayout(ctx, t.loc.Path, t.loc.Ref, nil, idx)
}

// layoutSizer gives the size of a blob of the layout at dir.
func layoutSizer(dir string) blobSizer {
	return func(h v1.Hash) (int64, error) {
		fi, err := os.Lstat(filepath.Join(dir, "blobs", h.Algorithm, h.Hex))
		if err != nil {
			return 0, err
		}
		if !fi.Mode().IsRegular() {
			return 0, fmt.Errorf("blob is not a regular file")
		}
		return fi.Size(), nil
	}
}

// writeLayout adds the image (or index) to the OCI layout at dir,
// replacing the one with the same tag. A new layout is written beside dir
// and renamed into place. In an existing one, blobs are content-addressed
// and written first; index.json is then updated under a lock and replaced
// whole, so a failure leaves the old index valid and two writers adding
// tags at once both keep theirs.
func writeLayout(ctx context.Context, dir, tag string, img v1.Image, idx v1.ImageIndex) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return updateLayout(ctx, dir, tag, img, idx)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".imgslim-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := layout.Write(tmp, empty.Index); err != nil {
		return err
	}
	if err := updateLayout(ctx, tmp, tag, img, idx); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr == nil {
			// Another writer made the layout meanwhile: add to it.
			return updateLayout(ctx, dir, tag, img, idx)
		}
		return fmt.Errorf("%s exists and is not an OCI layout: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr == nil {
			return updateLayout(ctx, dir, tag, img, idx)
		}
		return err
	}
	return nil
}

// updateLayout writes the blobs of img or idx into the layout at dir, then
// lists it in index.json under tag.
func updateLayout(ctx context.Context, dir, tag string, img v1.Image, idx v1.ImageIndex) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	var d partial.Describable = img
	if idx != nil {
		d = idx
		err = p.WriteIndex(idx)
	} else {
		err = p.WriteImage(img)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	desc, err := partial.Descriptor(d)
	if err != nil {
		return err
	}
	if tag != "" {
		desc.Annotations = map[string]string{refNameAnnotation: tag}
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing %s: %w", filepath.Join(dir, "index.json"), err)
	}
	kept := im.Manifests[:0]
	for _, m := range im.Manifests {
		if tag == "" || m.Annotations[refNameAnnotation] != tag {
			kept = append(kept, m)
		}
	}
	im.Manifests = append(kept, *desc)
	if im.MediaType == "" {
		im.MediaType = types.OCIImageIndex
	}
	out, err := json.MarshalIndent(im, "", "   ")
	if err != nil {
		return err
	}
	return replaceFile(filepath.Join(dir, "index.json"), out)
}

// lockDir takes an exclusive flock on the directory dir, which every
// imgslim writing to the layout takes before it reads index.json.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// replaceFile writes b to a temporary file beside p, flushed to disk, and
// renames it over p: a reader sees the old content or the new, never a
// part.
func replaceFile(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".imgslim-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
