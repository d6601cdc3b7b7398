//go:build e2e

package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestDockerfile builds the repository's Dockerfile as a user would, but
// without Docker Hub or the network: the Go image is made here from the
// base image and the host's toolchain, and the modules are vendored into
// the build context. The image runs as 65532, prints its version and
// slims an OCI layout mounted into it.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	ctxDir := dockerfileContext(t)
	goImage := goDepsImage(t, hostGoImage(t), ctxDir)

	tag := "imgslim-test/harden-dockerfile:" + uniq()
	rmiOnCleanup(t, tag)
	// imgslim's own packages on a warm cache: a minute. (A cold build of
	// the whole module took over 20 minutes on the shared 2-core machine
	// under load.)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "docker", "build", "--network", "none", "--force-rm",
		"--build-arg", "GO_IMAGE="+goImage, "-t", tag, ctxDir)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build of the Dockerfile: %v\n%s", err, out)
	}

	if u := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}", tag); u != "65532:65532" {
		t.Errorf("User: got %q, want 65532:65532", u)
	}
	got := dockertest.Docker(t, "run", "--rm", "--network", "none", tag, "version")
	if !strings.HasPrefix(got, "imgslim ") {
		t.Errorf("docker run %s version: got %q, want imgslim's version line", tag, got)
	}

	// A slim of a small OCI layout, mounted read-only, into a directory
	// the non-root user owns.
	src := filepath.Join(t.TempDir(), "src")
	writeLayout(t, src, "src", fixture(t, true))
	out := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(out, 65532, 65532); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(src), filepath.Dir(out)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("chmod", "-R", "a+rX", src).Run(); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--rm", "--network", "none", "-v", src + ":/src:ro", "-v", out + ":/out", tag, "-q"}, fixRemove...)
	res := dockertest.Docker(t, append(args, "oci:/src:src", "oci:/out/slim:slim")...)
	if !strings.HasPrefix(res, "oci:/out/slim:slim@sha256:") {
		t.Errorf("slim in the container: got %q, want the TARGET@DIGEST line", res)
	}
	checkSlimmed(t, fixture(t, true), readLayout(t, filepath.Join(out, "slim"), "slim"), checkOpts{})
	// Written by the image's user, not root.
	err := filepath.WalkDir(filepath.Join(out, "slim"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if uid := fileUID(fi); uid != 65532 {
			t.Errorf("%s: owned by uid %d, want 65532", p, uid)
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hostGoImage is the base image with the host's Go toolchain and CA bundle,
// offline (GOPROXY=off): a stand-in for the golang image, kept between
// runs and rebuilt when the toolchain changes.
func hostGoImage(t *testing.T) string {
	t.Helper()
	goroot := runtime.GOROOT()
	version, err := exec.Command(filepath.Join(goroot, "bin", "go"), "version").Output()
	if err != nil {
		t.Fatalf("go version: %v", err)
	}
	files := map[string][]byte{}
	// What building a program needs: the tools, the standard library's
	// sources and headers; not the tests, the docs or the toolchain's
	// own sources.
	skip := map[string]bool{"test": true, "doc": true, "api": true, "misc": true, "src/cmd": true}
	err = filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goroot, p)
		if skip[filepath.ToSlash(rel)] {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files["go/"+filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the host's CA bundle: %v", err)
	}
	files["ca-certificates.crt"] = ca
	base := dockertest.BaseImage(t)
	return dockertest.CachedImage(t, "imgslim-test/harden-golang:host", base, files, `FROM `+base+`
# `+strings.TrimSpace(string(version))+`
COPY go /usr/local/go
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOTOOLCHAIN=local GOPROXY=off GOTELEMETRY=off
`)
}

// goDepsImage is goImage with the standard library and every module
// imgslim depends on compiled into its build cache, as a CI runner's warm
// Go cache has them: the Dockerfile's `go build` then compiles imgslim's
// own packages only, and a change to imgslim does not recompile gitleaks.
// Kept between runs; rebuilt when go.mod, go.sum or the toolchain change.
// The build flags are the Dockerfile's (CGO_ENABLED=0, -trimpath, the
// same /src), so that the cache keys match.
func goDepsImage(t *testing.T, goImage, ctxDir string) string {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(ctxDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ctxDir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." || rel == "vendor" || strings.HasPrefix(rel, "vendor/") {
				return nil
			}
			return filepath.SkipDir
		}
		if rel != "go.mod" && rel != "go.sum" && !strings.HasPrefix(rel, "vendor/") {
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The packages outside the module that the command imports: the
	// standard library comes with them.
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./cmd/imgslim")
	list.Dir = filepath.Join("..", "..")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var deps []string
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/imgslim/imgslim" && !strings.HasPrefix(p, "github.com/imgslim/imgslim/") {
			deps = append(deps, p)
		}
	}
	if len(deps) == 0 {
		t.Fatal("go list -deps ./cmd/imgslim: no dependency outside the module")
	}
	files["deps.txt"] = []byte(strings.Join(deps, "\n") + "\n")
	return dockertest.CachedImage(t, "imgslim-test/harden-golang:deps", goImage, files, `FROM `+goImage+`
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath $(cat deps.txt) && cd / && rm -rf /src
`)
}

// dockerfileContext is the build context a checkout gives (the files git
// tracks, as they are in the working tree) with the modules vendored.
func dockerfileContext(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	vendor := exec.Command("go", "mod", "vendor", "-o", filepath.Join(dir, "vendor"))
	vendor.Dir = root
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	return dir
}

func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
