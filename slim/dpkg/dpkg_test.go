package dpkg

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// deb is a status stanza for the tests: installed amd64 version 1.0 unless
// fields say otherwise (a field given replaces the default).
func deb(name string, fields ...string) string {
	def := []string{"Status: install ok installed", "Architecture: amd64", "Version: 1.0"}
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\n", name)
	for _, d := range def {
		key, _, _ := strings.Cut(d, ":")
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, key+":") }) {
			b.WriteString(d + "\n")
		}
	}
	for _, f := range fields {
		b.WriteString(f + "\n")
	}
	b.WriteString("Description: test\n\n")
	return b.String()
}

// autoStates is an extended_states marking names (name or name:arch) auto.
func autoStates(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		name, arch, ok := strings.Cut(n, ":")
		if !ok {
			arch = "amd64"
		}
		fmt.Fprintf(&b, "Package: %s\nArchitecture: %s\nAuto-Installed: 1\n\n", name, arch)
	}
	return b.String()
}

func names(ns ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(ns, n) }
}

func TestPurge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  []string
		auto    []string
		ask     []string
		removed []string
		kept    map[string]string
	}{{
		name:    "autoremove chain",
		status:  []string{deb("app", "Depends: libc6"), deb("libc6"), deb("gcc-12", "Depends: cpp-12, libisl23"), deb("cpp-12", "Depends: libmpc3"), deb("libisl23", "Depends: libgmp10"), deb("libmpc3", "Depends: libgmp10, libc6"), deb("libgmp10")},
		auto:    []string{"cpp-12", "libisl23", "libmpc3", "libgmp10", "libc6"},
		ask:     []string{"gcc-12"},
		removed: []string{"cpp-12", "gcc-12", "libgmp10", "libisl23", "libmpc3"},
	}, {
		name:    "a dependency a kept package shares stays",
		status:  []string{deb("python3", "Depends: libexpat1"), deb("git", "Depends: libexpat1, perl"), deb("libexpat1"), deb("perl")},
		auto:    []string{"libexpat1", "perl"},
		ask:     []string{"git"},
		removed: []string{"git", "perl"},
	}, {
		name:    "a build tool a kept package needs stays",
		status:  []string{deb("app", "Depends: make (>= 4)"), deb("make", "Version: 4.3-4.1", "Depends: libguile"), deb("libguile"), deb("gcc")},
		auto:    []string{"make", "libguile"},
		ask:     []string{"make", "gcc"},
		removed: []string{"gcc"},
		kept:    map[string]string{"make": "needed by app"},
	}, {
		name:    "a kept build tool keeps the build tools it needs",
		status:  []string{deb("git-lfs", "Depends: git"), deb("git", "Depends: git-man, perl"), deb("git-man"), deb("perl")},
		auto:    []string{"git-man", "perl"},
		ask:     []string{"git", "git-man"},
		kept:    map[string]string{"git": "needed by git-lfs", "git-man": "needed by git"},
		removed: nil,
	}, {
		name:    "a kept build tool that is then autoremoved is removed",
		status:  []string{deb("helper", "Depends: make"), deb("make")},
		auto:    []string{"helper", "make"},
		ask:     []string{"make"},
		removed: []string{"helper", "make"},
	}, {
		// The case of buildpack-deps: libc6-dev, asked for and manual, was
		// kept for comerr-dev, kept for krb5-multidev, which no kept
		// package needs; autoremove took both and left libc6-dev.
		name: "a package kept for one that autoremove takes goes too",
		status: []string{deb("libkrb5-dev", "Depends: krb5-multidev"), deb("krb5-multidev", "Depends: comerr-dev, libkrb5-3"),
			deb("comerr-dev", "Depends: libc6-dev"), deb("libc6-dev", "Depends: libc6"), deb("libc6"), deb("libkrb5-3")},
		auto:    []string{"krb5-multidev", "comerr-dev", "libkrb5-3"},
		ask:     []string{"libkrb5-dev", "comerr-dev", "libc6-dev"},
		removed: []string{"comerr-dev", "krb5-multidev", "libc6-dev", "libkrb5-3", "libkrb5-dev"},
	}, {
		name:    "a package kept for one that autoremove takes goes too, over several rounds",
		status:  []string{deb("a", "Depends: b-dev"), deb("b-dev", "Depends: c"), deb("c", "Depends: d-dev"), deb("d-dev", "Depends: e"), deb("e", "Depends: f-dev"), deb("f-dev")},
		auto:    []string{"a", "c", "e"},
		ask:     []string{"b-dev", "d-dev", "f-dev"},
		removed: []string{"a", "b-dev", "c", "d-dev", "e", "f-dev"},
	}, {
		name:    "a package kept for one that stays stays",
		status:  []string{deb("app", "Depends: krb5-multidev"), deb("krb5-multidev", "Depends: comerr-dev"), deb("comerr-dev", "Depends: libc6-dev"), deb("libc6-dev")},
		auto:    []string{"krb5-multidev", "comerr-dev"},
		ask:     []string{"comerr-dev", "libc6-dev"},
		kept:    map[string]string{"comerr-dev": "needed by krb5-multidev", "libc6-dev": "needed by comerr-dev"},
		removed: nil,
	}, {
		name:    "Pre-Depends keeps",
		status:  []string{deb("app", "Pre-Depends: libexpat1"), deb("libexpat1"), deb("git", "Depends: libexpat1")},
		auto:    []string{"libexpat1"},
		ask:     []string{"git"},
		removed: []string{"git"},
	}, {
		name:    "Pre-Depends on an asked package keeps it",
		status:  []string{deb("app", "Pre-Depends: make"), deb("make")},
		ask:     []string{"make"},
		kept:    map[string]string{"make": "needed by app"},
		removed: nil,
	}, {
		name:    "every installed alternative is marked",
		status:  []string{deb("app", "Depends: mawk | gawk"), deb("mawk"), deb("gawk"), deb("gcc", "Depends: gawk")},
		auto:    []string{"mawk", "gawk"},
		ask:     []string{"gcc"},
		removed: []string{"gcc"},
	}, {
		name:    "an asked alternative goes when another is installed",
		status:  []string{deb("app", "Depends: gcc | clang"), deb("gcc"), deb("clang")},
		auto:    []string{"clang"},
		ask:     []string{"gcc"},
		removed: []string{"gcc"},
	}, {
		name:    "of two asked alternatives the first stays",
		status:  []string{deb("app", "Depends: gcc | clang"), deb("gcc"), deb("clang")},
		ask:     []string{"gcc", "clang"},
		removed: []string{"clang"},
		kept:    map[string]string{"gcc": "needed by app"},
	}, {
		name:    "an absent first alternative",
		status:  []string{deb("app", "Depends: absent | libcurl"), deb("libcurl"), deb("git", "Depends: libcurl")},
		auto:    []string{"libcurl"},
		ask:     []string{"git"},
		removed: []string{"git"},
	}, {
		name:    "a virtual package keeps its providers",
		status:  []string{deb("app", "Depends: awk, perlapi-5.36.0"), deb("mawk", "Provides: awk"), deb("gawk", "Provides: awk"), deb("perl", "Provides: perlapi-5.36.0"), deb("git", "Depends: perl")},
		auto:    []string{"mawk", "gawk", "perl"},
		ask:     []string{"git"},
		removed: []string{"git"},
	}, {
		name:    "an asked provider of a virtual package a kept package needs stays",
		status:  []string{deb("app", "Depends: c-compiler"), deb("gcc", "Provides: c-compiler")},
		ask:     []string{"gcc"},
		kept:    map[string]string{"gcc": "needed by app"},
		removed: nil,
	}, {
		name:    "a versioned dependency is met only by a versioned Provides",
		status:  []string{deb("app", "Depends: foo (>= 2)"), deb("bar", "Provides: foo (= 3)"), deb("baz", "Provides: foo"), deb("old", "Provides: foo (= 1)")},
		auto:    []string{"bar", "baz", "old"},
		removed: []string{"baz", "old"},
	}, {
		name:    "an unmet versioned dependency does not mark",
		status:  []string{deb("app", "Depends: a (>= 2) | b"), deb("a", "Version: 1.5"), deb("b")},
		auto:    []string{"a", "b"},
		removed: []string{"a"},
	}, {
		name:    "Recommends and Suggests keep",
		status:  []string{deb("python3", "Recommends: ca-certificates", "Suggests: binutils"), deb("ca-certificates", "Depends: openssl"), deb("openssl"), deb("binutils"), deb("unused")},
		auto:    []string{"ca-certificates", "openssl", "binutils", "unused"},
		removed: []string{"unused"},
	}, {
		name:    "Essential, Protected and Priority required are never autoremoved",
		status:  []string{deb("base", "Essential: yes", "Depends: libbase"), deb("libbase"), deb("req", "Priority: required"), deb("prot", "Protected: yes"), deb("imp", "Important: yes"), deb("opt", "Priority: optional")},
		auto:    []string{"base", "libbase", "req", "prot", "imp", "opt"},
		removed: []string{"opt"},
	}, {
		name:    "Essential, Protected and held packages are not purged",
		status:  []string{deb("make", "Essential: yes"), deb("gcc", "Protected: yes"), deb("cpp", "Status: hold ok installed"), deb("git")},
		ask:     []string{"make", "gcc", "cpp", "git"},
		removed: []string{"git"},
		kept:    map[string]string{"make": "essential", "gcc": "protected", "cpp": "held"},
	}, {
		name:    "held packages are roots",
		status:  []string{deb("lib", "Status: hold ok installed")},
		auto:    []string{"lib"},
		removed: nil,
	}, {
		name:    "kernels are never autoremoved",
		status:  []string{deb("linux-image-amd64"), deb("linux-image-6.1.0-9-amd64"), deb("firmware-linux-free")},
		auto:    []string{"linux-image-amd64", "linux-image-6.1.0-9-amd64", "firmware-linux-free"},
		removed: nil,
	}, {
		name:    "packages not installed are left alone",
		status:  []string{deb("gcc", "Status: deinstall ok config-files"), deb("make", "Status: purge ok not-installed"), deb("app", "Depends: gone"), deb("gone", "Status: deinstall ok config-files")},
		auto:    []string{"gcc"},
		ask:     []string{"gcc", "make"},
		removed: nil,
	}, {
		name:    "packages not in extended_states are manual",
		status:  []string{deb("a", "Depends: b"), deb("b", "Depends: c"), deb("c")},
		removed: nil,
	}, {
		name: "multi-arch: same-arch dependencies, :any, foreign and arch-qualified",
		status: []string{
			deb("dpkg"),
			deb("app", "Architecture: i386", "Depends: libfoo, python3:any, tool, libbar:amd64"),
			deb("libfoo", "Architecture: amd64", "Multi-Arch: same"),
			deb("libfoo", "Architecture: i386", "Multi-Arch: same"),
			deb("python3", "Multi-Arch: allowed"),
			deb("tool", "Multi-Arch: foreign"),
			deb("libbar", "Architecture: amd64", "Multi-Arch: same"),
			deb("libbar", "Architecture: i386", "Multi-Arch: same"),
			deb("helper", "Architecture: i386"),
			deb("docs", "Architecture: all", "Depends: libbaz"),
			deb("libbaz", "Architecture: amd64", "Multi-Arch: same"),
			deb("libbaz", "Architecture: i386", "Multi-Arch: same"),
		},
		auto:    []string{"libfoo:amd64", "libfoo:i386", "python3", "tool", "libbar:amd64", "libbar:i386", "helper:i386", "libbaz:amd64", "libbaz:i386"},
		removed: []string{"helper:i386", "libbar:i386", "libbaz:i386", "libfoo:amd64"},
	}, {
		name:    "an extended_states entry without Architecture covers every instance",
		status:  []string{deb("dpkg"), deb("libfoo", "Multi-Arch: same"), deb("libfoo", "Architecture: i386", "Multi-Arch: same")},
		auto:    nil, // see below
		removed: []string{"libfoo:amd64", "libfoo:i386"},
	}, {
		name:    "of the providers from one source only the newest source version counts",
		status:  []string{deb("app", "Depends: linux-headers"), deb("linux-headers-6.1.0-9", "Source: linux (6.1.27-1)", "Provides: linux-headers"), deb("linux-headers-6.1.0-10", "Source: linux (6.1.38-1)", "Provides: linux-headers"), deb("other-headers", "Provides: linux-headers")},
		auto:    []string{"linux-headers-6.1.0-9", "linux-headers-6.1.0-10", "other-headers"},
		removed: []string{"linux-headers-6.1.0-9"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ext := autoStates(tc.auto...)
			if strings.HasPrefix(tc.name, "an extended_states entry without Architecture") {
				ext = "Package: libfoo\nAuto-Installed: 1\n"
			}
			db, err := Parse([]byte(strings.Join(tc.status, "")), []byte(ext))
			if err != nil {
				t.Fatal(err)
			}
			r := db.Purge(names(tc.ask...))
			if !slices.Equal(r.Removed, tc.removed) {
				t.Errorf("Removed: got %q, want %q", r.Removed, tc.removed)
			}
			want := tc.kept
			if want == nil {
				want = map[string]string{}
			}
			if !maps.Equal(r.Kept, want) {
				t.Errorf("Kept: got %q, want %q", r.Kept, want)
			}
			// The fixed point: what keeps a package stays.
			for pkg, why := range r.Kept {
				if by, ok := strings.CutPrefix(why, "needed by "); ok && slices.Contains(r.Removed, by) {
					t.Errorf("%s kept %q, which goes", pkg, why)
				}
			}
		})
	}
}

