package fsdiff

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type ent struct {
	tar.Header
	body string
}

func reg(name, body string) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}
func dir(name string) ent {
	return ent{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}
func link(name, target string, typ byte) ent {
	return ent{Header: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

func layer(t *testing.T, es ...ent) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.Header
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func image(t *testing.T, ls ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func read(t *testing.T, img v1.Image) FS {
	t.Helper()
	fs, err := Read(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestRead(t *testing.T) {
	xattr := reg("app/cap", "bin")
	xattr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00"}
	fs := read(t, image(t,
		layer(t, dir("a/"), reg("a/x", "x"), reg("a/y", "y"), dir("d/"), reg("d/old", "o"), reg("f", "file"), dir("t/"), reg("t/in", "i"), xattr),
		layer(t, reg("a/.wh.x", ""), reg("d/.wh..wh..opq", ""), reg("d/new", "n"), link("h", "a/y", tar.TypeLink), link("s", "/a/y", tar.TypeSymlink), reg("t", "now a file")),
	))
	var got []string
	for _, p := range sortedPaths(fs) {
		got = append(got, p)
	}
	want := "/a,/a/y,/app/cap,/d,/d/new,/f,/h,/s,/t"
	if strings.Join(got, ",") != want {
		t.Errorf("paths: got %s, want %s", strings.Join(got, ","), want)
	}
	if h, y := fs["/h"], fs["/a/y"]; h.Type != "file" || h.Digest != y.Digest || h.Size != 1 {
		t.Errorf("hardlink: got %+v, want the content of %+v", h, y)
	}
	if s := fs["/s"]; s.Type != "symlink" || s.Link != "/a/y" {
		t.Errorf("symlink: got %+v", s)
	}
	if c := fs["/app/cap"]; c.Xattrs["security.capability"] != "\x01\x00" {
		t.Errorf("xattrs: got %+v", c.Xattrs)
	}
}

func TestCompare(t *testing.T) {
	base := layer(t, dir("a/"), reg("a/x", "x"), reg("a/y", "y"), reg("m", "m"), link("l", "a/x", tar.TypeSymlink))
	chmod := reg("m", "m")
	chmod.Mode = 0o755
	chown := reg("a/y", "y")
	chown.Uid = 1000
	a := read(t, image(t, base))
	b := read(t, image(t, base, layer(t, reg("a/.wh.x", ""), chmod, chown, reg("new", "n"), link("l", "a/y", tar.TypeSymlink))))
	r := Compare(a, b)
	var got []string
	for _, c := range r.Removed {
		got = append(got, "-"+c.Path)
	}
	for _, c := range r.Added {
		got = append(got, "+"+c.Path)
	}
	for _, c := range r.Changed {
		got = append(got, "~"+c.Path+":"+strings.Join(c.Fields, ","))
	}
	if want := "-/a/x +/new ~/a/y:owner ~/l:link ~/m:mode"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	if r := Compare(a, a); !r.Empty() {
		t.Errorf("an image against itself: got %+v", r)
	}
}
