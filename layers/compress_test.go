package layers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// bigFiles returns files whose tar spans several compression blocks:
// compressible text with random words, so blocks differ.
func bigFiles(n int) []file {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"layer ", "image ", "tar ", "gzip ", "block ", "node_modules/", "\n"}
	var fs []file
	for i := range n {
		var b bytes.Buffer
		for b.Len() < 700<<10 {
			b.WriteString(words[r.IntN(len(words))])
			if r.IntN(50) == 0 {
				var x [8]byte
				for k := range x {
					x[k] = byte(r.Uint32())
				}
				b.Write(x[:])
			}
		}
		fs = append(fs, reg("data/f"+string(rune('a'+i)), b.String()))
	}
	return fs
}

// writeLayer writes files with Write, handing the tar writer chunk-byte
// writes, with GOMAXPROCS procs.
func writeLayer(t *testing.T, f Format, files []file, chunk, procs int) (digest, diffID string, blob []byte) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	l, _, err := Write(context.Background(), t.TempDir(), f, func(tw *tar.Writer) error {
		for _, fl := range files {
			h := fl.Header
			if err := tw.WriteHeader(&h); err != nil {
				return err
			}
			for b := []byte(fl.body); len(b) > 0; {
				k := min(chunk, len(b))
				if _, err := tw.Write(b[:k]); err != nil {
					return err
				}
				b = b[k:]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	di, _ := l.DiffID()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	blob, err = io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return d.String(), di.String(), blob
}

// A layer compressed in parallel blocks is one valid gzip member that any
// gzip reader (here the standard library's) reads back to the tar whose
// digest is the diff ID; and its bytes depend on the stream, the level and
// BlockSize only: not on the cores, nor on how the writes were cut.
func TestParallelGzipDeterministicAndStandard(t *testing.T) {
	files := bigFiles(3) // about 2 MiB: three blocks
	want := tarBytes(t, files...)
	for _, level := range []int{1, 6} {
		f := Format{Compress: true, Level: level, OCI: true}
		d0, diff0, blob := writeLayer(t, f, files, 1<<20, 1)
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("level %d: standard gzip reader: %v", level, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("level %d: got %d bytes back, want the %d of the tar", level, len(got), len(want))
		}
		if h := sha256.Sum256(got); "sha256:"+hex.EncodeToString(h[:]) != diff0 {
			t.Errorf("level %d: diff ID %s is not the tar's digest", level, diff0)
		}
		if len(blob) >= len(want)/2 {
			t.Errorf("level %d: %d-byte blob for a %d-byte tar: not compressed", level, len(blob), len(want))
		}
		for _, v := range []struct{ chunk, procs int }{{1 << 20, 4}, {1000, 3}, {3 << 20, 8}} {
			d, diff, _ := writeLayer(t, f, files, v.chunk, v.procs)
			if d != d0 || diff != diff0 {
				t.Errorf("level %d, writes of %d bytes, %d procs: got %s, want %s as with 1 proc", level, v.chunk, v.procs, d, d0)
			}
		}
	}
}

// zstd: OCI's tar+zstd media type, read back by Open (by its magic) to the
// same tar, deterministic too.
func TestZstdLayer(t *testing.T) {
	files := append(bigFiles(1), reg("etc/x", "x"))
	want := tarBytes(t, files...)
	f := Format{Compress: true, Zstd: true, Level: 6, OCI: true}
	if got := f.MediaType(); got != types.OCILayerZStd {
		t.Errorf("got media type %s, want %s", got, types.OCILayerZStd)
	}
	d0, _, _ := writeLayer(t, f, files, 1<<20, 1)
	l, _, err := Write(context.Background(), t.TempDir(), f, func(tw *tar.Writer) error {
		for _, fl := range files {
			h := fl.Header
			if err := tw.WriteHeader(&h); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, fl.body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Digest(); d.String() != d0 {
		t.Errorf("got digest %s, want %s", d, d0)
	}
	rc, err := Open(context.Background(), l, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got %d bytes back, want the %d of the tar", len(got), len(want))
	}
	if mt, _ := l.MediaType(); mt != types.OCILayerZStd {
		t.Errorf("got layer media type %s, want %s", mt, types.OCILayerZStd)
	}
}

// An empty layer (the end-of-archive marker only) is valid gzip too.
func TestParallelGzipEmpty(t *testing.T) {
	_, _, blob := writeLayer(t, Format{Compress: true, Level: 6}, nil, 1, 2)
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || len(got) != 1024 {
		t.Errorf("got %d bytes, %v; want the 1024-byte end-of-archive marker", len(got), err)
	}
}
