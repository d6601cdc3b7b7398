//go:build host

package elfdeps

// Opt-in (make test-host): about 1,000 runs of ldd, 2 to 3 minutes, and an
// answer that depends on what this host has installed. TestHostLdd runs the
// same comparison on a few programs in every build.

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestHostLddEverything compares Resolve with ldd for every dynamic ELF
// program in /usr/bin and /usr/sbin. ldd runs the loader on the path it
// is given, so $ORIGIN comes from that path, where an exec'd program's
// comes from /proc/self/exe, its real path: ldd is given the real path,
// as /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/.../bin/java
// would otherwise differ.
func TestHostLddEverything(t *testing.T) {
	needHost(t, "ldd")
	fsys := DirFS("/")
	n := 0
	var took time.Duration
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			prog := filepath.Join(dir, e.Name())
			real, err := filepath.EvalSymlinks(prog)
			if err != nil || !dynamicELF(real) {
				continue
			}
			want, wantMissing := ldd(t, real)
			start := time.Now()
			res, err := Resolve(fsys, prog, hostEnv, LoadTimeOnly())
			took += time.Since(start)
			if err != nil {
				t.Errorf("%s: %v", prog, err)
				continue
			}
			n++
			if got := loaded(res, prog); !reflect.DeepEqual(got, want) || len(res.Missing) != len(wantMissing) {
				t.Errorf("%s:\n got %q, missing %q\nwant %q, missing %q (ldd)", prog, got, res.Missing, want, wantMissing)
			}
		}
	}
	t.Logf("%d programs, as ldd lists them, resolved in %v", n, took)
}

// dynamicELF reports whether name is an executable ELF file with an
// interpreter.
func dynamicELF(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return false
	}
	e, err := readELF(f, fi.Size())
	return err == nil && e.interp != ""
}
