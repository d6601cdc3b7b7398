package apk

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

// block is an installed-database block: P:name, V:1.0-r0, C: derived from
// the name, then lines, which may hold F:/R: pairs.
func block(name string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "C:Q1%s=\nP:%s\nV:1.0-r0\nA:x86_64\nT:test\n", name, name)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func names(ns ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(ns, n) }
}

// alpine is a small but realistic Alpine database: a Python app, a
// .build-deps virtual package with the toolchain, docs via install_if.
var alpine = []string{
	block("musl", "p:so:libc.musl-x86_64.so.1=1", "F:lib", "R:ld-musl-x86_64.so.1", "R:libc.musl-x86_64.so.1"),
	block("busybox", "D:so:libc.musl-x86_64.so.1", "p:cmd:busybox=1.36.1-r2 cmd:sh=1.36.1-r2", "F:bin", "R:busybox"),
	block("busybox-binsh", "D:busybox=1.36.1-r2", "p:/bin/sh cmd:sh=1.36.1-r2", "F:bin", "R:sh"),
	block("alpine-base", "D:busybox musl"),
	block("python3", "D:so:libc.musl-x86_64.so.1 so:libffi.so.8 /bin/sh", "p:cmd:python3=3.11", "F:usr", "F:usr/bin", "R:python3", "F:usr/lib", "F:usr/lib/python3.11", "R:os.py"),
	block("libffi", "D:so:libc.musl-x86_64.so.1", "p:so:libffi.so.8=8", "F:usr", "F:usr/lib", "R:libffi.so.8"),
	block("python3-doc", "i:docs python3=3.11.6-r0", "F:usr", "F:usr/share", "F:usr/share/doc", "F:usr/share/doc/python3", "R:README"),
	block("docs", "D:man-pages"),
	block("man-pages", "F:usr", "F:usr/share", "F:usr/share/man", "R:man.7"),
	block("py3-setuptools", "D:python3", "F:usr", "F:usr/lib", "F:usr/lib/python3.11", "F:usr/lib/python3.11/site-packages", "R:setuptools.py"),
	block("py3-setuptools-pyc", "i:py3-setuptools=68.0-r0 pyc", "F:usr/lib/python3.11/site-packages", "R:setuptools.pyc"),
	block("pyc", "D:python3"),
	block(".build-deps", "V:20240101.120000", "D:gcc musl-dev make libffi-dev"),
	block("gcc", "D:binutils isl26 mpc1 so:libc.musl-x86_64.so.1", "p:cmd:gcc=13.2.1", "F:usr", "F:usr/bin", "R:gcc", "F:usr/libexec", "F:usr/libexec/gcc", "R:cc1"),
	block("binutils", "D:so:libc.musl-x86_64.so.1 so:libctf.so.0", "p:cmd:ld=2.41", "F:usr", "F:usr/bin", "R:ld"),
	block("libctf", "p:so:libctf.so.0=0"),
	block("isl26", "D:gmp"),
	block("mpc1", "D:gmp mpfr4"),
	block("gmp", "p:so:libgmp.so.10=10", "F:usr", "F:usr/lib", "R:libgmp.so.10"),
	block("mpfr4", "D:gmp"),
	block("musl-dev", "D:musl", "F:usr", "F:usr/include", "R:stdio.h", "F:usr/lib", "R:libc.a"),
	block("make", "p:cmd:make=4.4", "F:usr", "F:usr/bin", "R:make"),
	block("libffi-dev", "D:libffi pkgconfig", "F:usr", "F:usr/include", "R:ffi.h"),
	block("pkgconf", "p:pkgconfig=1 cmd:pkgconf=2.1", "F:usr", "F:usr/bin", "R:pkgconf"),
	block("git", "D:so:libc.musl-x86_64.so.1 libcurl !git-old", "F:usr", "F:usr/bin", "R:git"),
	block("libcurl", "D:so:libc.musl-x86_64.so.1"),
	block("git-lfs", "D:git"),
	block("python3-nogit", "i:python3 !git"),
}

const alpineWorld = "alpine-base\npython3\npy3-setuptools\npyc\ndocs\n.build-deps=20240101.120000\ngit-lfs\n!git-old\n"

