package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"
)

var gz = Format{Compress: true, Level: gzip.DefaultCompression, OCI: true}

// longLink is a name USTAR cannot hold: its base alone is over 100 bytes.
var longLink = "app/lib" + strings.Repeat("-long", 25) + ".so"

// inUSTAR marks f to be written in the USTAR format, as most tars are: that
// is how the reader reports it, and a header edited without changing the
// format could not hold what the edit needs.
func inUSTAR(f file) file {
	f.Format = tar.FormatUSTAR
	return f
}

func TestRewrite(t *testing.T) {
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	long := "app/" + strings.Repeat("very-long-directory-name/", 12) + "file.txt" // > 255 bytes
	setuid := reg("usr/bin/su", "su")
	setuid.Mode = 0o4755 | 0o2000
	setuid.Uid, setuid.Gid, setuid.Uname, setuid.Gname, setuid.ModTime = 0, 42, "root", "shadow", mtime
	sticky := dir("tmp/")
	sticky.Mode = 0o1777
	caps := reg("usr/bin/ping", "ping")
	caps.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00", "SCHILY.xattr.user.note": "kept"}
	chr := file{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}
	blk := file{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Devmajor: 8, Devminor: 0}}
	fifo := file{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o600}}
	owned := reg("app/data.txt", "data")
	owned.Uid, owned.Gid, owned.Uname, owned.Gname = 1000, 1000, "node", "node"

	for _, tc := range []struct {
		name string
		in   []file
		edit Edit
		want []file
	}{{
		name: "drop a file, keep the rest",
		in:   []file{dir("app/"), reg("app/.env", "SECRET=1"), reg("app/main.js", "main")},
		edit: Edit{Drop: map[int]bool{1: true}},
		want: []file{dir("app/"), reg("app/main.js", "main")},
	}, {
		name: "names in ./ and / forms match the clean form",
		in:   []file{reg("./app/a", "a"), reg("/app/b", "b"), dir("./app/c/")},
		edit: Edit{Drop: map[int]bool{0: true, 2: true}},
		want: []file{reg("/app/b", "b")},
	}, {
		name: "whiteouts and opaque markers pass through",
		in:   []file{reg("etc/.wh.motd", ""), dir("var/cache/"), reg("var/cache/.wh..wh..opq", ""), reg("var/junk", "j")},
		edit: Edit{Drop: map[int]bool{3: true}},
		want: []file{reg("etc/.wh.motd", ""), dir("var/cache/"), reg("var/cache/.wh..wh..opq", "")},
	}, {
		name: "a hardlink whose target goes becomes a regular file; other links follow it",
		in:   []file{reg("build/lib.so", "ELF"), hardlink("app/lib.so", "build/lib.so"), hardlink("app/lib2.so", "build/lib.so"), reg("app/x", "x")},
		edit: Edit{Rename: map[int]string{0: "/app/lib.so"}, Drop: map[int]bool{1: true}},
		want: []file{reg("app/lib.so", "ELF"), hardlink("app/lib2.so", "app/lib.so"), reg("app/x", "x")},
	}, {
		name: "a hardlink dropped with its target leaves nothing",
		in:   []file{reg("a", "1"), hardlink("b", "a"), reg("c", "3")},
		edit: Edit{Drop: map[int]bool{0: true, 1: true}},
		want: []file{reg("c", "3")},
	}, {
		name: "modes, owners, xattrs, devices, fifos, symlinks, long names and times pass through",
		in:   []file{setuid, sticky, caps, chr, blk, fifo, symlink("usr/bin/python", "/usr/bin/python3"), reg(long, "deep"), reg("drop", "x")},
		edit: Edit{Drop: map[int]bool{8: true}},
		want: []file{setuid, sticky, caps, chr, blk, fifo, symlink("usr/bin/python", "/usr/bin/python3"), reg(long, "deep")},
	}, {
		name: "owner rewrites headers under a path only",
		in:   []file{dir("app/"), owned, reg("etc/hosts", "h")},
		edit: Edit{Owner: func(n string) (int, int, bool) { return 65532, 65532, Within(n, "/app") }},
		want: func() []file {
			a, o := dir("app/"), owned
			a.Uid, a.Gid = 65532, 65532
			o.Uid, o.Gid, o.Uname, o.Gname = 65532, 65532, "", ""
			return []file{a, o, reg("etc/hosts", "h")}
		}(),
	}, {
		name: "a promoted hardlink's long new name is written as PAX",
		in:   []file{inUSTAR(reg("build/lib.so", "ELF")), hardlink(longLink, "build/lib.so")},
		edit: Edit{Rename: map[int]string{0: "/" + longLink}, Drop: map[int]bool{1: true}},
		want: []file{reg(longLink, "ELF")},
	}, {
		name: "owners above the USTAR range (OpenShift ids) are written as PAX",
		in:   []file{inUSTAR(dir("app/")), inUSTAR(reg("app/a", "a"))},
		edit: Edit{Owner: func(string) (int, int, bool) { return 1000680000, 1000680000, true }},
		want: func() []file {
			a, f := dir("app/"), reg("app/a", "a")
			a.Uid, a.Gid, f.Uid, f.Gid = 1000680000, 1000680000, 1000680000, 1000680000
			return []file{a, f}
		}(),
	}, {
		name: "ownership follows the rename: a link promoted into the chowned tree is chowned",
		in:   []file{reg("build/lib.so", "ELF"), hardlink("app/lib.so", "build/lib.so"), reg("build/other", "o")},
		edit: Edit{Rename: map[int]string{0: "/app/lib.so"}, Drop: map[int]bool{1: true, 2: true},
			Owner: func(n string) (int, int, bool) { return 65532, 65532, Within(n, "/app") }},
		want: func() []file {
			f := reg("app/lib.so", "ELF")
			f.Uid, f.Gid = 65532, 65532
			return []file{f}
		}(),
	}, {
		name: "edits address entries, not names: only the dropped copy of a duplicate goes",
		in:   []file{reg("etc/conf", "old"), hardlink("etc/conf.bak", "etc/conf"), reg("etc/conf", "new")},
		edit: Edit{Rename: map[int]string{0: "/etc/conf.bak"}, Drop: map[int]bool{1: true}},
		want: []file{reg("etc/conf.bak", "old"), reg("etc/conf", "new")},
	}, {
		name: "a dropped link to a kept file leaves later links to it pointing at the file",
		in:   []file{reg("a", "1"), hardlink("b", "a"), hardlink("c", "b")},
		edit: Edit{Drop: map[int]bool{1: true}},
		want: []file{reg("a", "1"), hardlink("c", "a")},
	}, {
		name: "a link to a file in a lower layer passes through",
		in:   []file{hardlink("app/x", "usr/lib/x")},
		edit: Edit{},
		want: []file{hardlink("app/x", "usr/lib/x")},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := gzLayer(t, tc.in...)
			out, res, err := Rewrite(context.Background(), in, tc.edit, t.TempDir(), gz)
			if err != nil {
				t.Fatalf("Rewrite: %v", err)
			}
			if err := validate.Layer(out); err != nil {
				t.Fatalf("validate.Layer: %v", err)
			}
			got := entries(t, out)
			want := entries(t, gzLayer(t, tc.want...))
			if !reflect.DeepEqual(names(got), names(want)) {
				t.Fatalf("got entries %q, want %q", names(got), names(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				// Compare what extraction uses; the Format field records how
				// the reader found the header, not what it says.
				g.Format, w.Format = 0, 0
				if !reflect.DeepEqual(g, w) {
					t.Errorf("entry %s:\n got %+v\nwant %+v", g.Name, g, w)
				}
			}
			if res.Entries != len(want) {
				t.Errorf("got Result.Entries %d, want %d", res.Entries, len(want))
			}
			if mt, _ := out.MediaType(); mt != types.OCILayer {
				t.Errorf("got media type %s, want %s", mt, types.OCILayer)
			}
		})
	}
}

