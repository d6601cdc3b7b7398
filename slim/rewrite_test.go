package slim

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"

	"github.com/imgslim/imgslim/layers"
)

// checkLinks fails the test when a hardlink of the output names an entry
// that is neither before it in its layer nor in a lower layer.
func checkLinks(t *testing.T, all [][]file) {
	t.Helper()
	below := map[string]bool{}
	for li, fs := range all {
		here := map[string]bool{}
		for _, f := range fs {
			n := layers.Clean(f.Name)
			if f.Typeflag == tar.TypeLink {
				if target := layers.Clean(f.Linkname); !here[target] && !below[target] {
					t.Errorf("layer %d: hardlink %s dangles: %s is not there", li+1, n, target)
				}
			}
			here[n] = true
		}
		for n := range here {
			below[n] = true
		}
	}
}

// The rewrite of hardlinks whose targets a rule removes: a target a later
// layer's link needs stays where it is, with no promotion in its own layer
// left behind; a link promoted into a --chown tree is chowned like its
// neighbours.
func TestImageHardlinks(t *testing.T) {
	t.Run("a target a later layer needs stays, and is not promoted in its own layer", func(t *testing.T) {
		src := testImage(t, v1.Config{User: "1000"},
			gzLayer(t, dir("build/"), reg("build/lib.so", "ELF"), reg("build/junk.o", "junk"), dir("app/"), hardlink("app/lib.so", "build/lib.so")),
			gzLayer(t, hardlink("app/other.so", "build/lib.so")))
		out, _, err := Image(src, WithRules(mustRules(t, "build")), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		all := layerFiles(t, out)
		checkLinks(t, all)
		if f, ok := find(all, "/build/lib.so"); !ok || f.body != "ELF" {
			t.Errorf("/build/lib.so: got %v %q, want it kept with its content", ok, f.body)
		}
		if f, _ := find(all, "/app/lib.so"); f.Typeflag != tar.TypeLink {
			t.Errorf("/app/lib.so: got type %c, want it still a hardlink (no stray promotion)", f.Typeflag)
		}
	})
	t.Run("a link promoted into a chowned tree is chowned", func(t *testing.T) {
		src := testImage(t, v1.Config{},
			gzLayer(t, reg("etc/passwd", passwd), reg("etc/group", group), dir("build/"), reg("build/lib.so", "ELF"), hardlink("app/lib.so", "build/lib.so")))
		out, _, err := Image(src, WithRules(mustRules(t, "build")), WithChown("/app"), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		all := layerFiles(t, out)
		checkLinks(t, all)
		f, ok := find(all, "/app/lib.so")
		if !ok || f.Typeflag != tar.TypeReg || f.body != "ELF" {
			t.Fatalf("/app/lib.so: got %v type %c %q, want the promoted file", ok, f.Typeflag, f.body)
		}
		if f.Uid != 65532 || f.Gid != 65532 {
			t.Errorf("/app/lib.so: got owner %d:%d, want 65532:65532", f.Uid, f.Gid)
		}
	})
	t.Run("a directory entry between target and link does not stop the promotion", func(t *testing.T) {
		// GNU tar's order: the link's directory comes after the target.
		src := testImage(t, v1.Config{User: "1000"},
			gzLayer(t, dir("build/"), reg("build/lib.so", "ELF"), dir("app/"), hardlink("app/lib.so", "build/lib.so")))
		out, r, err := Image(src, WithRules(mustRules(t, "build")), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		all := layerFiles(t, out)
		checkLinks(t, all)
		if f, ok := find(all, "/app/lib.so"); !ok || f.Typeflag != tar.TypeReg || f.body != "ELF" {
			t.Errorf("/app/lib.so: got %v type %c %q, want the promoted file", ok, f.Typeflag, f.body)
		}
		if _, ok := find(all, "/build/lib.so"); ok || len(r.Warnings) != 0 {
			t.Errorf("/build/lib.so present %v, warnings %q: want it removed, as asked", ok, r.Warnings)
		}
	})
	t.Run("a promoted name over 100 bytes and an OpenShift uid", func(t *testing.T) {
		long := "app/" + strings.Repeat("x", 120) + ".so"
		src := testImage(t, v1.Config{},
			gzLayer(t, reg("etc/passwd", passwd), reg("etc/group", group), reg("build/lib.so", "ELF"), hardlink(long, "build/lib.so")))
		out, _, err := Image(src, WithRules(mustRules(t, "build")), WithUser("1000680000"), WithChown("/app"), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		f, ok := find(layerFiles(t, out), "/"+long)
		if !ok || f.body != "ELF" || f.Uid != 1000680000 {
			t.Errorf("%s: got %v %q uid %d, want the promoted file owned by 1000680000", long, ok, f.body, f.Uid)
		}
	})
}

// An opaque marker hides the lower layers' copies only, wherever it stands
// in its own layer: the user step extends the image's /etc/passwd, the
// one after the marker's layer, and does not replace it.
func TestImageOpaqueMarkerAfterPasswd(t *testing.T) {
	mine := passwd + "app:x:1000:1000::/home/app:/bin/sh\n"
	src := testImage(t, v1.Config{},
		gzLayer(t, dir("etc/"), reg("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), reg("etc/group", group)),
		gzLayer(t, dir("etc/"), reg("etc/passwd", mine), reg("etc/group", group), reg("etc/.wh..wh..opq", "")))
	out, _, err := Image(src, WithUser("app"), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := out.ConfigFile()
	if cf.Config.User != "1000:1000" {
		t.Errorf("got User %q, want 1000:1000, the image's app user", cf.Config.User)
	}
	if ls, _ := out.Layers(); len(ls) != 2 {
		t.Errorf("got %d layers, want 2: app exists, nothing to add", len(ls))
	}
	if p, _ := find(layerFiles(t, out), "/etc/passwd"); p.body != mine {
		t.Errorf("got /etc/passwd %q, want the image's %q", p.body, mine)
	}
}

// --keep beats every removal, the built-in sets' included.
func TestImageKeepBeatsSets(t *testing.T) {
	src := testImage(t, v1.Config{User: "1000"}, gzLayer(t,
		dir("usr/share/doc/pkg/"), reg("usr/share/doc/pkg/changelog.gz", "changes"), dir("usr/share/man/man1/"), reg("usr/share/man/man1/x.1", "man")))
	keep, err := NewRules(nil, []string{"/usr/share/doc"})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Image(src, WithSets(SetDocs), WithRules(keep), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	all := layerFiles(t, out)
	if _, ok := find(all, "/usr/share/doc/pkg/changelog.gz"); !ok {
		t.Errorf("--keep /usr/share/doc: the docs set removed /usr/share/doc/pkg/changelog.gz")
	}
	if _, ok := find(all, "/usr/share/man/man1/x.1"); ok {
		t.Errorf("/usr/share/man/man1/x.1 is still there: the docs set did not run")
	}
}

// A sparse file survives a rewrite as sparse, and the report counts what
// the layers hold: nothing grows, no negative saving.
func TestImageSparse(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("GNU tar is needed")
		}
		t.Skip("no tar")
	}
	src := t.TempDir()
	big := filepath.Join(src, "data.img")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(32 << 20)
	f.WriteAt([]byte("data"), 1<<20)
	f.Close()
	os.WriteFile(filepath.Join(src, "junk"), []byte("junk"), 0o644)
	archive := filepath.Join(t.TempDir(), "layer.tar")
	if out, err := exec.Command(tarBin, "--format=gnu", "-S", "-cf", archive, "-C", src, "data.img", "junk").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, v1.Config{User: "1000"}, rawLayer(t, raw))

	out, r, err := Image(img, WithRules(mustRules(t, "junk")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(out); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	if r.After.Uncompressed > r.Before.Uncompressed || r.After.Compressed > 64<<10 {
		t.Errorf("the output grew: before %+v, after %+v", r.Before, r.After)
	}
	d, ok := find(layerFiles(t, out), "/data.img")
	if !ok || int64(len(d.body)) != 32<<20 || d.body[1<<20:1<<20+4] != "data" {
		t.Errorf("/data.img: got %v, %d bytes, want the 32 MiB file", ok, len(d.body))
	}
	// The dry run's estimate of removing the sparse file is no bigger than
	// the layer.
	p, err := NewPlan(img, WithRules(mustRules(t, "data.img")), WithWorkDir(t.TempDir()), withSpool())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if e := p.Report(); e.After.Uncompressed < 0 || e.After.Compressed < 0 {
		t.Errorf("estimate after removing the sparse file: %+v, want no negative size", e.After)
	}
}

// rawLayer is a gzip layer holding the tar raw as it is.
func rawLayer(t testing.TB, raw []byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A cancelled context stops Image with the context's error, leaving no
// files behind.
func TestImageCancelled(t *testing.T) {
	src := testImage(t, v1.Config{User: "1000"}, gzLayer(t, reg("a", strings.Repeat("a", 1<<20)), reg("b", "b")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, _, err := Image(src, WithContext(ctx), WithRules(mustRules(t, "b")), WithWorkDir(dir)); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %d files in the work directory", len(left))
	}
}

// The free space the spool needs is checked before it starts.
func TestCheckSpace(t *testing.T) {
	dir := t.TempDir()
	if err := checkSpace(dir, 1); err != nil {
		t.Errorf("1 byte: %v", err)
	}
	err := checkSpace(dir, 1<<62)
	if err == nil || !strings.Contains(err.Error(), "not enough free space in "+dir) {
		t.Errorf("got %v, want an error naming %s", err, dir)
	}
}

// A hardlink to a whiteout marker (no tool writes one; a hostile image
// can): the marker that hides nothing any more cannot simply go.
func TestImageHardlinkToWhiteout(t *testing.T) {
	src := testImage(t, v1.Config{User: "1000"},
		gzLayer(t, dir("a/"), reg("a/x", "x")),
		gzLayer(t, reg("a/.wh..wh..opq", ""), hardlink("b", "a/.wh..wh..opq")))
	out, _, err := Image(src, WithRules(mustRules(t, "a/x")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	all := layerFiles(t, out)
	checkLinks(t, all)
	if _, ok := find(all, "/b"); !ok {
		t.Errorf("/b is gone")
	}
}

// Without a spool, what the rule sets read is held in memory up to a cap,
// past which the plan fails with a clear error rather than grow.
func TestPlanContentCap(t *testing.T) {
	defer func(old int64) { maxHeld = old }(maxHeld)
	maxHeld = 4 << 10
	lock := `{"lockfileVersion":3,"packages":{}}` + strings.Repeat(" ", 3<<10)
	src := testImage(t, v1.Config{User: "1000"}, gzLayer(t,
		reg("app/package.json", `{"name":"a"}`), reg("app/package-lock.json", lock), reg("srv/package-lock.json", lock)))
	_, err := NewPlan(src, WithSets(SetDevDeps), WithWorkDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "exceed 4.1 kB in memory") {
		t.Errorf("got %v, want the cap's error", err)
	}
	// A spooled plan holds none of it.
	p, err := NewPlan(src, WithSets(SetDevDeps), WithWorkDir(t.TempDir()), withSpool())
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}
