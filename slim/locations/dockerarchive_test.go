package locations

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// A plain-tar member is presented as stored: its blob is the tar, its
// digest its diff ID. validate.Image gunzips every layer blob, so it fails
// such an image read as stored, while ggcr's tarball package (which
// compresses plain members on the fly) passes: the end-to-end tests read
// their outputs back through the latter.
func TestDockerArchivePlainLayers(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 3)
	p := writeTemp(t, "saved.tar", dockerSave(t, "example.com/a/b:v1", img))

	src, err := NewSource(ctx, Location{Kind: DockerArchive, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.Open(ctx)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	m, err := c.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Layers {
		if l.MediaType != types.DockerUncompressedLayer {
			t.Errorf("layer %d: got media type %s, want %s", i, l.MediaType, types.DockerUncompressedLayer)
		}
		if l.Digest != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: got digest %s, want its diff ID %s", i, l.Digest, cfg.RootFS.DiffIDs[i])
		}
	}
	if err := validate.Image(c.Image); err == nil {
		t.Errorf("validate.Image of plain layers as stored: got nil, want an error (it gunzips every blob)")
	}
	viaGGCR, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(viaGGCR); err != nil {
		t.Errorf("validate.Image through tarball.ImageFromPath: got %v, want nil", err)
	}
	want, _ := img.ConfigName()
	if got, _ := c.Image.ConfigName(); got != want {
		t.Errorf("config: got %s, want %s", got, want)
	}
}

// A docker-archive written by the target reads back, named as asked or
// nameless.
func TestDockerArchiveTarget(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2)
	for _, ref := range []string{"", "example.com/a/b:v2"} {
		t.Run("ref="+ref, func(t *testing.T) {
			p := t.TempDir() + "/out.tar"
			tg, err := NewTarget(Location{Kind: DockerArchive, Path: p, Ref: ref}, Location{Kind: Registry})
			if err != nil {
				t.Fatal(err)
			}
			if err := tg.Accepts(true); err == nil {
				t.Errorf("Accepts(index): got nil, want an error")
			}
			if err := tg.WriteImage(ctx, img); err != nil {
				t.Fatalf("WriteImage: %v", err)
			}
			var tag *name.Tag
			if ref != "" {
				tg, _ := name.NewTag(ref)
				tag = &tg
			}
			back, err := tarball.ImageFromPath(p, tag)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(back); err != nil {
				t.Errorf("validate: %v", err)
			}
			got, _ := back.ConfigName()
			want, _ := img.ConfigName()
			if got != want {
				t.Errorf("config: got %s, want %s", got, want)
			}
			m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
			if err != nil {
				t.Fatal(err)
			}
			if n := len(m[0].RepoTags); (ref == "") != (n == 0) {
				t.Errorf("RepoTags: got %q, want %q", m[0].RepoTags, ref)
			}
		})
	}
}
