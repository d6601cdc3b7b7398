package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Location kinds, in skopeo's transport syntax so users already know it.
const (
	kindRegistry = "docker"
	kindDaemon   = "docker-daemon"
	kindArchive  = "docker-archive"
	kindOCI      = "oci"
	kindOCIArch  = "oci-archive"
)

// location is where an image is read from or written to.
type location struct {
	kind string // one of the kinds above; "" for a bare reference
	ref  string // image reference (registry, daemon, optional for archives)
	path string // file or directory (archives, layouts)
	raw  string
}

func (l location) String() string {
	switch l.kind {
	case "":
		return l.ref
	case kindRegistry:
		return "docker://" + l.ref
	case kindDaemon:
		return "docker-daemon:" + l.ref
	default:
		if l.ref != "" {
			return l.kind + ":" + l.path + ":" + l.ref
		}
		return l.kind + ":" + l.path
	}
}

// parseLocation reads docker://REF, docker-daemon:REF,
// docker-archive:PATH[:REF], oci:DIR[:TAG], oci-archive:PATH[:TAG], or a
// bare REF.
func parseLocation(s string) (location, error) {
	l := location{raw: s}
	if s == "" {
		return l, fmt.Errorf("empty location")
	}
	if rest, ok := strings.CutPrefix(s, "docker://"); ok {
		l.kind, l.ref = kindRegistry, rest
		if rest == "" {
			return l, fmt.Errorf("location %q: missing image reference after docker://", s)
		}
		return l, nil
	}
	transport, rest, ok := strings.Cut(s, ":")
	if ok && strings.HasPrefix(rest, "//") {
		return l, fmt.Errorf("unknown location syntax %q: use docker://, docker-daemon:, docker-archive:, oci: or oci-archive:", s)
	}
	switch transport {
	case kindDaemon:
		l.kind, l.ref = kindDaemon, rest
		if rest == "" {
			return l, fmt.Errorf("location %q: missing image reference after docker-daemon:", s)
		}
	case kindArchive, kindOCI, kindOCIArch:
		l.kind = transport
		l.path, l.ref, _ = strings.Cut(rest, ":")
		if l.path == "" {
			return l, fmt.Errorf("location %q: missing path after %s:", s, transport)
		}
	case "dir", "containers-storage", "oci-layout", "ostree", "sif", "docker":
		return l, fmt.Errorf("unsupported location %q: use docker://, docker-daemon:, docker-archive:, oci: or oci-archive:", s)
	default:
		l.ref = s
	}
	return l, nil
}

// same reports whether writing o would replace l, however either is
// spelled: "oci:dir:t" and "oci:./dir/:t", "docker-daemon:a/b:v1" and
// "docker-daemon:docker.io/a/b:v1". An archive is replaced whole, whatever
// image it names.
func (l location) same(o location) bool {
	if l.kind != o.kind {
		return false
	}
	switch l.kind {
	case kindArchive, kindOCIArch:
		return samePath(l.path, o.path)
	case kindOCI:
		return samePath(l.path, o.path) && l.ref == o.ref
	}
	a, errA := name.ParseReference(l.ref)
	b, errB := name.ParseReference(o.ref)
	if errA != nil || errB != nil {
		return l.ref == o.ref
	}
	return a.Name() == b.Name()
}

func samePath(a, b string) bool {
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	return errA == nil && errB == nil && a == b
}
