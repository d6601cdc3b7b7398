package elfdeps

import (
	"debug/elf"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

const multiarch = "/usr/lib/x86_64-linux-gnu"

// curlImage is glibcImage with a program whose closure uses every source
// of libraries a Debian image has: the default directories, a directory
// only ld.so.conf.d names (so /etc/ld.so.cache), NSS modules, symlinked
// sonames, and a library that needs the loader by its soname.
func curlImage() *memFS {
	return glibcImage().
		elf("/usr/bin/curl", elfSpec{interp: ldso, needed: []string{"libcurl.so.4", "libextra.so.1", "libc.so.6"}}).
		symlink(multiarch+"/libcurl.so.4", "libcurl.so.4.8.0").
		elf(multiarch+"/libcurl.so.4.8.0", elfSpec{soname: "libcurl.so.4", needed: []string{"libssl.so.3", "libz.so.1", "libc.so.6"}}).
		elf(multiarch+"/libssl.so.3", elfSpec{soname: "libssl.so.3", needed: []string{"libcrypto.so.3", "libc.so.6"}}).
		elf(multiarch+"/libcrypto.so.3", elfSpec{soname: "libcrypto.so.3", needed: []string{"libz.so.1", "libc.so.6"}}).
		symlink(multiarch+"/libz.so.1", "libz.so.1.2.13").
		elf(multiarch+"/libz.so.1.2.13", elfSpec{soname: "libz.so.1", needed: []string{"libc.so.6"}}).
		elf("/usr/local/lib/libextra.so.1", elfSpec{soname: "libextra.so.1", needed: []string{"libc.so.6"}}).
		file("/etc/ld.so.cache", []byte("glibc-ld.so.cache1.1"), 0o644).
		text("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n").
		text("/etc/ld.so.conf.d/libc.conf", "# libc default configuration\n/usr/local/lib\n").
		text("/etc/ld.so.conf.d/x86_64-linux-gnu.conf", "/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n").
		text("/etc/ld.so.conf.d/.hidden.conf", "/nowhere\n").
		text("/etc/nsswitch.conf", "passwd: files systemd\nhosts: files [NOTFOUND=return] dns mdns4_minimal # comment\nnetgroup: nis\n").
		elf(multiarch+"/libnss_files.so.2", elfSpec{soname: "libnss_files.so.2", needed: []string{"libc.so.6"}}).
		elf(multiarch+"/libnss_systemd.so.2", elfSpec{soname: "libnss_systemd.so.2", needed: []string{"libcap.so.2", "libc.so.6"}})
}

var curlWant = map[string]string{
	"/bin":                                    "", // not needed: nothing is reached through it
	"/lib":                                    "symlink to usr/lib",
	"/lib64":                                  "symlink to usr/lib64",
	"/usr/lib64/ld-linux-x86-64.so.2":         "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"/usr/bin/curl":                           "program",
	multiarch + "/ld-linux-x86-64.so.2":       "interpreter of /usr/bin/curl",
	multiarch + "/libcurl.so.4":               "symlink to libcurl.so.4.8.0",
	multiarch + "/libcurl.so.4.8.0":           "needed by /usr/bin/curl",
	"/usr/local/lib/libextra.so.1":            "needed by /usr/bin/curl",
	"/etc/ld.so.cache":                        "read by ld.so to find /usr/local/lib/libextra.so.1",
	multiarch + "/libc.so.6":                  "needed by /usr/bin/curl",
	multiarch + "/libssl.so.3":                "needed by /usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
	multiarch + "/libz.so.1":                  "symlink to libz.so.1.2.13",
	multiarch + "/libz.so.1.2.13":             "needed by /usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
	multiarch + "/libcrypto.so.3":             "needed by /usr/lib/x86_64-linux-gnu/libssl.so.3",
	"/etc/nsswitch.conf":                      "NSS configuration read by glibc",
	multiarch + "/libnss_files.so.2":          `NSS module glibc loads for "files"`,
	multiarch + "/libnss_systemd.so.2":        `NSS module glibc loads for "systemd"`,
	"/etc/ld.so.conf":                         "", // read for the search, not needed at run time
	"/etc/ld.so.conf.d/libc.conf":             "",
	"/etc/ld.so.conf.d/x86_64-linux-gnu.conf": "",
}

func checkFiles(t *testing.T, res *Result, want map[string]string) {
	t.Helper()
	got := whys(res)
	for p, w := range want {
		if w == "" {
			if g, ok := got[p]; ok {
				t.Errorf("%s: got %q, want it left out", p, g)
			}
			continue
		}
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %s (%s)", p, g)
		}
	}
}

