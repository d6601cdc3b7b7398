//go:build e2e

package main

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestOwnImage: the binary `make build` gives is static, and the image
// `make image` assembles from it (testdata/imagebuild, no base image) runs
// in an otherwise empty container as 65532.
func TestOwnImage(t *testing.T) {
	dockertest.Require(t)
	t.Parallel()
	bin := builtImgslim(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: not a static binary", bin)
		}
	}
	f.Close()

	dir := filepath.Join(t.TempDir(), "image")
	if out, err := exec.Command("go", "run", "../../testdata/imagebuild", "-bin", bin, "-out", dir, "-tag", "latest").CombinedOutput(); err != nil {
		t.Fatalf("testdata/imagebuild: %v\n%s", err, out)
	}
	ref := "imgslim-test/cli-self:" + uniq()
	rmiOnCleanup(t, ref)
	mustSlim(t, "-q", "--sets", "none", "oci:"+dir+":latest", "docker-daemon:"+ref)
	if u := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}", ref); u != "65532:65532" {
		t.Errorf("User: got %q, want 65532:65532", u)
	}
	got := dockertest.Docker(t, "run", "--rm", "--network", "none", ref, "version")
	want := strings.TrimSpace(imgslim(t, "version").stdout)
	if !strings.HasPrefix(got, "imgslim ") || strings.Fields(got)[1] != strings.Fields(want)[1] {
		t.Errorf("docker run %s version: got %q, want %q", ref, got, want)
	}
	// A real run inside, as 65532 with its work directory under /tmp:
	// imgslim analyzes its own image, mounted read-only.
	// The user of the image is not root: it needs to read the mount.
	if err := exec.Command("chmod", "-R", "a+rX", filepath.Dir(dir)).Run(); err != nil {
		t.Fatal(err)
	}
	out := dockertest.Docker(t, "run", "--rm", "--network", "none", "-v", dir+":/src:ro", ref, "analyze", "-q", "oci:/src:latest")
	if !strings.Contains(out, "total:") {
		t.Errorf("analyze in the container: got %q", out)
	}
}
