package slim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// debPkg is a dpkg status stanza and the .list of the package's files.
type debPkg struct {
	name   string
	fields []string
	files  []string
}

func (d debPkg) stanza() string {
	s := fmt.Sprintf("Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n", d.name)
	for _, f := range d.fields {
		s += f + "\n"
	}
	return s + "Description: test\n\n"
}

// debianImage is a Debian image in miniature: a dpkg database over files,
// one layer for the system and one for what the build installed.
func debianImage(t testing.TB, cfg v1.Config, base, added []debPkg, auto []string, extra ...file) v1.Image {
	t.Helper()
	var status string
	layer := func(pkgs []debPkg, more ...file) []file {
		var fs []file
		for _, d := range pkgs {
			status += d.stanza()
			var list []string
			for _, f := range d.files {
				list = append(list, "/"+strings.TrimSuffix(f, "/"))
				if strings.HasSuffix(f, "/") {
					fs = append(fs, dir(f))
				} else {
					fs = append(fs, exe(f, d.name+" "+f))
				}
			}
			fs = append(fs, reg("var/lib/dpkg/info/"+d.name+".list", strings.Join(list, "\n")+"\n"),
				reg("var/lib/dpkg/info/"+d.name+".md5sums", "x  "+d.name+"\n"))
		}
		return append(fs, more...)
	}
	var ext string
	for _, a := range auto {
		ext += "Package: " + a + "\nArchitecture: amd64\nAuto-Installed: 1\n\n"
	}
	first := layer(base, reg("etc/passwd", passwd), reg("etc/group", group))
	first = append(first, reg("var/lib/dpkg/status", status))
	second := layer(added, extra...)
	second = append(second, reg("var/lib/dpkg/status", status), reg("var/lib/apt/extended_states", ext))
	return testImage(t, cfg, gzLayer(t, first...), gzLayer(t, second...))
}

var (
	debianBase = []debPkg{
		{"dpkg", []string{"Essential: yes", "Pre-Depends: libc6"}, []string{"usr/bin/dpkg"}},
		{"libc6", []string{"Priority: optional"}, []string{"usr/lib/x86_64-linux-gnu/libc.so.6"}},
		{"apt", []string{"Priority: required", "Depends: libapt-pkg6.0"}, []string{"usr/bin/apt-get"}},
		{"libapt-pkg6.0", nil, []string{"usr/lib/x86_64-linux-gnu/libapt-pkg.so.6.0"}},
		{"dash", []string{"Essential: yes"}, []string{"usr/bin/dash", "usr/bin/sh"}},
	}
	flaskPackages = []debPkg{
		{"python3", []string{"Depends: python3.11, libpython3-stdlib"}, []string{"usr/bin/python3"}},
		{"python3.11", []string{"Depends: libpython3.11-stdlib, mime-support | media-types"}, []string{"usr/bin/python3.11"}},
		{"libpython3.11-stdlib", nil, []string{"usr/lib/python3.11/", "usr/lib/python3.11/os.py"}},
		{"libpython3-stdlib", nil, []string{"usr/share/doc/libpython3-stdlib/copyright"}},
		{"media-types", nil, []string{"etc/mime.types"}},
		{"python3-flask", []string{"Depends: python3-werkzeug", "Recommends: python3-dotenv"}, []string{"usr/lib/python3/", "usr/lib/python3/dist-packages/", "usr/lib/python3/dist-packages/flask/__init__.py"}},
		{"python3-werkzeug", nil, []string{"usr/lib/python3/dist-packages/werkzeug.py"}},
		{"python3-dotenv", nil, []string{"usr/lib/python3/dist-packages/dotenv/", "usr/lib/python3/dist-packages/dotenv/__init__.py"}},
		{"ca-certificates", []string{"Depends: openssl"}, []string{"usr/share/ca-certificates/", "usr/share/ca-certificates/mozilla/x.crt"}},
		{"openssl", nil, []string{"usr/bin/openssl"}},
		{"gcc-12", []string{"Depends: cpp-12, libc6"}, []string{"usr/bin/gcc-12", "usr/lib/gcc/", "usr/lib/gcc/x86_64-linux-gnu/12/cc1"}},
		{"cpp-12", nil, []string{"usr/bin/cpp-12"}},
		{"curl", []string{"Depends: libcurl4"}, []string{"usr/bin/curl"}},
		{"libcurl4", nil, []string{"usr/lib/x86_64-linux-gnu/libcurl.so.4"}},
		{"less", nil, []string{"usr/bin/less"}},
		{"vim-tiny", nil, []string{"etc/vim/vimrc.tiny", "usr/bin/vim.tiny"}},
	}
	flaskAuto = []string{"python3.11", "libpython3.11-stdlib", "libpython3-stdlib", "media-types", "python3-werkzeug", "python3-dotenv", "openssl", "cpp-12", "libcurl4", "libapt-pkg6.0"}
)

