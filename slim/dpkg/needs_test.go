package dpkg

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// runtimeStatus is a small Debian system: a Python app's interpreter and
// libraries among a toolchain, the Essential set and apt.
var runtimeStatus = []string{
	deb("dpkg", "Essential: yes", "Priority: required", "Pre-Depends: libc6, tar"),
	deb("tar", "Essential: yes", "Pre-Depends: libc6"),
	deb("libc6", "Multi-Arch: same", "Priority: optional"),
	deb("libc6", "Architecture: i386", "Multi-Arch: same"),
	deb("apt", "Priority: required", "Depends: libapt-pkg6.0, gpgv | gpgv2", "Recommends: ca-certificates"),
	deb("libapt-pkg6.0", "Multi-Arch: same", "Depends: libc6, zlib1g"),
	deb("zlib1g", "Multi-Arch: same", "Depends: libc6"),
	deb("gpgv", "Priority: optional", "Depends: libc6"),
	deb("gpgv2"),
	deb("ca-certificates", "Depends: openssl"),
	deb("openssl", "Depends: libssl3"),
	deb("python3", "Depends: python3.11, libpython3-stdlib"),
	deb("python3.11", "Depends: python3.11-minimal, libpython3.11-stdlib"),
	deb("python3.11-minimal", "Pre-Depends: libc6", "Depends: libpython3.11-minimal, zlib1g", "Recommends: python3.11"),
	deb("libpython3.11-minimal", "Multi-Arch: same"),
	deb("libpython3.11-stdlib", "Multi-Arch: same", "Depends: libssl3, mime-support | media-types"),
	deb("libpython3-stdlib", "Depends: libpython3.11-stdlib"),
	deb("media-types"),
	deb("mime-support", "Depends: media-types"),
	deb("libssl3", "Multi-Arch: same"),
	deb("python3-flask", "Depends: python3:any, python3-werkzeug", "Recommends: python3-dotenv", "Suggests: python3-flask-doc"),
	deb("python3-werkzeug", "Depends: python3:any, libjs-jquery"),
	deb("libjs-jquery"),
	deb("python3-dotenv"),
	deb("gcc-12", "Depends: cpp-12, libc6-dev"),
	deb("cpp-12"),
	deb("libc6-dev", "Multi-Arch: same", "Depends: libc6"),
	deb("git", "Depends: perl, libcurl3-gnutls"),
	deb("perl", "Depends: perl-base"),
	deb("perl-base", "Essential: yes"),
	deb("libcurl3-gnutls", "Multi-Arch: same"),
	deb("oldlib", "Status: deinstall ok config-files"),
}

// runtimeAuto marks the dependencies apt pulled in.
var runtimeAuto = []string{"libapt-pkg6.0", "zlib1g", "gpgv", "ca-certificates", "openssl", "python3.11", "python3.11-minimal",
	"libpython3.11-minimal", "libpython3.11-stdlib", "libpython3-stdlib", "media-types", "libssl3", "python3-werkzeug",
	"libjs-jquery", "python3-dotenv", "cpp-12", "libc6-dev", "perl", "libcurl3-gnutls", "libc6:i386"}