func TestResolveFetchRounds(t *testing.T) {
	m := curlImage().unfetch()
	res, rounds, err := resolveAll(t, m, "/usr/bin/curl", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, curlWant)
	if len(res.Missing) != 0 {
		t.Errorf("Missing: got %q, want none (libcap is only needed by an NSS module, libnss_dns and libnss_mdns4_minimal are optional)", res.Missing)
	}
	// Round 1 fetches the program and the configuration, round 2 the
	// loader, the program's needs and the NSS modules, round 3 libcurl's
	// needs, round 4 libssl's, and round 5 asks for nothing more.
	if rounds != 5 {
		t.Errorf("rounds: got %d, want 5", rounds)
	}
	// The answer is the one Resolve gives with every content at hand.
	full, err := Resolve(curlImage(), "/usr/bin/curl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, full) {
		t.Errorf("after fetching:\n%v\nwith everything fetched:\n%v", res, full)
	}
	// Nothing was fetched that could not matter.
	for p := range m.fetched {
		if _, ok := whys(res)[p]; !ok && !strings.HasPrefix(p, "/etc/ld.so.conf") {
			t.Errorf("fetched %s, which the program does not need", p)
		}
	}
}

func TestResolveFirstRound(t *testing.T) {
	m := curlImage().unfetch()
	res, err := Resolve(m, "/usr/bin/curl", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/etc/ld.so.conf", "/etc/ld.so.conf.d/libc.conf", "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
		"/etc/nsswitch.conf", "/usr/bin/curl",
	}
	if !reflect.DeepEqual(res.Fetch, want) {
		t.Errorf("Fetch: got %q, want %q", res.Fetch, want)
	}
	// With LoadTimeOnly, nsswitch.conf is not read ahead.
	res, err = Resolve(m, "/usr/bin/curl", nil, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Fetch, " "); strings.Contains(got, "nsswitch") {
		t.Errorf("LoadTimeOnly Fetch: got %s", got)
	}
}