func TestPackagesSet(t *testing.T) {
	cfg := v1.Config{Cmd: []string{"python3", "/app/app.py"}, WorkingDir: "/app", Env: []string{"PATH=/usr/bin:/bin"}}
	src := debianImage(t, cfg, debianBase, flaskPackages, flaskAuto,
		reg("app/app.py", "import os, sys\nfrom flask import Flask\nfrom . import local\n"), reg("app/local.py", "import json\n"),
		reg("etc/vim/vimrc.local", "set nocompatible\n"),
		// What py3compile wrote in the postinsts, in no file list.
		reg("usr/lib/python3/dist-packages/dotenv/__pycache__/__init__.cpython-311.pyc", "pyc"),
		reg("usr/lib/python3/dist-packages/flask/__pycache__/__init__.cpython-311.pyc", "pyc"))
	for _, tc := range []struct {
		name     string
		opts     []Option
		removed  []string
		kept     map[string]string
		manual   []string // roots that lose their Auto-Installed mark
		leftAuto []string
	}{{
		name:    "packages alone",
		opts:    []Option{WithSets(SetPackages)},
		removed: []string{"cpp-12", "curl", "gcc-12", "less", "libcurl4", "python3-dotenv", "vim-tiny"},
		kept: map[string]string{
			"dpkg": "essential", "dash": "essential", "apt": "required",
			"libc6":                "needed by dpkg",
			"libapt-pkg6.0":        "needed by apt",
			"python3":              "holds /usr/bin/python3 (the entrypoint python3)",
			"python3.11":           "needed by python3",
			"libpython3.11-stdlib": "holds /usr/lib/python3.11/os.py (run-time library (/usr/lib/python3.11))",
			"libpython3-stdlib":    "needed by python3",
			"media-types":          "needed by python3.11",
			"python3-flask":        "holds /usr/lib/python3/dist-packages/flask/__init__.py (run-time library (/usr/lib/python3/dist-packages/flask))",
			"python3-werkzeug":     "needed by python3-flask",
			"ca-certificates":      "holds /usr/share/ca-certificates/mozilla/x.crt (needed at run time (/usr/share/ca-certificates))",
			"openssl":              "needed by ca-certificates",
		},
		manual:   []string{"libpython3.11-stdlib"},
		leftAuto: []string{"python3.11", "libpython3-stdlib", "media-types", "openssl", "libapt-pkg6.0", "python3-werkzeug"},
	}, {
		name:    "with buildtools and --keep-package",
		opts:    []Option{WithSets(SetBuildTools, SetPackages), WithKeepPackages("less", "curl")},
		removed: []string{"cpp-12", "gcc-12", "python3-dotenv", "vim-tiny"},
		kept: map[string]string{
			"dpkg": "essential", "dash": "essential", "apt": "required",
			"libc6":                "needed by dpkg",
			"libapt-pkg6.0":        "needed by apt",
			"python3":              "holds /usr/bin/python3 (the entrypoint python3)",
			"python3.11":           "needed by python3",
			"libpython3.11-stdlib": "holds /usr/lib/python3.11/os.py (run-time library (/usr/lib/python3.11))",
			"libpython3-stdlib":    "needed by python3",
			"media-types":          "needed by python3.11",
			"python3-flask":        "holds /usr/lib/python3/dist-packages/flask/__init__.py (run-time library (/usr/lib/python3/dist-packages/flask))",
			"python3-werkzeug":     "needed by python3-flask",
			"ca-certificates":      "holds /usr/share/ca-certificates/mozilla/x.crt (needed at run time (/usr/share/ca-certificates))",
			"openssl":              "needed by ca-certificates",
			"less":                 "--keep-package",
			"curl":                 "--keep-package",
			"libcurl4":             "needed by curl",
		},
		manual:   []string{"libpython3.11-stdlib"},
		leftAuto: []string{"python3.11", "libpython3-stdlib", "media-types", "openssl", "libcurl4", "python3-werkzeug"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, r, err := Image(src, append(tc.opts, WithWorkDir(t.TempDir()))...)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(out); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			if !slices.Equal(r.Packages, tc.removed) {
				t.Errorf("removed packages: got %q, want %q", r.Packages, tc.removed)
			}
			if !maps.Equal(r.PackagesKept, tc.kept) {
				t.Errorf("kept packages:\ngot  %q\nwant %q", r.PackagesKept, tc.kept)
			}
			all := layerFiles(t, out)
			// The status lists exactly the packages that stay, and each
			// one's files are there; none of a removed package's is.
			status, _ := find(all, "/var/lib/dpkg/status")
			var listed []string
			for _, l := range strings.Split(status.body, "\n") {
				if n, ok := strings.CutPrefix(l, "Package: "); ok {
					listed = append(listed, n)
				}
			}
			slices.Sort(listed)
			if want := slices.Sorted(maps.Keys(tc.kept)); !slices.Equal(listed, want) {
				t.Errorf("status lists %q, want %q", listed, want)
			}
			for _, d := range append(slices.Clone(debianBase), flaskPackages...) {
				_, stays := tc.kept[d.name]
				if _, ok := find(all, "/var/lib/dpkg/info/"+d.name+".list"); ok != stays {
					t.Errorf("%s.list present: %v, want %v", d.name, ok, stays)
				}
				for _, f := range d.files {
					if strings.HasSuffix(f, "/") {
						continue
					}
					if _, ok := find(all, "/"+f); ok != stays {
						t.Errorf("%s's /%s present: %v, want %v", d.name, f, ok, stays)
					}
				}
			}
			// dpkg leaves a directory that holds a file no package lists.
			if _, ok := find(all, "/etc/vim/vimrc.local"); !ok {
				t.Errorf("/etc/vim/vimrc.local, which no package lists, is gone")
			}
			// py3clean: a purged module's byte-code goes, and with it the
			// directory, which would import as a namespace package.
			for name, want := range map[string]bool{
				"/usr/lib/python3/dist-packages/dotenv/__pycache__/__init__.cpython-311.pyc": false,
				"/usr/lib/python3/dist-packages/dotenv/__pycache__":                          false,
				"/usr/lib/python3/dist-packages/dotenv":                                      false,
				"/usr/lib/python3/dist-packages/flask/__pycache__/__init__.cpython-311.pyc":  true,
			} {
				if _, ok := find(all, name); ok != want {
					t.Errorf("%s present: %v, want %v", name, ok, want)
				}
			}
			if _, ok := find(all, "/app/app.py"); !ok {
				t.Errorf("/app/app.py is gone")
			}
			ext, _ := find(all, "/var/lib/apt/extended_states")
			for _, m := range tc.manual {
				if strings.Contains(ext.body, "Package: "+m+"\n") {
					t.Errorf("extended_states still marks root %s auto:\n%s", m, ext.body)
				}
			}
			for _, a := range tc.leftAuto {
				if !strings.Contains(ext.body, "Package: "+a+"\n") {
					t.Errorf("extended_states lost %s's auto mark:\n%s", a, ext.body)
				}
			}
			sets := map[string]int{}
			for _, s := range r.Sets {
				sets[s.Set] = s.Files
			}
			if sets[SetPackages] == 0 {
				t.Errorf("report: no files under the packages set: %+v", r.Sets)
			}
		})
	}
}

