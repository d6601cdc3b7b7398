package locations

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A docker-archive location: docker-archive:PATH[:REF].
//
// A docker-archive is what `docker save` writes: a tar holding
// manifest.json, the image configs and one tar per layer. ggcr's tarball
// package reads it too, but presents plain-tar layers as gzip by
// compressing them on the fly, so computing a manifest gzips every layer.
// Reading the archive's members in place keeps a plain layer plain: its
// blob is the tar, its digest its diff ID, and nothing is compressed unless
// the target asks for it.

type archiveSource struct {
	loc Location
	o   *options
}

func (s *archiveSource) Location() Location { return s.loc }

func (s *archiveSource) Open(ctx context.Context) (*Contents, error) {
	img, c, err := openArchive(s.loc.Path, s.loc.Ref)
	if err != nil {
		return nil, err
	}
	out := &Contents{Image: img}
	out.onClose(closerFunc(c))
	if err := s.o.checkPlatform(img, s.loc); err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

type archiveTarget struct {
	loc Location
	o   *options
	ref name.Reference // the name the archive gives the image; nil for none
}

func newArchiveTarget(l Location, o *options) (*archiveTarget, error) {
	t := &archiveTarget{loc: l, o: o}
	if l.Ref != "" {
		tag, err := name.NewTag(l.Ref)
		if err != nil {
			return nil, fmt.Errorf("bad reference %q: %w", l.Ref, err)
		}
		t.ref = tag
	}
	return t, nil
}

func (t *archiveTarget) Location() Location       { return t.loc }
func (t *archiveTarget) Accepts(index bool) error { return onePlatform(t.loc, index) }

func (t *archiveTarget) WriteIndex(context.Context, v1.ImageIndex) error {
	return onePlatform(t.loc, true)
}

func (t *archiveTarget) WriteImage(ctx context.Context, img v1.Image) error {
	return writeFile(t.loc.Path, func(f *os.File) error {
		ref := t.ref
		if ref == nil {
			// No name: the archive's RepoTags stay empty, as with
			// `docker save IMAGE_ID`.
			d, err := img.Digest()
			if err != nil {
				return err
			}
			if ref, err = name.NewDigest("imgslim@" + d.String()); err != nil {
				return err
			}
		}
		return tarball.Write(ref, img, &ctxWriter{ctx: ctx, w: f})
	})
}

type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// member is a file inside the archive.
type member struct{ off, size int64 }

// openArchive reads the image that ref names in the docker-archive at p, or
// its only image when ref is empty.
func openArchive(p, ref string) (v1.Image, io.Closer, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	img, err := readArchive(f, p, ref)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return img, f, nil
}

func readArchive(f *os.File, p, ref string) (v1.Image, error) {
	members := map[string]member{}
	cr := &offsetReader{r: f}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not a docker-archive: %w", p, err)
		}
		if h.Typeflag == tar.TypeReg {
			// The tar reader has consumed the header and nothing of the
			// content, so the content starts here.
			members[path.Clean(h.Name)] = member{off: cr.n, size: h.Size}
		}
	}
	read := func(n string) ([]byte, error) {
		m, ok := members[path.Clean(n)]
		if !ok {
			return nil, fmt.Errorf("%s has no %s", p, n)
		}
		b := make([]byte, m.size)
		_, err := f.ReadAt(b, m.off)
		return b, err
	}
	raw, err := read("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker-archive: %w", p, err)
	}
	var ms []archiveManifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("parsing manifest.json of %s: %w", p, err)
	}
	chosen, err := chooseArchiveImage(ms, p, ref)
	if err != nil {
		return nil, err
	}
	cfgRaw, err := read(chosen.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("parsing config of %s: %w", p, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(chosen.Layers) {
		return nil, fmt.Errorf("%s: config lists %d layers, manifest.json %d", p, len(cfg.RootFS.DiffIDs), len(chosen.Layers))
	}
	img := &archiveImage{config: cfgRaw, layers: map[v1.Hash]*archiveLayer{}}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, err
	}
	img.manifest = &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: cfgSize, Digest: cfgDigest},
	}
	for i, lp := range chosen.Layers {
		m, ok := members[path.Clean(lp)]
		if !ok {
			return nil, fmt.Errorf("%s has no layer %s", p, lp)
		}
		l := &archiveLayer{f: f, m: m, digest: cfg.RootFS.DiffIDs[i], mediaType: types.DockerUncompressedLayer}
		magic := make([]byte, 2)
		if _, err := f.ReadAt(magic, m.off); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
			// A compressed member's digest is not in the config: hash it.
			l.mediaType = types.DockerLayer
			if l.digest, _, err = v1.SHA256(io.NewSectionReader(f, m.off, m.size)); err != nil {
				return nil, fmt.Errorf("reading %s in %s: %w", lp, p, err)
			}
		}
		img.layers[l.digest] = l
		img.manifest.Layers = append(img.manifest.Layers, v1.Descriptor{MediaType: l.mediaType, Size: m.size, Digest: l.digest})
	}
	return partial.CompressedToImage(img)
}

func chooseArchiveImage(ms []archiveManifest, p, ref string) (archiveManifest, error) {
	if ref == "" {
		if len(ms) != 1 {
			return archiveManifest{}, fmt.Errorf("%s holds %d images: name one as docker-archive:%s:REF", p, len(ms), p)
		}
		return ms[0], nil
	}
	want, err := name.ParseReference(ref)
	if err != nil {
		return archiveManifest{}, fmt.Errorf("bad reference %q: %w", ref, err)
	}
	for _, m := range ms {
		for _, t := range m.RepoTags {
			if got, err := name.ParseReference(t); err == nil && got.Name() == want.Name() {
				return m, nil
			}
		}
	}
	return archiveManifest{}, fmt.Errorf("%s holds no image %s", p, ref)
}

type offsetReader struct {
	r io.Reader
	n int64
}

func (o *offsetReader) Read(b []byte) (int, error) {
	n, err := o.r.Read(b)
	o.n += int64(n)
	return n, err
}

type archiveImage struct {
	config   []byte
	manifest *v1.Manifest
	layers   map[v1.Hash]*archiveLayer
}

func (i *archiveImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *archiveImage) MediaType() (types.MediaType, error) { return i.manifest.MediaType, nil }
func (i *archiveImage) RawManifest() ([]byte, error)        { return json.Marshal(i.manifest) }
func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no layer %s in archive", h)
}

type archiveLayer struct {
	f         *os.File
	m         member
	digest    v1.Hash
	mediaType types.MediaType
}

func (l *archiveLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *archiveLayer) Size() (int64, error)                { return l.m.size, nil }
func (l *archiveLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed returns the member as stored. It is not hashed here: every
// blob the plan reads goes through layers.Open, which checks it against its
// digest, so a corrupt archive fails there before anything is written.
func (l *archiveLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(l.f, l.m.off, l.m.size)), nil
}
