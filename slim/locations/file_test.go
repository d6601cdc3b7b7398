package locations

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// A file target is renamed over a regular file or nothing: a device node,
// or a symlink to one, is refused before any work and at write time, and
// nothing is created beside it.
func TestFileTargetKinds(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 1)
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular.tar")
	write(t, regular, []byte("old"))
	mustSymlink(t, "/dev/null", filepath.Join(dir, "to-null"))
	mustSymlink(t, regular, filepath.Join(dir, "to-regular"))
	mustSymlink(t, filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	os.Mkdir(filepath.Join(dir, "a-dir"), 0o755)

	for _, kind := range []Kind{DockerArchive, OCIArchive} {
		for _, tc := range []struct {
			path string
			want string // "" for success
		}{
			{"/dev/null", "character device"},
			{filepath.Join(dir, "to-null"), "symbolic link to /dev/null"},
			{filepath.Join(dir, "dangling"), "leads nowhere"},
			{filepath.Join(dir, "a-dir"), "directory"},
			{filepath.Join(dir, "to-regular"), ""},
			{filepath.Join(dir, "new.tar"), ""},
		} {
			t.Run(string(kind)+" "+filepath.Base(tc.path), func(t *testing.T) {
				before := listDir(t, filepath.Dir(tc.path))
				tg, err := NewTarget(Location{Kind: kind, Path: tc.path}, Location{Kind: Registry})
				if err != nil {
					t.Fatal(err)
				}
				checkErr := tg.Check(ctx)
				writeErr := tg.WriteImage(ctx, img)
				for what, err := range map[string]error{"Check": checkErr, "WriteImage": writeErr} {
					switch {
					case tc.want == "" && err != nil:
						t.Errorf("%s: got %v, want nil", what, err)
					case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
						t.Errorf("%s: got %v, want an error saying %q", what, err, tc.want)
					}
				}
				if tc.want != "" {
					if after := listDir(t, filepath.Dir(tc.path)); after != before {
						t.Errorf("directory after a refused write: got %s, want %s", after, before)
					}
					if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
						t.Fatalf("/dev/null is no longer a character device: %v %v", fi, err)
					}
				}
			})
		}
	}
	// Through the symlink, the file it names was replaced and the link kept.
	if fi, err := os.Lstat(filepath.Join(dir, "to-regular")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("to-regular: got %v, %v, want the symlink kept", fi, err)
	}
	if b, _ := os.ReadFile(regular); bytes.Equal(b, []byte("old")) {
		t.Errorf("%s: still the old content, want the archive written through the symlink", regular)
	}
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func listDir(t testing.TB, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return fmt.Sprint(names)
}

// "-" writes an archive to the standard output given.
func TestArchiveToStdout(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2)
	for _, kind := range []Kind{DockerArchive, OCIArchive} {
		t.Run(string(kind), func(t *testing.T) {
			var out bytes.Buffer
			l, err := Parse(string(kind) + ":-")
			if err != nil || !l.Stdout() {
				t.Fatalf("Parse: got %+v, %v, want a stdout location", l, err)
			}
			tg, err := NewTarget(l, Location{Kind: Registry}, WithStdout(&out))
			if err != nil {
				t.Fatal(err)
			}
			if err := tg.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := tg.WriteImage(ctx, img); err != nil {
				t.Fatalf("WriteImage: %v", err)
			}
			var back v1.Image
			if kind == DockerArchive {
				back, err = tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out.Bytes())), nil }, nil)
			} else {
				p := writeTemp(t, "out.tar", out.Bytes())
				var c *Contents
				if c, err = openAt(t, Location{Kind: OCIArchive, Path: p}); err == nil {
					defer c.Close()
					back = c.Image
				}
			}
			if err != nil {
				t.Fatalf("reading stdout back: %v", err)
			}
			if err := validate.Image(back); err != nil {
				t.Errorf("validate: %v", err)
			}
			if _, err := os.Stat("-"); err == nil {
				t.Errorf("a file named - was created")
			}
		})
		t.Run(string(kind)+" without stdout", func(t *testing.T) {
			tg, err := NewTarget(Location{Kind: kind, Path: "-"}, Location{Kind: Registry})
			if err != nil {
				t.Fatal(err)
			}
			if err := tg.Check(ctx); err == nil {
				t.Errorf("Check: got nil, want an error")
			}
		})
	}
}

// Writers adding tags to one layout at once keep every tag: index.json is
// updated under a lock, whether the layout exists or they create it.
func TestLayoutConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	const writers = 8
	imgs := make([]v1.Image, writers)
	for i := range imgs {
		imgs[i] = randomImage(t, 1)
	}
	for _, existing := range []bool{true, false} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			if existing {
				dir, _ = newLayout(t, map[string]v1.Image{"first": randomImage(t, 1)})
			}
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tg, err := NewTarget(Location{Kind: OCILayout, Path: dir, Ref: fmt.Sprintf("t%d", i)}, Location{Kind: Registry})
					if err == nil {
						err = tg.WriteImage(ctx, imgs[i])
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}
			p, err := layout.FromPath(dir)
			if err != nil {
				t.Fatal(err)
			}
			ii, _ := p.ImageIndex()
			im, err := ii.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string]v1.Hash{}
			for _, m := range im.Manifests {
				tags[m.Annotations[refNameAnnotation]] = m.Digest
			}
			for i := range writers {
				want, _ := imgs[i].Digest()
				if got := tags[fmt.Sprintf("t%d", i)]; got != want {
					t.Errorf("tag t%d: got %v, want %s", i, got, want)
				}
			}
			if existing && tags["first"] == (v1.Hash{}) {
				t.Errorf("tag first: lost")
			}
			if err := validate.Index(ii); err != nil {
				t.Errorf("validate: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".layout.imgslim-*")); len(left) != 0 {
				t.Errorf("temporary directories left: %q", left)
			}
		})
	}
}

// A layout target that is a file is refused before any work.
func TestLayoutTargetNotADirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	write(t, p, []byte("x"))
	tg, err := NewTarget(Location{Kind: OCILayout, Path: p}, Location{Kind: Registry})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Errorf("Check: got %v, want 'not an OCI layout'", err)
	}
}
