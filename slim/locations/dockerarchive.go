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
	"slices"
	"strings"

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

func (t *archiveTarget) Check(context.Context) error { return t.o.checkArchiveTarget(t.loc) }

func (t *archiveTarget) WriteIndex(context.Context, v1.ImageIndex) error {
	return onePlatform(t.loc, true)
}

func (t *archiveTarget) WriteImage(ctx context.Context, img v1.Image) error {
	return t.o.writeArchive(t.loc, func(f io.Writer) error {
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
		if err := tarball.Write(ref, img, &ctxWriter{ctx: ctx, w: f}); err != nil {
			return err
		}
		return ctx.Err() // a signal during the copy is honoured up to the rename
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

// tarMembers finds where each regular file of the tar f starts, without
// reading the contents. Links are resolved to the file they name: Docker
// 20.10's `docker save` writes a layer that occurs twice in an image (two
// empty layers, say) once, and the second occurrence's layer.tar as a
// symlink "../FIRST/layer.tar".
func tarMembers(f *os.File) (map[string]member, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	members := map[string]member{}
	links := map[string]string{} // entry → the archive path it points at
	cr := &offsetReader{r: f}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			resolveLinks(members, links)
			return members, nil
		}
		if err != nil {
			return nil, err
		}
		// Nothing is written under an entry's name, but an archive
		// naming paths outside itself is hostile, not a layout.
		if n := path.Clean(h.Name); path.IsAbs(n) || n == ".." || strings.HasPrefix(n, "../") {
			return nil, fmt.Errorf("entry %q escapes the archive", h.Name)
		}
		if h.Typeflag == tar.TypeReg {
			// The tar reader has consumed the header and nothing of the
			// content, so the content starts here.
			m := member{off: cr.n, size: h.Size}
			if m.size < 0 || m.off+m.size > fi.Size() {
				// Skipping it would fail; this says why.
				return nil, fmt.Errorf("member %q claims %d bytes, past the end of the archive (truncated?)", h.Name, h.Size)
			}
			members[path.Clean(h.Name)] = m
		}
		switch n := path.Clean(h.Name); h.Typeflag {
		case tar.TypeSymlink:
			// Relative to the link's directory; an absolute target
			// names nothing in the archive and is left unresolved.
			if !path.IsAbs(h.Linkname) {
				links[n] = path.Join(path.Dir(n), h.Linkname)
			}
		case tar.TypeLink:
			links[n] = path.Clean(h.Linkname)
		}
	}
}

// maxLinkHops bounds a chain of links in an archive; a longer chain is a
// loop or hostile.
const maxLinkHops = 16

// resolveLinks adds each link that ends at a regular file as a member of
// its own. A link to nothing, or a loop, is left out: looking it up then
// fails as for any missing member.
func resolveLinks(members map[string]member, links map[string]string) {
	for n := range links {
		t := n
		for hop := 0; hop < maxLinkHops; hop++ {
			next, ok := links[t]
			if !ok {
				break
			}
			t = next
		}
		if m, ok := members[t]; ok {
			if _, exists := members[n]; !exists {
				members[n] = m
			}
		}
	}
}

// readMember reads the member n of the archive at p whole: it is JSON, and
// its size, from an untrusted header, is bounded before anything is
// allocated.
func readMember(f *os.File, members map[string]member, p, n string) ([]byte, error) {
	m, ok := members[path.Clean(n)]
	if !ok {
		return nil, fmt.Errorf("%s has no %s", p, n)
	}
	if m.size > maxMetadataSize {
		return nil, fmt.Errorf("%s: %s has %d bytes, over the %d a manifest or config may have", p, n, m.size, maxMetadataSize)
	}
	b := make([]byte, m.size)
	if _, err := f.ReadAt(b, m.off); err != nil {
		return nil, fmt.Errorf("reading %s in %s: %w", n, p, err)
	}
	return b, nil
}

func readArchive(f *os.File, p, ref string) (v1.Image, error) {
	members, err := tarMembers(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker-archive: %w", p, err)
	}
	read := func(n string) ([]byte, error) { return readMember(f, members, p, n) }
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
	// docker save names the config by its digest ("HEX.json", or
	// "blobs/sha256/HEX" since Docker 25): a config that does not hash
	// to its name was changed after the save.
	if hex := strings.TrimSuffix(path.Base(chosen.Config), ".json"); len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == "" {
		if err := checkDigest("config", cfgRaw, v1.Hash{Algorithm: "sha256", Hex: hex}); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
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
	var kinds []compression
	for i, lp := range chosen.Layers {
		m, ok := members[path.Clean(lp)]
		if !ok {
			return nil, fmt.Errorf("%s has no layer %s", p, lp)
		}
		l := &archiveLayer{f: f, m: m, digest: cfg.RootFS.DiffIDs[i]}
		magic := make([]byte, 4)
		n, _ := f.ReadAt(magic, m.off)
		kind := sniff(magic[:n])
		if kind != plain {
			// A compressed member's digest is not in the config: hash
			// it. (Docker's containerd image store saves layers as
			// the registry served them, gzip or zstd.)
			if l.digest, _, err = v1.SHA256(io.NewSectionReader(f, m.off, m.size)); err != nil {
				return nil, fmt.Errorf("reading %s in %s: %w", lp, p, err)
			}
		}
		kinds = append(kinds, kind)
		img.layers[l.digest] = l
		img.manifest.Layers = append(img.manifest.Layers, v1.Descriptor{Size: m.size, Digest: l.digest})
	}
	// Docker's media types have no zstd layer: a manifest holding one is
	// an OCI manifest throughout.
	oci := slices.Contains(kinds, zstdCompressed)
	if oci {
		img.manifest.MediaType = types.OCIManifestSchema1
		img.manifest.Config.MediaType = types.OCIConfigJSON
	}
	for i, kind := range kinds {
		mt := kind.mediaType(oci)
		img.manifest.Layers[i].MediaType = mt
		img.layers[img.manifest.Layers[i].Digest].mediaType = mt
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

// compression is how an archive member is stored.
type compression int

const (
	plain compression = iota
	gzipCompressed
	zstdCompressed
)

func sniff(magic []byte) compression {
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzipCompressed
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return zstdCompressed
	}
	return plain
}

func (c compression) mediaType(oci bool) types.MediaType {
	switch {
	case c == zstdCompressed:
		return types.OCILayerZStd
	case c == gzipCompressed && oci:
		return types.OCILayer
	case c == gzipCompressed:
		return types.DockerLayer
	case oci:
		return types.OCIUncompressedLayer
	}
	return types.DockerUncompressedLayer
}

// offsetReader counts where the tar reader is in the file. It seeks, so
// that the tar reader skips a layer's content rather than reading it.
type offsetReader struct {
	r io.ReadSeeker
	n int64
}

func (o *offsetReader) Read(b []byte) (int, error) {
	n, err := o.r.Read(b)
	o.n += int64(n)
	return n, err
}

func (o *offsetReader) Seek(off int64, whence int) (int64, error) {
	n, err := o.r.Seek(off, whence)
	if err == nil {
		o.n = n
	}
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