func TestPackagesSetRefuses(t *testing.T) {
	cfg := v1.Config{Cmd: []string{"python3", "/app/app.py"}, WorkingDir: "/app"}
	src := debianImage(t, cfg, debianBase, flaskPackages, flaskAuto, reg("app/app.py", "print(1)\n"))
	_, _, err := Image(src, WithSets(SetPackages), WithKeepPackages("nosuchpackage"), WithWorkDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "--keep-package nosuchpackage") {
		t.Errorf("got %v, want an error naming --keep-package nosuchpackage", err)
	}
	noDB := testImage(t, cfg, gzLayer(t, reg("etc/passwd", passwd), reg("app/app.py", "print(1)\n")))
	_, _, err = Image(noDB, WithSets(SetPackages), WithKeepPackages("less"), WithWorkDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "no dpkg or apk database") {
		t.Errorf("got %v, want an error saying the image has no package database", err)
	}
	// "all" leaves the packages set out.
	if got, _ := ParseSets("all"); slices.Contains(got, SetPackages) {
		t.Errorf("ParseSets(all) = %q, want it without %s", got, SetPackages)
	}
	if got, err := ParseSets("all,packages"); err != nil || !slices.Contains(got, SetPackages) {
		t.Errorf("ParseSets(all,packages) = %q, %v", got, err)
	}
}
