//go:build e2e

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// e2eBin is the imgslim command the e2e build runs: $IMGSLIM_BIN when set,
// else the one TestMain builds, without -race, once for every test (and for
// builtImgslim, binary_e2e_test.go, which then builds nothing).
var e2eBin string

// inProcess says that runCommand runs the command in this process: not in
// the e2e build, whose runs cannot see the test's variables.
const inProcess = false

func TestMain(m *testing.M) {
	e2eBin = os.Getenv("IMGSLIM_BIN")
	var dir string
	if e2eBin == "" {
		var err error
		if dir, err = os.MkdirTemp("", "imgslim-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		e2eBin = filepath.Join(dir, "imgslim")
		// As builtImgslim builds it: a static binary, which a test may
		// copy into a container.
		build := exec.Command("go", "build", "-trimpath", "-o", e2eBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building imgslim for the end-to-end tests: %v\n", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	binOnce.Do(func() { binPath = e2eBin })
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	if genPath != "" { // generatedImage's layout
		os.RemoveAll(filepath.Dir(genPath))
	}
	os.Exit(code)
}

// runCommand runs the imgslim binary with args, in the test's environment,
// and interrupts it after timeout as Ctrl-C would (then kills it 30 s
// later). A binary that cannot start gives code -1 and the reason on stderr.
func runCommand(timeout time.Duration, args ...string) result {
	return runCommandEnv(timeout, nil, args...)
}

// runCommandEnv is runCommand with env ("KEY=VALUE") added to the binary's
// environment: a test that needs a variable set for the command (such as
// SOURCE_DATE_EPOCH) passes it here instead of calling t.Setenv, and so can
// run in parallel.
func runCommandEnv(timeout time.Duration, env []string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e2eBin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return result{code: -1, stdout: stdout.String(), stderr: fmt.Sprintf("running %s: %v\n%s", e2eBin, err, stderr.String())}
		}
		code = ee.ExitCode()
	}
	logDigests(args, code, stdout.String())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// tempPath matches the per-run parts of a path (t.TempDir's /tmp/TestX123/001)
// so that logged arguments compare across runs.
var tempPath = regexp.MustCompile(`/tmp/[^/\s:@]+(/\d{3})?`)

// logDigests appends one line per run, its arguments and the digests it
// printed, to $IMGSLIM_TEST_DIGEST_LOG: the suite's outputs are
// deterministic, so two logs from two commits show what a change altered.
func logDigests(args []string, code int, stdout string) {
	path := os.Getenv("IMGSLIM_TEST_DIGEST_LOG")
	if path == "" {
		return
	}
	var digests []string
	for _, f := range strings.Fields(stdout) {
		if i := strings.Index(f, "sha256:"); i >= 0 {
			digests = append(digests, f[i:])
		}
	}
	line := fmt.Sprintf("%s\texit %d\t%s\n", tempPath.ReplaceAllString(strings.Join(args, " "), "TMP"), code, strings.Join(digests, " "))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line) // one write: whole lines even from parallel tests
}
