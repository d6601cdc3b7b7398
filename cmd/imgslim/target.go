package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// resolveTarget gives a bare target the kind of place the source came from.
func resolveTarget(t, src location) (location, error) {
	if t.kind != "" {
		return t, nil
	}
	switch src.kind {
	case kindRegistry, kindDaemon:
		t.kind = src.kind
		return t, nil
	}
	return t, fmt.Errorf("target %q: a %s source has no default place; write docker://%s, docker-daemon:%s or a file location", t.raw, src.kind, t.ref, t.ref)
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

// checkTarget refuses, before any work, what cannot be written.
func checkTarget(t location, multi bool) error {
	switch t.kind {
	case kindDaemon, kindArchive:
		if multi {
			return fmt.Errorf("%s holds one platform and the source is a multi-platform index: pick one with --platform", t)
		}
	}
	if t.kind == kindDaemon || t.kind == kindRegistry {
		if _, err := name.ParseReference(t.ref); err != nil {
			return fmt.Errorf("bad image reference %q: %w", t.ref, err)
		}
	}
	if t.kind == kindDaemon {
		if _, err := name.NewTag(t.ref); err != nil {
			return fmt.Errorf("target %s needs a tag: %w", t, err)
		}
	}
	return nil
}

// write stores the result at t. Whatever the kind, nothing appears at the
// target until the whole image is there: files and layouts are written
// under a temporary name and renamed, a registry tag is pushed after every
// blob, and the daemon tags an image only once it has loaded it whole.
func (e *env) write(t location, img v1.Image, idx v1.ImageIndex) error {
	switch t.kind {
	case kindRegistry:
		ref, err := e.parseRef(t.ref)
		if err != nil {
			return err
		}
		if idx != nil {
			return remote.WriteIndex(ref, idx, e.remoteOptions()...)
		}
		return remote.Write(ref, img, e.remoteOptions()...)
	case kindDaemon:
		tag, err := name.NewTag(t.ref)
		if err != nil {
			return fmt.Errorf("target %s needs a tag: %w", t, err)
		}
		_, err = daemon.Write(tag, img, daemon.WithContext(e.ctx))
		return err
	case kindArchive:
		return atomicFile(t.path, func(f *os.File) error {
			var ref name.Reference
			var err error
			if t.ref != "" {
				ref, err = name.NewTag(t.ref)
			} else {
				// No name: the archive's RepoTags stay empty, as with
				// `docker save IMAGE_ID`.
				var d v1.Hash
				if d, err = img.Digest(); err == nil {
					ref, err = name.NewDigest("imgslim@" + d.String())
				}
			}
			if err != nil {
				return fmt.Errorf("bad reference %q: %w", t.ref, err)
			}
			return tarball.Write(ref, img, f)
		})
	case kindOCI:
		return e.writeLayout(t.path, t.ref, img, idx)
	case kindOCIArch:
		return atomicFile(t.path, func(f *os.File) error {
			dir, err := os.MkdirTemp(e.workDir, "oci-out-*")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := e.writeLayout(filepath.Join(dir, "layout"), t.ref, img, idx); err != nil {
				return err
			}
			return tarDir(filepath.Join(dir, "layout"), f)
		})
	}
	return fmt.Errorf("unknown location kind %q", t.kind)
}

// writeLayout adds the image to the OCI layout at dir, replacing the one
// with the same tag. A new layout is written beside dir and renamed into
// place; in an existing one, blobs are content-addressed and index.json is
// rewritten last, so a failure leaves the old index valid.
func (e *env) writeLayout(dir, tag string, img v1.Image, idx v1.ImageIndex) error {
	var opts []layout.Option
	var matcher match.Matcher = func(v1.Descriptor) bool { return false }
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
		matcher = match.Annotation(refNameAnnotation, tag)
	}
	put := func(p layout.Path) error {
		if idx != nil {
			return p.ReplaceIndex(idx, matcher, opts...)
		}
		return p.ReplaceImage(img, matcher, opts...)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		p, err := layout.FromPath(dir)
		if err != nil {
			return err
		}
		return put(p)
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
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := put(p); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists and is not an OCI layout: %w", dir, err)
	}
	return os.Rename(tmp, dir)
}

// atomicFile writes a file through a temporary one in the same directory,
// renamed over path only when write succeeded.
func atomicFile(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".imgslim-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// tarDir writes the files under dir as a tar, in a fixed order.
func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
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
