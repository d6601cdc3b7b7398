package layers

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
)

// ScanFunc is called for every entry of a layer, in archive order. r reads
// the entry's content; it need not be read.
type ScanFunc func(h *tar.Header, r io.Reader) error

// Scan reads every header of l and calls fn for each, skipping over the
// contents that fn does not read. It returns the size of the uncompressed
// tar stream. The whole blob is read, so its digest is verified.
func Scan(ctx context.Context, l v1.Layer, fn ScanFunc) (size int64, err error) {
	return ScanTo(ctx, l, ScanOptions{}, func(h *tar.Header, _ int64, r io.Reader) error { return fn(h, r) })
}

// OffsetFunc is a ScanFunc that is also told where the entry's content
// starts in the uncompressed tar stream, and so in a spool.
type OffsetFunc func(h *tar.Header, off int64, r io.Reader) error

// ScanOptions says what ScanTo checks and keeps besides calling its func.
type ScanOptions struct {
	// DiffID, unless zero, is the diff ID the image config names: a blob
	// can match its digest and still not be the layer the config says.
	DiffID v1.Hash
	// Spool, when not nil, receives the tar stream up to its end-of-archive
	// marker, so that a rewrite can read it back without decompressing the
	// layer a second time. What follows the marker is read, to check the
	// digests, but not kept: no extractor reads it.
	Spool io.Writer
	// Limit bounds the stream's expansion.
	Limit Limit
}

// ScanTo is Scan with the checks and the spool of o.
func ScanTo(ctx context.Context, l v1.Layer, o ScanOptions, fn OffsetFunc) (size int64, err error) {
	rc, err := Open(ctx, l, o.Limit)
	if err != nil {
		return 0, err
	}
	var src io.Reader = rc
	var vr *verifier
	if o.DiffID != (v1.Hash{}) {
		vr = &verifier{ReadCloser: rc, h: sha256.New(), want: o.DiffID, what: "layer diff ID", deferred: true}
		src = vr
	}
	var spool *switchWriter
	if o.Spool != nil {
		spool = &switchWriter{w: o.Spool}
		src = io.TeeReader(src, spool)
	}
	cr := &countingReader{r: src}
	defer func() {
		// Close drains and verifies the blob; a digest mismatch found
		// there is the error to report.
		err = explain(rc, err)
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reading layer: %w", cerr)
		}
		size = cr.n
	}()
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// archive/tar reports a stream that stops between entries
			// (or in a padding) as a clean end. A stream that stops
			// inside a block was cut; one that stops on a block
			// boundary after a whole entry, without the end-of-archive
			// marker, is how some writers end a layer (GNU tar reads
			// it too), and the digests checked below say whether it is
			// the blob the image names: a cut in transit fails there.
			if cr.n%blockSize != 0 {
				return cr.n, fmt.Errorf("reading tar: %w: the layer stops inside a 512-byte block (truncated)", io.ErrUnexpectedEOF)
			}
			// archive/tar stops right after the two zero blocks of the
			// end-of-archive marker: the spool ends there. Read what
			// follows through the hashes.
			if spool != nil {
				spool.w = nil
			}
			if _, err := io.Copy(io.Discard, cr); err != nil {
				return cr.n, fmt.Errorf("reading layer: %w", err)
			}
			if vr != nil {
				return cr.n, vr.check()
			}
			return cr.n, nil
		}
		if err != nil {
			return cr.n, fmt.Errorf("reading tar: %w", err)
		}
		// archive/tar reads a header's blocks and no further, so the
		// content starts where the stream stands.
		if err := fn(h, cr.n, tr); err != nil {
			return cr.n, err
		}
	}
}

// switchWriter writes to w until w is set to nil.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

// Sparse reports whether h is a sparse file (old GNU 'S' entries, or PAX
// GNU.sparse records): its content in the tar stream is not its bytes, so
// it can be read only through a tar reader, and h.Size is its logical size.
func Sparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
