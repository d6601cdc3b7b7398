package layers

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Edit says what Rewrite changes in one layer. Names are in Clean form.
type Edit struct {
	// Drop lists the entries to leave out.
	Drop map[string]bool
	// Promote maps a dropped hardlink target to the kept hardlink that
	// takes its place: the link is written as a regular file with the
	// target's header and content, where the target was, and every other
	// link to the target is pointed at it. A hardlink must never dangle.
	Promote map[string]string
	// Owner, when set, gives the entries under its keys' paths a new owner,
	// as COPY --chown does, by rewriting headers only.
	Owner func(name string) (uid, gid int, ok bool)
}

// Result counts what a rewrite did.
type Result struct {
	Size         int64 // uncompressed tar bytes written
	Entries      int   // entries written
	Dropped      int   // entries left out
	DroppedBytes int64 // content bytes left out
}

// Rewrite streams l through e into a new layer in dir. Every header field
// that e does not change passes through as read: mode bits including
// setuid, setgid and sticky, numeric and symbolic owners, PAX records (and
// with them xattrs and file capabilities), device numbers, link targets,
// long names and times.
func Rewrite(l v1.Layer, e Edit, dir string, f Format) (_ v1.Layer, res Result, err error) {
	rc, err := Open(l)
	if err != nil {
		return nil, res, err
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reading layer: %w", cerr)
		}
	}()
	return RewriteTar(rc, e, dir, f)
}

// RewriteTar is Rewrite reading an uncompressed tar stream, such as one
// that ScanTo spooled.
func RewriteTar(rc io.Reader, e Edit, dir string, f Format) (_ v1.Layer, res Result, err error) {
	relink := map[string]string{} // dropped target -> promoted link (tar name)
	out, size, err := Write(dir, f, func(tw *tar.Writer) error {
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading tar: %w", err)
			}
			name := Clean(h.Name)
			if link, ok := e.Promote[name]; ok {
				h.Name = strings.TrimPrefix(link, "/")
				relink[name] = h.Name
			} else if e.Drop[name] {
				res.Dropped++
				res.DroppedBytes += h.Size
				continue
			}
			if h.Typeflag == tar.TypeLink {
				target := Clean(h.Linkname)
				if p, ok := relink[target]; ok {
					if Clean(p) == name {
						// Already written in the target's place.
						continue
					}
					h.Linkname = p
				}
			}
			if e.Owner != nil {
				if uid, gid, ok := e.Owner(name); ok {
					h.Uid, h.Gid = uid, gid
					// Names would win over the numbers on extraction
					// when they exist in the image; the numbers are
					// the truth here.
					h.Uname, h.Gname = "", ""
				}
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
