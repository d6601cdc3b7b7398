package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// gnuTar returns the path of GNU tar, which writes the sparse formats
// archive/tar only reads; without it the test is skipped, except in CI.
func gnuTar(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tar")
	if err == nil {
		if out, _ := exec.Command(p, "--version").Output(); bytes.Contains(out, []byte("GNU tar")) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("GNU tar is needed")
	}
	t.Skip("GNU tar is not installed")
	return ""
}

// sparseFile makes a file of size bytes holding data at each offset of
// at, holes elsewhere.
func sparseFile(t *testing.T, name string, size int64, at map[int64]string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, s := range at {
		if _, err := f.WriteAt([]byte(s), off); err != nil {
			t.Fatal(err)
		}
	}
}

func fileSum(t *testing.T, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// Sparse entries as GNU tar writes them, in each of its formats, come out
// of a rewrite as sparse files (or, when the holes are small, as plain
// files on purpose) that archive/tar and GNU tar both read back to the
// same bytes, and never as a layer the size of the holes.
func TestRewriteSparse(t *testing.T) {
	tarBin := gnuTar(t)
	big := int64(64 << 20)
	src := t.TempDir()
	sparseFile(t, filepath.Join(src, "big"), big, map[int64]string{0: "head", 10 << 20: strings.Repeat("middle", 2000), big - 4: "tail"})
	sparseFile(t, filepath.Join(src, "hole-at-end"), big, map[int64]string{4096: "data"})
	sparseFile(t, filepath.Join(src, "small"), 64<<10, map[int64]string{10000: "small"})
	if err := os.WriteFile(filepath.Join(src, "drop-me"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{"big", "hole-at-end", "small"}
	want := map[string][32]byte{}
	for _, f := range files {
		want[f] = fileSum(t, filepath.Join(src, f))
	}

	for _, format := range []struct {
		name string
		args []string
	}{
		{"old GNU", []string{"--format=gnu"}},
		{"PAX 0.0", []string{"--format=posix", "--sparse-version=0.0"}},
		{"PAX 0.1", []string{"--format=posix", "--sparse-version=0.1"}},
		{"PAX 1.0", []string{"--format=posix", "--sparse-version=1.0"}},
	} {
		t.Run(format.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "in.tar")
			args := append([]string{"-S", "-cf", archive, "-C", src, "drop-me"}, format.args...)
			if out, err := exec.Command(tarBin, append(args, files...)...).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			raw, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			in := static.NewLayer(raw, types.OCIUncompressedLayer)
			out, res, err := Rewrite(context.Background(), in, Edit{Drop: map[int]bool{0: true}}, t.TempDir(), Format{OCI: true})
			if err != nil {
				t.Fatalf("Rewrite: %v", err)
			}
			if res.Size > 1<<20 {
				t.Errorf("got a %d-byte layer from a %d-byte one: the holes were written out", res.Size, len(raw))
			}
			// Deterministic: the same input gives the same blob.
			again, _, err := Rewrite(context.Background(), in, Edit{Drop: map[int]bool{0: true}}, t.TempDir(), Format{OCI: true})
			if err != nil {
				t.Fatal(err)
			}
			if d1, d2 := mustDigest(t, out), mustDigest(t, again); d1 != d2 {
				t.Errorf("two rewrites: digests %s and %s", d1, d2)
			}
			// archive/tar reads the same bytes back.
			got := map[string][32]byte{}
			if _, err := Scan(context.Background(), out, func(h *tar.Header, r io.Reader) error {
				s := sha256.New()
				_, err := io.Copy(s, r)
				got[h.Name] = [32]byte(s.Sum(nil))
				return err
			}); err != nil {
				t.Fatalf("reading the output back: %v", err)
			}
			for _, f := range files {
				if got[f] != want[f] {
					t.Errorf("archive/tar reads %s back different", f)
				}
			}
			// GNU tar extracts the same bytes.
			blob := filepath.Join(t.TempDir(), "out.tar")
			writeBlob(t, out, blob)
			dst := t.TempDir()
			if out, err := exec.Command(tarBin, "-xf", blob, "-C", dst).CombinedOutput(); err != nil {
				t.Fatalf("GNU tar cannot extract the output: %v: %s", err, out)
			}
			for _, f := range files {
				if fileSum(t, filepath.Join(dst, f)) != want[f] {
					t.Errorf("GNU tar extracts %s different", f)
				}
			}
			if _, err := os.Stat(filepath.Join(dst, "drop-me")); err == nil {
				t.Errorf("drop-me is still there")
			}
		})
	}
}

func writeBlob(t *testing.T, l v1.Layer, name string) {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
}

// The case: a 20 GiB file of a few bytes stays a few kilobytes.
func TestRewriteSparse20GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 20 GiB of holes")
	}
	tarBin := gnuTar(t)
	src := t.TempDir()
	size := int64(20 << 30)
	sparseFile(t, filepath.Join(src, "disk.img"), size, map[int64]string{10 << 30: "hello"})
	archive := filepath.Join(t.TempDir(), "in.tar")
	if out, err := exec.Command(tarBin, "--format=gnu", "-S", "-cf", archive, "-C", src, "disk.img").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	out, res, err := Rewrite(context.Background(), static.NewLayer(raw, types.OCIUncompressedLayer), Edit{Owner: func(string) (int, int, bool) { return 1, 1, true }}, t.TempDir(), Format{OCI: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size > 64<<10 {
		t.Errorf("got a %d-byte layer from a %d-byte one", res.Size, len(raw))
	}
	blob := filepath.Join(t.TempDir(), "out.tar")
	writeBlob(t, out, blob)
	list, err := exec.Command(tarBin, "-tvf", blob).CombinedOutput()
	if err != nil || !bytes.Contains(list, []byte("21474836480")) {
		t.Errorf("GNU tar lists %q (%v), want disk.img of 21474836480 bytes", list, err)
	}
}

func mustDigest(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