func TestResolveLoadTimeOnly(t *testing.T) {
	res, err := Resolve(curlImage(), "/usr/bin/curl", nil, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for p, w := range curlWant {
		if !strings.Contains(w, "NSS") {
			want[p] = w
		}
	}
	checkFiles(t, res, want)
}

// TestResolveUncertainConf fetches the loader's configuration late: the
// libraries looked up before it came are guessed, and the guess that was
// wrong is not kept.
func TestResolveUncertainConf(t *testing.T) {
	m := glibcImage().
		elf("/app", elfSpec{interp: ldso, needed: []string{"libfoo.so.1", "libc.so.6"}}).
		elf(multiarch+"/libfoo.so.1", elfSpec{soname: "libfoo.so.1", needed: []string{"libdefault.so"}}).
		elf("/opt/foo/libfoo.so.1", elfSpec{soname: "libfoo.so.1", needed: []string{"libopt.so"}}).
		elf("/opt/foo/libopt.so", elfSpec{}).
		file("/etc/ld.so.cache", nil, 0o644).
		text("/etc/ld.so.conf", "include foo.d/*\n").
		text("/etc/foo.d/foo", "/opt/foo/\n").
		unfetch()
	res, _, err := resolveAll(t, m, "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := whys(res)
	if got["/opt/foo/libfoo.so.1"] != "needed by /app" || got["/opt/foo/libopt.so"] == "" {
		t.Errorf("got %v, want libfoo and libopt from /opt/foo, named by a relative include", got)
	}
	if _, ok := got[multiarch+"/libfoo.so.1"]; ok {
		t.Errorf("got the default directory's libfoo too")
	}
	if len(res.Missing) != 0 {
		t.Errorf("Missing: %q", res.Missing)
	}
}

func TestResolveSymlinks(t *testing.T) {
	m := glibcImage().
		elf("/usr/lib/node/node", elfSpec{interp: ldso, needed: []string{"libc.so.6"}}).
		symlink("/usr/bin/node", "../lib/node/node").
		symlink("/usr/local/bin/tool", "../../../../../../../opt/tool").
		elf("/opt/tool", elfSpec{typ: elf.ET_EXEC}).
		symlink("/usr/local/bin/abs", "/usr/local/bin/tool").
		symlink("/loop1", "loop2").
		symlink("/loop2", "/loop1")
	for _, tc := range []struct {
		program string
		want    map[string]string
	}{
		{"/usr/bin/node", map[string]string{
			"/usr/bin/node":                     "symlink to ../lib/node/node",
			"/usr/lib/node/node":                "program",
			"/lib64":                            "symlink to usr/lib64",
			"/lib":                              "symlink to usr/lib",
			"/usr/lib64/ld-linux-x86-64.so.2":   "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			multiarch + "/ld-linux-x86-64.so.2": "interpreter of /usr/lib/node/node",
			multiarch + "/libc.so.6":            "needed by /usr/lib/node/node",
		}},
		// "../" past the root stays at the root.
		{"/usr/local/bin/tool", map[string]string{
			"/usr/local/bin/tool": "symlink to ../../../../../../../opt/tool",
			"/opt/tool":           "program",
		}},
		// An absolute target is relative to the image's root.
		{"/usr/local/bin/abs", map[string]string{
			"/usr/local/bin/abs":  "symlink to /usr/local/bin/tool",
			"/usr/local/bin/tool": "symlink to ../../../../../../../opt/tool",
			"/opt/tool":           "program",
		}},
	} {
		res, err := Resolve(m, tc.program, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.program, err)
		}
		t.Run(tc.program, func(t *testing.T) { checkFiles(t, res, tc.want) })
	}
	if _, err := Resolve(m, "/loop1", nil); err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("symlink loop: got %v", err)
	}
}

func TestWalk(t *testing.T) {
	m := newMemFS().
		text("/etc/shadow", "image's").
		symlink("/etc/link", "../../../../etc/shadow").
		symlink("/usr/lib/dir", "../../opt/real").
		dir("/opt/real").
		text("/opt/real/f", "").
		text("/opt/g", "").
		symlink("/a", "/usr/lib/dir/../g")
	for _, tc := range []struct{ name, real, err string }{
		{"/etc/link", "/etc/shadow", ""},
		{"/../../etc/shadow", "/etc/shadow", ""},
		{"/usr/lib/dir/f", "/opt/real/f", ""},
		// ".." climbs out of where the symlink leads, not lexically.
		{"/usr/lib/dir/../g", "/opt/g", ""},
		{"/a", "/opt/g", ""},
		{"/usr/lib/dir/f/x", "", "not a directory"},
		{"/nowhere/x", "", "file does not exist"},
		{"/", "/", ""},
	} {
		real, _, _, err := walk(m, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("walk(%s): got %q, %v, want error %q", tc.name, real, err, tc.err)
			}
			continue
		}
		if err != nil || real != tc.real {
			t.Errorf("walk(%s): got %q, %v, want %s", tc.name, real, err, tc.real)
		}
	}
}

