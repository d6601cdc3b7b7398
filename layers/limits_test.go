package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// A layer whose stream expands past its Limit is refused with ErrTooLarge,
// after no more than the limit was read, and spooled.
func TestScanDecompressionBomb(t *testing.T) {
	zeros := reg("zeros", strings.Repeat("\x00", 32<<20))
	bomb := gzLayer(t, zeros)
	size, _ := bomb.Size()
	lim := Limit{Ratio: 10, Floor: 1 << 20}
	var spool countingWriter
	_, err := ScanTo(context.Background(), bomb, ScanOptions{Spool: &spool, Limit: lim}, func(*tar.Header, int64, io.Reader) error { return nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if max := max(lim.Floor, 10*size); spool.n > max {
		t.Errorf("spooled %d bytes, want at most the limit, %d", spool.n, max)
	}
	if !strings.Contains(err.Error(), "expands past") {
		t.Errorf("got %q, want a message saying the layer expands past its limit", err)
	}
	// The default limit takes it: 32 MiB is under MinExpansion.
	if _, err := Scan(context.Background(), bomb, func(*tar.Header, io.Reader) error { return nil }); err != nil {
		t.Errorf("default limit: %v", err)
	}
	// A stream that ends exactly at the limit is not a bomb.
	raw := tarBytes(t, reg("a", "a"))
	exact := static.NewLayer(raw, types.OCIUncompressedLayer)
	if _, err := ScanTo(context.Background(), exact, ScanOptions{Limit: Limit{Ratio: 1, Floor: int64(len(raw))}}, func(*tar.Header, int64, io.Reader) error { return nil }); err != nil {
		t.Errorf("a stream at its limit: %v", err)
	}
}

// The spool ends at the end-of-archive marker: what follows is hashed (it
// is part of the diff ID) but no extractor reads it, so it is not kept.
func TestScanSpoolStopsAtEndMarker(t *testing.T) {
	raw := tarBytes(t, reg("a", "hello"), dir("d/"))
	trailing := append(append([]byte(nil), raw...), bytes.Repeat([]byte("junk"), 1<<18)...)
	sum := sha256.Sum256(trailing)
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	var spool bytes.Buffer
	size, err := ScanTo(context.Background(), static.NewLayer(trailing, types.OCIUncompressedLayer), ScanOptions{DiffID: diffID, Spool: &spool}, func(*tar.Header, int64, io.Reader) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(trailing)) {
		t.Errorf("got stream size %d, want %d", size, len(trailing))
	}
	// Go's writer ends with two zero blocks; so does the spool.
	if spool.Len() != len(raw) {
		t.Errorf("spooled %d bytes, want the %d up to the end marker", spool.Len(), len(raw))
	}
}

// A tar cut inside a block is refused, as is a gzip stream cut short. One
// that stops on a block boundary without the end-of-archive marker is how
// some writers end a layer: it reads, and its digests (checked by Open)
// say whether it is the blob the image names.
func TestScanTruncated(t *testing.T) {
	raw := tarBytes(t, reg("a", "a"), reg("b", "b"))
	for name, l := range map[string]v1.Layer{
		"in a header":    static.NewLayer(raw[:300], types.OCIUncompressedLayer),
		"in a padding":   static.NewLayer(raw[:700], types.OCIUncompressedLayer),
		"gzip cut short": static.NewLayer(gzipBytes(t, raw)[:40], types.OCILayer),
	} {
		_, err := Scan(context.Background(), l, func(*tar.Header, io.Reader) error { return nil })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: got %v, want io.ErrUnexpectedEOF", name, err)
		}
	}
	for name, l := range map[string]v1.Layer{
		"at an entry boundary": static.NewLayer(raw[:1024], types.OCIUncompressedLayer),
		"in the marker":        static.NewLayer(raw[:len(raw)-512], types.OCIUncompressedLayer),
	} {
		var got []string
		if _, err := Scan(context.Background(), l, func(h *tar.Header, _ io.Reader) error {
			got = append(got, h.Name)
			return nil
		}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(got) == 0 || got[0] != "a" {
			t.Errorf("%s: got entries %q, want a first", name, got)
		}
	}
	// An empty stream is an empty layer.
	if _, err := Scan(context.Background(), static.NewLayer(nil, types.OCIUncompressedLayer), func(*tar.Header, io.Reader) error { return nil }); err != nil {
		t.Errorf("empty stream: %v", err)
	}
}

// corruptLayer serves bytes that do not hash to the digest it names, as a
// blob corrupted in transit or on disk does.
type corruptLayer struct {
	v1.Layer // the good blob: Digest, Size, MediaType
	blob     []byte
}

func (c corruptLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(c.blob)), nil
}

// A corrupted blob fails the decompressor long before its end, where the
// digest is checked: the error still says digest mismatch, not flate's
// "corrupt input", for gzip and zstd alike, and whether the caller reads
// on or closes.
func TestOpenCorruptBlobSaysDigestMismatch(t *testing.T) {
	var files []file
	for i := range 200 {
		files = append(files, reg(fmt.Sprintf("f%03d", i), strings.Repeat(fmt.Sprintf("%d-", i*7919), 2000)))
	}
	raw := tarBytes(t, files...)
	gz := gzipBytes(t, raw)
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll(raw, nil)
	for name, good := range map[string]v1.Layer{
		"gzip": static.NewLayer(gz, types.OCILayer),
		"zstd": static.NewLayer(zs, types.OCILayerZStd),
	} {
		t.Run(name, func(t *testing.T) {
			blob, err := io.ReadAll(must(good.Compressed()))
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(blob)
			for i := len(bad) / 3; i < len(bad)/3+64; i++ {
				bad[i] ^= 0x5a
			}
			_, err = Scan(context.Background(), corruptLayer{good, bad}, func(*tar.Header, io.Reader) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
				t.Errorf("Scan: got %v, want a layer digest mismatch", err)
			}
			_, _, err = Rewrite(context.Background(), corruptLayer{good, bad}, Edit{}, t.TempDir(), Format{OCI: true})
			if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
				t.Errorf("Rewrite: got %v, want a layer digest mismatch", err)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
