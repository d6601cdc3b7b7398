package locations

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1"
)

// An oci-archive location: oci-archive:PATH[:TAG], a tar of an OCI image
// layout.

type ociArchiveSource struct {
	loc Location
	o   *options
}

func (s *ociArchiveSource) Location() Location { return s.loc }

func (s *ociArchiveSource) Open(ctx context.Context) (*Contents, error) {
	dir, err := os.MkdirTemp(s.o.workDir, "oci-archive-*")
	if err != nil {
		return nil, err
	}
	if err := extractReferenced(ctx, s.loc.Path, s.loc.Ref, dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("reading oci-archive %s: %w", s.loc.Path, err)
	}
	c, err := openLayout(ctx, s.loc, dir, s.o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.onClose(func() error { return os.RemoveAll(dir) })
	return c, nil
}

type ociArchiveTarget struct {
	loc Location
	o   *options
}

func (t *ociArchiveTarget) Location() Location { return t.loc }
func (t *ociArchiveTarget) Accepts(bool) error { return nil }

func (t *ociArchiveTarget) Check(context.Context) error { return t.o.checkArchiveTarget(t.loc) }

func (t *ociArchiveTarget) WriteImage(ctx context.Context, img v1.Image) error {
	return t.write(ctx, img, nil)
}

func (t *ociArchiveTarget) WriteIndex(ctx context.Context, idx v1.ImageIndex) error {
	return t.write(ctx, nil, idx)
}

// write builds the layout in a temporary directory and tars it.
func (t *ociArchiveTarget) write(ctx context.Context, img v1.Image, idx v1.ImageIndex) error {
	return t.o.writeArchive(t.loc, func(f io.Writer) error {
		dir, err := os.MkdirTemp(t.o.workDir, "oci-out-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := writeLayout(ctx, filepath.Join(dir, "layout"), t.loc.Ref, img, idx); err != nil {
			return err
		}
		if err := tarDir(ctx, filepath.Join(dir, "layout"), f); err != nil {
			return err
		}
		return ctx.Err() // a signal during the copy is honoured up to the rename
	})
}

// extractReferenced unpacks, from the oci-archive at p, the blobs that
// the images tagged tag (every image when tag is "") reference, and
// index.json: a blob nothing references is never written to disk.
// Manifests and indexes are checked against their digests as they are
// read, since their children are found through them.
func extractReferenced(ctx context.Context, p, tag, dir string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	members, err := tarMembers(f)
	if err != nil {
		return err
	}
	raw, err := readMember(f, members, p, "index.json")
	if err != nil {
		return err
	}
	top, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing index.json: %w", err)
	}
	blob := func(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }
	wanted := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor, depth int) error
	walk = func(d v1.Descriptor, depth int) error {
		if wanted[d.Digest] {
			return nil
		}
		if depth > maxIndexDepth {
			return fmt.Errorf("index %s: indexes nested more than %d deep", d.Digest, maxIndexDepth)
		}
		wanted[d.Digest] = true
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return nil
		}
		b, err := readMember(f, members, p, blob(d.Digest))
		if err != nil {
			return err
		}
		if err := checkDigest(string(d.MediaType), b, d.Digest); err != nil {
			return err
		}
		var children []v1.Descriptor
		if d.MediaType.IsIndex() {
			im, err := v1.ParseIndexManifest(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("parsing index %s: %w", d.Digest, err)
			}
			children = im.Manifests
		} else {
			m, err := v1.ParseManifest(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("parsing manifest %s: %w", d.Digest, err)
			}
			children = append([]v1.Descriptor{m.Config}, m.Layers...)
		}
		for _, c := range children {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range top.Manifests {
		if tag == "" || d.Annotations[refNameAnnotation] == tag {
			if err := walk(d, 0); err != nil {
				return err
			}
		}
	}
	names := []string{"index.json", "oci-layout"}
	for h := range wanted {
		// A layer a manifest lists but the archive lacks is reported when
		// it is read, as for a layout.
		if _, ok := members[blob(h)]; ok {
			names = append(names, blob(h))
		}
	}
	slices.Sort(names)
	for _, n := range names {
		m, ok := members[n]
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(&ctxWriter{ctx: ctx, w: out}, io.NewSectionReader(f, m.off, m.size)); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	return nil
}

// tarDir writes the files under dir as a tar, in a fixed order.
func tarDir(ctx context.Context, dir string, w io.Writer) error {
	tw := tar.NewWriter(&ctxWriter{ctx: ctx, w: w})
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