func TestResolveScripts(t *testing.T) {
	m := glibcImage().
		elf("/usr/bin/env", elfSpec{interp: ldso, needed: []string{"libc.so.6"}}).
		elf("/usr/bin/python3.11", elfSpec{interp: ldso, needed: []string{"libpython3.11.so.1.0", "libc.so.6"}}).
		elf(multiarch+"/libpython3.11.so.1.0", elfSpec{needed: []string{"libc.so.6"}}).
		symlink("/usr/bin/python3", "python3.11").
		text("/app/run.py", "#!/usr/bin/env python3\nprint('hi')\n").
		text("/app/split.py", "#!/usr/bin/env -S python3 -u\n").
		text("/app/direct.py", "#! /usr/bin/python3 -u \n").
		text("/app/nested", "#!/app/run.py\n").
		text("/app/noenv", "#!/usr/bin/env nodejs\n").
		text("/app/nointerp", "#!/usr/bin/perl\n").
		text("/app/bare", "#!/usr/bin/env\n")
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	python := map[string]string{
		"/usr/bin/python3":                  "symlink to python3.11",
		"/usr/bin/python3.11":               "run by /usr/bin/env for /app/run.py",
		multiarch + "/libpython3.11.so.1.0": "needed by /usr/bin/python3.11",
		multiarch + "/libc.so.6":            "needed by /usr/bin/env",
		multiarch + "/ld-linux-x86-64.so.2": "interpreter of /usr/bin/env",
		"/usr/bin/env":                      "#! interpreter of /app/run.py",
		"/app/run.py":                       "program",
		"/lib64":                            "symlink to usr/lib64",
		"/lib":                              "symlink to usr/lib",
		"/usr/lib64/ld-linux-x86-64.so.2":   "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	}
	res, err := Resolve(m, "/app/run.py", env, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, python)

	res, err = Resolve(m, "/app/split.py", env, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	if got := whys(res)["/usr/bin/python3.11"]; got != "run by /usr/bin/env for /app/split.py" {
		t.Errorf("env -S: python3.11 got %q", got)
	}

	res, err = Resolve(m, "/app/direct.py", env, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	if got := whys(res)["/usr/bin/python3.11"]; got != "#! interpreter of /app/direct.py" {
		t.Errorf("direct: python3.11 got %q", got)
	}

	res, err = Resolve(m, "/app/nested", env, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	if got := whys(res); got["/app/run.py"] != "#! interpreter of /app/nested" || got["/usr/bin/python3.11"] == "" {
		t.Errorf("nested: got %v", got)
	}

	for prog, want := range map[string]string{
		"/app/noenv":    "nodejs (run by /usr/bin/env for /app/noenv, not in PATH)",
		"/app/nointerp": "/usr/bin/perl (#! interpreter of /app/nointerp)",
	} {
		res, err := Resolve(m, prog, env)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Missing, []string{want}) {
			t.Errorf("%s: Missing got %q, want %q", prog, res.Missing, want)
		}
	}
	res, err = Resolve(m, "/app/bare", env)
	if err != nil || len(res.Missing) != 0 {
		t.Errorf("bare env: got %v, %v", res, err)
	}
	// Without PATH in the config, Docker's default PATH applies.
	res, err = Resolve(m, "/app/run.py", nil)
	if err != nil || whys(res)["/usr/bin/python3.11"] == "" {
		t.Errorf("default PATH: got %v, %v", res, err)
	}
}

func TestResolveErrors(t *testing.T) {
	m := glibcImage().
		text("/data.txt", "hello\n").
		file("/empty", nil, 0).
		elf("/arm64", elfSpec{machine: elf.EM_AARCH64, interp: "/lib/ld-linux-aarch64.so.1"}).
		elf("/obj.o", elfSpec{typ: elf.ET_REL}).
		elf("/uses-text", elfSpec{interp: ldso, needed: []string{"libtext.so"}}).
		text(multiarch+"/libtext.so", "INPUT(-lfoo)\n").
		text("/loop.sh", "#!/loop.sh\n").
		text("/long.sh", "#!/"+strings.Repeat("x", 300)+"\n").
		text("/blank.sh", "#!   \n")
	for _, tc := range []struct {
		program string
		opts    []Option
		want    string
	}{
		{"/usr/bin/nothere", nil, "program /usr/bin/nothere: file does not exist"},
		{"relative", nil, "program relative: not an absolute path"},
		{"/usr", nil, "program /usr: not a regular file"},
		{"/data.txt", nil, "/data.txt is neither an ELF executable nor a #! script"},
		{"/empty", nil, "/empty is neither an ELF executable nor a #! script"},
		{"/obj.o", nil, "/obj.o is an ELF file of type ET_REL, not an executable"},
		{"/arm64", []Option{ForMachine(elf.EM_X86_64)}, "/arm64 is an ELF executable for aarch64 (EM_AARCH64), want x86-64 (EM_X86_64)"},
		{"/uses-text", nil, "library libtext.so: /lib/x86_64-linux-gnu/libtext.so is not an ELF file (ld.so stops on it)"},
		{"/loop.sh", nil, "script /loop.sh: more than 5 levels of #! interpreters"},
		{"/long.sh", nil, "script /long.sh: #! line too long: the interpreter path is cut at 256 bytes"},
		{"/blank.sh", nil, "script /blank.sh: #! line holds no interpreter"},
	} {
		_, err := Resolve(m, tc.program, nil, tc.opts...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Resolve(%s): got %v, want %q", tc.program, err, tc.want)
		}
	}
	_, err := Resolve(m, "/usr/bin/nothere", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing program: %v does not match fs.ErrNotExist", err)
	}
	// The aarch64 program resolves when no machine is asked for, and
	// lacks its loader.
	res, err := Resolve(m, "/arm64", nil, ForMachine(elf.EM_AARCH64))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/lib/ld-linux-aarch64.so.1 (interpreter of /arm64)"}; !reflect.DeepEqual(res.Missing, want) {
		t.Errorf("Missing: got %q, want %q", res.Missing, want)
	}
}

func TestResolveMissing(t *testing.T) {
	m := glibcImage().
		elf("/app", elfSpec{interp: ldso, needed: []string{"libgone.so.1", "libhere.so", "libc.so.6"}}).
		elf(multiarch+"/libhere.so", elfSpec{needed: []string{"libgone.so.1", "libalso.so.2"}})
	res, err := Resolve(m, "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"libalso.so.2 (needed by /usr/lib/x86_64-linux-gnu/libhere.so)",
		"libgone.so.1 (needed by /app)",
	}
	if !reflect.DeepEqual(res.Missing, want) {
		t.Errorf("Missing: got %q, want %q", res.Missing, want)
	}
}

// TestResolveSearchOrder checks ld.so's order: DT_RPATH of the loader and
// up its chain (unless the loader has DT_RUNPATH), LD_LIBRARY_PATH,
// DT_RUNPATH, ld.so.cache, the default directories; libraries of another
// class or machine skipped.
func TestResolveSearchOrder(t *testing.T) {
	img := func() *memFS {
		m := glibcImage()
		for _, d := range []string{"/rpath", "/rpath2", "/env", "/runpath", "/conf", multiarch, "/usr/lib", "/opt/app/lib", "/usr/lib64"} {
			m.elf(d+"/libx.so", elfSpec{soname: "libx.so"})
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		prog   string // default /app
		setup  func(m *memFS)
		env    []string
		want   string // where libx.so comes from
		wantBy string // who needs it
	}{
		{"rpath first", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/rpath", needed: []string{"libx.so"}})
		}, []string{"LD_LIBRARY_PATH=/env"}, "/rpath/libx.so", "/app"},
		{"runpath after LD_LIBRARY_PATH", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/runpath", needed: []string{"libx.so"}})
		}, []string{"LD_LIBRARY_PATH=/nowhere;/env"}, "/env/libx.so", "/app"},
		{"runpath", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/runpath", needed: []string{"libx.so"}})
		}, nil, "/runpath/libx.so", "/app"},
		{"runpath hides rpath", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/rpath", runpath: "/runpath", needed: []string{"libx.so"}})
		}, nil, "/runpath/libx.so", "/app"},
		{"rpath of the program serves its libraries", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/rpath2", needed: []string{"liby.so"}})
			m.elf("/rpath2/liby.so", elfSpec{rpath: "/nowhere", needed: []string{"libx.so"}})
		}, nil, "/rpath2/libx.so", "/rpath2/liby.so"},
		{"not to a library with runpath", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/rpath2", needed: []string{"liby.so"}})
			m.elf("/rpath2/liby.so", elfSpec{runpath: "/nowhere", needed: []string{"libx.so"}})
		}, nil, multiarch + "/libx.so", "/rpath2/liby.so"},
		{"runpath is not inherited", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/runpath", needed: []string{"liby.so"}})
			m.elf("/runpath/liby.so", elfSpec{needed: []string{"libx.so"}})
		}, nil, multiarch + "/libx.so", "/runpath/liby.so"},
		{"origin", "/opt/app/bin/app", func(m *memFS) {
			m.elf("/opt/app/bin/app", elfSpec{interp: ldso, runpath: "$ORIGIN/../lib", needed: []string{"libx.so"}})
		}, nil, "/opt/app/lib/libx.so", "/opt/app/bin/app"},
		{"origin braced, of the real program", "", func(m *memFS) {
			m.elf("/opt/app/bin/app", elfSpec{interp: ldso, runpath: "${ORIGIN}/../lib", needed: []string{"libx.so"}})
			m.symlink("/app", "opt/app/bin/app")
		}, nil, "/opt/app/lib/libx.so", "/opt/app/bin/app"},
		{"origin of a library is where it was found", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/links", needed: []string{"liby.so"}})
			m.symlink("/links", "opt/app/sub")
			m.elf("/opt/app/sub/liby.so", elfSpec{runpath: "$ORIGIN/../lib", needed: []string{"libx.so"}})
		}, nil, "/opt/app/lib/libx.so", "/opt/app/sub/liby.so"},
		{"LIB on a multiarch image", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, rpath: "/opt/$LIB", needed: []string{"libx.so"}})
			m.elf("/opt/lib/x86_64-linux-gnu/libx.so", elfSpec{})
		}, nil, "/opt/lib/x86_64-linux-gnu/libx.so", "/app"},
		{"PLATFORM", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/p/$PLATFORM", needed: []string{"libx.so"}})
			m.elf("/p/x86_64/libx.so", elfSpec{})
		}, nil, "/p/x86_64/libx.so", "/app"},
		{"unknown token stays", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/p/$FOO", needed: []string{"libx.so"}})
			m.elf("/p/$FOO/libx.so", elfSpec{})
		}, nil, "/p/$FOO/libx.so", "/app"},
		{"cache", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, needed: []string{"libx.so"}})
			m.file("/etc/ld.so.cache", nil, 0o644)
			m.text("/etc/ld.so.conf", "/conf/=libc6\n")
		}, nil, "/conf/libx.so", "/app"},
		{"no cache, no ld.so.conf", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, needed: []string{"libx.so"}})
			m.text("/etc/ld.so.conf", "/conf\n")
		}, nil, multiarch + "/libx.so", "/app"},
		{"nodeflib", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, flags1: uint64(elf.DF_1_NODEFLIB), needed: []string{"libx.so"}})
			m.file("/etc/ld.so.cache", nil, 0o644)
			m.text("/etc/ld.so.conf", "/usr/lib/x86_64-linux-gnu\n/conf\n")
		}, nil, "/conf/libx.so", "/app"},
		{"skip another machine and class", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, runpath: "/arm:/i386", needed: []string{"libx.so"}})
			m.elf("/arm/libx.so", elfSpec{machine: elf.EM_AARCH64})
			m.elf("/i386/libx.so", elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386})
		}, nil, multiarch + "/libx.so", "/app"},
		{"a need with a slash is a path", "", func(m *memFS) {
			m.elf("/app", elfSpec{interp: ldso, needed: []string{"$ORIGIN/opt/app/lib/libx.so"}})
		}, nil, "/opt/app/lib/libx.so", "/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := img()
			tc.setup(m)
			prog := tc.prog
			if prog == "" {
				prog = "/app"
			}
			res, err := Resolve(m, prog, tc.env, LoadTimeOnly())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Files {
				if strings.HasSuffix(f.Path, "/libx.so") {
					got = append(got, f.Path)
					if f.Why != "needed by "+tc.wantBy {
						t.Errorf("%s: got %q, want needed by %s", f.Path, f.Why, tc.wantBy)
					}
				}
			}
			if !reflect.DeepEqual(got, []string{tc.want}) {
				t.Errorf("got %q, want %s (missing %q)", got, tc.want, res.Missing)
			}
		})
	}
}