// A rewrite that removes nothing from a tar written by Go reproduces it
// byte for byte: headers are written back exactly as read.
func TestRewriteNothingIsIdentical(t *testing.T) {
	caps := reg("usr/bin/ping", "ping")
	caps.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}
	raw := tarBytes(t, dir("app/"), reg("app/a", "a"), caps, hardlink("app/b", "app/a"),
		reg("app/"+strings.Repeat("n", 150), "long"), symlink("app/s", "/etc/passwd"))
	for _, f := range []Format{{OCI: true}, gz} {
		out, _, err := Rewrite(context.Background(), static.NewLayer(raw, types.OCIUncompressedLayer), Edit{}, t.TempDir(), f)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := out.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("compress=%v: got %d bytes differing from the %d input bytes", f.Compress, len(got), len(raw))
		}
		if diff, _ := out.DiffID(); f.Compress == false {
			if dg, _ := out.Digest(); dg != diff {
				t.Errorf("uncompressed layer: digest %s != diff ID %s", dg, diff)
			}
		}
	}
}

// The same input and edit give the same blob: the gzip header carries no
// time or name.
func TestRewriteDeterministic(t *testing.T) {
	in := gzLayer(t, reg("a", strings.Repeat("abc", 1000)), reg("b", "b"))
	var digests []string
	for range 2 {
		out, _, err := Rewrite(context.Background(), in, Edit{Drop: map[int]bool{1: true}}, t.TempDir(), gz)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := out.Digest()
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("got digests %s and %s, want equal", digests[0], digests[1])
	}
}

