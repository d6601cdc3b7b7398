package locations

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"io"
	"os"
	"strings"
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

// Docker 20.10's `docker save` writes a layer that occurs twice in an image
// once; the second occurrence's layer.tar is a symlink to the first. Such
// an archive reads as the image, and a link to nothing or a loop is a
// missing layer, named.
func TestDockerArchiveLinkedLayers(t *testing.T) {
	ctx := context.Background()
	empty := tarBytes(t) // the empty layer, as a RUN that changed nothing
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(empty)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(randomImage(t, 1), layer, layer)
	if err != nil {
		t.Fatal(err)
	}
	config, layers := saveParts(t, img)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	save := func(rest []tarMember) []byte {
		m, err := json.Marshal(tarball.Manifest{{Config: config.name, Layers: []string{"a/layer.tar", "b/layer.tar", "c/layer.tar"}}})
		if err != nil {
			t.Fatal(err)
		}
		members := append([]tarMember{config, {name: "a/layer.tar", body: layers[0].body}}, rest...)
		return tarBytes(t, append(members, tarMember{name: "manifest.json", body: m})...)
	}
	for _, c := range []struct {
		name    string
		rest    []tarMember // b/layer.tar and c/layer.tar, the two empty layers
		wantErr string
	}{
		{"symlinks as docker 20.10 writes them",
			[]tarMember{{name: "b/layer.tar", body: empty}, {name: "c/layer.tar", link: "../b/layer.tar"}}, ""},
		{"a chain of symlinks",
			[]tarMember{{name: "d/layer.tar", body: empty}, {name: "b/layer.tar", link: "../c/layer.tar"}, {name: "c/layer.tar", link: "../d/./layer.tar"}}, ""},
		{"hard links",
			[]tarMember{{name: "b/layer.tar", body: empty}, {name: "c/layer.tar", link: "b/layer.tar", hard: true}}, ""},
		{"a link to nothing",
			[]tarMember{{name: "b/layer.tar", body: empty}, {name: "c/layer.tar", link: "../d/layer.tar"}}, "has no layer c/layer.tar"},
		{"a loop",
			[]tarMember{{name: "b/layer.tar", link: "../c/layer.tar"}, {name: "c/layer.tar", link: "../b/layer.tar"}}, "has no layer b/layer.tar"},
		{"an absolute link",
			[]tarMember{{name: "b/layer.tar", body: empty}, {name: "c/layer.tar", link: "/etc/passwd"}}, "has no layer c/layer.tar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "saved.tar", save(c.rest))
			src, err := NewSource(ctx, Location{Kind: DockerArchive, Path: p})
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Open(ctx)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Open: got %v, want an error naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer got.Close()
			gotLayers, err := got.Image.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(gotLayers) != 3 {
				t.Fatalf("got %d layers, want 3", len(gotLayers))
			}
			for i, l := range gotLayers {
				want, _ := ls[i].DiffID()
				if d, err := l.DiffID(); err != nil || d != want {
					t.Errorf("layer %d: got diff ID %v (%v), want %s", i, d, err, want)
				}
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					t.Errorf("layer %d: reading %d bytes: %v", i, n, err)
				}
			}
		})
	}
}
