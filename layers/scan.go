package layers

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1"
)

// ScanFunc is called for every entry of a layer, in archive order. r reads
// the entry's content; it need not be read.
type ScanFunc func(h *tar.Header, r io.Reader) error

// Scan reads every header of l and calls fn for each, skipping over the
// contents that fn does not read. It returns the size of the uncompressed
// tar stream. The whole blob is read, so its digest is verified.
func Scan(l v1.Layer, fn ScanFunc) (size int64, err error) {
	return ScanTo(l, v1.Hash{}, nil, func(h *tar.Header, _ int64, r io.Reader) error { return fn(h, r) })
}

// OffsetFunc is a ScanFunc that is also told where the entry's content
// starts in the uncompressed tar stream, and so in a spool.
type OffsetFunc func(h *tar.Header, off int64, r io.Reader) error

// ScanTo is Scan that checks the uncompressed stream against diffID, the
// one the image config names (a blob can match its digest and still not
// be the layer the config says it is), unless diffID is zero, and copies
// the stream to spool when it is not nil, so that a rewrite can read it
// back without decompressing the layer a second time.
func ScanTo(l v1.Layer, diffID v1.Hash, spool io.Writer, fn OffsetFunc) (size int64, err error) {
	rc, err := Open(l)
	if err != nil {
		return 0, err
	}
	var src io.Reader = rc
	var vr *verifier
	if diffID != (v1.Hash{}) {
		vr = &verifier{ReadCloser: rc, h: sha256.New(), want: diffID, what: "layer diff ID", deferred: true}
		src = vr
	}
	if spool != nil {
		src = io.TeeReader(src, spool)
	}
	cr := &countingReader{r: src}
	defer func() {
		// Close drains and verifies the blob; a digest mismatch found
		// there is the error to report.
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reading layer: %w", cerr)
		}
		size = cr.n
	}()
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// Read what follows the end-of-archive marker too, through
			// the hash and the spool.
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
