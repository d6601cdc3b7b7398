package elfdeps

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pluginImage is glibcImage with a program whose libraries come from its
// DT_RUNPATH, and plugins for it: one with libraries of every origin, and
// files named like libraries that dlopen would refuse.
func pluginImage() *memFS {
	return glibcImage().
		file("/etc/ld.so.cache", nil, 0o644).
		text("/etc/ld.so.conf", "/opt/conf\n").
		elf("/app/bin/app", elfSpec{interp: ldso, runpath: "$ORIGIN/../lib", needed: []string{"libx.so", "libc.so.6"}}).
		elf("/app/lib/libx.so", elfSpec{soname: "libx.so", needed: []string{"libc.so.6"}}).
		elf("/app/lib/libonlyrun.so", elfSpec{soname: "libonlyrun.so"}).
		// p.so needs libx.so (mapped already: the program's DT_RUNPATH
		// found it), libp.so through its own $ORIGIN, liby.so from the
		// default directories, libconf.so through ld.so.cache, and
		// libonlyrun.so, which only the program's DT_RUNPATH would
		// find: DT_RUNPATH serves only its own object's needs.
		elf("/app/plugins/p.so", elfSpec{runpath: "$ORIGIN/../plib", needed: []string{"libx.so", "libp.so", "liby.so", "libconf.so", "libonlyrun.so", "libc.so.6"}}).
		elf("/app/plib/libp.so", elfSpec{soname: "libp.so", needed: []string{"libpp.so.1"}}).
		symlink(multiarch+"/libpp.so.1", "libpp.so.1.0").
		elf(multiarch+"/libpp.so.1.0", elfSpec{soname: "libpp.so.1"}).
		elf(multiarch+"/liby.so", elfSpec{soname: "liby.so"}).
		elf("/opt/conf/libconf.so", elfSpec{soname: "libconf.so"}).
		// q.so needs libp.so, which nothing of its own finds: p.so
		// mapped it under that name before.
		elf("/app/plugins/q.so", elfSpec{needed: []string{"libp.so"}}).
		symlink("/app/plugins/link.so", "p.so").
		// r.so needs a linker script: its dlopen fails, not the process.
		elf("/app/plugins/r.so", elfSpec{needed: []string{"libtext.so"}}).
		text(multiarch+"/libtext.so", "INPUT(-lfoo)\n").
		// Prebuilt modules for other platforms, data named .so, an
		// executable: dlopen refuses them, the search skips them.
		elf("/app/plugins/arm64.node", elfSpec{machine: elf.EM_AARCH64, needed: []string{"libarm.so"}}).
		elf("/app/plugins/i386.so", elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386, needed: []string{"libi386.so"}}).
		text("/app/plugins/data.so", "not a library\n").
		elf("/app/plugins/exe.so", elfSpec{typ: elf.ET_EXEC, needed: []string{"libexe.so"}}).
		dir("/app/plugins/dir.so")
}

var pluginPaths = []string{
	"/app/plugins/arm64.node", "/app/plugins/data.so", "/app/plugins/dir.so", "/app/plugins/exe.so",
	"/app/plugins/gone.so", "/app/plugins/i386.so", "/app/plugins/link.so", "/app/plugins/p.so",
	"/app/plugins/q.so", "/app/plugins/r.so",
}

var pluginWant = map[string]string{
	"/app/bin/app":                      "program",
	"/app/lib/libx.so":                  "needed by /app/bin/app",
	"/lib":                              "symlink to usr/lib",
	"/lib64":                            "symlink to usr/lib64",
	"/usr/lib64/ld-linux-x86-64.so.2":   "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	multiarch + "/ld-linux-x86-64.so.2": "interpreter of /app/bin/app",
	multiarch + "/libc.so.6":            "needed by /app/bin/app",
	"/app/plugins/link.so":              "symlink to p.so",
	"/app/plugins/p.so":                 "dlopened by /app/bin/app",
	"/app/plugins/q.so":                 "dlopened by /app/bin/app",
	"/app/plugins/r.so":                 "dlopened by /app/bin/app",
	"/app/plib/libp.so":                 "needed by /app/plugins/p.so",
	multiarch + "/libpp.so.1":           "symlink to libpp.so.1.0",
	multiarch + "/libpp.so.1.0":         "needed by /app/plib/libp.so",
	multiarch + "/liby.so":              "needed by /app/plugins/p.so",
	"/opt/conf/libconf.so":              "needed by /app/plugins/p.so",
	"/etc/ld.so.cache":                  "read by ld.so to find /opt/conf/libconf.so",
	"/app/lib/libonlyrun.so":            "",
	"/app/plugins/arm64.node":           "",
	"/app/plugins/i386.so":              "",
	"/app/plugins/data.so":              "",
	"/app/plugins/exe.so":               "",
	"/etc/ld.so.conf":                   "",
}

