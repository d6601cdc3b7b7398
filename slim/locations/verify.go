package locations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Every manifest, index and config a source gives is checked here against
// the digest that references it, whatever the location: an OCI layout's
// blobs are plain files nobody checked, and a swapped manifest would make
// imgslim slim another image than the one the index pins, a tampered
// config would be carried into the output. (Layers are checked as they are
// read, by the layers package.)

// errSchema1 refuses a Docker schema 1 manifest, which names no config
// and no diff IDs to check the layers against.
var errSchema1 = errors.New("manifest has schema version 1 (deprecated since 2017): pull and push it with a current Docker to convert it")

// ErrDigestMismatch is wrapped by the errors of a blob whose content does
// not have the digest that references it.
var ErrDigestMismatch = errors.New("digest mismatch")

// maxIndexDepth bounds how deep indexes may nest. Real images nest one
// level at most (an index of indexes per platform family); a deeper chain
// is hostile or broken, and is refused rather than followed.
const maxIndexDepth = 8

// maxMetadataSize bounds a manifest, index or config: real ones are a few
// KiB (a config with a long history under 1 MiB), and each is read whole.
const maxMetadataSize = 32 << 20

func checkDigest(what string, b []byte, want v1.Hash) error {
	if want.Algorithm != "sha256" {
		return fmt.Errorf("%s %s: unsupported digest algorithm %q", what, want, want.Algorithm)
	}
	got, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s %s: %w: its content has digest %s", what, want, ErrDigestMismatch, got)
	}
	return nil
}

// inferManifestType gives the media type of a manifest that leaves out its
// optional mediaType field: the descriptor's when it names one, else what
// the config's media type says.
func inferManifestType(m *v1.Manifest, desc types.MediaType) types.MediaType {
	switch {
	case m.MediaType != "":
		return m.MediaType
	case desc.IsImage():
		return desc
	case m.Config.MediaType == types.DockerConfigJSON:
		return types.DockerManifestSchema2
	}
	return types.OCIManifestSchema1
}

func inferIndexType(m *v1.IndexManifest, desc types.MediaType) types.MediaType {
	switch {
	case m.MediaType != "":
		return m.MediaType
	case desc.IsIndex():
		return desc
	}
	for _, d := range m.Manifests {
		if d.MediaType == types.DockerManifestSchema2 || d.MediaType == types.DockerManifestList {
			return types.DockerManifestList
		}
	}
	return types.OCIImageIndex
}

// blobSizer gives the size of a stored blob without reading it, for the
// locations where a blob is a file that could be far larger than its
// descriptor says (a layout). nil where the transport bounds it.
type blobSizer func(v1.Hash) (int64, error)

// checkStored refuses a blob whose stored size differs from the one its
// descriptor gives, before it is read whole.
func (bs blobSizer) checkStored(what string, h v1.Hash, size int64) error {
	if size > maxMetadataSize {
		return fmt.Errorf("%s %s of %d bytes: over the %d bytes it may have", what, h, size, maxMetadataSize)
	}
	if bs == nil {
		return nil
	}
	n, err := bs(h)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, h, err)
	}
	if n != size {
		return fmt.Errorf("%s %s: %w: %d bytes stored, its descriptor says %d", what, h, ErrDigestMismatch, n, size)
	}
	return nil
}

// verifiedImage is an image whose manifest and config were checked. Its
// Manifest carries a media type even when the raw one leaves it out, so
// that what is built from it (mutate copies the manifest) names its type.
type verifiedImage struct {
	v1.Image
	raw      []byte
	digest   v1.Hash
	manifest *v1.Manifest
	config   []byte
}

