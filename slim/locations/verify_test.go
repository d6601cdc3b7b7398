package locations

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/zstd"
)

// newLayout writes imgs into a new OCI layout, tagged by their keys.
func newLayout(t testing.TB, imgs map[string]v1.Image) (string, layout.Path) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for tag, img := range imgs {
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
			t.Fatal(err)
		}
	}
	return dir, p
}

func blobPath(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }

func openAt(t testing.TB, l Location, opts ...Option) (*Contents, error) {
	t.Helper()
	ctx := context.Background()
	src, err := NewSource(ctx, l, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return src.Open(ctx)
}

// Every metadata blob of a layout is checked against the digest that
// references it, before any work.
func TestLayoutIntegrity(t *testing.T) {
	a, b := randomImage(t, 1), randomImage(t, 1)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"config with one byte changed", func(t *testing.T, dir string) {
			cfg, _ := a.ConfigName()
			raw, _ := a.RawConfigFile()
			raw = bytes.Replace(raw, []byte(`"architecture":"amd64"`), []byte(`"architecture":"arm64"`), 1)
			write(t, blobPath(dir, cfg), raw)
		}, "digest mismatch"},
		{"config grown", func(t *testing.T, dir string) {
			cfg, _ := a.ConfigName()
			raw, _ := a.RawConfigFile()
			write(t, blobPath(dir, cfg), append(raw, ' '))
		}, "digest mismatch"},
		{"manifest swapped for another image's", func(t *testing.T, dir string) {
			d, _ := a.Digest()
			other, _ := b.RawManifest()
			write(t, blobPath(dir, d), other)
		}, "digest mismatch"},
		{"manifest blob missing", func(t *testing.T, dir string) {
			d, _ := a.Digest()
			os.Remove(blobPath(dir, d))
		}, "no such file"},
		{"manifest blob a symlink", func(t *testing.T, dir string) {
			d, _ := a.Digest()
			os.Remove(blobPath(dir, d))
			os.Symlink("/etc/passwd", blobPath(dir, d))
		}, "not a regular file"},
		{"config blob of 4 GiB", func(t *testing.T, dir string) {
			cfg, _ := a.ConfigName()
			f, err := os.OpenFile(blobPath(dir, cfg), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(4 << 30); err != nil { // sparse
				t.Fatal(err)
			}
		}, "descriptor says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := newLayout(t, map[string]v1.Image{"a": a})
			tc.tamper(t, dir)
			c, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "a"})
			if err == nil {
				c.Close()
				t.Fatalf("Open: got nil, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: got %v, want an error with %q", err, tc.want)
			}
		})
	}

	t.Run("intact", func(t *testing.T) {
		dir, _ := newLayout(t, map[string]v1.Image{"a": a})
		c, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "a"})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer c.Close()
		if err := validate.Image(c.Image); err != nil {
			t.Errorf("validate: %v", err)
		}
		got, _ := c.Image.Digest()
		want, _ := a.Digest()
		if got != want {
			t.Errorf("digest: got %s, want %s", got, want)
		}
	})
}

func write(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// nest wraps img in depth indexes, one inside the other.
func nest(t testing.TB, img v1.Image, depth int) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}},
	})
	for i := 1; i < depth; i++ {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	return idx
}

func TestNestedIndexes(t *testing.T) {
	img := randomImage(t, 1)
	t.Run("two deep is read through", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		p, _ := layout.Write(dir, empty.Index)
		if err := p.AppendIndex(nest(t, img, 2), layout.WithAnnotations(map[string]string{refNameAnnotation: "n"})); err != nil {
			t.Fatal(err)
		}
		c, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "n"})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer c.Close()
		if err := validate.Index(c.Index); err != nil {
			t.Errorf("validate: %v", err)
		}
		// With a platform, the image is found in the nested index too.
		c2, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "n"}, WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
		if err != nil {
			t.Fatalf("Open with a platform: %v", err)
		}
		defer c2.Close()
		got, _ := c2.Image.Digest()
		want, _ := img.Digest()
		if got != want {
			t.Errorf("image: got %s, want %s", got, want)
		}
	})

	t.Run("too deep is refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		p, _ := layout.Write(dir, empty.Index)
		if err := p.AppendIndex(nest(t, img, maxIndexDepth+2), layout.WithAnnotations(map[string]string{refNameAnnotation: "n"})); err != nil {
			t.Fatal(err)
		}
		_, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "n"})
		if err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("Open: got %v, want 'nested more than'", err)
		}
	})

	// An index blob that lists itself cannot hash to its own digest: it is
	// refused as a mismatch before anything follows it.
	t.Run("self-referencing index", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		p, _ := layout.Write(dir, empty.Index)
		idx := nest(t, img, 1)
		if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "n"})); err != nil {
			t.Fatal(err)
		}
		d, _ := idx.Digest()
		self, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: d, Size: 300}}})
		write(t, blobPath(dir, d), self)
		for _, l := range []Location{{Kind: OCILayout, Path: dir, Ref: "n"}} {
			_, err := openAt(t, l)
			if err == nil || !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("Open: got %v, want a digest mismatch", err)
			}
		}
	})

	// The cycle check itself, on indexes that are not content-addressed
	// the way a registry or a layout is.
	t.Run("cycle", func(t *testing.T) {
		vi, err := verifyIndex(cyclic{}, nil, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		vi.chain = append(vi.chain, cyclicDigest)
		_, err = vi.ImageIndex(cyclicDigest)
		if err == nil || !strings.Contains(err.Error(), "a cycle") {
			t.Errorf("ImageIndex: got %v, want a cycle", err)
		}
	})
}

