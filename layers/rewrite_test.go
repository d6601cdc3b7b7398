package layers

import (
	"archive/tar"
	"bytes"
	"io"
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
		edit: Edit{Drop: map[string]bool{"/app/.env": true}},
		want: []file{dir("app/"), reg("app/main.js", "main")},
	}, {
		name: "names in ./ and / forms match the clean form",
		in:   []file{reg("./app/a", "a"), reg("/app/b", "b"), dir("./app/c/")},
		edit: Edit{Drop: map[string]bool{"/app/a": true, "/app/c": true}},
		want: []file{reg("/app/b", "b")},
	}, {
		name: "whiteouts and opaque markers pass through",
		in:   []file{reg("etc/.wh.motd", ""), dir("var/cache/"), reg("var/cache/.wh..wh..opq", ""), reg("var/junk", "j")},
		edit: Edit{Drop: map[string]bool{"/var/junk": true}},
		want: []file{reg("etc/.wh.motd", ""), dir("var/cache/"), reg("var/cache/.wh..wh..opq", "")},
	}, {
		name: "a hardlink whose target goes becomes a regular file; other links follow it",
		in:   []file{reg("build/lib.so", "ELF"), hardlink("app/lib.so", "build/lib.so"), hardlink("app/lib2.so", "build/lib.so"), reg("app/x", "x")},
		edit: Edit{Drop: map[string]bool{"/build/lib.so": true}, Promote: map[string]string{"/build/lib.so": "/app/lib.so"}},
		want: []file{reg("app/lib.so", "ELF"), hardlink("app/lib2.so", "app/lib.so"), reg("app/x", "x")},
	}, {
		name: "a hardlink dropped with its target leaves nothing",
		in:   []file{reg("a", "1"), hardlink("b", "a"), reg("c", "3")},
		edit: Edit{Drop: map[string]bool{"/a": true, "/b": true}},
		want: []file{reg("c", "3")},
	}, {
		name: "modes, owners, xattrs, devices, fifos, symlinks, long names and times pass through",
		in:   []file{setuid, sticky, caps, chr, blk, fifo, symlink("usr/bin/python", "/usr/bin/python3"), reg(long, "deep"), reg("drop", "x")},
		edit: Edit{Drop: map[string]bool{"/drop": true}},
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
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := gzLayer(t, tc.in...)
			out, res, err := Rewrite(in, tc.edit, t.TempDir(), gz)
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
		out, _, err := Rewrite(static.NewLayer(raw, types.OCIUncompressedLayer), Edit{}, t.TempDir(), f)
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
		out, _, err := Rewrite(in, Edit{Drop: map[string]bool{"/b": true}}, t.TempDir(), gz)
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
			_, _, err := Rewrite(l, Edit{}, t.TempDir(), gz)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
			if _, err := Scan(l, func(*tar.Header, io.Reader) error { return nil }); err == nil {
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