// verifyImage checks img's manifest against want (when a digest references
// it: not for a tag or an archive, whose manifest imgslim builds) and its
// config against the manifest. descType is the media type the referencing
// descriptor gives, or "".
func verifyImage(img v1.Image, want *v1.Hash, descType types.MediaType, bs blobSizer) (*verifiedImage, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if len(raw) > maxMetadataSize {
		return nil, fmt.Errorf("manifest of %d bytes: over the %d bytes a manifest may have", len(raw), maxMetadataSize)
	}
	if want != nil {
		if err := checkDigest("manifest", raw, *want); err != nil {
			return nil, err
		}
	}
	var probe struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	if probe.SchemaVersion == 1 {
		return nil, errSchema1
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	m.MediaType = inferManifestType(m, descType)
	if m.Config.Digest == (v1.Hash{}) {
		// An index, or something else, under an image's descriptor.
		return nil, fmt.Errorf("manifest names no config: not an image manifest, although its descriptor says %s", descType)
	}
	if err := bs.checkStored("config", m.Config.Digest, m.Config.Size); err != nil {
		return nil, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", m.Config.Digest, err)
	}
	if err := checkDigest("config", cfg, m.Config.Digest); err != nil {
		return nil, err
	}
	if int64(len(cfg)) != m.Config.Size {
		return nil, fmt.Errorf("config %s: %d bytes, the manifest says %d", m.Config.Digest, len(cfg), m.Config.Size)
	}
	// Layers pair with diff IDs by position: a count mismatch would pair
	// them wrongly, or leave a layer unchecked. (An artifact's config is
	// not an image config, and is not read.)
	if m.Config.MediaType == types.DockerConfigJSON || m.Config.MediaType == types.OCIConfigJSON {
		cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
		if err != nil {
			return nil, fmt.Errorf("parsing config %s: %w", m.Config.Digest, err)
		}
		if len(cf.RootFS.DiffIDs) != len(m.Layers) {
			return nil, fmt.Errorf("config %s lists %d layers, the manifest %d", m.Config.Digest, len(cf.RootFS.DiffIDs), len(m.Layers))
		}
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &verifiedImage{Image: img, raw: raw, digest: d, manifest: m, config: cfg}, nil
}

func (v *verifiedImage) RawManifest() ([]byte, error)        { return v.raw, nil }
func (v *verifiedImage) Digest() (v1.Hash, error)            { return v.digest, nil }
func (v *verifiedImage) Size() (int64, error)                { return int64(len(v.raw)), nil }
func (v *verifiedImage) MediaType() (types.MediaType, error) { return v.manifest.MediaType, nil }
func (v *verifiedImage) Manifest() (*v1.Manifest, error)     { return v.manifest.DeepCopy(), nil }
func (v *verifiedImage) RawConfigFile() ([]byte, error)      { return v.config, nil }
func (v *verifiedImage) ConfigName() (v1.Hash, error)        { return v.manifest.Config.Digest, nil }
func (v *verifiedImage) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(v.config))
}

// verifiedIndex is an index whose manifest was checked; the images and
// indexes it gives are checked in turn, against the digests it lists.
type verifiedIndex struct {
	inner    v1.ImageIndex
	raw      []byte
	digest   v1.Hash
	manifest *v1.IndexManifest
	// chain holds the digests of the indexes from the top one down to
	// this one, to refuse a cycle and bound the depth.
	chain []v1.Hash
	bs    blobSizer
}

func verifyIndex(idx v1.ImageIndex, want *v1.Hash, descType types.MediaType, chain []v1.Hash, bs blobSizer) (*verifiedIndex, error) {
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	if len(raw) > maxMetadataSize {
		return nil, fmt.Errorf("index of %d bytes: over the %d bytes an index may have", len(raw), maxMetadataSize)
	}
	if want != nil {
		if err := checkDigest("index", raw, *want); err != nil {
			return nil, err
		}
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index: %w", err)
	}
	m.MediaType = inferIndexType(m, descType)
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &verifiedIndex{inner: idx, raw: raw, digest: d, manifest: m, chain: append(slices.Clip(chain), d), bs: bs}, nil
}

func (v *verifiedIndex) RawManifest() ([]byte, error)        { return v.raw, nil }
func (v *verifiedIndex) Digest() (v1.Hash, error)            { return v.digest, nil }
func (v *verifiedIndex) Size() (int64, error)                { return int64(len(v.raw)), nil }
func (v *verifiedIndex) MediaType() (types.MediaType, error) { return v.manifest.MediaType, nil }
func (v *verifiedIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v.manifest.DeepCopy(), nil
}

func (v *verifiedIndex) child(h v1.Hash) (v1.Descriptor, error) {
	for _, d := range v.manifest.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s lists no %s", v.digest, h)
}

func (v *verifiedIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := v.child(h)
	if err != nil {
		return nil, err
	}
	if d.MediaType == types.DockerManifestSchema1 || d.MediaType == types.DockerManifestSchema1Signed {
		return nil, fmt.Errorf("image %s: %w", h, errSchema1)
	}
	if err := v.bs.checkStored("manifest", h, d.Size); err != nil {
		return nil, err
	}
	img, err := v.inner.Image(h)
	if err != nil {
		return nil, err
	}
	vi, err := verifyImage(img, &h, d.MediaType, v.bs)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", h, err)
	}
	return vi, nil
}

func (v *verifiedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := v.child(h)
	if err != nil {
		return nil, err
	}
	if slices.Contains(v.chain, h) {
		return nil, fmt.Errorf("index %s lists index %s, which lists it in turn: a cycle", v.digest, h)
	}
	if len(v.chain) >= maxIndexDepth {
		return nil, fmt.Errorf("index %s: indexes nested more than %d deep", h, maxIndexDepth)
	}
	if err := v.bs.checkStored("index", h, d.Size); err != nil {
		return nil, err
	}
	idx, err := v.inner.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	vi, err := verifyIndex(idx, &h, d.MediaType, v.chain, v.bs)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", h, err)
	}
	return vi, nil
}

// checkTree verifies every index and image under idx before any work, so a
// broken or cyclic tree fails in a second rather than after slimming the
// platforms that came before the bad one.
func checkTree(idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := checkTree(child); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			if _, err := idx.Image(d.Digest); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	_ partial.Describable = (*verifiedImage)(nil)
	_ v1.ImageIndex       = (*verifiedIndex)(nil)
)
