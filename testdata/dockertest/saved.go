package dockertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvCache names the directory where Saved keeps its archives; it defaults
// to imgslim-test/saved under os.UserCacheDir().
const EnvCache = "IMGSLIM_TEST_CACHE"

// Saved returns the path of a docker-archive of image, as `docker save`
// writes it (plain-tar layers), for a test to read as
// "docker-archive:"+path instead of "docker-daemon:"+image.
//
// Reading a GB-sized image out of the daemon takes tens of seconds; Saved
// does it once per image ID and keeps the archive for every later test and
// run (a fixture's ID changes when its recipe hash does, so a rebuilt
// fixture is saved again and the stale archive removed). Tests must not
// modify the file. Keep "docker-daemon:" for what tests the daemon source
// itself.
func Saved(t testing.TB, image string) string {
	t.Helper()
	id := imageID(t, image)
	if id == "" {
		t.Fatalf("Saved: image %s not in the daemon", image)
	}
	dir := os.Getenv(EnvCache)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "imgslim-test")
	}
	dir = filepath.Join(dir, "saved")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stem := fileSafe(image)
	p := filepath.Join(dir, stem+"@"+strings.TrimPrefix(id, "sha256:")[:16]+".tar")

	unlock := lockFile(t, "save-"+image)
	defer unlock()
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	start := time.Now()
	tmp := p + ".tmp"
	// By name, as a user would: the archive's manifest names image.
	if _, err := run(context.Background(), CommandTimeout, "save", "-o", tmp, image); err != nil {
		os.Remove(tmp)
		t.Fatalf("Saved %s: %v", image, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	// Archives of earlier builds of the same image.
	if old, _ := filepath.Glob(filepath.Join(dir, stem+"@*.tar")); len(old) > 1 {
		for _, o := range old {
			if o != p {
				os.Remove(o)
			}
		}
	}
	if fi, err := os.Stat(p); err == nil {
		t.Logf("Saved %s: docker save of %.12s, %d MB, in %v, kept as %s", image, strings.TrimPrefix(id, "sha256:"), fi.Size()>>20, time.Since(start).Round(100*time.Millisecond), p)
	}
	return p
}

// fileSafe maps name to a string usable as a file name.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, name)
}
