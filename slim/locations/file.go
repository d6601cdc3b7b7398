package locations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFile writes a file through a temporary one in the same directory,
// renamed over path only when write succeeded, so path holds either its
// old content or the whole new one.
func writeFile(path string, write func(*os.File) error) error {
	path, err := resolveFileTarget(path)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".imgslim-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// checkFileTarget refuses a file target that cannot be written or must not
// be replaced: only a regular file is ever renamed over (a device node, or
// a symlink to one, would be replaced by a regular file — /dev/null as
// root), and the directory must take a temporary file.
func checkFileTarget(path string) error {
	path, err := resolveFileTarget(path)
	if err != nil {
		return err
	}
	return checkWritableDir(filepath.Dir(path))
}

// resolveFileTarget gives the path a file target is renamed to: path
// itself, or the regular file a symlink at path points to (renaming over
// the link would replace the link, not the file the user named). Anything
// but a regular file or nothing is refused.
func resolveFileTarget(path string) (string, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, nil
	case err != nil:
		return "", err
	case fi.Mode().IsRegular():
		return path, nil
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", fmt.Errorf("%s is a %s, not a regular file: refusing to replace it", path, describeMode(fi.Mode()))
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s is a symbolic link that leads nowhere (%w): refusing to write through it", path, err)
	}
	fi, err = os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is a symbolic link to %s, a %s, not a regular file: refusing to replace it", path, real, describeMode(fi.Mode()))
	}
	return real, nil
}

// checkLayoutTarget refuses a layout target that is not a directory, or
// that cannot be written.
func checkLayoutTarget(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return checkWritableDir(nearestDir(filepath.Dir(dir)))
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is a %s, not an OCI layout directory", dir, describeMode(fi.Mode()))
	}
	return checkWritableDir(dir)
}

// nearestDir is dir, or its closest existing ancestor: a new layout's
// missing parents are created.
func nearestDir(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			return dir
		}
		dir = filepath.Dir(dir)
	}
}

func checkWritableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".imgslim-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}

// writeArchive writes an archive target: to the standard output when l
// says so, else through a temporary file (writeFile).
func (o *options) writeArchive(l Location, write func(io.Writer) error) error {
	if !l.Stdout() {
		return writeFile(l.Path, func(f *os.File) error { return write(f) })
	}
	if o.stdout == nil {
		return fmt.Errorf("%s: no standard output to write to", l)
	}
	return write(o.stdout)
}

// checkArchiveTarget is Check for the archive targets.
func (o *options) checkArchiveTarget(l Location) error {
	if l.Stdout() {
		if o.stdout == nil {
			return fmt.Errorf("%s: no standard output to write to", l)
		}
		return nil
	}
	return checkFileTarget(l.Path)
}

// CheckFile says whether WriteFile could write path, before any work: it
// may be a regular file, a symlink to one, or nothing, in a directory
// that can be written.
func CheckFile(path string) error { return checkFileTarget(path) }

// WriteFile writes the file at path as the file targets are written:
// through a temporary file in the same directory, renamed over path only
// when write succeeded.
func WriteFile(path string, write func(io.Writer) error) error {
	return writeFile(path, func(f *os.File) error { return write(f) })
}

// ctxWriter stops a long copy when ctx is done: the writers of
// go-containerregistry take no context.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}
