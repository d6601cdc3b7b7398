package locations

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// writeFile writes a file through a temporary one in the same directory,
// renamed over path only when write succeeded, so path holds either its
// old content or the whole new one.
func writeFile(path string, write func(*os.File) error) error {
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
