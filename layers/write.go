package layers

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// Format says how a written layer is stored.
type Format struct {
	// Compress gzips the blob; otherwise the blob is the plain tar, which
	// is what `docker save` produces and `docker load` expects.
	Compress bool
	// Level is the gzip level (klauspost/compress/gzip constants).
	Level int
	// OCI selects OCI media types; otherwise Docker schema 2 ones. An image
	// keeps one family throughout, as the image spec's compatibility
	// matrix expects.
	OCI bool
}

// MediaType returns the layer media type for the format.
func (f Format) MediaType() types.MediaType {
	switch {
	case f.OCI && f.Compress:
		return types.OCILayer
	case f.OCI:
		return types.OCIUncompressedLayer
	case f.Compress:
		return types.DockerLayer
	default:
		return types.DockerUncompressedLayer
	}
}

// Write creates a layer in dir from the entries that fill writes, and
// returns it with the uncompressed size of its tar stream.
//
// The blob goes to a file rather than through an io.Pipe because a layer's
// digest must be known before its descriptor can be written: hashing while
// writing gives both digests in the one pass that compresses.
//
// Writing stops with ctx's error once ctx is done.
func Write(ctx context.Context, dir string, f Format, fill func(tw *tar.Writer) error) (_ v1.Layer, size int64, err error) {
	return write(ctx, dir, f, func(tw *tar.Writer, _ io.Writer) error { return fill(tw) })
}

// write is Write giving fill the stream under the tar writer too, for the
// entries archive/tar cannot write (sparse files), written between two
// Flushes of tw.
func write(ctx context.Context, dir string, f Format, fill func(tw *tar.Writer, raw io.Writer) error) (_ v1.Layer, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	file, err := os.CreateTemp(dir, "layer-*.blob")
	if err != nil {
		return nil, 0, fmt.Errorf("creating layer file: %w", err)
	}
	defer func() {
		if err != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}()

	blobHash := sha256.New()
	blobSize := &countingWriter{}
	bw := bufio.NewWriterSize(file, 1<<20)
	blob := io.MultiWriter(bw, blobHash, blobSize)

	var gz *gzip.Writer
	var behind io.WriteCloser
	tarOut := blob
	if f.Compress {
		if gz, err = gzip.NewWriterLevel(blob, f.Level); err != nil {
			return nil, 0, fmt.Errorf("creating gzip writer: %w", err)
		}
		// Deflate in its own goroutine, beside the tar work.
		behind = writeBehind(gz)
		tarOut = behind
	}
	diffHash := sha256.New()
	tarSize := &countingWriter{}
	raw := ctxWriter{ctx: ctx, w: io.MultiWriter(tarOut, diffHash, tarSize)}
	tw := tar.NewWriter(raw)

	if err := fill(tw, raw); err != nil {
		if behind != nil {
			behind.Close()
		}
		return nil, 0, err
	}
	// Close in order: the tar writer's end-of-archive blocks must reach
	// the compressor before the compressor's trailer reaches the file.
	if err := tw.Close(); err != nil {
		if behind != nil {
			behind.Close()
		}
		return nil, 0, fmt.Errorf("closing tar: %w", err)
	}
	if behind != nil {
		if err := behind.Close(); err != nil {
			return nil, 0, fmt.Errorf("compressing: %w", err)
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, 0, fmt.Errorf("closing gzip: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, 0, fmt.Errorf("writing layer file: %w", err)
	}
	if err := file.Close(); err != nil {
		return nil, 0, fmt.Errorf("writing layer file: %w", err)
	}
	return &fileLayer{
		path:      file.Name(),
		digest:    sum(blobHash),
		diffID:    sum(diffHash),
		size:      blobSize.n,
		mediaType: f.MediaType(),
	}, tarSize.n, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