func TestPurge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		world   string
		noWorld bool
		ask     func(string) bool
		removed []string
		kept    map[string]string
	}{{
		name:    "build tools: .build-deps and what only it needed",
		world:   alpineWorld,
		ask:     BuildTools,
		removed: []string{".build-deps", "binutils", "gcc", "gmp", "isl26", "libctf", "libffi-dev", "make", "mpc1", "mpfr4", "musl-dev", "pkgconf", "python3-nogit"},
		kept:    map[string]string{"git": "needed by git-lfs"},
	}, {
		name:    "an install_if package stays while its conditions hold",
		world:   alpineWorld,
		ask:     names("python3-doc", "git-lfs", "git"),
		removed: []string{"git", "git-lfs", "libcurl"},
		kept:    map[string]string{"python3-doc": "install_if docs python3"},
	}, {
		name:    "install_if packages go with their condition",
		world:   alpineWorld,
		ask:     names("docs", "py3-setuptools"),
		removed: []string{"docs", "man-pages", "py3-setuptools", "py3-setuptools-pyc", "python3-doc", "python3-nogit"}, // pyc stays: in world
	}, {
		name:    "an asked-for package another world package needs stays",
		world:   alpineWorld,
		ask:     names("python3"),
		kept:    map[string]string{"python3": "needed by py3-setuptools"},
		removed: []string{"python3-nogit"}, // git is there
	}, {
		name:    "a provided name in the world keeps its providers",
		world:   "alpine-base\ncmd:make\n",
		ask:     names("make"),
		kept:    map[string]string{"make": "in world as cmd:make"},
		removed: []string{".build-deps", "binutils", "busybox-binsh", "docs", "gcc", "git", "git-lfs", "gmp", "isl26", "libctf", "libcurl", "libffi", "libffi-dev", "man-pages", "mpc1", "mpfr4", "musl-dev", "pkgconf", "py3-setuptools", "py3-setuptools-pyc", "pyc", "python3", "python3-doc", "python3-nogit"},
	}, {
		name:    "nothing asked: only what the world does not reach goes",
		world:   "alpine-base\npython3\n",
		ask:     names(),
		removed: []string{".build-deps", "binutils", "docs", "gcc", "git", "git-lfs", "gmp", "isl26", "libctf", "libcurl", "libffi-dev", "make", "man-pages", "mpc1", "mpfr4", "musl-dev", "pkgconf", "py3-setuptools", "py3-setuptools-pyc", "pyc", "python3-doc"},
	}, {
		name:    "without a world file every package is asked for",
		noWorld: true,
		ask:     names(".build-deps", "git", "gcc"),
		removed: []string{".build-deps", "gcc"}, // binutils, make...: asked for as much as .build-deps was
		kept:    map[string]string{"git": "needed by git-lfs"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var world []byte
			if !tc.noWorld {
				world = []byte(tc.world)
			}
			db, err := Parse([]byte(strings.Join(alpine, "")), world)
			if err != nil {
				t.Fatal(err)
			}
			r := db.Purge(tc.ask)
			if !slices.Equal(r.Removed, tc.removed) {
				t.Errorf("Removed:\ngot  %q\nwant %q", r.Removed, tc.removed)
			}
			want := tc.kept
			if want == nil {
				want = map[string]string{}
			}
			if !maps.Equal(r.Kept, want) {
				t.Errorf("Kept: got %q, want %q", r.Kept, want)
			}
			if tc.noWorld && r.World != nil {
				t.Errorf("World: got %q, want nil", r.World)
			}
		})
	}
}

func TestPurgeWrites(t *testing.T) {
	installed := strings.Join(alpine, "")
	db, err := Parse([]byte(installed), []byte(alpineWorld))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(db.Installed()); got != len(alpine) {
		t.Fatalf("Installed: got %d packages, want %d", got, len(alpine))
	}
	r := db.Purge(BuildTools)

	var want strings.Builder
	for _, b := range alpine {
		name := strings.TrimPrefix(strings.Split(b, "\n")[1], "P:")
		if !slices.Contains(r.Removed, name) {
			want.WriteString(b)
		}
	}
	if got := string(r.Installed); got != want.String() {
		t.Errorf("Installed:\ngot:\n%s\nwant:\n%s", got, want.String())
	}
	if got, want := string(r.World), "alpine-base\npython3\npy3-setuptools\npyc\ndocs\ngit-lfs\n!git-old\n"; got != want {
		t.Errorf("World: got %q, want %q", got, want)
	}
	// The result is a database apk would read the same way.
	again, err := Parse(r.Installed, r.World)
	if err != nil {
		t.Fatal(err)
	}
	if r2 := again.Purge(names()); len(r2.Removed) != 0 {
		t.Errorf("purging nothing from the result removes %q, want nothing", r2.Removed)
	}

	wantFiles := []string{
		"/usr/bin/gcc", "/usr/bin/ld", "/usr/bin/make", "/usr/bin/pkgconf",
		"/usr/include", "/usr/include/ffi.h", "/usr/include/stdio.h",
		"/usr/lib/libc.a", "/usr/lib/libgmp.so.10",
		"/usr/libexec", "/usr/libexec/gcc", "/usr/libexec/gcc/cc1",
	}
	if got := r.Files(); !slices.Equal(got, wantFiles) {
		t.Errorf("Files:\ngot  %q\nwant %q", got, wantFiles)
	}

	triggers := "Q1gcc= /usr/libexec/gcc\nQ1busybox= /bin /usr/bin\nQ1pkgconf= /usr/lib/pkgconfig\n"
	if got, want := string(r.Triggers([]byte(triggers))), "Q1busybox= /bin /usr/bin\n"; got != want {
		t.Errorf("Triggers: got %q, want %q", got, want)
	}

	var scripts bytes.Buffer
	tw := tar.NewWriter(&scripts)
	for _, n := range []string{"busybox-1.0-r0.Q1busybox=.post-install", "gcc-1.0-r0.Q1gcc=.trigger", ".build-deps-20240101.120000.Q1x=.pre-install", "make-1.0-r0.Q1make=.post-deinstall", "gcc-1.0-r0-extra.Q1y=.post-install"} {
		body := "#!/bin/sh\n" + n + "\n"
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	out, err := r.Scripts(scripts.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if string(body) != "#!/bin/sh\n"+hdr.Name+"\n" || hdr.Mode != 0o755 {
			t.Errorf("scripts.tar entry %s: got mode %o body %q, want it copied", hdr.Name, hdr.Mode, body)
		}
		left = append(left, hdr.Name)
	}
	if want := []string{"busybox-1.0-r0.Q1busybox=.post-install", "gcc-1.0-r0-extra.Q1y=.post-install"}; !slices.Equal(left, want) {
		t.Errorf("Scripts left %q, want %q", left, want)
	}
	if _, err := r.Scripts([]byte("not a tar")); err == nil {
		t.Errorf("Scripts of a bad tar: got no error")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ installed, world, want string }{
		{"P:a\nbad line\n", "", `line 2: got "bad line"`},
		{"V:1\n", "", "has no P: line"},
		{"P:a\n\nP:a\n", "", "package a is there twice"},
		{"P:a\nD:=1.0\n", "", `line 2: bad dependency "=1.0"`},
		{"P:a\n", "a\n>=2\n", "reading world: bad dependency"},
	} {
		_, err := Parse([]byte(tc.installed), []byte(tc.world))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q): got error %v, want one containing %q", tc.installed, tc.world, err, tc.want)
		}
	}
}

