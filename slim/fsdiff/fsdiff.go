// Package fsdiff compares the filesystems two images present: what a
// container started from each would see, after every layer's whiteouts.
// Each path is compared by type, mode, owner, size, content digest, link
// target and extended attributes; modification times are not compared,
// as a rewrite may keep or reset them.
package fsdiff

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/layers"
)

// Entry is one path of a filesystem.
type Entry struct {
	Path string `json:"path"`
	// Type is file, dir, symlink, char, block or fifo. A hardlink is the
	// file it links to: the same content under another name.
	Type string `json:"type"`
	// Mode holds the permission bits, setuid, setgid and sticky.
	Mode   int64             `json:"mode"`
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	Size   int64             `json:"size"`
	Digest string            `json:"digest,omitempty"` // sha256 of a file's content
	Link   string            `json:"link,omitempty"`   // a symlink's target
	Xattrs map[string]string `json:"xattrs,omitempty"`
	// Device numbers of a char or block device.
	DevMajor int64 `json:"devMajor,omitempty"`
	DevMinor int64 `json:"devMinor,omitempty"`
}

// FS is a filesystem: its entries by path ("/" excluded).
type FS map[string]*Entry

// Read returns the filesystem img presents. It reads every layer once,
// hashing file contents as they stream: memory holds the entries, never
// the contents.
func Read(ctx context.Context, img v1.Image) (FS, error) {
	return NewReader().Read(ctx, img)
}

// Reader reads filesystems, parsing each distinct layer (by digest) once:
// a source and its slimmed output share the layers that lost nothing.
type Reader struct {
	parsed map[v1.Hash][]item // by blob digest
}

// NewReader returns a Reader with an empty cache.
func NewReader() *Reader { return &Reader{parsed: map[v1.Hash][]item{}} }

// item is one tar entry of a layer, in order.
type item struct {
	e        Entry
	whiteout bool // e.Path is hidden in the layers below
	opaque   bool // e.Path's children in the layers below are hidden
	hardlink string
	marker   *Entry // a whiteout's own entry
}

