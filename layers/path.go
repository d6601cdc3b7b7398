package layers

import (
	"archive/tar"
	"path"
	"strings"
)

const (
	// WhiteoutPrefix marks a file that deletes its namesake in lower layers.
	WhiteoutPrefix = ".wh."
	// OpaqueWhiteout marks a directory whose lower-layer contents are hidden.
	OpaqueWhiteout = ".wh..wh..opq"
)

// Clean returns name in the package's canonical form: absolute, cleaned,
// without a trailing slash. A name that tries to climb out of the root
// ("../../etc/passwd") is pinned inside it, the way path.Clean treats "/..":
// nothing in this module ever resolves a path outside the image.
func Clean(name string) string {
	return path.Clean("/" + name)
}

// Whiteout reports what a header deletes in lower layers. For a plain
// whiteout ".wh.NAME" it returns the hidden path and opaque=false; for an
// opaque marker it returns the directory and opaque=true; ok is false for
// any other entry.
func Whiteout(h *tar.Header) (target string, opaque, ok bool) {
	name := Clean(h.Name)
	dir, base := path.Split(name)
	if !strings.HasPrefix(base, WhiteoutPrefix) {
		return "", false, false
	}
	if base == OpaqueWhiteout {
		return path.Clean(dir), true, true
	}
	return path.Join(dir, strings.TrimPrefix(base, WhiteoutPrefix)), false, true
}

// Within reports whether p is dir or lies below it.
func Within(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