var pluginMissing = []string{
	"/app/plugins/gone.so (dlopened by /app/bin/app)",
	"libonlyrun.so (needed by /app/plugins/p.so)",
	"libtext.so (needed by /app/plugins/r.so, but /lib/x86_64-linux-gnu/libtext.so is not an ELF file)",
}

func TestResolveDlopen(t *testing.T) {
	res, err := Resolve(pluginImage(), "/app/bin/app", nil, LoadTimeOnly(), Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, pluginWant)
	if !reflect.DeepEqual(res.Missing, pluginMissing) {
		t.Errorf("Missing:\n got %q\nwant %q", res.Missing, pluginMissing)
	}

	// Without Dlopen, none of it; nor for a static program, which has no
	// loader to map them.
	res, err = Resolve(pluginImage(), "/app/bin/app", nil, LoadTimeOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if strings.HasPrefix(f.Path, "/app/plugins/") || strings.HasPrefix(f.Path, "/app/plib/") {
			t.Errorf("without Dlopen: %s (%s)", f.Path, f.Why)
		}
	}
	m := pluginImage().elf("/app/static", elfSpec{typ: elf.ET_EXEC})
	res, err = Resolve(m, "/app/static", nil, Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, res, map[string]string{"/app/static": "program"})
	if len(res.Missing) != 0 {
		t.Errorf("static program: Missing %q", res.Missing)
	}

	// Fetched round by round, the same answer, the plugins read in the
	// round after the program's.
	m = pluginImage().unfetch()
	first, err := Resolve(m, "/app/bin/app", nil, LoadTimeOnly(), Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/app/bin/app", "/etc/ld.so.conf"}; !reflect.DeepEqual(first.Fetch, want) {
		t.Errorf("round 1: Fetch %q, want %q", first.Fetch, want)
	}
	m.fetch(first.Fetch)
	second, err := Resolve(m, "/app/bin/app", nil, LoadTimeOnly(), Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	if !contains(second.Fetch, "/app/plugins/p.so") || !contains(second.Fetch, "/app/plugins/arm64.node") {
		t.Errorf("round 2: Fetch %q, want the plugins", second.Fetch)
	}
	m.fetch(second.Fetch)
	all, _, err := resolveAll(t, m, "/app/bin/app", nil, LoadTimeOnly(), Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Resolve(pluginImage(), "/app/bin/app", nil, LoadTimeOnly(), Dlopen(pluginPaths...))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, full) {
		t.Errorf("fetched round by round:\n%v\nall at once:\n%v", all, full)
	}
}

// TestResolveDlopenRPATH: a program's DT_RPATH, unlike its DT_RUNPATH,
// serves what its plugins need, through the chain of loading objects.
func TestResolveDlopenRPATH(t *testing.T) {
	m := pluginImage().
		elf("/app/bin/rapp", elfSpec{interp: ldso, rpath: "$ORIGIN/../lib", needed: []string{"libc.so.6"}}).
		elf("/app/plugins/s.so", elfSpec{needed: []string{"libonlyrun.so"}})
	res, err := Resolve(m, "/app/bin/rapp", nil, LoadTimeOnly(), Dlopen("/app/plugins/s.so"))
	if err != nil {
		t.Fatal(err)
	}
	if got := whys(res)["/app/lib/libonlyrun.so"]; got != "needed by /app/plugins/s.so" {
		t.Errorf("libonlyrun.so: got %q (missing %q)", got, res.Missing)
	}
}

// TestResolveDlopenChain: the libraries are mapped into the process the
// exec chain ends in: the interpreter of a script, the command env runs.
func TestResolveDlopenChain(t *testing.T) {
	img := func() *memFS {
		return pluginImage().
			elf("/usr/bin/env", elfSpec{interp: ldso, needed: []string{"libc.so.6"}}).
			text("/app/direct", "#!/app/bin/app\n").
			text("/app/viaenv", "#!/usr/bin/env app\n").
			text("/app/noenv", "#!/usr/bin/env nothere\n")
	}
	env := []string{"PATH=/usr/bin:/app/bin"}
	for _, prog := range []string{"/app/direct", "/app/viaenv"} {
		full, err := Resolve(img(), prog, env, Dlopen("/app/plugins/p.so"))
		if err != nil {
			t.Fatal(err)
		}
		if got := whys(full)["/app/plugins/p.so"]; got != "dlopened by /app/bin/app" {
			t.Errorf("%s: p.so got %q", prog, got)
		}
		if got := whys(full)["/app/plib/libp.so"]; got != "needed by /app/plugins/p.so" {
			t.Errorf("%s: libp.so got %q", prog, got)
		}
		// Round by round: nothing is mapped into env's process while
		// the program env runs is not read.
		m := img().unfetch()
		res, _, err := resolveAll(t, m, prog, env, Dlopen("/app/plugins/p.so"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, full) {
			t.Errorf("%s: fetched round by round:\n%v\nall at once:\n%v", prog, res, full)
		}
	}
	res, err := Resolve(img(), "/app/noenv", env, Dlopen("/app/plugins/p.so"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nothere (run by /usr/bin/env for /app/noenv, not in PATH)"}; !reflect.DeepEqual(res.Missing, want) {
		t.Errorf("env without its command: Missing %q, want %q", res.Missing, want)
	}
	if _, ok := whys(res)["/app/plugins/p.so"]; ok {
		t.Errorf("env without its command: p.so mapped into env")
	}
}

// TestResolveProgramKinds: a shared library is not a program; a static
// PIE and a static ET_EXEC are.
func TestResolveProgramKinds(t *testing.T) {
	m := newMemFS().
		elf("/app/libz.so", elfSpec{soname: "libz.so.1", needed: []string{"libc.so.6"}}).
		elf("/app/static-pie", elfSpec{flags1: uint64(elf.DF_1_PIE | elf.DF_1_NOW)}).
		elf("/app/static", elfSpec{typ: elf.ET_EXEC})
	_, err := Resolve(m, "/app/libz.so", nil)
	if want := "/app/libz.so is a shared library, not an executable"; err == nil || err.Error() != want {
		t.Errorf("shared library: got %v, want %q", err, want)
	}
	for _, prog := range []string{"/app/static-pie", "/app/static"} {
		res, err := Resolve(m, prog, nil)
		if err != nil {
			t.Errorf("%s: %v", prog, err)
			continue
		}
		checkFiles(t, res, map[string]string{prog: "program"})
	}
}

// pluginRoot builds, with the host's gcc, gccRoot's program (DT_RPATH)
// turned into one that dlopens /opt/app/plugins/plugin.so, which needs
// libfoo.so (the program's, found by nothing of the plugin's own),
// libbaz.so through its DT_RUNPATH $ORIGIN/../plib, and libm.so.6 from the
// default directories; and, beside it, a plugin for another machine.
func pluginRoot(t *testing.T) string {
	t.Helper()
	root := gccRoot(t, true)
	src := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(src, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("baz.c", "int baz(void) { return 100; }\n")
	write("plugin.c", "#include <math.h>\nint foo(void);\nint baz(void);\nvolatile double x = 2.5;\n"+
		"int plugin(void) { return foo() + baz() + (int)floor(x); }\n")
	write("main.c", `#include <dlfcn.h>
#include <stdio.h>
int foo(void);
int main(void) {
	void *h = dlopen("/opt/app/plugins/plugin.so", RTLD_NOW);
	if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
	int (*plugin)(void) = (int (*)(void))dlsym(h, "plugin");
	printf("foo=%d plugin=%d\n", foo(), plugin());
	return 0;
}
`)
	lib, plib, plugins := filepath.Join(root, "opt/app/lib"), filepath.Join(root, "opt/app/plib"), filepath.Join(root, "opt/app/plugins")
	for _, d := range []string{plib, plugins} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-Wl,-soname,libbaz.so", "-o", filepath.Join(plib, "libbaz.so"), filepath.Join(src, "baz.c")},
		{"-shared", "-fPIC", "-o", filepath.Join(plugins, "plugin.so"), filepath.Join(src, "plugin.c"),
			"-L" + lib, "-L" + plib, "-Wl,--no-as-needed", "-lfoo", "-lbaz", "-lm", "-Wl,-rpath,$ORIGIN/../plib", "-Wl,--enable-new-dtags"},
		{"-o", filepath.Join(root, "opt/app/bin/app"), filepath.Join(src, "main.c"), "-L" + lib, "-lfoo",
			"-Wl,-rpath,$ORIGIN/../lib", "-Wl,--disable-new-dtags"},
	} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %q: %v\n%s", args, err, out)
		}
	}
	real, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu/libm.so.6")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyFile(real, filepath.Join(root, "usr/lib/x86_64-linux-gnu/libm.so.6"), 0o755); err != nil {
		t.Fatal(err)
	}
	arm := buildELF(elfSpec{machine: elf.EM_AARCH64, needed: []string{"libarm-only.so"}})
	if err := os.WriteFile(filepath.Join(plugins, "plugin-arm64.so"), arm, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// copyFrom copies the paths of res from the image at src into dst,
// symlinks as symlinks.
func copyFrom(t *testing.T, src, dst string, res *Result) {
	t.Helper()
	for _, f := range res.Files {
		from, to := filepath.Join(src, f.Path), filepath.Join(dst, f.Path)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(from)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := copyFile(from, to, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGCCDlopen(t *testing.T) {
	needHost(t, "gcc")
	root := pluginRoot(t)
	plugins := []string{"/opt/app/plugins/plugin-arm64.so", "/opt/app/plugins/plugin.so"}
	res, err := Resolve(DirFS(root), "/opt/app/bin/app", nil, ForMachine(elf.EM_X86_64), Dlopen(plugins...))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/opt/app/bin/app":                "program",
		"/lib64":                          "symlink to usr/lib64",
		"/usr/lib64/ld-linux-x86-64.so.2": "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/lib":                            "symlink to usr/lib",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "interpreter of /opt/app/bin/app",
		"/usr/lib/x86_64-linux-gnu/libc.so.6":            "needed by /opt/app/bin/app",
		"/opt/app/lib/libfoo.so":                         "needed by /opt/app/bin/app",
		"/opt/app/lib/libbar.so":                         "needed by /opt/app/lib/libfoo.so",
		"/opt/app/plugins/plugin.so":                     "dlopened by /opt/app/bin/app",
		"/opt/app/plib/libbaz.so":                        "needed by /opt/app/plugins/plugin.so",
		"/usr/lib/x86_64-linux-gnu/libm.so.6":            "needed by /opt/app/plugins/plugin.so",
		"/opt/app/plugins/plugin-arm64.so":               "",
	}
	checkFiles(t, res, want)
	if len(res.Missing) != 0 {
		t.Errorf("Missing: %q", res.Missing)
	}
	if !canChroot() {
		return
	}
	// The real loader agrees: what Resolve names, alone, runs.
	dst := t.TempDir()
	copyFrom(t, root, dst, res)
	if out, err := runIn(t, dst, "/opt/app/bin/app"); err != nil || string(out) != "foo=42 plugin=144\n" {
		t.Errorf("chroot run with the plugin's libraries: %v\n%s", err, out)
	}
	// Without Dlopen, the program starts and its dlopen fails.
	bare, err := Resolve(DirFS(root), "/opt/app/bin/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	dst = t.TempDir()
	copyFrom(t, root, dst, bare)
	if out, err := runIn(t, dst, "/opt/app/bin/app"); err == nil || !strings.Contains(string(out), "plugin.so: cannot open shared object file") {
		t.Errorf("chroot run without Dlopen: got %v\n%s\nwant plugin.so not found", err, out)
	}
}

// TestGCCProgramKinds: what gcc builds as a shared library is refused as
// a program, a static PIE and a static executable are not.
func TestGCCProgramKinds(t *testing.T) {
	needHost(t, "gcc")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lib.c"), []byte("int f(void) { return 1; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-Wl,-soname,libf.so.1", "-o", "libf.so", "lib.c"},
		{"-static-pie", "-o", "static-pie", "main.c"},
		{"-static", "-o", "static", "main.c"},
	} {
		cmd := exec.Command("gcc", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("gcc %q: %v\n%s", args, err, out) // no static libc on this host
		}
	}
	if _, err := Resolve(DirFS(dir), "/libf.so", nil); err == nil || err.Error() != "/libf.so is a shared library, not an executable" {
		t.Errorf("shared library: got %v", err)
	}
	for _, prog := range []string{"/static-pie", "/static"} {
		res, err := Resolve(DirFS(dir), prog, nil, ForMachine(elf.EM_X86_64))
		if err != nil {
			t.Errorf("%s: %v", prog, err)
			continue
		}
		checkFiles(t, res, map[string]string{prog: "program"})
	}
}
