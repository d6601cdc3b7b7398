package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const testSize = 4 << 20

func TestGenerateIsDeterministicAndValid(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	da, err := Generate(a, "demo", testSize)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Generate(b, "demo", testSize)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("two runs gave different digests: %s and %s", da, db)
	}
	// Writing over an earlier layout replaces it.
	if dc, err := Generate(a, "demo", testSize); err != nil || dc != da {
		t.Fatalf("regenerating in place: %s, %v; want %s", dc, err, da)
	}

	img := readImage(t, a, "demo")
	// validate imports go-cmp, which go.mod lists only while a package outside
	// testdata/ (layers' tests) imports validate too: go mod tidy does not
	// look under testdata/.
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if cfg, _ := img.Manifest(); cfg.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s", cfg.Config.MediaType)
	}
	if d, _ := img.Digest(); d != da {
		t.Fatalf("layout holds %s, Generate said %s", d, da)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.WorkingDir != "/app" || strings.Join(cf.Config.Cmd, " ") != "node dist/server.js" {
		t.Errorf("config: %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) < 5 {
		t.Fatalf("%d layers, want at least 5", len(layers))
	}
	nonEmpty := 0
	for _, h := range cf.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(layers) {
		t.Errorf("%d non-empty history entries for %d layers", nonEmpty, len(layers))
	}
	for i, l := range layers {
		if mt, _ := l.MediaType(); mt != types.OCILayer {
			t.Errorf("layer %d: media type %s", i, mt)
		}
	}
}

func TestGenerateSizeAndTarFeatures(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir, "demo", testSize); err != nil {
		t.Fatal(err)
	}
	layers, err := readImage(t, dir, "demo").Layers()
	if err != nil {
		t.Fatal(err)
	}
	var total, removableBytes, contentBytes int64
	var files, removableFiles int
	seen := map[string]bool{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		names := map[string]bool{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			if names[h.Name] {
				t.Errorf("layer %d: %s twice", i, h.Name)
			}
			names[h.Name] = true
			if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("layer %d: %s: mtime %v owner %d:%d", i, h.Name, h.ModTime, h.Uid, h.Gid)
			}
			base := h.Name[strings.LastIndexByte(strings.TrimSuffix(h.Name, "/"), '/')+1:]
			switch {
			case h.Typeflag == tar.TypeLink:
				if !names[h.Linkname] {
					t.Errorf("layer %d: hard link %s to %s, not an earlier entry", i, h.Name, h.Linkname)
				}
				seen["hardlink"] = true
				if removable(h.Linkname) && !removable(h.Name) {
					seen["hardlink to a removed path"] = true
				}
			case h.Typeflag == tar.TypeSymlink:
				seen["symlink"] = true
			case h.Name == "app/dist/.wh..wh..opq":
				seen["opaque"] = true
			case strings.HasPrefix(base, ".wh."):
				seen["whiteout"] = true
			case h.Typeflag == tar.TypeReg && h.Mode&0o4000 != 0:
				seen["setuid"] = true
			}
			if len(base) > 100 {
				seen["long name"] = true
			}
			if h.Typeflag == tar.TypeReg && !strings.HasPrefix(base, ".wh.") {
				n, err := io.Copy(io.Discard, tr)
				if err != nil || n != h.Size {
					t.Fatalf("layer %d: %s: read %d of %d: %v", i, h.Name, n, h.Size, err)
				}
				files++
				contentBytes += n
				if removable(h.Name) {
					removableFiles++
					removableBytes += n
				}
			}
		}
		rc.Close()
		for _, want := range []string{"etc/passwd", "app/node_modules/", "app/.env", "app/dist/server.js", "root/.npm/_cacache/", "app/.git/HEAD", "var/cache/apt/archives/"} {
			if names[want] {
				seen[want] = true
			}
		}
		diffSize, err := layerSize(l)
		if err != nil {
			t.Fatal(err)
		}
		total += diffSize
	}
	for _, want := range []string{"hardlink", "hardlink to a removed path", "symlink", "opaque", "whiteout", "setuid", "long name",
		"etc/passwd", "app/node_modules/", "app/.env", "app/dist/server.js", "root/.npm/_cacache/", "app/.git/HEAD", "var/cache/apt/archives/"} {
		if !seen[want] {
			t.Errorf("no %s in the image", want)
		}
	}
	if total < testSize*95/100 || total > testSize*105/100 {
		t.Errorf("layers hold %d bytes uncompressed, asked for %d", total, testSize)
	}
	if f := float64(removableBytes) / float64(contentBytes); f < 0.2 || f > 0.4 {
		t.Errorf("%.0f%% of bytes removable, want about 30%%", 100*f)
	}
	if f := float64(removableFiles) / float64(files); f < 0.2 || f > 0.4 {
		t.Errorf("%.0f%% of files removable, want about 30%%", 100*f)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"40MB": 40e6, "1.2GB": 1.2e9, "512MiB": 512 << 20, "1048576": 1 << 20, "20mb": 20e6, "3 GiB": 3 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "ten"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) gave no error", in)
		}
	}
}

func TestGenerateRefusesToReplaceOtherDirs(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, "demo", testSize); err == nil {
		t.Fatal("Generate replaced a directory that held no OCI layout")
	}
}

func readImage(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != tag {
		t.Fatalf("index: %+v", im.Manifests)
	}
	img, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func layerSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

func writeFile(name string) error { return os.WriteFile(name, []byte("keep me\n"), 0o644) }
