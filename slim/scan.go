package slim

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/fsdiff"
	"github.com/imgslim/imgslim/slim/secrets"
)

type whiteoutKind uint8

const (
	notWhiteout whiteoutKind = iota
	plainWhiteout
	opaqueWhiteout
)

// entry is what the plan keeps of one tar header.
type entry struct {
	name   string // layers.Clean form
	typ    byte
	mode   int64
	size   int64
	link   string // hardlink target, layers.Clean form; symlink target as stored
	off    int64  // where the content starts in the layer's tar stream
	sparse bool   // a sparse file: its content is read through a tar reader
	stored int64  // a sparse file's bytes in the tar stream, about
	wh     whiteoutKind
	target string // what a whiteout hides
	// What a copy keeps (scratch mode): owner, time, extended attributes
	// (file capabilities), as PAX records "SCHILY.xattr.NAME".
	uid, gid int
	mtime    int64 // Unix seconds
	xattrs   map[string]string
}

// tarBytes estimates what an entry occupies in a tar stream: for a sparse
// file, what its data and map take, not its logical size.
func (e *entry) tarBytes() int64 {
	if e.sparse {
		return 512 + (e.stored+511)/512*512
	}
	return 512 + (e.size+511)/512*512
}

func (e *entry) isFile() bool { return e.wh == notWhiteout && e.typ != tar.TypeDir }

type captured struct {
	hdr  *tar.Header
	data []byte
}

type layerPlan struct {
	src       v1.Layer
	desc      v1.Descriptor // as the source manifest has it
	diffID    v1.Hash       // as the source config has it, checked by the scan
	digest    v1.Hash
	mediaType types.MediaType
	size      int64 // blob bytes
	tarSize   int64
	entries   []entry
	fs        *fsdiff.Recorder // the layer's filesystem, when recorded
	passwd    *captured
	group     *captured
	// files holds the contents the rule sets read (lockfiles, package
	// databases, configs), by name, when the layer is not spooled: the
	// last copy in the layer wins. From a spool they are read on demand.
	files   map[string][]byte
	headers map[string]*tar.Header

	// found holds the secrets the content scan found, by name.
	found map[string]found
	// sniffed are the files the content scan is left to do when the
	// layer is spooled (startSecrets), in the layer's order.
	sniffed []sniffed

	spool   string // the uncompressed tar, when the plan spooled it
	edit    layers.Edit
	changed bool
	chowned int
}

// maxHeld is the most content bytes the scans of one plan keep in memory
// for the rule sets when the layers are not spooled: past it the plan
// fails rather than grow with the image (a spooled plan reads them on
// demand and keeps none).
var maxHeld int64 = 256 << 20 // a variable for tests

func scanLayer(ctx context.Context, l v1.Layer, diffID v1.Hash, spool string, record bool, lim layers.Limit, want func(name string, size int64) bool, held *atomic.Int64) (_ *layerPlan, err error) {
	lp := &layerPlan{src: l, diffID: diffID, files: map[string][]byte{}, headers: map[string]*tar.Header{}}
	var spoolW io.Writer
	if spool != "" {
		// Not err: the deferred function below must see the named result.
		f, cerr := os.Create(spool)
		if cerr != nil {
			return lp, cerr
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				lp.spool = spool
			} else {
				os.Remove(spool) // a failed scan leaves no temp file
			}
		}()
		spoolW = &spoolWriter{w: bw, dir: filepath.Dir(spool)}
	}
	if lp.digest, err = l.Digest(); err != nil {
		return lp, err
	}
	if lp.mediaType, err = l.MediaType(); err != nil {
		return lp, err
	}
	if lp.size, err = l.Size(); err != nil {
		return lp, err
	}
	keep := func(name string, h *tar.Header, data []byte) error {
		lp.headers[name] = h
		if spool != "" {
			return nil // read back from the spool when asked for
		}
		if old, ok := lp.files[name]; ok {
			held.Add(-int64(len(old)))
		}
		if n := held.Add(int64(len(data))); n > maxHeld {
			return fmt.Errorf("the package databases, lockfiles and configs the rule sets read exceed %s in memory (at %s)", Bytes(maxHeld), name)
		}
		lp.files[name] = data
		return nil
	}
	var buf bytes.Buffer
	var fn layers.OffsetFunc = func(h *tar.Header, off int64, r io.Reader) error {
		e := entry{name: layers.Clean(h.Name), typ: h.Typeflag, mode: h.Mode, size: h.Size, off: off, sparse: layers.Sparse(h),
			uid: h.Uid, gid: h.Gid, mtime: h.ModTime.Unix()}
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				if e.xattrs == nil {
					e.xattrs = map[string]string{}
				}
				e.xattrs[k] = v
			}
		}
		if e.typ == tar.TypeGNUSparse {
			e.typ = tar.TypeReg // what extraction makes of it
		}
		switch h.Typeflag {
		case tar.TypeLink:
			e.link = layers.Clean(h.Linkname)
		case tar.TypeSymlink:
			e.link = h.Linkname
		}
		if target, opaque, ok := layers.Whiteout(h); ok {
			e.wh, e.target = plainWhiteout, target
			if opaque {
				e.wh = opaqueWhiteout
			}
		}
		wanted := e.typ == tar.TypeReg && e.wh == notWhiteout && want != nil && want(e.name, h.Size)
		if e.typ == tar.TypeReg && e.wh == notWhiteout && h.Size <= maxSniff {
			// Small files are read whole anyway by the tar reader
			// skipping them; look at them for private keys and keep
			// those the rule sets parse. One buffer serves them all.
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				return fmt.Errorf("reading %s: %w", e.name, err)
			}
			data := buf.Bytes()
			if spool == "" {
				lp.sniff(e.name, data)
			} else if !fixture(e.name) {
				// Scanned once the plan knows which files dpkg ships,
				// whose findings would be ignored (startSecrets).
				lp.sniffed = append(lp.sniffed, sniffed{entry: len(lp.entries), text: len(data) > 0 && secrets.IsText(data)})
			}
			if wanted {
				if err := keep(e.name, h, bytes.Clone(data)); err != nil {
					return err
				}
			}
			r = bytes.NewReader(data)
		} else if wanted {
			var data []byte
			if spool == "" {
				if data, err = io.ReadAll(r); err != nil {
					return fmt.Errorf("reading %s: %w", e.name, err)
				}
				r = bytes.NewReader(data)
			}
			if err := keep(e.name, h, data); err != nil {
				return err
			}
		}
		if k := len(lp.entries) - 1; k >= 0 && lp.entries[k].sparse {
			// What lies between two contents is the sparse one's map
			// and data, and at least this entry's header block.
			lp.entries[k].stored = max(0, off-lp.entries[k].off-512)
		}
		lp.entries = append(lp.entries, e)
		// The account files are small and needed to add a user; keep the
		// last copy of each this layer holds.
		if e.typ == tar.TypeReg && h.Size < 1<<20 && (e.name == "/etc/passwd" || e.name == "/etc/group") {
			data, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("reading %s: %w", e.name, err)
			}
			c := &captured{hdr: h, data: data}
			if e.name == "/etc/passwd" {
				lp.passwd = c
			} else {
				lp.group = c
			}
		}
		return nil
	}
	if record {
		lp.fs = &fsdiff.Recorder{}
		fn = lp.fs.Wrap(fn)
	}
	lp.tarSize, err = layers.ScanTo(ctx, l, layers.ScanOptions{DiffID: lp.diffID, Spool: spoolW, Limit: lim}, fn)
	if k := len(lp.entries) - 1; k >= 0 && lp.entries[k].sparse {
		lp.entries[k].stored = max(0, lp.tarSize-lp.entries[k].off-1024)
	}
	return lp, err
}

