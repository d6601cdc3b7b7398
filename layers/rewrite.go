package layers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Edit says what Rewrite changes in one layer.
//
// Entries are addressed by their ordinal, the position of their header in
// the archive counting from 0, as Scan reports them: a name is not unique
// in a tar (a later entry replaces an earlier one of the same name), an
// ordinal is. The edits of one entry apply in a fixed order: drop, rename,
// then ownership, which sees the new name.
type Edit struct {
	// Drop lists the entries to leave out. A hardlink later in the layer
	// that needs a dropped entry makes the rewrite fail: it would dangle.
	Drop map[int]bool
	// Rename gives entries a new name (Clean form). Hardlinks later in the
	// layer that name an entry's old name follow it to the new one. This is
	// how a kept hardlink whose target goes is promoted: the target is
	// renamed to the link's name, keeping its place, header and content,
	// and the link is dropped.
	Rename map[int]string
	// Owner, when set, gives the entries whose name (after renaming) it
	// accepts a new owner, as COPY --chown does, by rewriting headers only.
	Owner func(name string) (uid, gid int, ok bool)
}

// Result counts what a rewrite did.
type Result struct {
	Size         int64 // uncompressed tar bytes written
	Entries      int   // entries written
	Dropped      int   // entries left out
	DroppedBytes int64 // content bytes left out (logical sizes)
}

// Rewrite streams l through e into a new layer in dir. Every header field
// that e does not change passes through as read: mode bits including
// setuid, setgid and sticky, numeric and symbolic owners, PAX records (and
// with them xattrs and file capabilities), device numbers, link targets,
// long names and times. A header that e changes is written in the PAX
// format, which holds any name and any owner. Sparse files stay sparse.
func Rewrite(ctx context.Context, l v1.Layer, e Edit, dir string, f Format) (_ v1.Layer, res Result, err error) {
	rc, err := Open(ctx, l, Limit{})
	if err != nil {
		return nil, res, err
	}
	defer func() {
		err = explain(rc, err)
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reading layer: %w", cerr)
		}
	}()
	return RewriteTar(ctx, rc, e, dir, f)
}

// fate is what became of the latest input entry of a name: written under
// the name as, or left out.
type fate struct {
	written bool
	as      string // tar form
}

// RewriteTar is Rewrite reading an uncompressed tar stream, such as one
// that ScanTo spooled.
func RewriteTar(ctx context.Context, r io.Reader, e Edit, dir string, f Format) (_ v1.Layer, res Result, err error) {
	latest := map[string]fate{} // input name (Clean) -> what became of it
	out, size, err := write(ctx, dir, f, func(tw *tar.Writer, raw io.Writer) error {
		tr := tar.NewReader(ctxReader{ctx: ctx, r: r})
		for i := 0; ; i++ {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading tar: %w", err)
			}
			name := Clean(h.Name)
			edited := false
			if h.Typeflag == tar.TypeLink {
				target := Clean(h.Linkname)
				if t, ok := latest[target]; ok {
					switch {
					case e.Drop[i]:
						// A link to a link is a link to the same file:
						// later links to this name follow the target.
						latest[name] = t
						res.Dropped++
						continue
					case !t.written:
						return fmt.Errorf("hardlink %s points at %s, which is left out", name, target)
					case t.as != h.Linkname:
						h.Linkname, edited = t.as, true
					}
				}
				if _, ok := latest[target]; !ok && e.Drop[i] {
					// A target the layer does not hold is in a lower
					// layer, and stays there for later links.
					latest[name] = fate{written: true, as: h.Linkname}
					res.Dropped++
					continue
				}
			}
			if e.Drop[i] {
				latest[name] = fate{}
				res.Dropped++
				res.DroppedBytes += h.Size
				continue
			}
			if to, ok := e.Rename[i]; ok && Clean(to) != name {
				h.Name, edited = strings.TrimPrefix(Clean(to), "/"), true
				if h.Typeflag == tar.TypeDir {
					h.Name += "/"
				}
			}
			latest[name] = fate{written: true, as: h.Name}
			if e.Owner != nil {
				if uid, gid, ok := e.Owner(Clean(h.Name)); ok {
					h.Uid, h.Gid = uid, gid
					// Names would win over the numbers on extraction
					// when they exist in the image; the numbers are
					// the truth here.
					h.Uname, h.Gname = "", ""
					edited = true
				}
			}
			if Sparse(h) {
				if err := writeSparse(tw, raw, h, tr, dir); err != nil {
					return fmt.Errorf("writing sparse file %s: %w", h.Name, err)
				}
				res.Entries++
				continue
			}
			if edited {
				// The header as read may have been USTAR, which holds
				// neither a long new name nor a uid above 2097151.
				h.Format = tar.FormatPAX
			}
			if err := tw.WriteHeader(h); err != nil {
				return fmt.Errorf("writing header %s: %w", h.Name, err)
			}
			if _, err := io.Copy(tw, tr); err != nil {
				return fmt.Errorf("copying %s: %w", h.Name, err)
			}
			res.Entries++
		}
	})
	if err != nil {
		return nil, res, err
	}
	res.Size = size
	return out, res, nil
}
