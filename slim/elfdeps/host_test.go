package elfdeps

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// These tests run Resolve on this host's own files, through DirFS("/"),
// and check its answer against the real loader's: ldd's list, and the
// programs run under chroot in a root holding only what Resolve named.

var hostEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

var hostPrograms = []string{"/usr/bin/curl", "/usr/bin/python3", "/usr/bin/git", "/usr/bin/ssh"}

func needHost(t *testing.T, tools ...string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the host tests need linux/amd64")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this host", tool)
		}
	}
}

// ldd returns the real paths ldd lists for program: each "=> /path" and
// the interpreter, and the libraries it did not find.
func ldd(t *testing.T, program string) (libs, missing []string) {
	t.Helper()
	cmd := exec.Command("ldd", program)
	cmd.Env = hostEnv
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", program, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var p string
		switch {
		case strings.Contains(line, "=> not found"):
			missing = append(missing, strings.Fields(line)[0])
			continue
		case strings.Contains(line, "=> /"):
			_, rest, _ := strings.Cut(line, "=> ")
			p = strings.Fields(rest)[0]
		case strings.HasPrefix(line, "/"):
			p = strings.Fields(line)[0] // the interpreter
		default:
			continue // linux-vdso.so.1, from the kernel
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatalf("ldd %s: %s: %v", program, p, err)
		}
		libs = append(libs, real)
	}
	sort.Strings(libs)
	return libs, missing
}

// loaded returns the regular files of res that the loader maps: not the
// program itself nor configuration under /etc.
func loaded(res *Result, program string) []string {
	real, _ := filepath.EvalSymlinks(program)
	var out []string
	for _, f := range res.Files {
		if strings.HasPrefix(f.Why, "symlink to ") || f.Path == real || strings.HasPrefix(f.Path, "/etc/") {
			continue
		}
		out = append(out, f.Path)
	}
	return out
}

func TestHostLdd(t *testing.T) {
	needHost(t, "ldd")
	fsys := DirFS("/")
	for _, prog := range hostPrograms {
		t.Run(path.Base(prog), func(t *testing.T) {
			if _, err := os.Stat(prog); err != nil {
				t.Skipf("no %s on this host", prog)
			}
			want, wantMissing := ldd(t, prog)
			start := time.Now()
			res, err := Resolve(fsys, prog, hostEnv, LoadTimeOnly())
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			got := loaded(res, prog)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("libraries:\n got %q\nwant %q (ldd)", got, want)
			}
			if len(res.Missing) != len(wantMissing) {
				t.Errorf("Missing: got %q, ldd %q", res.Missing, wantMissing)
			}
			full, err := Resolve(fsys, prog, hostEnv)
			if err != nil {
				t.Fatal(err)
			}
			var nss []string
			for _, f := range full.Files {
				if strings.HasPrefix(f.Why, "NSS module") {
					nss = append(nss, path.Base(f.Path))
				}
			}
			if len(nss) == 0 {
				t.Errorf("no NSS module for a glibc program")
			}
			t.Logf("%s: %d libraries, as ldd lists, in %v; %d paths with symlinks and NSS modules %q",
				prog, len(got), took, len(full.Files), nss)
		})
	}
}

// unfetchedFS is an FS whose contents must be fetched before Open gives
// them.
type unfetchedFS struct {
	FS
	fetched map[string]bool
}

func (u *unfetchedFS) Open(name string) (File, error) {
	if !u.fetched[name] {
		return nil, ErrNotFetched
	}
	return u.FS.Open(name)
}

func TestHostFetchRounds(t *testing.T) {
	needHost(t)
	for _, prog := range hostPrograms {
		if _, err := os.Stat(prog); err != nil {
			continue
		}
		u := &unfetchedFS{FS: DirFS("/"), fetched: map[string]bool{}}
		start := time.Now()
		var res *Result
		rounds, fetched := 0, 0
		for {
			rounds++
			var err error
			res, err = Resolve(u, prog, hostEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Fetch) == 0 {
				break
			}
			for _, f := range res.Fetch {
				if u.fetched[f] {
					t.Fatalf("%s: %s asked for twice", prog, f)
				}
				u.fetched[f] = true
				fetched++
			}
		}
		took := time.Since(start)
		full, err := Resolve(DirFS("/"), prog, hostEnv)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, full) {
			t.Errorf("%s: fetched round by round:\n%v\nall at once:\n%v", prog, res, full)
		}
		t.Logf("%s: %d calls, %d contents fetched for %d paths, %v", prog, rounds, fetched, len(res.Files), took)
	}
}

