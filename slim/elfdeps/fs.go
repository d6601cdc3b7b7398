package elfdeps

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// FS is an image's filesystem as imgslim knows it: every path's metadata
// from the layers' tar headers, and file contents only once fetched.
//
// Names passed to an FS are absolute, clean, and have no symlink among
// their parent directories: Resolve follows symlinks itself, one component
// at a time, so an FS backed by a map of tar headers needs no symlink
// logic of its own.
type FS interface {
	// Lstat returns the metadata of name, an error matching fs.ErrNotExist
	// when the image has no such path.
	Lstat(name string) (fs.FileInfo, error)
	// Readlink returns a symlink's target as stored.
	Readlink(name string) (string, error)
	// ReadDir returns the entries of a directory sorted by name. Resolve
	// needs it for the globs of ld.so.conf "include" lines.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Open returns a regular file's content, or an error matching
	// ErrNotFetched when the content is not available yet.
	Open(name string) (File, error)
}

// File is the content of a regular file in the image.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// ErrNotFetched is what FS.Open returns for a file whose content has not
// been fetched yet. Resolve lists such files in Result.Fetch.
var ErrNotFetched = errors.New("content not fetched")

// maxHops is the kernel's limit on symlinks followed in one path lookup
// (MAXSYMLINKS): one more is ELOOP.
const maxHops = 40

// hop is a symlink crossed while resolving a path.
type hop struct {
	path, target string
}

// walk resolves name inside the image the way the kernel resolves a path
// for a process chrooted at the image root: component by component,
// following every symlink (at most maxHops), with ".." at the root staying
// at the root and absolute targets starting again from the image root.
// name need not be clean: "/opt/app/bin/../lib" climbs out of whatever
// /opt/app/bin really is, as the kernel does. walk returns the real path
// (no symlink in it), the symlinks crossed in order, and the real path's
// metadata.
func walk(fsys FS, name string) (string, []hop, fs.FileInfo, error) {
	var hops []hop
	cur := "/"
	var fi fs.FileInfo // of cur; nil for "/" until needed
	rest := name
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			break
		}
		comp := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		switch comp {
		case ".":
			continue
		case "..":
			cur, fi = path.Dir(cur), nil
			continue
		}
		if fi != nil && !fi.IsDir() {
			return "", hops, nil, &fs.PathError{Op: "resolve", Path: name, Err: syscall.ENOTDIR}
		}
		next := path.Join(cur, comp)
		info, err := fsys.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", hops, nil, &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrNotExist}
			}
			return "", hops, nil, fmt.Errorf("resolving %s: %w", name, err)
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			cur, fi = next, info
			continue
		}
		if len(hops) == maxHops {
			return "", hops, nil, &fs.PathError{Op: "resolve", Path: name, Err: syscall.ELOOP}
		}
		target, err := fsys.Readlink(next)
		if err != nil {
			return "", hops, nil, fmt.Errorf("reading symlink %s: %w", next, err)
		}
		if target == "" {
			return "", hops, nil, &fs.PathError{Op: "resolve", Path: name, Err: fs.ErrNotExist}
		}
		hops = append(hops, hop{next, target})
		if strings.HasPrefix(target, "/") {
			cur, fi = "/", nil
		}
		rest = target + "/" + rest
	}
	if fi == nil {
		info, err := fsys.Lstat(cur)
		if err != nil {
			return "", hops, nil, fmt.Errorf("resolving %s: %w", name, err)
		}
		fi = info
	}
	return cur, hops, fi, nil
}

// DirFS returns an FS over a directory holding an unpacked image, with
// every content fetched. Paths resolve as under chroot(root): whatever
// the name or the symlinks on the way, nothing outside root is reached.
func DirFS(root string) FS {
	return dirFS{root: filepath.Clean(root)}
}

type dirFS struct{ root string }

// rawDir is dirFS without its own symlink resolution: the names it gets come
// from walk, so none of their parents is a symlink.
type rawDir struct{ root string }

func (d rawDir) host(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

func (d rawDir) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(d.host(name)) }

func (d rawDir) Readlink(name string) (string, error) { return os.Readlink(d.host(name)) }

func (d rawDir) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(d.host(name)) }

func (d rawDir) Open(name string) (File, error) {
	f, err := os.Open(d.host(name))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("opening %s: not a regular file", name)
	}
	return osFile{f, fi.Size()}, nil
}

type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// real resolves the directories holding name inside the root, and returns
// name's path with no symlink among its parents.
func (d dirFS) real(name string) (string, error) {
	name = path.Clean("/" + name)
	if name == "/" {
		return name, nil
	}
	dir, _, _, err := walk(rawDir(d), path.Dir(name))
	if err != nil {
		return "", err
	}
	return path.Join(dir, path.Base(name)), nil
}

func (d dirFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := d.real(name)
	if err != nil {
		return nil, err
	}
	return rawDir(d).Lstat(p)
}

func (d dirFS) Readlink(name string) (string, error) {
	p, err := d.real(name)
	if err != nil {
		return "", err
	}
	return rawDir(d).Readlink(p)
}

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, _, _, err := walk(rawDir(d), name)
	if err != nil {
		return nil, err
	}
	return rawDir(d).ReadDir(p) // os.ReadDir sorts by name
}

func (d dirFS) Open(name string) (File, error) {
	p, _, _, err := walk(rawDir(d), name)
	if err != nil {
		return nil, err
	}
	return rawDir(d).Open(p)
}