func TestPurgeWritesStatusAndExtendedStates(t *testing.T) {
	status := deb("app", "Depends: libc6") + deb("gcc", "Depends: cpp", "Conffiles:\n /etc/gcc.conf abc") + deb("cpp") + deb("libc6") + deb("old", "Status: deinstall ok config-files")
	ext := autoStates("cpp", "libc6") +
		"Package: gcc\nArchitecture: amd64\nAuto-Installed: 0\n\n" +
		"Package: app\nArchitecture: amd64\nAuto-Installed: 0\n\n" +
		"Package: cpp\nArchitecture: i386\nAuto-Installed: 1\n\n" +
		"Package: gcc\nArchitecture: amd64\nAuto-Installed: 1\nX-Note: kept by apt\n\n"
	db, err := Parse([]byte(status), []byte(ext))
	if err != nil {
		t.Fatal(err)
	}
	r := db.Purge(names("gcc"))
	if want := []string{"cpp", "gcc"}; !slices.Equal(r.Removed, want) {
		t.Fatalf("Removed: got %q, want %q", r.Removed, want)
	}
	if got, want := string(r.Status), deb("app", "Depends: libc6")+deb("libc6")+deb("old", "Status: deinstall ok config-files"); got != want {
		t.Errorf("Status:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if got, want := string(r.ExtendedStates), autoStates("libc6")+"Package: gcc\nArchitecture: amd64\nAuto-Installed: 0\nX-Note: kept by apt\n\n"; got != want {
		t.Errorf("ExtendedStates:\ngot:\n%s\nwant:\n%s", got, want)
	}

	db, err = Parse([]byte(status), nil)
	if err != nil {
		t.Fatal(err)
	}
	r = db.Purge(names("gcc"))
	if want := []string{"gcc"}; !slices.Equal(r.Removed, want) { // cpp is manual without extended_states
		t.Errorf("without extended_states: Removed: got %q, want %q", r.Removed, want)
	}
	if r.ExtendedStates != nil {
		t.Errorf("without extended_states: got ExtendedStates %q, want nil", r.ExtendedStates)
	}
}

func TestPurgeNothing(t *testing.T) {
	status := "\n" + deb("a") + deb("b") // dpkg writes no leading blank line; keep one anyway
	db, err := Parse([]byte(status), []byte(autoStates("b")+"Package: a\nArchitecture: amd64\nAuto-Installed: 0\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := db.Purge(func(string) bool { return false })
	if want := []string{"b"}; !slices.Equal(r.Removed, want) {
		t.Errorf("Removed: got %q, want %q", r.Removed, want)
	}
	if got, want := string(r.Status), "\n"+deb("a"); got != want {
		t.Errorf("Status: got %q, want %q", got, want)
	}
	if got := string(r.ExtendedStates); got != "" {
		t.Errorf("ExtendedStates: got %q, want it empty (b removed, a's entry obsolete)", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ status, want string }{
		{"Status: install ok installed\n", "no Package field"},
		{deb("a", "Status: installed"), `got Status "installed"`},
		{deb("a", "Depends: b (>= )"), "package a: Depends"},
		{deb("a", "Depends: b (~ 1)"), `unknown relation "~"`},
		{deb("a", "Provides: (= 1)"), "package a: Provides"},
		{" continued\n", "continuation line"},
		{"Package a\n", `want "Name: value"`},
	} {
		_, err := Parse([]byte(tc.status), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): got error %v, want one containing %q", tc.status, err, tc.want)
		}
	}
	if _, err := Parse([]byte(deb("a")), []byte(" bad\n")); err == nil || !strings.Contains(err.Error(), "extended_states") {
		t.Errorf("bad extended_states: got error %v, want one naming extended_states", err)
	}
}

func TestParseDeps(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]atom
	}{
		{"", nil},
		{"a", [][]atom{{{name: "a"}}}},
		{"a (>= 1:2.3-4), b:any | c:amd64 (<< 5)", [][]atom{{{name: "a", op: ">=", ver: "1:2.3-4"}}, {{name: "b", arch: "any"}, {name: "c", arch: "amd64", op: "<<", ver: "5"}}}},
		{"a(>=1)", [][]atom{{{name: "a", op: ">=", ver: "1"}}}},
		{"a [amd64 arm64] <!nocheck>,\n b", [][]atom{{{name: "a"}}, {{name: "b"}}}},
		{"a (<= 2) <!nocheck>", [][]atom{{{name: "a", op: "<=", ver: "2"}}}},
	} {
		got, err := parseDeps(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseDeps(%q): got %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1:1.0", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0", "1.0+b1", -1},
		{"1.0-1", "1.0-1.1", -1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1}, // letters sort before other characters
		{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"1:2.39.5-0+deb12u2", "1:2.39.5-.", -1}, // git's Depends: git-man (<< 1:2.39.5-.)
		{"007", "7", 0},
		{"1.0-", "1.0", 0},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
	for _, tc := range []struct {
		v, op, ref string
		want       bool
	}{
		{"1.0", "", "", true},
		{"1.0", "<<", "1.1", true},
		{"1.1", "<<", "1.1", false},
		{"1.1", "<=", "1.1", true},
		{"1.1", "<", "1.1", true}, // obsolete <, meaning <=
		{"1.1", "=", "1.1", true},
		{"1.1", ">=", "1.2", false},
		{"1.2", ">", "1.2", true}, // obsolete >, meaning >=
		{"1.2", ">>", "1.2", false},
		{"1.2", "~", "1.2", false},
	} {
		if got := satisfies(tc.v, tc.op, tc.ref); got != tc.want {
			t.Errorf("satisfies(%q, %q, %q) = %v, want %v", tc.v, tc.op, tc.ref, got, tc.want)
		}
	}
}

func TestInstalledAndIDs(t *testing.T) {
	status := deb("dpkg") + deb("libc6", "Multi-Arch: same") + deb("libc6", "Architecture: i386", "Multi-Arch: same") +
		deb("wine", "Architecture: i386") + deb("docs", "Architecture: all") + deb("gone", "Status: purge ok not-installed")
	db, err := Parse([]byte(status), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := db.Installed(), []string{"docs", "dpkg", "libc6:amd64", "libc6:i386", "wine:i386"}; !slices.Equal(got, want) {
		t.Errorf("Installed: got %q, want %q", got, want)
	}
}

func TestInfoFilesAndFiles(t *testing.T) {
	status := deb("dpkg") + deb("app", "Depends: libc6") + deb("libc6", "Multi-Arch: same") +
		deb("gcc", "Depends: libgcc-dev") + deb("libgcc-dev", "Multi-Arch: same") + deb("gcc.1") +
		deb("old", "Status: deinstall ok config-files")
	db, err := Parse([]byte(status), []byte(autoStates("libgcc-dev", "libc6")))
	if err != nil {
		t.Fatal(err)
	}
	r := db.Purge(names("gcc"))
	if want := []string{"gcc", "libgcc-dev:amd64"}; !slices.Equal(r.Removed, want) {
		t.Fatalf("Removed: got %q, want %q", r.Removed, want)
	}
	info := []string{"format", "gcc.list", "gcc.md5sums", "gcc.postinst", "gcc.1.list", "gcc-12.list",
		"libgcc-dev:amd64.list", "libgcc-dev:amd64.triggers", "libgcc-dev.list", "libc6:amd64.list", "gcc.", ".list", "app.list"}
	if got, want := r.InfoFiles(info), []string{"gcc.list", "gcc.md5sums", "gcc.postinst", "libgcc-dev:amd64.list", "libgcc-dev:amd64.triggers"}; !slices.Equal(got, want) {
		t.Errorf("InfoFiles: got %q, want %q", got, want)
	}

	lists := map[string][]byte{
		"dpkg":             []byte("/.\n/usr\n/usr/bin\n/usr/bin/dpkg\n"),
		"app":              []byte("/.\n/usr\n/usr/bin\n/usr/bin/app\n/usr/share\n/usr/share/doc\n/usr/share/doc/app\n"),
		"libc6:amd64":      []byte("/.\n/usr\n/usr/lib\n/usr/lib/libc.so.6\n/usr/include\n"),
		"gcc":              []byte("/.\n/usr\n/usr/bin\n/usr/bin/gcc\n/usr/lib/gcc\n/usr/lib/gcc/x86_64-linux-gnu\n/usr/lib/gcc/x86_64-linux-gnu/12\n/usr/share/doc\n/usr/share/doc/gcc\n/usr/share/doc/gcc/copyright\n"),
		"libgcc-dev:amd64": []byte("/.\r\n/usr/lib/gcc/x86_64-linux-gnu/12\r\n/usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a\r\n/usr/include\r\n/usr/include/gcc.h"),
		"gcc.1":            []byte("/.\n/usr/share/doc/gcc\n"),
		"old":              []byte("/etc/old.conf\n"),
	}
	got, err := r.Files(lists)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/usr/bin/gcc",
		"/usr/include/gcc.h",
		"/usr/lib/gcc",
		"/usr/lib/gcc/x86_64-linux-gnu",
		"/usr/lib/gcc/x86_64-linux-gnu/12",
		"/usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a",
		"/usr/share/doc/gcc/copyright",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Files:\ngot  %q\nwant %q", got, want)
	}

	for _, missing := range []string{"gcc", "app"} {
		l := maps.Clone(lists)
		delete(l, missing)
		if _, err := r.Files(l); err == nil || !strings.Contains(err.Error(), missing+".list") {
			t.Errorf("Files without %s.list: got error %v, want one naming it", missing, err)
		}
	}
	l := maps.Clone(lists)
	delete(l, "old") // not installed: its list is optional
	if _, err := r.Files(l); err != nil {
		t.Errorf("Files without the list of a package not installed: %v", err)
	}
}

func TestTriggers(t *testing.T) {
	status := deb("dpkg") + deb("man-db", "Depends: libc6") + deb("libc6", "Multi-Arch: same") + deb("libc-bin", "Depends: libc6") + deb("gcc")
	db, err := Parse([]byte(status), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := db.Purge(names("man-db", "libc6", "gcc")) // libc6 stays: libc-bin needs it
	if want := []string{"gcc", "man-db"}; !slices.Equal(r.Removed, want) {
		t.Fatalf("Removed: got %q, want %q", r.Removed, want)
	}
	write, remove := r.Triggers(map[string][]byte{
		"File":     []byte("/usr/share/man man-db\n/usr/share/debianutils/shells.d debianutils/noawait\n/usr/lib/gcc gcc/noawait\n"),
		"ldconfig": []byte("libc-bin\n"),
		"man-db":   []byte("man-db/noawait\n"),
		"both":     []byte("gcc\nlibc6:amd64\n"),
		"Lock":     nil,
		"Unincorp": []byte("man-db gcc\n"),
	})
	wantWrite := map[string]string{
		"File": "/usr/share/debianutils/shells.d debianutils/noawait\n",
		"both": "libc6:amd64\n",
	}
	got := map[string]string{}
	for k, v := range write {
		got[k] = string(v)
	}
	if !maps.Equal(got, wantWrite) {
		t.Errorf("write: got %q, want %q", got, wantWrite)
	}
	if want := []string{"man-db"}; !slices.Equal(remove, want) {
		t.Errorf("remove: got %q, want %q", remove, want)
	}
}