func TestResolveMusl(t *testing.T) {
	m := newMemFS().
		elf("/lib/ld-musl-x86_64.so.1", elfSpec{soname: "libc.musl-x86_64.so.1"}).
		symlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1").
		elf("/usr/bin/app", elfSpec{interp: "/lib/ld-musl-x86_64.so.1", needed: []string{"libz.so.1", "libc.musl-x86_64.so.1"}}).
		elf("/usr/lib/libz.so.1", elfSpec{soname: "libz.so.1", needed: []string{"libc.musl-x86_64.so.1"}}).
		elf("/usr/local/lib/libz.so.1", elfSpec{soname: "libz.so.1"}).
		text("/etc/nsswitch.conf", "passwd: files\n").
		elf("/lib/libnss_files.so.2", elfSpec{})
	res, err := Resolve(m, "/usr/bin/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, map[string]string{
		"/usr/bin/app":             "program",
		"/lib/ld-musl-x86_64.so.1": "interpreter of /usr/bin/app",
		// musl searches /lib:/usr/local/lib:/usr/lib, and has no NSS.
		"/usr/local/lib/libz.so.1": "needed by /usr/bin/app",
	})
	m.text("/etc/ld-musl-x86_64.path", "/usr/lib\n/lib\n")
	res, err = Resolve(m, "/usr/bin/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := whys(res)["/usr/lib/libz.so.1"]; got != "needed by /usr/bin/app" {
		t.Errorf("with a path file: got %v", whys(res))
	}
}

