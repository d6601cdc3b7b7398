package locations

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	if err := untar(ctx, s.loc.Path, dir); err != nil {
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

func (t *ociArchiveTarget) WriteImage(ctx context.Context, img v1.Image) error {
	return t.write(ctx, img, nil)
}

func (t *ociArchiveTarget) WriteIndex(ctx context.Context, idx v1.ImageIndex) error {
	return t.write(ctx, nil, idx)
}

// write builds the layout in a temporary directory and tars it.
func (t *ociArchiveTarget) write(ctx context.Context, img v1.Image, idx v1.ImageIndex) error {
	return writeFile(t.loc.Path, func(f *os.File) error {
		dir, err := os.MkdirTemp(t.o.workDir, "oci-out-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := writeLayout(ctx, filepath.Join(dir, "layout"), t.loc.Ref, img, idx); err != nil {
			return err
		}
		return tarDir(ctx, filepath.Join(dir, "layout"), f)
	})
}

// untar unpacks an oci-archive. Only regular files and directories are
// written, and only inside dir: an entry that names a path outside it is an
// error, never followed.
func untar(ctx context.Context, archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.Clean(h.Name)
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("entry %q escapes the archive", h.Name)
		}
		target := filepath.Join(dir, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(&ctxWriter{ctx: ctx, w: out}, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
	}
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
