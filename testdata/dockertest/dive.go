package dockertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DiveModule is the release of wagoodman/dive the tests judge wasted bytes
// with, as issue 12 names it.
const DiveModule = "github.com/wagoodman/dive@v0.13.1"

// diveBin finds dive, or installs it once per test binary.
var diveBin = sync.OnceValues(func() (string, error) {
	if p, err := exec.LookPath("dive"); err == nil {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	bin := filepath.Join(dir, "imgslim-test", "dive-v0.13.1")
	p := filepath.Join(bin, "dive")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	// The test setup installs it through the Go module proxy, the one
	// source the test machines reach.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", DiveModule)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir() // outside this module: its go.mod does not list dive
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &installError{err: err, out: string(out)}
	}
	return p, nil
})

type installError struct {
	err error
	out string
}

func (e *installError) Error() string {
	return "go install " + DiveModule + ": " + e.err.Error() + "\n" + e.out
}

// Dive returns the path of a dive binary: on PATH, or installed with go
// install into the user's cache. When it cannot be had the test is
// skipped, or failed when CI is true.
func Dive(t testing.TB) string {
	t.Helper()
	p, err := diveBin()
	if err != nil {
		unavailable(t, "dive: %v", err)
	}
	return p
}

// DiveResult is what dive --ci measured of an image.
type DiveResult struct {
	Efficiency        float64 // percent
	UserWastedPercent float64 // percent
	WastedBytes       int64
	Pass              bool // every rule passed (dive's exit status)
	Output            string
}

var (
	diveEfficiency = regexp.MustCompile(`efficiency: ([0-9.]+) %`)
	diveUserWasted = regexp.MustCompile(`userWastedPercent: ([0-9.]+) %`)
	diveWasted     = regexp.MustCompile(`wastedBytes: ([0-9]+) bytes`)
)

// DiveCI runs dive --ci on image in the daemon with the given thresholds,
// ratios between 0 and 1 as dive takes them.
func DiveCI(t testing.TB, image string, lowestEfficiency, highestUserWasted float64) DiveResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Dive(t), "--ci",
		"--lowestEfficiency", strconv.FormatFloat(lowestEfficiency, 'f', -1, 64),
		"--highestUserWastedPercent", strconv.FormatFloat(highestUserWasted, 'f', -1, 64),
		image)
	cmd.Env = append(os.Environ(), "CI=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	r := DiveResult{Pass: err == nil, Output: string(out)}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("dive %s: %v\n%s", image, err, out)
	}
	m1, m2, m3 := diveEfficiency.FindStringSubmatch(r.Output), diveUserWasted.FindStringSubmatch(r.Output), diveWasted.FindStringSubmatch(r.Output)
	if m1 == nil || m2 == nil || m3 == nil {
		t.Fatalf("dive %s: no figures in its output:\n%s", image, out)
	}
	r.Efficiency, _ = strconv.ParseFloat(m1[1], 64)
	r.UserWastedPercent, _ = strconv.ParseFloat(m2[1], 64)
	r.WastedBytes, _ = strconv.ParseInt(strings.TrimSpace(m3[1]), 10, 64)
	return r
}