var cyclicDigest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

// cyclic is an index that lists cyclicDigest, an index.
type cyclic struct{}

func (cyclic) MediaType() (types.MediaType, error)       { return types.OCIImageIndex, nil }
func (cyclic) Digest() (v1.Hash, error)                  { return cyclicDigest, nil }
func (cyclic) Size() (int64, error)                      { return 2, nil }
func (cyclic) IndexManifest() (*v1.IndexManifest, error) { return nil, errors.New("unused") }
func (cyclic) Image(v1.Hash) (v1.Image, error)           { return nil, errors.New("unused") }

func (cyclic) RawManifest() ([]byte, error) {
	return json.Marshal(v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: cyclicDigest, Size: 2}}})
}
func (cyclic) ImageIndex(v1.Hash) (v1.ImageIndex, error) { return cyclic{}, nil }

// A manifest may leave out its mediaType: the type is inferred, so what is
// built from it names its type and loads back.
func TestMissingMediaType(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 1)
	m, _ := img.Manifest()
	m = m.DeepCopy()
	m.MediaType = ""
	raw, _ := json.Marshal(m)
	if bytes.Contains(raw, []byte(`"mediaType":"application/vnd.docker.distribution.manifest`)) {
		t.Fatalf("fixture: manifest still names its type: %s", raw)
	}
	bare := &rawManifestImage{Image: img, raw: raw}
	dir, _ := newLayout(t, map[string]v1.Image{"a": bare})

	c, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "a"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	if mt, _ := c.Image.MediaType(); mt != types.DockerManifestSchema2 {
		t.Errorf("media type: got %q, want %q", mt, types.DockerManifestSchema2)
	}
	// What slimming does: a new config on the same layers.
	cf, _ := c.Image.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.User = "65532"
	out, err := mutate.ConfigFile(c.Image, cf)
	if err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(t.TempDir(), "out")
	tg, err := NewTarget(Location{Kind: OCILayout, Path: outDir, Ref: "slim"}, Location{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.WriteImage(ctx, out); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(outDir)
	if err != nil {
		t.Fatal(err)
	}
	ii, _ := p.ImageIndex()
	im, _ := ii.IndexManifest()
	if len(im.Manifests) != 1 {
		t.Fatalf("output index: got %d manifests, want 1", len(im.Manifests))
	}
	back, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("reading the output back: %v", err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate the output: %v", err)
	}
}

// rawManifestImage is img with its manifest bytes replaced.
type rawManifestImage struct {
	v1.Image
	raw []byte
}

func (r *rawManifestImage) RawManifest() ([]byte, error) { return r.raw, nil }
func (r *rawManifestImage) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(r.raw))
	return h, err
}
func (r *rawManifestImage) Size() (int64, error) { return int64(len(r.raw)), nil }

// Docker's containerd image store saves layers as the registry served
// them: a zstd member is hashed as stored and decompressed to its diff ID.
func TestDockerArchiveZstd(t *testing.T) {
	img := randomImage(t, 2)
	saved := dockerSave(t, "example.com/a/b:v1", img)
	// Recompress the first layer member with zstd.
	var members []tarMember
	tr := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		members = append(members, tarMember{name: h.Name, body: b})
	}
	zstdded := 0
	for i, m := range members {
		if strings.HasSuffix(m.name, "/layer.tar") && zstdded == 0 {
			var buf bytes.Buffer
			zw, _ := zstd.NewWriter(&buf)
			zw.Write(m.body)
			zw.Close()
			members[i].body = buf.Bytes()
			zstdded++
		}
	}
	p := writeTemp(t, "zstd.tar", tarBytes(t, members...))
	c, err := openAt(t, Location{Kind: DockerArchive, Path: p})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	if mt, _ := c.Image.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest: got %s, want an OCI manifest (Docker's types have no zstd)", mt)
	}
	m, _ := c.Image.Manifest()
	if m.Layers[0].MediaType != types.OCILayerZStd || m.Layers[1].MediaType != types.OCIUncompressedLayer {
		t.Errorf("layer types: got %s, %s, want zstd then plain", m.Layers[0].MediaType, m.Layers[1].MediaType)
	}
	ls, _ := c.Image.Layers()
	cfg, _ := c.Image.ConfigFile()
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || got != m.Layers[i].Digest {
			t.Errorf("layer %d: stored bytes hash to %s (%v), want %s", i, got, err, m.Layers[i].Digest)
		}
		rc, err = l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err = v1.SHA256(rc)
		rc.Close()
		if err != nil || got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: uncompressed to %s (%v), want the diff ID %s", i, got, err, cfg.RootFS.DiffIDs[i])
		}
	}
}

