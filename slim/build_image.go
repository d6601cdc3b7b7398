package slim

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image is the slimmed image. It holds the source's own layer values where
// nothing changed, so a push can mount or skip them by their type, and it
// takes every digest and diff ID from what the plan already knows: mutate
// would ask each layer for its diff ID, which for an OCI layout or a
// docker-archive means decompressing it again.
type image struct {
	layers      []v1.Layer
	diffIDs     []v1.Hash
	manifest    *v1.Manifest
	rawManifest []byte
	config      *v1.ConfigFile
	rawConfig   []byte
}

var _ v1.Image = (*image)(nil)

// newImage assembles an image from layers, their manifest descriptors and
// diff IDs, and a config whose rootfs it sets.
func newImage(mediaType, configType types.MediaType, annotations map[string]string, cfg *v1.ConfigFile, ls []v1.Layer, descs []v1.Descriptor, diffIDs []v1.Hash) (*image, error) {
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = diffIDs
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	cd, size, err := v1.SHA256(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, err
	}
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     mediaType,
		Config:        v1.Descriptor{MediaType: configType, Size: size, Digest: cd},
		Layers:        descs,
		Annotations:   annotations,
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return &image{layers: ls, diffIDs: diffIDs, manifest: m, rawManifest: rawManifest, config: cfg, rawConfig: rawConfig}, nil
}

func (i *image) Layers() ([]v1.Layer, error)         { return i.layers, nil }
func (i *image) MediaType() (types.MediaType, error) { return i.manifest.MediaType, nil }
func (i *image) Size() (int64, error)                { return int64(len(i.rawManifest)), nil }
func (i *image) ConfigName() (v1.Hash, error)        { return i.manifest.Config.Digest, nil }
func (i *image) ConfigFile() (*v1.ConfigFile, error) { return i.config.DeepCopy(), nil }
func (i *image) RawConfigFile() ([]byte, error)      { return i.rawConfig, nil }
func (i *image) Manifest() (*v1.Manifest, error)     { return i.manifest.DeepCopy(), nil }
func (i *image) RawManifest() ([]byte, error)        { return i.rawManifest, nil }

func (i *image) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(i.rawManifest))
	return h, err
}

func (i *image) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == i.manifest.Config.Digest {
		return partial.ConfigLayer(i)
	}
	for k, d := range i.manifest.Layers {
		if d.Digest == h {
			return i.layers[k], nil
		}
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

func (i *image) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for k, d := range i.diffIDs {
		if d == h {
			return i.layers[k], nil
		}
	}
	return nil, fmt.Errorf("image has no layer with diff ID %s", h)
}
