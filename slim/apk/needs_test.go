package apk

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestNeeds(t *testing.T) {
	// alpine-base stands for the base system here.
	defer func(b []string) { Base = b }(Base)
	Base = []string{"alpine-base"}
	for _, tc := range []struct {
		name    string
		roots   map[string]string
		want    map[string]string
		world   string // NewWorld's
		removed []string
	}{{
		name: "the base system alone",
		want: map[string]string{
			"alpine-base": "base system", "busybox": "needed by alpine-base", "musl": "needed by alpine-base",
		},
		world: "alpine-base\n!git-old\n",
		removed: []string{".build-deps", "binutils", "busybox-binsh", "docs", "gcc", "git", "git-lfs", "gmp", "isl26", "libctf", "libcurl",
			"libffi", "libffi-dev", "make", "man-pages", "mpc1", "mpfr4", "musl-dev", "pkgconf", "py3-setuptools", "py3-setuptools-pyc",
			"pyc", "python3", "python3-doc", "python3-nogit"},
	}, {
		name:  "a Python program: dependencies through providers, install_if",
		roots: map[string]string{"python3": "holds /usr/bin/python3", "py3-setuptools": "--keep-package py3-setuptools"},
		want: map[string]string{
			"alpine-base": "base system", "busybox": "needed by alpine-base", "musl": "needed by alpine-base",
			"python3": "holds /usr/bin/python3", "py3-setuptools": "--keep-package py3-setuptools",
			"libffi": "needed by python3", "busybox-binsh": "needed by python3", // its /bin/sh
			"python3-nogit": "install_if python3", // git goes
		},
		world: "alpine-base\npython3\npy3-setuptools\n!git-old\n",
		removed: []string{".build-deps", "binutils", "docs", "gcc", "git", "git-lfs", "gmp", "isl26", "libctf", "libcurl",
			"libffi-dev", "make", "man-pages", "mpc1", "mpfr4", "musl-dev", "pkgconf", "py3-setuptools-pyc", "pyc", "python3-doc"},
	}, {
		name:  "a root the world does not name is added to it",
		roots: map[string]string{"libcurl": "holds /usr/lib/libcurl.so.4"},
		want: map[string]string{
			"alpine-base": "base system", "busybox": "needed by alpine-base", "musl": "needed by alpine-base",
			"libcurl": "holds /usr/lib/libcurl.so.4",
		},
		world: "alpine-base\n!git-old\nlibcurl\n",
		removed: []string{".build-deps", "binutils", "busybox-binsh", "docs", "gcc", "git", "git-lfs", "gmp", "isl26", "libctf",
			"libffi", "libffi-dev", "make", "man-pages", "mpc1", "mpfr4", "musl-dev", "pkgconf", "py3-setuptools", "py3-setuptools-pyc",
			"pyc", "python3", "python3-doc", "python3-nogit"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Parse([]byte(strings.Join(alpine, "")), []byte(alpineWorld))
			if err != nil {
				t.Fatal(err)
			}
			got := db.Needs(tc.roots)
			if !maps.Equal(got, tc.want) {
				t.Errorf("Needs:\ngot  %q\nwant %q", got, tc.want)
			}
			world := db.NewWorld(got, tc.roots)
			if string(world) != tc.world {
				t.Errorf("NewWorld: got %q, want %q", world, tc.world)
			}
			// apk del of the rest with that world keeps exactly Needs.
			db, err = Parse([]byte(strings.Join(alpine, "")), world)
			if err != nil {
				t.Fatal(err)
			}
			r := db.Purge(func(name string) bool { _, ok := got[name]; return !ok })
			if !slices.Equal(r.Removed, tc.removed) {
				t.Errorf("Removed:\ngot  %q\nwant %q", r.Removed, tc.removed)
			}
			if len(r.Kept) != 0 {
				t.Errorf("Kept: got %q, want none: Needs missed them", r.Kept)
			}
			if n := len(db.Installed()) - len(r.Removed); n != len(got) {
				t.Errorf("%d packages stay, Needs has %d", n, len(got))
			}
		})
	}
}