// copyInto copies the paths of res from the host into root, symlinks as
// symlinks.
func copyInto(t *testing.T, root string, res *Result) {
	t.Helper()
	for _, f := range res.Files {
		dst := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, dst); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := copyFile(f.Path, dst, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func canChroot() bool {
	if os.Geteuid() != 0 {
		return false
	}
	for _, tool := range []string{"chroot", "unshare", "mount", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

func needChroot(t *testing.T) {
	t.Helper()
	if !canChroot() {
		t.Skip("running in a root needs root, chroot, unshare and mount")
	}
}

// runIn runs a program under chroot(root) with what a container runtime
// provides, /proc (the loader's $ORIGIN of the program comes from
// /proc/self/exe) and /dev/null, mounted in a mount namespace of its own
// so nothing outlives the command.
func runIn(t *testing.T, root string, args ...string) ([]byte, error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "dev/null"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	script := `mount -t proc proc "$0/proc" && mount --bind /dev/null "$0/dev/null" && exec chroot "$0" "$@"`
	return exec.Command("unshare", append([]string{"--mount", "--fork", "sh", "-c", script, root}, args...)...).CombinedOutput()
}

// TestHostScratch copies only what Resolve names onto an empty root, as
// the scratch mode does, and runs the programs there.
func TestHostScratch(t *testing.T) {
	needHost(t)
	needChroot(t)
	for _, tc := range []struct {
		prog string
		args []string
		want string
	}{
		{"/usr/bin/curl", []string{"--version"}, "curl "},
		{"/usr/bin/git", []string{"--version"}, "git version"},
		{"/usr/bin/ssh", []string{"-V"}, "OpenSSH"},
	} {
		t.Run(path.Base(tc.prog), func(t *testing.T) {
			if _, err := os.Stat(tc.prog); err != nil {
				t.Skipf("no %s on this host", tc.prog)
			}
			res, err := Resolve(DirFS("/"), tc.prog, hostEnv)
			if err != nil {
				t.Fatal(err)
			}
			root := t.TempDir()
			copyInto(t, root, res)
			out, err := runIn(t, root, append([]string{tc.prog}, tc.args...)...)
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("chroot %s %s: %v\n%s", root, tc.prog, err, out)
			}
		})
	}
}

// gccRoot builds, with the host's gcc, a self-contained root holding a
// program whose libraries come from $ORIGIN/../lib, with the host's libc
// and loader copied in under a merged-/usr layout. With rpath, the program
// has DT_RPATH, else DT_RUNPATH. libfoo.so needs libbar.so and has no path
// of its own.
func gccRoot(t *testing.T, rpath bool) string {
	t.Helper()
	root := t.TempDir()
	src := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(src, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bar.c", "int bar(void) { return 41; }\n")
	write("foo.c", "int bar(void);\nint foo(void) { return bar() + 1; }\n")
	write("main.c", "#include <stdio.h>\nint foo(void);\nint main(void) { printf(\"foo=%d\\n\", foo()); return 0; }\n")
	lib := filepath.Join(root, "opt/app/lib")
	bin := filepath.Join(root, "opt/app/bin")
	for _, d := range []string{lib, bin, filepath.Join(root, "usr/lib/x86_64-linux-gnu"), filepath.Join(root, "usr/lib64"), filepath.Join(root, "usr/local/bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dtags := "-Wl,--enable-new-dtags"
	if rpath {
		dtags = "-Wl,--disable-new-dtags"
	}
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-Wl,-soname,libbar.so", "-o", filepath.Join(lib, "libbar.so"), filepath.Join(src, "bar.c")},
		{"-shared", "-fPIC", "-Wl,-soname,libfoo.so", "-o", filepath.Join(lib, "libfoo.so"), filepath.Join(src, "foo.c"), "-L" + lib, "-lbar"},
		{"-o", filepath.Join(bin, "app"), filepath.Join(src, "main.c"), "-L" + lib, "-lfoo", "-Wl,-rpath,$ORIGIN/../lib", dtags},
	} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %q: %v\n%s", args, err, out)
		}
	}
	for _, name := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"} {
		real, err := filepath.EvalSymlinks(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := copyFile(real, filepath.Join(root, "usr/lib/x86_64-linux-gnu", filepath.Base(name)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"lib":                            "usr/lib",
		"lib64":                          "usr/lib64",
		"usr/lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/local/bin/app":              "../../../opt/app/bin/app",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestGCCOrigin(t *testing.T) {
	needHost(t, "gcc")
	for _, rpath := range []bool{true, false} {
		name := "runpath"
		if rpath {
			name = "rpath"
		}
		t.Run(name, func(t *testing.T) {
			root := gccRoot(t, rpath)
			res, err := Resolve(DirFS(root), "/usr/local/bin/app", nil)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"/usr/local/bin/app":              "symlink to ../../../opt/app/bin/app",
				"/opt/app/bin/app":                "program",
				"/lib64":                          "symlink to usr/lib64",
				"/usr/lib64/ld-linux-x86-64.so.2": "symlink to /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
				"/lib":                            "symlink to usr/lib",
				"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "interpreter of /opt/app/bin/app",
				"/usr/lib/x86_64-linux-gnu/libc.so.6":            "needed by /opt/app/bin/app",
				"/opt/app/lib/libfoo.so":                         "needed by /opt/app/bin/app",
			}
			var wantMissing []string
			if rpath {
				// DT_RPATH serves the program's libraries too.
				want["/opt/app/lib/libbar.so"] = "needed by /opt/app/lib/libfoo.so"
			} else {
				// DT_RUNPATH serves only the program's own needs.
				wantMissing = []string{"libbar.so (needed by /opt/app/lib/libfoo.so)"}
			}
			checkFiles(t, res, want)
			if !reflect.DeepEqual(res.Missing, wantMissing) {
				t.Errorf("Missing: got %q, want %q", res.Missing, wantMissing)
			}
			if !canChroot() {
				return
			}
			// The real loader agrees.
			out, err := runIn(t, root, "/usr/local/bin/app")
			if rpath && (err != nil || string(out) != "foo=42\n") {
				t.Errorf("chroot run: %v\n%s", err, out)
			}
			if !rpath && (err == nil || !strings.Contains(string(out), "libbar.so: cannot open shared object file")) {
				t.Errorf("chroot run: got %v\n%s\nwant libbar.so not found", err, out)
			}
		})
	}
}

func TestGCCMissing(t *testing.T) {
	needHost(t, "gcc")
	root := gccRoot(t, true)
	if err := os.Remove(filepath.Join(root, "opt/app/lib/libfoo.so")); err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(DirFS(root), "/opt/app/bin/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"libfoo.so (needed by /opt/app/bin/app)"}; !reflect.DeepEqual(res.Missing, want) {
		t.Errorf("Missing: got %q, want %q", res.Missing, want)
	}
}

func TestDirFSStaysInside(t *testing.T) {
	root := t.TempDir()
	for name, target := range map[string]string{
		"etc/link": "../../../../etc/shadow",
		"abs":      "/etc/shadow",
		"up":       "../../../..",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/shadow"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := DirFS(root)
	for _, name := range []string{"/etc/link", "/abs", "/up/etc/shadow", "/up/up/etc/link", "/../../etc/shadow"} {
		real, _, _, err := walk(fsys, name)
		if err != nil || real != "/etc/shadow" {
			t.Errorf("walk(%s): got %q, %v, want /etc/shadow", name, real, err)
			continue
		}
		// DirFS resolves on its own as well, under the same rules.
		f, err := fsys.Open(name)
		if err != nil {
			t.Errorf("Open(%s): %v", name, err)
			continue
		}
		b := make([]byte, 16)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if string(b[:n]) != "inside" {
			t.Errorf("Open(%s): read %q, want the root's own /etc/shadow", name, b[:n])
		}
	}
	if _, err := fsys.Lstat("/up/nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(/up/nothing): got %v, want fs.ErrNotExist", err)
	}
}
