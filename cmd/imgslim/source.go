package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/cache"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// source is an opened image: one image, or an index of several.
type source struct {
	loc     location // with kind resolved
	img     v1.Image
	idx     v1.ImageIndex
	closers []io.Closer
}

func (s *source) Close() {
	for _, c := range s.closers {
		c.Close()
	}
}

// env is what opening and writing locations need.
type env struct {
	ctx      context.Context
	insecure bool
	platform *v1.Platform
	workDir  string
	jobs     int
	// sameRegistry is set when the source and the target are in one
	// registry, which already holds every blob the output keeps.
	sameRegistry bool
}

func (e *env) parseRef(ref string) (name.Reference, error) {
	var opts []name.Option
	if e.insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("bad image reference %q: %w", ref, err)
	}
	return r, nil
}

func (e *env) remoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithContext(e.ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithJobs(e.jobs),
		remote.WithUserAgent("imgslim"),
	}
}

func dockerClient() (*client.Client, error) {
	return client.New(client.FromEnv)
}

// open reads the image at l. A bare reference reads from the local daemon
// when it is reachable and holds the image, else from the registry.
func (e *env) open(l location) (*source, error) {
	switch l.kind {
	case "":
		if c, err := dockerClient(); err == nil {
			_, err := c.ImageInspect(e.ctx, l.ref)
			c.Close()
			if err == nil {
				l.kind = kindDaemon
				return e.open(l)
			}
		}
		l.kind = kindRegistry
		return e.open(l)
	case kindRegistry:
		return e.openRegistry(l)
	case kindDaemon:
		return e.openDaemon(l)
	case kindArchive:
		img, c, err := openArchive(l.path, l.ref)
		if err != nil {
			return nil, err
		}
		return &source{loc: l, img: img, closers: []io.Closer{c}}, nil
	case kindOCI:
		return e.openLayout(l, l.path)
	case kindOCIArch:
		dir, err := os.MkdirTemp(e.workDir, "oci-archive-*")
		if err != nil {
			return nil, err
		}
		if err := untar(l.path, dir); err != nil {
			return nil, fmt.Errorf("reading oci-archive %s: %w", l.path, err)
		}
		return e.openLayout(l, dir)
	}
	return nil, fmt.Errorf("unknown location kind %q", l.kind)
}

func (e *env) openRegistry(l location) (*source, error) {
	ref, err := e.parseRef(l.ref)
	if err != nil {
		return nil, err
	}
	opts := e.remoteOptions()
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	s := &source{loc: l}
	if desc.MediaType.IsIndex() && e.platform == nil {
		if s.idx, err = desc.ImageIndex(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", l, err)
		}
		return s, nil
	}
	if e.platform != nil {
		opts = append(opts, remote.WithPlatform(*e.platform))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	if err := e.checkPlatform(img, l); err != nil {
		return nil, err
	}
	s.img = img
	if !e.sameRegistry {
		// A layer that loses nothing is read again to be written to
		// the target: keep the blobs of the first read on disk rather
		// than download them twice. (Rewritten layers are read back from
		// the plan's spool, and a push to the source's registry uploads
		// nothing for an unchanged layer.)
		dir, err := os.MkdirTemp(e.workDir, "cache-*")
		if err != nil {
			return nil, err
		}
		s.img = cache.Image(img, cache.NewFilesystemCache(dir))
	}
	return s, nil
}

func (e *env) checkPlatform(img v1.Image, l location) error {
	if e.platform == nil {
		return nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config of %s: %w", l, err)
	}
	if p := cfg.Platform(); p != nil && !p.Satisfies(*e.platform) {
		return fmt.Errorf("%s is %s, not %s", l, p, e.platform)
	}
	return nil
}

// openDaemon saves the image from the daemon into a file once and reads it
// as a docker-archive: ggcr's daemon.Image would rebuild the config from the
// API (losing history) and compress every layer to compute digests.
func (e *env) openDaemon(l location) (*source, error) {
	ref, err := e.parseRef(l.ref)
	if err != nil {
		return nil, err
	}
	c, err := dockerClient()
	if err != nil {
		return nil, fmt.Errorf("connecting to the docker daemon: %w", err)
	}
	defer c.Close()
	if _, err := c.ImageInspect(e.ctx, ref.Name()); err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	rc, err := c.ImageSave(e.ctx, []string{ref.Name()})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(e.workDir, "docker-save-*.tar")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	img, closer, err := openArchive(f.Name(), "")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	if err := e.checkPlatform(img, l); err != nil {
		closer.Close()
		return nil, err
	}
	return &source{loc: l, img: img, closers: []io.Closer{closer}}, nil
}

const refNameAnnotation = "org.opencontainers.image.ref.name"

func (e *env) openLayout(l location, dir string) (*source, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.path, err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.path, err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", l.path, err)
	}
	var found []v1.Descriptor
	var tags []string
	for _, d := range im.Manifests {
		tag := d.Annotations[refNameAnnotation]
		tags = append(tags, tag)
		if l.ref == "" || tag == l.ref {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && l.ref != "":
		return nil, fmt.Errorf("OCI layout %s has no image tagged %q (it has %q)", l.path, l.ref, tags)
	case len(found) == 0:
		return nil, fmt.Errorf("OCI layout %s holds no image", l.path)
	case len(found) > 1:
		return nil, fmt.Errorf("OCI layout %s holds %d images: name one as %s:%s:TAG (tags: %q)", l.path, len(found), l.kind, l.path, tags)
	}
	d := found[0]
	s := &source{loc: l}
	if d.MediaType.IsIndex() {
		idx, err := ii.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", l, err)
		}
		if e.platform == nil {
			s.idx = idx
			return s, nil
		}
		s.img, err = pickPlatform(idx, *e.platform)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", l, err)
		}
		return s, nil
	}
	if s.img, err = ii.Image(d.Digest); err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	return s, e.checkPlatform(s.img, l)
}

func pickPlatform(idx v1.ImageIndex, want v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(want) && d.MediaType.IsImage() {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no image for platform %s", want.String())
}

// untar unpacks an oci-archive. Only regular files and directories are
// written, and only inside dir: an entry that names a path outside it is an
// error, never followed.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
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
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
	}
}
