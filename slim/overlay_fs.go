package slim

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/imgslim/imgslim/slim/elfdeps"
)

// imageFS is the image's filesystem as elfdeps reads it: metadata from the
// plan's view of the layers, contents once fetched.
type imageFS struct{ p *Plan }

var _ elfdeps.FS = imageFS{}

type info struct {
	name string
	n    node
	dir  bool // a directory known only by what it holds
}

func (i info) Name() string { return path.Base(i.name) }
func (i info) Size() int64 {
	if i.dir {
		return 0
	}
	return i.n.size
}
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	m := fs.FileMode(i.n.mode & 0o777)
	switch i.n.typ {
	case tar.TypeDir:
		m |= fs.ModeDir
	case tar.TypeSymlink:
		m |= fs.ModeSymlink
	case tar.TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case tar.TypeBlock:
		m |= fs.ModeDevice
	case tar.TypeFifo:
		m |= fs.ModeNamedPipe
	}
	return m
}
func (i info) ModTime() time.Time         { return time.Time{} }
func (i info) IsDir() bool                { return i.Mode().IsDir() }
func (i info) Sys() any                   { return nil }
func (i info) Type() fs.FileMode          { return i.Mode().Type() }
func (i info) Info() (fs.FileInfo, error) { return i, nil }

func (f imageFS) Lstat(name string) (fs.FileInfo, error) {
	n, ok := f.p.view.lookup(name)
	if !ok {
		if f.p.view.exists(name) || name == "/" {
			return info{name: name, dir: true}, nil
		}
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	if n.typ == tar.TypeLink {
		// A hardlink is the file it links to.
		if t, ok := f.p.view.lookup(n.link); ok {
			return info{name: name, n: t}, nil
		}
	}
	return info{name: name, n: n}, nil
}

func (f imageFS) Readlink(name string) (string, error) {
	n, ok := f.p.view.lookup(name)
	if !ok || n.typ != tar.TypeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.link, nil
}

func (f imageFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !f.p.view.exists(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for _, c := range f.p.view.list(name) {
		fi, err := f.Lstat(c)
		if err != nil {
			return nil, err
		}
		out = append(out, fi.(info))
	}
	return out, nil
}

func (f imageFS) Open(name string) (elfdeps.File, error) {
	if b, ok := f.p.content(name); ok && b != nil {
		// Captured by the scan: write it where fetched files go.
		if _, done := f.p.fetched[name]; !done {
			if _, err := f.p.fetch([]string{name}); err != nil {
				return nil, err
			}
		}
	}
	b, ok := f.p.fetched[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, elfdeps.ErrNotFetched)
	}
	return b.open()
}
