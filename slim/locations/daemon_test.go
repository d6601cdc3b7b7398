package locations

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/moby/moby/client"
)

// fakeDaemon is a DaemonClient holding images as `docker save` archives,
// by name and by image ID.
type fakeDaemon struct {
	mu      sync.Mutex
	images  map[string][]byte // name or sha256:ID -> archive
	loadErr string            // an error the load answers with, in its JSON stream
	loaded  [][]byte
	tagged  []client.ImageTagOptions
	calls   []string
}

func (f *fakeDaemon) call(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeDaemon) ImageInspect(ctx context.Context, image string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	f.call("inspect " + image)
	if _, ok := f.images[image]; !ok {
		return client.ImageInspectResult{}, errors.New("No such image: " + image)
	}
	return client.ImageInspectResult{}, nil
}

func (f *fakeDaemon) ImageSave(ctx context.Context, images []string, _ ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	f.call("save " + strings.Join(images, ","))
	b, ok := f.images[images[0]]
	if !ok {
		return nil, errors.New("No such image: " + images[0])
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *fakeDaemon) ImageLoad(ctx context.Context, input io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	f.call("load")
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	f.loaded = append(f.loaded, b)
	answer := `{"stream":"Loaded image: x\n"}` + "\n"
	if f.loadErr != "" {
		answer = `{"stream":"Loading layer"}` + "\n" + `{"errorDetail":{"message":"` + f.loadErr + `"},"error":"` + f.loadErr + `"}` + "\n"
	}
	return io.NopCloser(strings.NewReader(answer)), nil
}

func (f *fakeDaemon) ImageTag(ctx context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	f.call("tag " + o.Source + " " + o.Target)
	f.tagged = append(f.tagged, o)
	return client.ImageTagResult{}, nil
}

func TestDaemonSource(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2)
	fake := &fakeDaemon{images: map[string][]byte{"example.com/a/b:v1": dockerSave(t, "example.com/a/b:v1", img)}}

	t.Run("saved once and read as an archive", func(t *testing.T) {
		src, err := NewSource(ctx, Location{Kind: Daemon, Ref: "example.com/a/b:v1"}, WithDockerClient(fake), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := src.Open(ctx)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer c.Close()
		got, _ := c.Image.ConfigName()
		want, _ := img.ConfigName()
		if got != want {
			t.Errorf("config: got %s, want %s", got, want)
		}
		ls, err := c.Image.Layers()
		if err != nil || len(ls) != 2 {
			t.Fatalf("layers: got %d, %v, want 2", len(ls), err)
		}
	})

	t.Run("missing image", func(t *testing.T) {
		src, err := NewSource(ctx, Location{Kind: Daemon, Ref: "example.com/a/nope:v1"}, WithDockerClient(fake))
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Open(ctx)
		if err == nil || !strings.Contains(err.Error(), "docker-daemon:example.com/a/nope:v1") {
			t.Errorf("Open: got %v, want an error naming the location", err)
		}
	})

	// A bare reference reads from the daemon when it holds the image, else
	// from the registry.
	for _, tc := range []struct {
		ref  string
		want Kind
	}{
		{"example.com/a/b:v1", Daemon},
		{"example.com/a/other:v1", Registry},
	} {
		t.Run("bare "+tc.ref, func(t *testing.T) {
			src, err := NewSource(ctx, Location{Ref: tc.ref}, WithDockerClient(fake))
			if err != nil {
				t.Fatal(err)
			}
			if got := src.Location().Kind; got != tc.want {
				t.Errorf("kind: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDaemonTarget(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2)
	dst := Location{Kind: Daemon, Ref: "example.com/a/out:v1"}

	t.Run("loads the whole image under its tag", func(t *testing.T) {
		fake := &fakeDaemon{images: map[string][]byte{}}
		tg, err := NewTarget(dst, Location{Kind: Registry}, WithDockerClient(fake))
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.WriteImage(ctx, img); err != nil {
			t.Fatalf("WriteImage: %v", err)
		}
		if len(fake.loaded) != 1 {
			t.Fatalf("loads: got %d, want 1", len(fake.loaded))
		}
		tag, _ := name.NewTag(dst.Ref)
		p := writeTemp(t, "loaded.tar", fake.loaded[0])
		back, err := tarball.ImageFromPath(p, &tag)
		if err != nil {
			t.Fatalf("the loaded archive: %v", err)
		}
		if err := validate.Image(back); err != nil {
			t.Errorf("the loaded archive: %v", err)
		}
	})

	t.Run("an image the daemon holds is only tagged", func(t *testing.T) {
		id, _ := img.ConfigName()
		fake := &fakeDaemon{images: map[string][]byte{id.String(): nil}}
		tg, err := NewTarget(dst, Location{Kind: Registry}, WithDockerClient(fake))
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.WriteImage(ctx, img); err != nil {
			t.Fatalf("WriteImage: %v", err)
		}
		if len(fake.loaded) != 0 || len(fake.tagged) != 1 || fake.tagged[0].Target != "example.com/a/out:v1" {
			t.Errorf("got loads %d, tags %+v, want one tag of example.com/a/out:v1", len(fake.loaded), fake.tagged)
		}
	})

	// The daemon answers a failed load with HTTP 200 and an error inside
	// its JSON stream.
	t.Run("a load refused in the stream is an error", func(t *testing.T) {
		fake := &fakeDaemon{images: map[string][]byte{}, loadErr: "no space left on device"}
		tg, err := NewTarget(dst, Location{Kind: Registry}, WithDockerClient(fake))
		if err != nil {
			t.Fatal(err)
		}
		err = tg.WriteImage(ctx, img)
		if err == nil || !strings.Contains(err.Error(), "no space left on device") {
			t.Errorf("WriteImage: got %v, want the daemon's error", err)
		}
	})

	t.Run("one platform only", func(t *testing.T) {
		tg, err := NewTarget(dst, Location{Kind: Registry}, WithDockerClient(&fakeDaemon{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Accepts(true); err == nil {
			t.Errorf("Accepts(index): got nil, want an error")
		}
		if err := tg.Accepts(false); err != nil {
			t.Errorf("Accepts(image): got %v, want nil", err)
		}
	})

	t.Run("a digest is no tag", func(t *testing.T) {
		_, err := NewTarget(Location{Kind: Daemon, Ref: "example.com/a@sha256:" + strings.Repeat("0", 64)}, Location{Kind: Registry})
		if err == nil || !strings.Contains(err.Error(), "needs a tag") {
			t.Errorf("NewTarget: got %v, want 'needs a tag'", err)
		}
	})
}
