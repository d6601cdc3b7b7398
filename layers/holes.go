package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1"
)

// CopyHoles copies r to f leaving its runs of zero blocks as holes, and
// sizes f to what r held: the content of a sparse tar entry (a 20 GiB disk
// image of a few kilobytes) costs disk for its data only. f must not be
// opened for appending.
func CopyHoles(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	zero := func(b []byte) bool { return bytes.Equal(b, zeroBlock[:len(b)]) }
	for {
		k, rerr := io.ReadFull(r, buf)
		chunk := buf[:k]
		for off := 0; off < len(chunk); {
			if zero(chunk[off:min(off+blockSize, len(chunk))]) {
				off += blockSize
				continue
			}
			start := off
			for off < len(chunk) && !zero(chunk[off:min(off+blockSize, len(chunk))]) {
				off += blockSize
			}
			off = min(off, len(chunk))
			if _, err := f.WriteAt(chunk[start:off], n+int64(start)); err != nil {
				return n, err
			}
		}
		n += int64(k)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, f.Truncate(n)
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// WriteSparse is Write for a layer that may hold sparse files: fill gets,
// besides the tar writer, sparse, which writes the regular file h whose
// logical content (h.Size bytes) r reads with its runs of zero blocks as
// holes, in the PAX sparse format Rewrite keeps a sparse file in (or plain,
// on purpose, when the holes are too few to matter).
func WriteSparse(ctx context.Context, dir string, f Format, fill func(tw *tar.Writer, sparse func(h *tar.Header, r io.Reader) error) error) (_ v1.Layer, size int64, err error) {
	return write(ctx, dir, f, func(tw *tar.Writer, raw io.Writer) error {
		return fill(tw, func(h *tar.Header, r io.Reader) error { return writeSparse(tw, raw, h, r, dir) })
	})
}
