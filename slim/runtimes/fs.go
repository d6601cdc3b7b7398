// Package runtimes reads what an interpreter or a runtime needs to run a
// program from the runtime's own files: the JVM's jvm.cfg and jar
// manifests, Ruby's rbconfig.rb and Gemfile.lock, Perl's Config.pm, the
// scripts a shell runs and what they run. It knows no images: it reads an
// FS, as slim/elfdeps does, and says which paths the program needs, which
// of them are programs (whose ELF closure elfdeps works out), and what it
// cannot account for.
package runtimes

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// FS is an image's filesystem: metadata of every path, and contents.
// Names are absolute and clean; an FS need not follow symlinks.
type FS interface {
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Open(name string) (File, error)
}

// File is the content of a regular file.
type File interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// maxRead bounds what is read of a text file (a script, a config, a
// lockfile): more is not a file a runtime reads at start.
const maxRead = 4 << 20

// Links is the part of an FS that resolving a path needs; elfdeps.FS and
// the scratch output's tree have it too.
type Links interface {
	Lstat(name string) (fs.FileInfo, error)
	Readlink(name string) (string, error)
}

// Realpath follows the symlinks in every component of name inside fsys,
// as the kernel does for a chrooted process. ok is false when name leads
// nowhere. links lists the symlinks crossed, which a copy must keep.
func Realpath(fsys Links, name string) (real string, links []string, ok bool) {
	cur := "/"
	rest := strings.Split(strings.Trim(path.Clean("/"+name), "/"), "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		fi, err := fsys.Lstat(next)
		if err != nil {
			return next, links, false
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return next, links, false
			}
			t, err := fsys.Readlink(next)
			if err != nil || t == "" {
				return next, links, false
			}
			links = append(links, next)
			if strings.HasPrefix(t, "/") {
				cur = "/"
			}
			rest = append(strings.Split(strings.Trim(t, "/"), "/"), rest...)
			continue
		}
		cur = next
	}
	return cur, links, true
}

// stat returns what name leads to.
func stat(fsys FS, name string) (string, fs.FileInfo, bool) {
	real, _, ok := Realpath(fsys, name)
	if !ok {
		return real, nil, false
	}
	if real == "/" {
		return real, nil, true
	}
	fi, err := fsys.Lstat(real)
	if err != nil {
		return real, nil, false
	}
	return real, fi, true
}

func isDir(fsys FS, name string) bool {
	real, fi, ok := stat(fsys, name)
	return ok && (real == "/" || fi.IsDir())
}

func isFile(fsys FS, name string) bool {
	_, fi, ok := stat(fsys, name)
	return ok && fi != nil && fi.Mode().IsRegular()
}

// readFile returns up to limit bytes of name, following symlinks.
func readFile(fsys FS, name string, limit int64) ([]byte, error) {
	real, fi, ok := stat(fsys, name)
	if !ok || fi == nil || !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	f, err := fsys.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := f.Size()
	if n > limit {
		return nil, fmt.Errorf("reading %s: %d bytes, over the %d a runtime's text file may have", name, n, limit)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return b, nil
}

// head returns the first n bytes of name (fewer for a shorter file).
func head(fsys FS, name string, n int) []byte {
	real, fi, ok := stat(fsys, name)
	if !ok || fi == nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := fsys.Open(real)
	if err != nil {
		return nil
	}
	defer f.Close()
	if s := f.Size(); s < int64(n) {
		n = int(s)
	}
	b := make([]byte, n)
	m, _ := f.ReadAt(b, 0)
	return b[:m]
}

// list returns the names of dir's entries ("" on error).
func list(fsys FS, dir string) []string {
	real, _, ok := Realpath(fsys, dir)
	if !ok {
		return nil
	}
	es, err := fsys.ReadDir(real)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// find returns the paths below root (at most depth levels down) whose base
// name is base, in sorted order.
func find(fsys FS, root, base string, depth int) []string {
	var out []string
	var rec func(dir string, d int)
	rec = func(dir string, d int) {
		es, err := fsys.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range es {
			p := path.Join(dir, e.Name())
			if e.Name() == base {
				out = append(out, p)
			}
			if e.IsDir() && d < depth {
				rec(p, d+1)
			}
		}
	}
	if real, _, ok := Realpath(fsys, root); ok {
		rec(real, 1)
	}
	return out
}
