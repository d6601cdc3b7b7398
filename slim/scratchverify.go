package slim

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/slim/fsdiff"
)

// scratchBase is what a scratch image holds besides the copy: distroless's
// accounts, /tmp and the home of nonroot.
type scratchBaseEntry struct {
	name string // as written in the tar, without the leading "/"
	typ  byte
	mode int64
	uid  int
	body string
}

func scratchBase() []scratchBaseEntry {
	return []scratchBaseEntry{
		{"etc/", tar.TypeDir, 0o755, 0, ""},
		{"etc/group", tar.TypeReg, 0o644, 0, scratchGroup},
		{"etc/passwd", tar.TypeReg, 0o644, 0, scratchPasswd},
		{"home/", tar.TypeDir, 0o755, 0, ""},
		{"home/nonroot/", tar.TypeDir, 0o700, nonrootID, ""},
		{"tmp/", tar.TypeDir, 0o1777, 0, ""},
	}
}

// scratchTree is the file tree a scratch image is meant to hold: each
// path of all as the source image has it (a hardlink as the file it links
// to, a directory the source lacks as root's 0755), with the content
// fetched for it, and the base's files. Written independently of the
// tar writer, it is what the written layer is checked against.
func (p *Plan) scratchTree(all map[string]string, contents map[string]blob) (fsdiff.FS, error) {
	want := fsdiff.FS{}
	for name := range all {
		e := &fsdiff.Entry{Path: name}
		n, ok := p.view.lookup(name)
		if ok && n.typ == tar.TypeLink {
			t, _ := p.view.lookup(n.link)
			e.Type, e.Mode = "file", t.mode&0o7777
			if t.entry != nil {
				e.UID, e.GID, e.Xattrs = t.uid, t.gid, xattrsOf(t.xattrs)
			}
		} else if ok {
			e.Mode = n.mode & 0o7777
			if n.entry != nil {
				e.UID, e.GID, e.Xattrs = n.uid, n.gid, xattrsOf(n.xattrs)
			}
			switch n.typ {
			case tar.TypeReg:
				e.Type = "file"
			case tar.TypeDir:
				e.Type = "dir"
			case tar.TypeSymlink:
				e.Type, e.Link = "symlink", n.link
			case tar.TypeChar:
				e.Type = "char"
			case tar.TypeBlock:
				e.Type = "block"
			case tar.TypeFifo:
				e.Type = "fifo"
			default:
				return nil, fmt.Errorf("%s: an entry of type %q, which a copy cannot hold", name, n.typ)
			}
		} else {
			e.Type, e.Mode = "dir", 0o755
		}
		if e.Type == "file" {
			b, ok := contents[name]
			if !ok {
				return nil, fmt.Errorf("reading %s: not found in its layer", name)
			}
			d, size, err := digestBlob(b)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			e.Size, e.Digest = size, d
		}
		want[name] = e
	}
	for _, g := range scratchBase() {
		name := "/" + strings.TrimSuffix(g.name, "/")
		e := &fsdiff.Entry{Path: name, Mode: g.mode, UID: g.uid, GID: g.uid, Type: "dir"}
		if g.typ == tar.TypeReg {
			sum := sha256.Sum256([]byte(g.body))
			e.Type, e.Size, e.Digest = "file", int64(len(g.body)), "sha256:"+hex.EncodeToString(sum[:])
		}
		want[name] = e
	}
	return want, nil
}

func xattrsOf(pax map[string]string) map[string]string {
	var out map[string]string
	for k, v := range pax {
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[x] = v
		}
	}
	return out
}

func digestBlob(b blob) (string, int64, error) {
	r, err := b.open()
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	d := sha256.New()
	n, err := io.Copy(d, r)
	if err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(d.Sum(nil)), n, nil
}

// verifiedScratch reads the scratch image back, as a container would see
// it, and refuses it unless its filesystem is exactly want: every path,
// type, mode, owner, size, content, link target and extended attribute.
func (p *Plan) verifiedScratch(out v1.Image, want fsdiff.FS) (v1.Image, time.Duration, error) {
	start := time.Now()
	if CorruptForTest != nil {
		var err error
		if out, err = CorruptForTest(out); err != nil {
			return nil, 0, err
		}
	}
	got, err := fsdiff.Read(p.o.ctx, out)
	if err != nil {
		return nil, 0, fmt.Errorf("verifying the scratch image: reading it: %w", err)
	}
	d := fsdiff.Compare(want, got)
	var problems []string
	for _, c := range d.Removed {
		problems = append(problems, "missing: "+c.Path)
	}
	for _, c := range d.Added {
		problems = append(problems, "added: "+c.Path)
	}
	for _, c := range d.Changed {
		problems = append(problems, fmt.Sprintf("changed (%s): %s", strings.Join(c.Fields, ", "), c.Path))
	}
	if n := len(problems); n > 0 {
		if n > maxListedDiffs {
			problems = append(problems[:maxListedDiffs], fmt.Sprintf("and %d more", n-maxListedDiffs))
		}
		return nil, 0, fmt.Errorf("verifying the scratch image: %w (%d differences from the tree it was to hold, nothing written): %s",
			ErrScratchUnverified, n, strings.Join(problems, "; "))
	}
	return out, time.Since(start), nil
}