func TestRewriteBadInput(t *testing.T) {
	good := gzipBytes(t, tarBytes(t, reg("a", strings.Repeat("x", 4096))))
	for _, tc := range []struct {
		name string
		blob []byte
		want string
	}{
		{"truncated gzip", good[:len(good)/2], "unexpected EOF"},
		{"not a tar", gzipBytes(t, []byte(strings.Repeat("not a tar archive ", 100))), "tar"},
		{"garbage", []byte("\x1f\x8bgarbage"), "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := static.NewLayer(tc.blob, types.OCILayer)
			_, _, err := Rewrite(context.Background(), l, Edit{}, t.TempDir(), gz)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
			if _, err := Scan(context.Background(), l, func(*tar.Header, io.Reader) error { return nil }); err == nil {
				t.Errorf("Scan: got no error, want one")
			}
		})
	}
}

func TestWhiteout(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		opaque, ok   bool
	}{
		{"etc/.wh.motd", "/etc/motd", false, true},
		{"./var/cache/.wh..wh..opq", "/var/cache", true, true},
		{".wh.app", "/app", false, true},
		{"etc/motd", "", false, false},
		{"etc/wh.motd", "", false, false},
	} {
		target, opaque, ok := Whiteout(&tar.Header{Name: tc.name})
		if target != tc.target || opaque != tc.opaque || ok != tc.ok {
			t.Errorf("Whiteout(%q) = %q, %v, %v; want %q, %v, %v", tc.name, target, opaque, ok, tc.target, tc.opaque, tc.ok)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"app/x": "/app/x", "./app/x/": "/app/x", "/app//x": "/app/x",
		"../../etc/passwd": "/etc/passwd", "./": "/", "": "/",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// A rewrite refuses to write a hardlink whose target it leaves out, rather
// than a layer that extracts with an error or a missing file.
func TestRewriteRefusesDanglingLink(t *testing.T) {
	in := gzLayer(t, reg("a", "1"), hardlink("b", "a"))
	_, _, err := Rewrite(context.Background(), in, Edit{Drop: map[int]bool{0: true}}, t.TempDir(), gz)
	if err == nil || !strings.Contains(err.Error(), "hardlink /b points at /a, which is left out") {
		t.Errorf("got error %v, want one naming the dangling link", err)
	}
}

// Cancelling the context stops a rewrite with the context's error.
func TestRewriteCancelled(t *testing.T) {
	big := strings.Repeat("x", 4<<20)
	in := gzLayer(t, reg("a", big), reg("b", big), reg("c", big))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Rewrite(ctx, in, Edit{}, t.TempDir(), gz); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: got %v, want context.Canceled", err)
	}
	// Cancelled in the middle: the owner callback runs per entry.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	e := Edit{Owner: func(n string) (int, int, bool) {
		if n == "/b" {
			cancel()
		}
		return 0, 0, false
	}}
	dir := t.TempDir()
	if _, _, err := Rewrite(ctx, in, e, dir, gz); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during: got %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %d files in the work directory", len(left))
	}
}