// Read returns the filesystem img presents.
func (r *Reader) Read(ctx context.Context, img v1.Image) (FS, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading layers: %w", err)
	}
	// Blob digests key the cache: a layer's digest is in its descriptor,
	// where asking a layer of a layout or an archive for its DiffID
	// decompresses it a whole extra time; and Open checks the blob against
	// its digest as it reads, so two layers of one digest hold one tar.
	ids := make([]v1.Hash, len(ls))
	for i, l := range ls {
		if ids[i], err = l.Digest(); err != nil {
			return nil, fmt.Errorf("reading layer %d: %w", i+1, err)
		}
	}
	// Parse the layers not seen yet several at once (one core each: the
	// hashing of contents is what costs), then lay them over each other.
	parsed := make([][]item, len(ls))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	first := map[v1.Hash]int{}
	for i, l := range ls {
		if _, ok := r.parsed[ids[i]]; ok {
			continue
		}
		if _, ok := first[ids[i]]; ok {
			continue
		}
		first[ids[i]] = i
		g.Go(func() error {
			items, err := r.layer(gctx, l)
			if err != nil {
				return fmt.Errorf("reading layer %d: %w", i+1, err)
			}
			parsed[i] = items
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for id, i := range first {
		r.parsed[id] = parsed[i]
	}
	fs := FS{}
	for i := range ls {
		fs.apply(r.parsed[ids[i]])
	}
	return fs, nil
}

func (r *Reader) layer(ctx context.Context, l v1.Layer) ([]item, error) {
	rc, err := layers.Open(ctx, l, layers.Limit{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var rec Recorder
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := rec.add(h, tr, nil); err != nil {
			return nil, err
		}
	}
	return rec.items, nil
}

// Recorder builds a layer's entries from a scan that reads the layer
// anyway (see Wrap), so that a Reader primed with them (Prime) need not
// read the layer a second time.
type Recorder struct {
	items []item
	// buf is what content is hashed through: io.Copy would allocate
	// 32 kB a file (neither a counter nor a hash has ReadFrom or
	// WriteTo), a large allocation, zeroed, for each of a layer's
	// hundred thousand files.
	buf []byte
}

// Wrap returns fn recording every entry as it goes: fn reads the content
// through a tee into the entry's hash, and what fn leaves unread is read
// into the hash after it returns.
func (rec *Recorder) Wrap(fn layers.OffsetFunc) layers.OffsetFunc {
	return func(h *tar.Header, off int64, r io.Reader) error {
		return rec.add(h, r, func(r io.Reader) error { return fn(h, off, r) })
	}
}

// Prime gives r the entries rec recorded of the layer whose blob digest is
// digest, which Read then takes instead of reading the layer.
func (r *Reader) Prime(digest v1.Hash, rec *Recorder) { r.parsed[digest] = rec.items }

// add records the entry h with content r, calling fn (when not nil) with
// the content first.
func (rec *Recorder) add(h *tar.Header, r io.Reader, fn func(io.Reader) error) (err error) {
	name := layers.Clean(h.Name)
	// content hashes r: what fn reads of it, then the rest.
	content := func() (int64, string, error) {
		d := sha256.New()
		cr := &counter{r: r}
		if fn != nil {
			if err := fn(io.TeeReader(cr, d)); err != nil {
				return 0, "", err
			}
			fn = nil
		}
		if rec.buf == nil {
			rec.buf = make([]byte, 32<<10)
		}
		if _, err := io.CopyBuffer(d, cr, rec.buf); err != nil {
			return 0, "", fmt.Errorf("reading %s: %w", name, err)
		}
		return cr.n, "sha256:" + hex.EncodeToString(d.Sum(nil)), nil
	}
	defer func() {
		if fn != nil && err == nil {
			err = fn(r) // an entry whose content is not hashed
		}
	}()
	if target, opaque, ok := layers.Whiteout(h); ok {
		// The marker itself, as a file: a hostile layer may
		// hardlink to it.
		n, digest, err := content()
		if err != nil {
			return err
		}
		marker := Entry{Path: name, Type: "file", Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Size: n, Digest: digest}
		rec.items = append(rec.items, item{e: Entry{Path: target}, whiteout: !opaque, opaque: opaque, marker: &marker})
		return nil
	}
	if name == "/" {
		return nil
	}
	e := Entry{Path: name, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid}
	it := item{}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeRegA:
		e.Type = "file"
		n, digest, err := content()
		if err != nil {
			return err
		}
		e.Size, e.Digest = n, digest
	case tar.TypeLink:
		e.Type, it.hardlink = "file", layers.Clean(h.Linkname)
	case tar.TypeSymlink:
		e.Type, e.Link = "symlink", h.Linkname
	case tar.TypeDir:
		e.Type = "dir"
	case tar.TypeChar, tar.TypeBlock:
		e.Type = map[byte]string{tar.TypeChar: "char", tar.TypeBlock: "block"}[h.Typeflag]
		e.DevMajor, e.DevMinor = h.Devmajor, h.Devminor
	case tar.TypeFifo:
		e.Type = "fifo"
	default:
		return nil // not a file system entry (PAX globals, …)
	}
	for k, v := range h.PAXRecords {
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[x] = v
		}
	}
	it.e = e
	rec.items = append(rec.items, it)
	return nil
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// apply lays one layer over fs, as the OCI image spec says: its whiteouts
// hide what the layers below hold, then its entries replace theirs.
func (fs FS) apply(items []item) {
	markers := map[string]*Entry{}
	for _, it := range items {
		if it.marker != nil {
			markers[it.marker.Path] = it.marker
		}
		switch {
		case it.whiteout:
			fs.removeTree(it.e.Path, true)
		case it.opaque:
			fs.removeTree(it.e.Path, false)
		}
	}
	for _, it := range items {
		if it.whiteout || it.opaque {
			continue
		}
		e := it.e
		if old, ok := fs[e.Path]; ok && old.Type == "dir" && e.Type != "dir" {
			fs.removeTree(e.Path, true) // a file over a directory replaces the tree
		}
		if it.hardlink != "" {
			// A hardlink shares its target's inode: content, mode and
			// owner are the target's.
			t, ok := fs[it.hardlink]
			if !ok {
				t, ok = markers[it.hardlink]
			}
			if ok {
				e.Mode, e.UID, e.GID, e.Size, e.Digest, e.Xattrs = t.Mode, t.UID, t.GID, t.Size, t.Digest, t.Xattrs
				e.Type = t.Type
			}
		}
		fs[e.Path] = &e
	}
}

// removeTree removes the paths under p, and p itself when self is set.
func (fs FS) removeTree(p string, self bool) {
	if self {
		delete(fs, p)
	}
	prefix := p + "/"
	if p == "/" {
		prefix = "/"
	}
	for k := range fs {
		if strings.HasPrefix(k, prefix) {
			delete(fs, k)
		}
	}
}

// Change is a path that differs: removed (only in A), added (only in B)
// or changed (in both, with the fields that differ).
type Change struct {
	Path   string   `json:"path"`
	Fields []string `json:"fields,omitempty"`
	Before *Entry   `json:"before,omitempty"`
	After  *Entry   `json:"after,omitempty"`
}

// Result is what differs between two filesystems, each list sorted by
// path.
type Result struct {
	Removed []Change `json:"removed"`
	Added   []Change `json:"added"`
	Changed []Change `json:"changed"`
}

// Empty reports whether the filesystems are the same.
func (r *Result) Empty() bool { return len(r.Removed)+len(r.Added)+len(r.Changed) == 0 }

// Compare returns what differs from a to b.
func Compare(a, b FS) *Result {
	r := &Result{Removed: []Change{}, Added: []Change{}, Changed: []Change{}}
	for _, p := range sortedPaths(a) {
		ea := a[p]
		eb, ok := b[p]
		if !ok {
			r.Removed = append(r.Removed, Change{Path: p, Before: ea})
			continue
		}
		if f := fields(ea, eb); len(f) > 0 {
			r.Changed = append(r.Changed, Change{Path: p, Fields: f, Before: ea, After: eb})
		}
	}
	for _, p := range sortedPaths(b) {
		if _, ok := a[p]; !ok {
			r.Added = append(r.Added, Change{Path: p, After: b[p]})
		}
	}
	return r
}

// fields lists what differs between two entries of one path.
func fields(a, b *Entry) []string {
	var f []string
	if a.Type != b.Type {
		f = append(f, "type")
	}
	if a.Mode != b.Mode {
		f = append(f, "mode")
	}
	if a.UID != b.UID || a.GID != b.GID {
		f = append(f, "owner")
	}
	if a.Size != b.Size {
		f = append(f, "size")
	}
	if a.Digest != b.Digest {
		f = append(f, "content")
	}
	if a.Link != b.Link {
		f = append(f, "link")
	}
	if !maps.Equal(a.Xattrs, b.Xattrs) {
		f = append(f, "xattrs")
	}
	if a.DevMajor != b.DevMajor || a.DevMinor != b.DevMinor {
		f = append(f, "device")
	}
	return f
}

func sortedPaths(fs FS) []string {
	ps := slices.Collect(maps.Keys(fs))
	sort.Strings(ps)
	return ps
}