func TestBuildTools(t *testing.T) {
	for name, want := range map[string]bool{
		"build-base": true, "gcc": true, "g++": true, "musl-dev": true, "openssl-dev": true,
		"linux-headers": true, "make": true, "binutils": true, "git": true, "pkgconf": true,
		"cmake": true, "samurai": true, "clang17": true, ".build-deps": true, ".build-dependencies": true,
		".fetch-deps": true, "autoconf": true, "libtool": true,
		"libgcc": false, "libstdc++": false, "musl": false, "python3": false, "busybox": false,
		"git-lfs": false, "clang17-libs": false, ".run-deps": false, "libffi": false, "gmp": false,
	} {
		if got := BuildTools(name); got != want {
			t.Errorf("BuildTools(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestPurgeKeptOnlyForStaying checks the fixed point dpkg's Purge iterates
// to: a package kept for another is kept for one that stays. apk reaches it
// in one pass, as what stays is what the world still reaches.
func TestPurgeKeptOnlyForStaying(t *testing.T) {
	db := []string{
		block("musl"),
		block("libkrb5-dev", "D:krb5-multidev"),
		block("krb5-multidev", "D:comerr-dev krb5-libs"),
		block("comerr-dev", "D:musl-dev"),
		block("musl-dev", "D:musl"),
		block("krb5-libs", "D:musl"),
		block("app", "D:heimdal-dev"),
		block("heimdal-dev", "D:comerr2-dev"),
		block("comerr2-dev", "D:musl"),
	}
	for _, tc := range []struct {
		name, world string
		removed     []string
		kept        map[string]string
	}{{
		name:    "the package that kept it goes",
		world:   "musl\nlibkrb5-dev\nmusl-dev\ncomerr-dev\napp\n",
		removed: []string{"comerr-dev", "krb5-libs", "krb5-multidev", "libkrb5-dev", "musl-dev"},
		kept:    map[string]string{"heimdal-dev": "needed by app", "comerr2-dev": "needed by heimdal-dev"},
	}, {
		name:    "the package that kept it stays",
		world:   "musl\nkrb5-multidev\nmusl-dev\n",
		removed: []string{"app", "comerr2-dev", "heimdal-dev", "libkrb5-dev"},
		kept:    map[string]string{"comerr-dev": "needed by krb5-multidev", "musl-dev": "needed by comerr-dev"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(strings.Join(db, "")), []byte(tc.world))
			if err != nil {
				t.Fatal(err)
			}
			r := d.Purge(BuildTools)
			if !slices.Equal(r.Removed, tc.removed) {
				t.Errorf("Removed:\ngot  %q\nwant %q", r.Removed, tc.removed)
			}
			if !maps.Equal(r.Kept, tc.kept) {
				t.Errorf("Kept: got %q, want %q", r.Kept, tc.kept)
			}
			for pkg, why := range r.Kept {
				if by, ok := strings.CutPrefix(why, "needed by "); ok && slices.Contains(r.Removed, by) {
					t.Errorf("%s kept %q, which goes", pkg, why)
				}
			}
		})
	}
}