// Sizes in tar headers are not trusted: nothing is allocated from them.
func TestDockerArchiveHostileSizes(t *testing.T) {
	t.Run("member claiming 4 GiB in a small file", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4 << 30}); err != nil {
			t.Fatal(err)
		}
		tw.Flush()
		buf.WriteString(`[{"Config":"x.json"}]`)
		p := writeTemp(t, "huge.tar", buf.Bytes())
		_, err := openAt(t, Location{Kind: DockerArchive, Path: p})
		if err == nil || !strings.Contains(err.Error(), "past the end of the archive") {
			t.Errorf("Open: got %v, want 'past the end of the archive'", err)
		}
	})
	t.Run("manifest.json over the metadata cap", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big.tar")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		tw := tar.NewWriter(f)
		size := int64(maxMetadataSize + 1)
		if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			t.Fatal(err)
		}
		tw.Flush()
		// The content is a hole: the file is sparse and costs nothing.
		if err := f.Truncate(512 + (size+511)/512*512 + 1024); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, err = openAt(t, Location{Kind: DockerArchive, Path: p})
		if err == nil || !strings.Contains(err.Error(), "over the") {
			t.Errorf("Open: got %v, want the size cap named", err)
		}
	})
	t.Run("config that does not hash to its name", func(t *testing.T) {
		img := randomImage(t, 1)
		saved := dockerSave(t, "", img)
		cfgName, _ := img.ConfigName()
		raw, _ := img.RawConfigFile()
		tampered := bytes.Replace(raw, []byte(`"architecture":"amd64"`), []byte(`"architecture":"arm64"`), 1)
		// Same length, so the member's offsets stay.
		saved = bytes.Replace(saved, raw, tampered, 1)
		_ = cfgName
		p := writeTemp(t, "tampered.tar", saved)
		_, err := openAt(t, Location{Kind: DockerArchive, Path: p})
		if !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("Open: got %v, want a digest mismatch", err)
		}
	})
}

// An oci-archive is unpacked only as far as the chosen image references.
func TestOCIArchiveExtractsReferenced(t *testing.T) {
	a, b := randomImage(t, 2), randomImage(t, 2)
	dir, _ := newLayout(t, map[string]v1.Image{"a": a, "b": b})
	junk := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	write(t, blobPath(dir, junk), []byte("nobody references this"))
	archive := filepath.Join(t.TempDir(), "x.tar")
	tarTree(t, dir, archive)

	work := t.TempDir()
	c, err := openAt(t, Location{Kind: OCIArchive, Path: archive, Ref: "a"}, WithWorkDir(work))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := validate.Image(c.Image); err != nil {
		t.Errorf("validate: %v", err)
	}
	var extracted []string
	filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			extracted = append(extracted, filepath.Base(p))
		}
		return nil
	})
	want := map[string]bool{"index.json": true, "oci-layout": true}
	ad, _ := a.Digest()
	ac, _ := a.ConfigName()
	want[ad.Hex], want[ac.Hex] = true, true
	ls, _ := a.Layers()
	for _, l := range ls {
		d, _ := l.Digest()
		want[d.Hex] = true
	}
	if len(extracted) != len(want) {
		t.Errorf("extracted %d files (%q), want %d", len(extracted), extracted, len(want))
	}
	for _, e := range extracted {
		if !want[e] {
			t.Errorf("extracted %s, which image a does not reference", e)
		}
	}
	c.Close()
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("after Close: %d entries left in the work dir, want none", len(left))
	}
}

// tarTree writes dir as a tar at p, as `tar -C dir -cf p .` would.
func tarTree(t testing.TB, dir, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, path)
		info, _ := d.Info()
		h, _ := tar.FileInfoHeader(info, "")
		h.Name = "./" + filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(path)
			tw.Write(b)
		}
		return nil
	})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// Layers pair with diff IDs by position: an image whose config lists
// another number of layers than its manifest is refused; an artifact,
// whose config is not an image config, is not held to it.
func TestLayerCount(t *testing.T) {
	img := randomImage(t, 2)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs = cf.RootFS.DiffIDs[:1]
	short, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := newLayout(t, map[string]v1.Image{"short": short})
	if _, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "short"}); err == nil || !strings.Contains(err.Error(), "lists 1 layers, the manifest 2") {
		t.Errorf("Open: got %v, want the count mismatch named", err)
	}

	artifact := mutate.ConfigMediaType(short, "application/vnd.example.sbom.config+json")
	idx := mutate.AppendManifests(nest(t, randomImage(t, 1), 1), mutate.IndexAddendum{Add: artifact})
	dir = filepath.Join(t.TempDir(), "layout")
	p, _ := layout.Write(dir, empty.Index)
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "i"})); err != nil {
		t.Fatal(err)
	}
	c, err := openAt(t, Location{Kind: OCILayout, Path: dir, Ref: "i"})
	if err != nil {
		t.Fatalf("Open of an index holding an artifact: %v", err)
	}
	c.Close()
}