// wantContent says which files the scan keeps in memory for the rule sets.
func (p *Plan) wantContent(name string, size int64) bool {
	if size > 64<<20 {
		return false
	}
	base := path.Base(name)
	inModules := strings.Contains(name, "/node_modules/")
	switch {
	case name == "/var/lib/dpkg/status", name == "/var/lib/apt/extended_states",
		strings.HasPrefix(name, "/var/lib/dpkg/info/") && (strings.HasSuffix(name, ".list") || strings.HasSuffix(name, ".md5sums")),
		strings.HasPrefix(name, "/var/lib/dpkg/alternatives/"), strings.HasPrefix(name, "/var/lib/dpkg/triggers/"),
		name == "/lib/apk/db/installed", name == "/etc/apk/world", name == "/lib/apk/db/triggers", name == "/lib/apk/db/scripts.tar",
		name == "/etc/ld.so.conf", strings.HasPrefix(name, "/etc/ld.so.conf.d/"), name == "/etc/nsswitch.conf":
		return true
	case !inModules && (base == "package-lock.json" || base == "npm-shrinkwrap.json" || base == "package.json" || base == "tsconfig.json"):
		return true
	case base == ".npmrc" || base == ".pypirc" || base == ".netrc" || base == ".git-credentials" ||
		strings.HasSuffix(name, "/.docker/config.json") || strings.HasSuffix(name, "/.aws/credentials"):
		return true
	}
	return false
}

// maxSniff is the size up to which the scan reads a file's content to look
// for secrets: every text file up to it is scanned.
const maxSniff = secrets.MaxSize

// sniff scans the content of a small regular file for secrets, and notes
// what it finds for the secrets set. data is the scan's buffer: only the
// findings are kept, never the content. The files whose findings
// findSecrets ignores by name (fixture) are not scanned.
func (lp *layerPlan) sniff(name string, data []byte) {
	if fixture(name) {
		return
	}
	lp.noteFindings(name, secrets.Scan(name, data), data)
}

// found is what the content scan found in a file, and the MD5 of the
// content it found it in: findSecrets exempts a file Debian ships only
// when its content is still the one dpkg recorded.
type found struct {
	fs  []secrets.Finding
	md5 string
}

// noteFindings records what the content scan found in a copy of name,
// whose content is data: the last copy in the layer wins.
func (lp *layerPlan) noteFindings(name string, fs []secrets.Finding, data []byte) {
	if len(fs) == 0 {
		if lp.found != nil {
			delete(lp.found, name) // a later copy in the layer is clean
		}
		return
	}
	if lp.found == nil {
		lp.found = map[string]found{}
	}
	lp.found[name] = found{fs: fs, md5: md5Hex(data)}
}

// md5Hex is the sum dpkg records of a file's content.
func md5Hex(data []byte) string {
	s := md5.Sum(data)
	return hex.EncodeToString(s[:])
}