func TestNeeds(t *testing.T) {
	base := map[string]string{
		"dpkg": "essential", "tar": "essential", "perl-base": "essential", "apt": "required",
		"libc6:amd64": "needed by dpkg", "libapt-pkg6.0:amd64": "needed by apt", "zlib1g:amd64": "needed by libapt-pkg6.0:amd64",
		"gpgv": "needed by apt",
	}
	with := func(m map[string]string) map[string]string {
		out := maps.Clone(base)
		maps.Copy(out, m)
		return out
	}
	for _, tc := range []struct {
		name  string
		roots map[string]string
		want  map[string]string
	}{{
		name: "no roots: what apt never removes and its dependencies",
		want: base,
	}, {
		name:  "an interpreter: Depends and Pre-Depends, not Recommends",
		roots: map[string]string{"python3.11-minimal": "holds /usr/bin/python3.11"},
		want: with(map[string]string{
			"python3.11-minimal":          "holds /usr/bin/python3.11",
			"libpython3.11-minimal:amd64": "needed by python3.11-minimal",
			// The roots' dependencies are followed first.
			"libc6:amd64":  "needed by python3.11-minimal",
			"zlib1g:amd64": "needed by python3.11-minimal",
		}),
	}, {
		name: "an app's modules: the first installed alternative, :any, virtual packages",
		roots: map[string]string{
			"python3-flask":              "holds /usr/lib/python3/dist-packages/flask/app.py",
			"libpython3.11-stdlib:amd64": "holds /usr/lib/python3.11/os.py",
		},
		want: with(map[string]string{
			"python3-flask":               "holds /usr/lib/python3/dist-packages/flask/app.py",
			"libpython3.11-stdlib:amd64":  "holds /usr/lib/python3.11/os.py",
			"python3":                     "needed by python3-flask",
			"python3-werkzeug":            "needed by python3-flask",
			"libjs-jquery":                "needed by python3-werkzeug",
			"python3.11":                  "needed by python3",
			"libpython3-stdlib":           "needed by python3",
			"python3.11-minimal":          "needed by python3.11",
			"libpython3.11-minimal:amd64": "needed by python3.11-minimal",
			"libssl3:amd64":               "needed by libpython3.11-stdlib:amd64",
			"mime-support":                "needed by libpython3.11-stdlib:amd64",
			"media-types":                 "needed by mime-support",
		}),
	}, {
		name:  "a root by name takes every architecture installed; by id, one",
		roots: map[string]string{"libc6": "--keep-package libc6", "libcurl3-gnutls:amd64": "--keep-package libcurl3-gnutls:amd64"},
		want: with(map[string]string{
			"libc6:amd64":           "--keep-package libc6",
			"libc6:i386":            "--keep-package libc6",
			"libcurl3-gnutls:amd64": "--keep-package libcurl3-gnutls:amd64",
		}),
	}, {
		name:  "a root not installed keeps nothing",
		roots: map[string]string{"oldlib": "holds /usr/lib/oldlib.so", "absent": "--keep-package absent"},
		want:  base,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Parse([]byte(strings.Join(runtimeStatus, "")), []byte(autoStates(runtimeAuto...)))
			if err != nil {
				t.Fatal(err)
			}
			got := db.Needs(tc.roots)
			if !maps.Equal(got, tc.want) {
				t.Errorf("Needs:\n%s", mapDiff(got, tc.want))
			}
			// Purging the rest keeps every dependency of what stays: apt
			// keeps nothing more (the roots made manual) and removes
			// nothing needed.
			var roots []string
			for id := range tc.roots {
				roots = append(roots, id)
			}
			ext := autoStatesExcept(runtimeAuto, roots)
			db, err = Parse([]byte(strings.Join(runtimeStatus, "")), []byte(ext))
			if err != nil {
				t.Fatal(err)
			}
			r := db.PurgeIDs(func(id string) bool { _, ok := got[id]; return !ok })
			if len(r.Kept) != 0 {
				t.Errorf("Purge kept %q: Needs missed them", r.Kept)
			}
			var stay []string
			for _, id := range db.Installed() {
				if !slices.Contains(r.Removed, id) {
					stay = append(stay, id)
				}
			}
			if want := slices.Sorted(maps.Keys(got)); !slices.Equal(stay, want) {
				t.Errorf("after the purge, installed:\n%q\nNeeds:\n%q", stay, want)
			}
		})
	}
}

// autoStatesExcept is autoStates of auto less the packages named in
// manual, by name or name:arch.
func autoStatesExcept(auto, manual []string) string {
	var out []string
	for _, a := range auto {
		name, _, _ := strings.Cut(a, ":")
		if !slices.Contains(manual, a) && !slices.Contains(manual, name) && !slices.Contains(manual, a+":amd64") {
			out = append(out, a)
		}
	}
	return autoStates(out...)
}

func mapDiff(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if w, ok := want[k]; !ok {
			b.WriteString("  extra " + k + ": " + got[k] + "\n")
		} else if w != got[k] {
			b.WriteString("  " + k + ": got " + got[k] + ", want " + w + "\n")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			b.WriteString("  missing " + k + ": " + want[k] + "\n")
		}
	}
	return b.String()
}
