package locations

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is the kind of place a location names, spelled as skopeo's
// transports so users already know them.
type Kind string

// The kinds of location.
const (
	// Bare is a reference without a transport: as a source, the daemon
	// when it holds the image, else the registry; as a target, the same
	// kind as the source.
	Bare          Kind = ""
	Registry      Kind = "docker"
	Daemon        Kind = "docker-daemon"
	DockerArchive Kind = "docker-archive"
	OCILayout     Kind = "oci"
	OCIArchive    Kind = "oci-archive"
)

// Location is where an image is read from or written to.
type Location struct {
	Kind Kind
	Ref  string // image reference (registry, daemon; optional for archives, a tag for layouts)
	Path string // file or directory (archives, layouts)
	raw  string // as the user wrote it
}

// String gives the location in the syntax Parse reads.
func (l Location) String() string {
	switch l.Kind {
	case Bare:
		return l.Ref
	case Registry:
		return "docker://" + l.Ref
	case Daemon:
		return "docker-daemon:" + l.Ref
	default:
		if l.Ref != "" {
			return string(l.Kind) + ":" + l.Path + ":" + l.Ref
		}
		return string(l.Kind) + ":" + l.Path
	}
}

// Parse reads docker://REF, docker-daemon:REF, docker-archive:PATH[:REF],
// oci:DIR[:TAG], oci-archive:PATH[:TAG], or a bare REF.
func Parse(s string) (Location, error) {
	l := Location{raw: s}
	if s == "" {
		return l, fmt.Errorf("empty location")
	}
	if rest, ok := strings.CutPrefix(s, "docker://"); ok {
		l.Kind, l.Ref = Registry, rest
		if rest == "" {
			return l, fmt.Errorf("location %q: missing image reference after docker://", s)
		}
		return l, nil
	}
	transport, rest, ok := strings.Cut(s, ":")
	if ok && strings.HasPrefix(rest, "//") {
		return l, fmt.Errorf("unknown location syntax %q: use docker://, docker-daemon:, docker-archive:, oci: or oci-archive:", s)
	}
	switch Kind(transport) {
	case Daemon:
		l.Kind, l.Ref = Daemon, rest
		if rest == "" {
			return l, fmt.Errorf("location %q: missing image reference after docker-daemon:", s)
		}
	case DockerArchive, OCILayout, OCIArchive:
		l.Kind = Kind(transport)
		l.Path, l.Ref, _ = strings.Cut(rest, ":")
		if l.Path == "" {
			return l, fmt.Errorf("location %q: missing path after %s:", s, transport)
		}
	case "dir", "containers-storage", "oci-layout", "ostree", "sif", "docker":
		return l, fmt.Errorf("unsupported location %q: use docker://, docker-daemon:, docker-archive:, oci: or oci-archive:", s)
	default:
		l.Ref = s
	}
	return l, nil
}

// Stdout reports whether l is an archive written to the standard output
// ("-" as its path; see WithStdout).
func (l Location) Stdout() bool {
	return (l.Kind == DockerArchive || l.Kind == OCIArchive) && l.Path == "-"
}

// Same reports whether writing o would replace l, however either is
// spelled: "oci:dir:t" and "oci:./dir/:t", "docker-daemon:a/b:v1" and
// "docker-daemon:docker.io/a/b:v1". An archive is replaced whole, whatever
// image it names.
func (l Location) Same(o Location) bool {
	if l.Kind != o.Kind {
		return false
	}
	switch l.Kind {
	case DockerArchive, OCIArchive:
		return samePath(l.Path, o.Path)
	case OCILayout:
		return samePath(l.Path, o.Path) && l.Ref == o.Ref
	}
	a, errA := name.ParseReference(l.Ref)
	b, errB := name.ParseReference(o.Ref)
	if errA != nil || errB != nil {
		return l.Ref == o.Ref
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

// SameRegistry reports whether src and dst name images in one registry,
// which then already holds every blob the output keeps (see
// WithoutLayerCache).
func SameRegistry(src, dst Location) bool {
	if (src.Kind != Registry && src.Kind != Bare) || (dst.Kind != Registry && dst.Kind != Bare) {
		return false
	}
	a, err1 := name.ParseReference(src.Ref)
	b, err2 := name.ParseReference(dst.Ref)
	return err1 == nil && err2 == nil && a.Context().RegistryStr() == b.Context().RegistryStr()
}
