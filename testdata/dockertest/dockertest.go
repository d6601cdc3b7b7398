// Package dockertest holds helpers for tests that need the Docker daemon, the
// test registry or the test base image that .ci/services provides.
//
// Tests find those services through the environment:
//
//	IMGSLIM_TEST_REGISTRY=127.0.0.1:5000
//	IMGSLIM_TEST_REGISTRY_USER=imgslim
//	IMGSLIM_TEST_REGISTRY_PASSWORD=imgslim-test
//	IMGSLIM_TEST_BASE=imgslim-test/bookworm:minbase
//
// Only test binaries built with -tags e2e use them (see E2E): without the tag,
// Require, Registry and BaseImage skip the test, so `make unit` needs no
// service. With the tag, a missing service skips the test, unless CI is true:
// then it is a failure, so CI cannot pass by skipping everything.
//
// The package lives under testdata so that `go test ./...` and `go vet ./...`
// leave it out of the product packages; tests import it explicitly as
// github.com/imgslim/imgslim/testdata/dockertest. Run its own test with
// `go test ./testdata/dockertest/`.
package dockertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	EnvRegistry         = "IMGSLIM_TEST_REGISTRY"
	EnvRegistryUser     = "IMGSLIM_TEST_REGISTRY_USER"
	EnvRegistryPassword = "IMGSLIM_TEST_REGISTRY_PASSWORD"
	EnvBase             = "IMGSLIM_TEST_BASE"
)

// CommandTimeout bounds every docker command run by this package.
var CommandTimeout = 5 * time.Minute

// notE2E skips the test when the binary was built without -tags e2e.
func notE2E(t testing.TB) {
	t.Helper()
	if !E2E {
		t.Skip("end-to-end: needs the test services; runs with -tags e2e (make e2e)")
	}
}

// unavailable skips the test, or fails it when CI is true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s (fatal because CI=%s; run .ci/services)", msg, os.Getenv("CI"))
	}
	t.Skipf("%s (run .ci/services to set it up)", msg)
}

// dockerInfo caches whether the daemon answered, so that many tests in one
// binary ask only once.
var dockerInfo = sync.OnceValue(func() error {
	_, err := run(context.Background(), 30*time.Second, "info", "--format", "{{.ServerVersion}}")
	return err
})

// Require skips the test when the binary was built without -tags e2e, or when
// the Docker daemon does not answer `docker info` (fails it then when CI is
// true).
func Require(t testing.TB) {
	t.Helper()
	notE2E(t)
	if err := dockerInfo(); err != nil {
		unavailable(t, "docker daemon not reachable: %v", err)
	}
}

