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
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Format says how a written layer is stored.
type Format struct {
	// Compress gzips the blob; otherwise the blob is the plain tar, which
	// is what `docker save` produces and `docker load` expects.
	Compress bool
	// Zstd compresses with zstd instead of gzip (OCI media types only:
	// Docker's schema 2 has no zstd layer type).
	Zstd bool
	// Level is the gzip level (klauspost/compress/gzip constants); for
	// zstd, 1-9 on the same scale (see zstdLevel).
	Level int
	// OCI selects OCI media types; otherwise Docker schema 2 ones. An image
	// keeps one family throughout, as the image spec's compatibility
	// matrix expects.
	OCI bool
}

// MediaType returns the layer media type for the format.
func (f Format) MediaType() types.MediaType {
	switch {
	case f.Compress && f.Zstd:
		return types.OCILayerZStd
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

	var gz io.WriteCloser
	var behind io.WriteCloser
	tarOut := blob
	if f.Compress {
		if gz, err = newCompressor(blob, f); err != nil {
			return nil, 0, err
		}
		// The compressor spreads its blocks over every core itself; the
		// tar work and the hashing of the stream run beside it.
		behind = writeBehind(gz)
		tarOut = behind
	}
	diffHash := sha256.New()
	tarSize := &countingWriter{}
	raw := ctxWriter{ctx: ctx, w: io.MultiWriter(tarOut, diffHash, tarSize)}
	tw := tar.NewWriter(raw)

	// abort stops the compressor's goroutines; what it wrote is removed.
	abort := func() {
		if behind != nil {
			behind.Close()
			gz.Close()
		}
	}
	if err := fill(tw, raw); err != nil {
		abort()
		return nil, 0, err
	}
	// Close in order: the tar writer's end-of-archive blocks must reach
	// the compressor before the compressor's trailer reaches the file.
	if err := tw.Close(); err != nil {
		abort()
		return nil, 0, fmt.Errorf("closing tar: %w", err)
	}
	if behind != nil {
		if err := behind.Close(); err != nil {
			gz.Close()
			return nil, 0, fmt.Errorf("compressing: %w", err)
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, 0, fmt.Errorf("closing the compressor: %w", err)
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

// BlockSize is the size of the blocks a layer's stream is cut into to be
// compressed on all cores at once. The blob depends on it (and on the
// level), never on how many cores there are or how the writes fell, so the
// same layer and Format always give the same digest.
const BlockSize = 1 << 20

// newCompressor returns the compressor of f writing to w.
//
// gzip: pgzip deflates BlockSize blocks in parallel, each primed with the
// tail of the one before, and joins them into one gzip member; the header
// holds no time, name or OS-dependent byte, so the blob is a function of
// the tar stream, the level and BlockSize. The ratio is within a fraction
// of a percent of one-stream deflate, and a 600 MB layer compresses in half
// the time on two cores.
//
// zstd: klauspost's encoder, single-threaded per layer (its concurrent mode
// cuts the stream where the scheduler lets it, which is deterministic in
// klauspost's implementation, but one goroutine per layer is enough
// alongside the other layers being written), with no checksum of its own:
// the blob and diff ID digests are checked instead.
func newCompressor(w io.Writer, f Format) (io.WriteCloser, error) {
	if f.Zstd {
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstdLevel(f.Level)), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("creating zstd writer: %w", err)
		}
		return zw, nil
	}
	gz, err := pgzip.NewWriterLevel(w, f.Level)
	if err != nil {
		return nil, fmt.Errorf("creating gzip writer: %w", err)
	}
	gz.ModTime = time.Unix(0, 0)
	gz.OS = 255 // unknown, as Go's gzip writes it on every system
	if err := gz.SetConcurrency(BlockSize, max(2, runtime.GOMAXPROCS(0))); err != nil {
		return nil, fmt.Errorf("creating gzip writer: %w", err)
	}
	return gz, nil
}

// zstdLevel maps a 1-9 level (gzip's scale, which --compression-level
// takes for both) onto zstd's four encoder speeds; zero is the default.
func zstdLevel(level int) zstd.EncoderLevel {
	switch {
	case level <= 0:
		return zstd.SpeedDefault
	case level <= 2:
		return zstd.SpeedFastest
	case level <= 6:
		return zstd.SpeedDefault
	case level <= 8:
		return zstd.SpeedBetterCompression
	default:
		return zstd.SpeedBestCompression
	}
}
