package layers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
//
// Every read checks ctx, so a cancelled run stops within one read, and the
// stream may not grow past what lim allows for the blob's size.
func Open(ctx context.Context, l v1.Layer, lim Limit) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	blob, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	// Not every source checks what it serves (an OCI layout's blobs are
	// plain files), so check the blob against its digest here.
	rc := &verifier{ReadCloser: blob, h: sha256.New(), want: digest, what: "layer digest", size: size}
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
		return &decompressed{Reader: guard(ctx, ra, lim, size, digest), close: func() error { ra.Close(); return zr.Close() }, src: br, blob: rc}, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("opening zstd stream: %w", err)
		}
		ra := readAhead(zr)
		return &decompressed{Reader: guard(ctx, ra, lim, size, digest), close: func() error { ra.Close(); zr.Close(); return nil }, src: br, blob: rc}, nil
	default:
		return &decompressed{Reader: guard(ctx, br, lim, size, digest), close: func() error { return nil }, src: br, blob: rc}, nil
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
	// size, when set, is the size the descriptor gives: a blob that
	// hashes right but is longer or shorter than its descriptor says is
	// refused too (the descriptor is what a registry and a writer trust).
	size, n int64
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.ReadCloser.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); v.want.Algorithm == "sha256" && got != v.want.Hex {
			v.err = &mismatchError{what: v.what, got: "sha256:" + got, want: v.want.String()}
		} else if v.size > 0 && v.n != v.size {
			v.err = &mismatchError{what: "layer size", got: fmt.Sprintf("%d bytes", v.n), want: fmt.Sprintf("%d bytes, as its descriptor says", v.size)}
		}
		if v.err != nil && !v.deferred {
			return n, v.err
		}
	}
	return n, err
}

func (v *verifier) check() error { return v.err }

// mismatchError is a blob or stream that does not hash to the digest that
// names it.
type mismatchError struct{ what, got, want string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("%s mismatch: got %s, want %s", e.what, e.got, e.want)
}

type decompressed struct {
	io.Reader
	close func() error
	src   io.Reader     // the buffered blob
	blob  io.ReadCloser // the blob as opened

	drained bool // src was drained by explain
}

// explain returns err, or the blob's digest mismatch when there is one: a
// blob corrupted in transit or on disk makes the decompressor or the tar
// reader fail long before the blob's end, where its digest is checked, and
// "digest mismatch" tells the user what happened where "flate: corrupt
// input" or "invalid tar header" does not. It stops the decompressor first,
// so that the blob is read by nothing else while it is drained.
func (d *decompressed) explain(err error) error {
	if err == nil || d.drained || errors.Is(err, ErrTooLarge) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	d.drained = true
	d.close()
	d.Reader, d.close = eofReader{}, func() error { return nil }
	var mismatch *mismatchError
	if _, serr := io.Copy(io.Discard, d.src); errors.As(serr, &mismatch) {
		return serr
	}
	return err
}

// explain is decompressed.explain for the reader Open returned.
func explain(rc io.ReadCloser, err error) error {
	if d, ok := rc.(*decompressed); ok {
		return d.explain(err)
	}
	return err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

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

// DefaultRatio and MinExpansion make the default Limit: a layer's stream
// may reach 100 times its blob's size, and 1 GiB whatever the blob. Real
// layers expand 2 to 10 times; only long runs of one byte go much further,
// which is what a decompression bomb is made of.
const (
	DefaultRatio = 100
	MinExpansion = 1 << 30
)

// ErrTooLarge is the error of a layer whose stream expands past its Limit.
var ErrTooLarge = errors.New("layer expands past the decompression limit")

// Limit bounds how far a layer's uncompressed stream may expand, so that a
// few megabytes of gzip cannot fill the disk with terabytes of spool.
type Limit struct {
	// Ratio is the most uncompressed bytes per blob byte; zero means
	// DefaultRatio.
	Ratio int64
	// Floor is the size below which a stream is never refused; zero
	// means MinExpansion.
	Floor int64
}

// max returns the most bytes a stream from a blob of size bytes may hold.
func (lim Limit) max(size int64) int64 {
	r := lim.Ratio
	if r <= 0 {
		r = DefaultRatio
	}
	if size > 0 && r > (1<<62)/size {
		return 1 << 62
	}
	floor := lim.Floor
	if floor <= 0 {
		floor = MinExpansion
	}
	return max(floor, r*size)
}

// guard wraps a stream so that every read checks ctx and the stream stops
// with ErrTooLarge past lim.
func guard(ctx context.Context, r io.Reader, lim Limit, size int64, digest v1.Hash) io.Reader {
	return &guarded{ctx: ctx, r: r, left: lim.max(size), size: size, digest: digest}
}

type guarded struct {
	ctx    context.Context
	r      io.Reader
	left   int64
	size   int64
	read   int64
	digest v1.Hash
}

func (g *guarded) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, err
	}
	if g.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit
		// from one that goes on.
		var b [1]byte
		if _, err := io.ReadFull(g.r, b[:]); err == io.EOF {
			return 0, io.EOF
		} else if err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("layer %s: %w: its %d-byte blob expands past %d bytes (raise the ratio of uncompressed to compressed bytes if the image is trusted)", g.digest, ErrTooLarge, g.size, g.read)
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	g.read += int64(n)
	return n, err
}

// ctxReader is a reader that stops once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxWriter is a writer that stops once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