// Registry returns the test registry's host:port and credentials. It skips
// the test (fails it when CI is true) when they are not configured or the
// registry does not answer; it fails the test when the registry rejects the
// credentials.
func Registry(t testing.TB) (host, user, pass string) {
	t.Helper()
	notE2E(t)
	host, user, pass = os.Getenv(EnvRegistry), os.Getenv(EnvRegistryUser), os.Getenv(EnvRegistryPassword)
	if host == "" {
		unavailable(t, "%s not set", EnvRegistry)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		t.Fatalf("%s=%q: %v", EnvRegistry, host, err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		unavailable(t, "registry %s not answering: %v", host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET http://%s/v2/ as %q: got status %d, want %d", host, user, resp.StatusCode, http.StatusOK)
	}
	return host, user, pass
}

// BaseImage returns the name of the test base image (a Debian bookworm
// minbase) after checking the daemon has it. It skips the test (fails it when
// CI is true) when Docker, the variable or the image is missing.
func BaseImage(t testing.TB) string {
	t.Helper()
	Require(t)
	image := os.Getenv(EnvBase)
	if image == "" {
		unavailable(t, "%s not set", EnvBase)
	}
	if _, err := run(context.Background(), CommandTimeout, "image", "inspect", "--format", "{{.Id}}", image); err != nil {
		unavailable(t, "base image %s not found: %v", image, err)
	}
	return image
}

// Docker runs the docker CLI with args and returns its trimmed stdout. It
// fails the test, showing stderr, when the command fails or takes longer than
// CommandTimeout.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := run(context.Background(), CommandTimeout, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// BuildImage builds dockerfile with a build context holding files (keyed by
// slash-separated relative path) and tags the result tag. Files starting with
// "#!" or an ELF header get mode 0755, others 0644. The image is removed when
// the test ends; pick a tag unique to the test, packages run in parallel.
func BuildImage(t testing.TB, tag string, files map[string][]byte, dockerfile string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if !filepath.IsLocal(name) || path.Clean(name) == "Dockerfile" {
			t.Fatalf("BuildImage file %q: got a path outside the context or the Dockerfile, want a relative path", name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := contextMode(data)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode is filtered by the umask; the image must not depend on it.
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := run(context.Background(), time.Minute, "rmi", "-f", tag); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	// --no-cache: the legacy builder shares cached intermediate images
	// between builds with the same steps, and the cleanup's rmi of one test's
	// tag removes its untagged parents, so a parallel test building the same
	// steps failed with "unable to find image sha256:…" (seen in CI). Without
	// the cache each build's intermediates are its own.
	Docker(t, "build", "--no-cache", "--network", "host", "--force-rm", "-t", tag, dir)
}

// contextMode is the mode of a build context file holding data: 0755 for a
// script or an ELF file, else 0644.
func contextMode(data []byte) os.FileMode {
	if bytes.HasPrefix(data, []byte("#!")) || bytes.HasPrefix(data, []byte("\x7fELF")) {
		return 0o755
	}
	return 0o644
}

// CachedImage builds dockerfile, whose FROM is from, with a build context
// holding files (modes as BuildImage gives them), and tags the result tag,
// unless the daemon already holds tag built from the same recipe: the
// Dockerfile, the files and from's image ID (see FixtureLabel). The image is
// kept for later tests and runs, so the test must not change it, and tag
// must be one no other recipe uses. Build inputs must be reproducible (a Go
// binary built with -trimpath is) or every run rebuilds.
func CachedImage(t testing.TB, tag, from string, files map[string][]byte, dockerfile string) string {
	t.Helper()
	ensureImage(t, recipe{
		tag:        tag,
		from:       from,
		dockerfile: dockerfile,
		files:      files,
		fill: func(t testing.TB, dir string) {
			for name, data := range files {
				if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(name)), contextMode(data)); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
	return tag
}

// RunDetached starts a container from image with args as its command
// (`docker run -d --network host`) and returns its ID. The container is
// removed when the test ends; if the test failed, its logs are logged first.
func RunDetached(t testing.TB, image string, args ...string) (id string) {
	t.Helper()
	id = Docker(t, append([]string{"run", "-d", "--network", "host", image}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, err := runCombined(context.Background(), time.Minute, "logs", id)
			t.Logf("docker logs %.12s (err %v):\n%s", id, err, logs)
		}
		if _, err := run(context.Background(), time.Minute, "rm", "-f", "-v", id); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

// WaitHTTP polls GET rawURL, which must point at 127.0.0.1, until it answers
// 200 OK, and returns the body. It fails the test after timeout.
func WaitHTTP(t testing.TB, rawURL string, timeout time.Duration) []byte {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("WaitHTTP: %v", err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("WaitHTTP %s: got host %q, want 127.0.0.1", rawURL, u.Hostname())
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		resp, err := client.Get(rawURL)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return body
			}
			if err == nil {
				err = fmt.Errorf("got status %d, want %d", resp.StatusCode, http.StatusOK)
			}
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("WaitHTTP %s: no 200 OK within %v; last: %v", rawURL, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs docker with args and returns trimmed stdout; the error carries the
// command line and stderr.
func run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // do not hang on children holding the pipes
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	if err != nil {
		msg := fmt.Sprintf("docker %s: %v\nstderr:\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
		if out := bytes.TrimSpace(stdout.Bytes()); len(out) > 0 {
			msg += "\nstdout:\n" + string(out)
		}
		return "", errors.New(msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// runCombined runs docker with args and returns stdout and stderr interleaved.
func runCombined(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return string(out), err
}
