package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// layerStats counts what one layer holds.
type layerStats struct {
	files, removableFiles int64 // regular files (hard links included)
	bytes, removableBytes int64 // bytes of regular file content
	tarSize, gzSize       int64
}

func (s *layerStats) add(o layerStats) {
	s.files += o.files
	s.removableFiles += o.removableFiles
	s.bytes += o.bytes
	s.removableBytes += o.removableBytes
	s.tarSize += o.tarSize
	s.gzSize += o.gzSize
}

// removable says whether a path is one that a slimmer is expected to remove:
// VCS data, package manager caches, docs and the TypeScript sources.
func removable(name string) bool {
	if name == ".git" || strings.HasPrefix(name, ".git/") || strings.Contains(name, "/.git/") {
		return true
	}
	for _, p := range []string{"root/.npm/", "var/cache/apt/", "var/lib/apt/lists/", "usr/share/doc/", "usr/share/man/", "app/src/"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeLayer writes the entries of layer idx as a gzip-compressed tar straight
// into the blobs directory and returns it as a v1.Layer whose digests were
// computed on the way, so that nothing reads it back.
func writeLayer(blobs string, idx int, entries []entry) (*fileLayer, layerStats, error) {
	var st layerStats
	f, err := os.CreateTemp(blobs, fmt.Sprintf("layer-%d-*.tmp", idx))
	if err != nil {
		return nil, st, err
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	digest, diffID := sha256.New(), sha256.New()
	gzCount, tarCount := &countingWriter{}, &countingWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, digest, gzCount), 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return nil, st, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diffID, tarCount))
	gen := newContentGen(newSeed(idx, "content"))

	for i := range entries {
		e := &entries[i]
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, st, fmt.Errorf("layer %d: %s: %w", idx, e.hdr.Name, err)
		}
		switch {
		case e.data != nil:
			_, err = tw.Write(e.data)
		case e.hdr.Size > 0:
			err = gen.write(tw, e.kind, e.hdr.Size)
		}
		if err != nil {
			return nil, st, fmt.Errorf("layer %d: %s: %w", idx, e.hdr.Name, err)
		}
		if e.hdr.Typeflag == tar.TypeReg || e.hdr.Typeflag == tar.TypeLink {
			if strings.Contains(e.hdr.Name, "/.wh.") || strings.HasPrefix(e.hdr.Name, ".wh.") {
				continue
			}
			st.files++
			st.bytes += e.hdr.Size
			if removable(e.hdr.Name) {
				st.removableFiles++
				st.removableBytes += e.hdr.Size
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, st, err
	}
	if err := zw.Close(); err != nil {
		return nil, st, err
	}
	if err := bw.Flush(); err != nil {
		return nil, st, err
	}
	if err := f.Chmod(0o644); err != nil {
		return nil, st, err
	}
	if err := f.Close(); err != nil {
		return nil, st, err
	}
	l := &fileLayer{digest: sum(digest), diffID: sum(diffID), size: gzCount.n}
	l.path = filepath.Join(blobs, l.digest.Hex)
	if err := os.Rename(f.Name(), l.path); err != nil {
		return nil, st, err
	}
	f = nil
	st.tarSize, st.gzSize = tarCount.n, gzCount.n
	return l, st, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// fileLayer is a gzip layer already written to a file, with known digests.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}
