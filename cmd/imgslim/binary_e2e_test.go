//go:build e2e

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The built command and a generated image, shared by the tests that run
// imgslim as users do: a process that gets signals, a binary in a pipeline.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	genOnce sync.Once
	genPath string
	genErr  error
)

// builtImgslim builds the command as `make build` does, once per test run.
func builtImgslim(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imgslim-bin-*")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "imgslim")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err, out}
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// generatedImage is testdata/gen's bloated image (100 MB, 7 layers) in an
// OCI layout, tagged demo, generated once per test run.
func generatedImage(t testing.TB) string {
	t.Helper()
	genOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imgslim-gen-*")
		if err != nil {
			genErr = err
			return
		}
		genPath = filepath.Join(dir, "gen")
		cmd := exec.Command("go", "run", "../../testdata/gen", "-out", genPath, "-tag", "demo", "-size", "100MB")
		if out, err := cmd.CombinedOutput(); err != nil {
			genErr = &buildError{err, out}
		}
	})
	if genErr != nil {
		t.Fatalf("testdata/gen: %v", genErr)
	}
	return genPath
}
