package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// file is one entry of a test tar: a header and, for regular files, a body.
type file struct {
	tar.Header
	body string
}

func reg(name, body string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func hardlink(name, target string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

func symlink(name, target string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}}
}

// tarBytes writes files as a tar with Go's archive/tar.
func tarBytes(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := f.Header
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing header %s: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatalf("writing %s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzLayer is a gzip OCI layer holding files. (static.NewLayer would take
// the gzip blob for a plain tar and give its digest as the diff ID.)
func gzLayer(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	b := gzipBytes(t, tarBytes(t, files...))
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// entries reads back every header and body of a layer.
func entries(t testing.TB, l v1.Layer) []file {
	t.Helper()
	var out []file
	if _, err := Scan(context.Background(), l, func(h *tar.Header, r io.Reader) error {
		b, err := io.ReadAll(r)
		out = append(out, file{Header: *h, body: string(b)})
		return err
	}); err != nil {
		t.Fatalf("scanning: %v", err)
	}
	return out
}

func names(fs []file) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}
