package layers

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Open returns the uncompressed tar stream of l.
//
// It reads the blob as stored (Compressed) and picks the decompressor from
// the blob's first bytes rather than from the media type: images in the wild
// label uncompressed tars as gzip and the reverse, and go-containerregistry's
// own Uncompressed uses the standard library's gzip, which is several times
// slower than klauspost/compress.
//
// Closing the returned reader first drains the blob, so a layer whose digest
// is checked at EOF (every remote and layout layer) is always verified, even
// when the caller stopped at the tar end-of-archive marker.
func Open(l v1.Layer) (io.ReadCloser, error) {
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	blob, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	// Not every source checks what it serves (an OCI layout's blobs are
	// plain files), so check the blob against its digest here.
	rc := &verifier{ReadCloser: blob, h: sha256.New(), want: digest, what: "layer digest"}
	br := bufio.NewReaderSize(rc, 1<<20)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF {
		rc.Close()
		return nil, fmt.Errorf("reading layer header: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("opening gzip stream: %w", err)
		}
		ra := readAhead(zr)
		return &decompressed{Reader: ra, close: func() error { ra.Close(); return zr.Close() }, src: br, blob: rc}, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("opening zstd stream: %w", err)
		}
		ra := readAhead(zr)
		return &decompressed{Reader: ra, close: func() error { ra.Close(); zr.Close(); return nil }, src: br, blob: rc}, nil
	default:
		return &decompressed{Reader: br, close: func() error { return nil }, src: br, blob: rc}, nil
	}
}

// verifier checks, at EOF, that what was read hashes to want. Unless it is
// deferred, the mismatch is the error of the read that reached EOF; a
// deferred one returns a plain EOF, so that the reader's own complaint (a
// truncated tar) comes first, and is found by check.
type verifier struct {
	io.ReadCloser
	h        hash.Hash
	want     v1.Hash
	what     string
	deferred bool
	err      error
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.ReadCloser.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); v.want.Algorithm == "sha256" && got != v.want.Hex {
			v.err = fmt.Errorf("%s mismatch: got sha256:%s, want %s", v.what, got, v.want)
			if !v.deferred {
				return n, v.err
			}
		}
	}
	return n, err
}

func (v *verifier) check() error { return v.err }

type decompressed struct {
	io.Reader
	close func() error
	src   io.Reader     // the buffered blob
	blob  io.ReadCloser // the blob as opened
}

// Close drains what is left of the decompressed stream and of the blob, so
// that digest verification at EOF runs and reports a mismatch.
func (d *decompressed) Close() error {
	_, derr := io.Copy(io.Discard, d.Reader)
	cerr := d.close()
	_, serr := io.Copy(io.Discard, d.src)
	berr := d.blob.Close()
	for _, err := range []error{derr, cerr, serr, berr} {
		if err != nil {
			return err
		}
	}
	return nil
}
