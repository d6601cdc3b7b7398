package layers

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a layer whose blob is a file on disk and whose digests were
// computed while the file was written, so nothing is read twice.
type fileLayer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

var _ v1.Layer = (*fileLayer)(nil)

// Digest implements v1.Layer.
func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements v1.Layer.
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements v1.Layer.
func (l *fileLayer) Size() (int64, error) { return l.size, nil }

// MediaType implements v1.Layer.
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed implements v1.Layer.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("opening layer %s: %w", l.digest, err)
	}
	return f, nil
}

// Uncompressed implements v1.Layer.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	// A layer imgslim wrote itself: its own bytes, no limit to enforce.
	return Open(context.Background(), l, Limit{Ratio: 1 << 40})
}