func TestResolvePreload(t *testing.T) {
	m := glibcImage().
		elf("/app", elfSpec{interp: ldso, needed: []string{"libc.so.6"}}).
		elf("/opt/libjemalloc.so.2", elfSpec{needed: []string{"libstdc++.so.6"}}).
		elf(multiarch+"/libfaketime.so.1", elfSpec{}).
		text("/etc/ld.so.preload", "/opt/libjemalloc.so.2 /opt/gone.so\n")
	res, err := Resolve(m, "/app", []string{"LD_PRELOAD=libfaketime.so.1:libgone.so"}, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	got := whys(res)
	for p, w := range map[string]string{
		"/etc/ld.so.preload":            "read by ld.so at start-up",
		"/opt/libjemalloc.so.2":         "preloaded by /etc/ld.so.preload",
		multiarch + "/libfaketime.so.1": "preloaded by LD_PRELOAD for /app",
	} {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	// A preload the loader cannot find, or its needs, are ignored, as
	// ld.so ignores them.
	if len(res.Missing) != 0 {
		t.Errorf("Missing: %q", res.Missing)
	}
}

func TestLookPath(t *testing.T) {
	m := newMemFS().
		symlink("/bin", "usr/bin").
		file("/usr/bin/sh", nil, 0o755).
		file("/usr/local/bin/tool", nil, 0o644). // not executable
		file("/usr/bin/tool", nil, 0o755).
		dir("/usr/sbin/dir").
		file("/opt/x", nil, 0o700)
	for _, tc := range []struct {
		file string
		env  []string
		want string
	}{
		{"sh", nil, "/usr/bin/sh"},
		{"sh", []string{"PATH=/bin"}, "/bin/sh"},
		{"sh", []string{"PATH=/bin", "PATH=/usr/bin"}, "/usr/bin/sh"}, // the last PATH wins
		{"tool", []string{"PATH=/usr/local/bin:/usr/bin"}, "/usr/bin/tool"},
		{"dir", []string{"PATH=/usr/sbin:/bin"}, "error: command dir: not found in PATH /usr/sbin:/bin: file does not exist"},
		{"sh", []string{"PATH=.:bin:"}, "error: command sh: not found in PATH .:bin:: file does not exist"},
		{"/opt/x", nil, "/opt/x"},
		{"/opt/y", nil, "error: command /opt/y: file does not exist"},
		{"/usr/local/bin/tool", nil, "error: command /usr/local/bin/tool: permission denied"},
		{"./x", nil, "error: command ./x is relative to the working directory: join it to the image's WorkingDir first"},
	} {
		got, err := LookPath(m, tc.file, tc.env)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("LookPath(%s, %q): got %q, want %q", tc.file, tc.env, got, tc.want)
		}
	}
}

func TestParseShebang(t *testing.T) {
	for _, tc := range []struct {
		in, interp, arg string
		script          bool
		err             bool
	}{
		{"#!/bin/sh\n", "/bin/sh", "", true, false},
		{"#!/bin/sh", "/bin/sh", "", true, false},
		{"#! /usr/bin/env  python3 -u \t\nx", "/usr/bin/env", "python3 -u", true, false},
		{"#!/bin/sh\t-e\r\n", "/bin/sh", "-e\r", true, false},
		{"#!/a\x00b c\n", "/a", "", true, false},
		{"#!/a b\x00c\n", "/a", "b", true, false},
		{"#!\n", "", "", true, true},
		{"#!" + strings.Repeat(" ", 300), "", "", true, true},
		{"#!/" + strings.Repeat("a", 300), "", "", true, true},
		{"#!/bin/sh " + strings.Repeat("a", 300), "/bin/sh", strings.Repeat("a", 256-1-len("#!/bin/sh ")), true, false},
		{"\x7fELF", "", "", false, false},
		{"#", "", "", false, false},
	} {
		interp, arg, script, err := parseShebang([]byte(tc.in))
		if interp != tc.interp || arg != tc.arg || script != tc.script || (err != nil) != tc.err {
			t.Errorf("parseShebang(%q): got %q, %q, %v, %v", tc.in, interp, arg, script, err)
		}
	}
}

func TestEnvCommand(t *testing.T) {
	for arg, want := range map[string]string{
		"python3":                    "python3",
		"python3 -u":                 "python3 -u", // one argument, as the kernel passes it
		"-S python3 -u":              "python3",
		"-Spython3":                  "python3",
		"-S -i FOO=1 node --harmony": "node",
		"-S -u HOME -- deno run":     "deno",
		"--split-string=ruby -w":     "ruby",
		"-i":                         "",
		"":                           "",
		"FOO=bar":                    "",
	} {
		if got := envCommand(arg); got != want {
			t.Errorf("envCommand(%q): got %q, want %q", arg, got, want)
		}
	}
}

func TestMachine(t *testing.T) {
	for arch, want := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "riscv64": elf.EM_RISCV} {
		if got, err := Machine(arch); err != nil || got != want {
			t.Errorf("Machine(%s): got %v, %v, want %v", arch, got, err, want)
		}
	}
	if _, err := Machine("z80"); err == nil {
		t.Errorf("Machine(z80): got no error")
	}
}
