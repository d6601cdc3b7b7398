//go:build e2e

package main

// End-to-end tests of issue 12's --no-waste and --scratch --onto on the
// Node fixture app: dive (installed by the test setup) judges the wasted
// bytes of the default and --no-waste outputs; the closure put onto the
// minimal Debian base serves, with the base's layers byte for byte.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestWasteDiveEndToEnd: --no-waste on the Node app leaves no shadowed
// bytes by dive's measure (efficiency at least 99.9%), and the app still
// serves. The default output's waste is checked on TestSetsEndToEnd's slim
// of the same image.
func TestWasteDiveEndToEnd(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	dockertest.Dive(t) // installed before the long run, or the test stops here
	src, port := dockertest.NodeTSApp(t)
	out := "imgslim-test/beyond-waste-no-waste:" + uniq()
	rmiOnCleanup(t, out)
	reportPath := filepath.Join(t.TempDir(), "R.json")
	// Read from the archive every test shares: a docker save of 1.5 GB
	// is not what this test is about.
	args := []string{"-q", "--report", reportPath, "--no-waste", "docker-archive:" + dockertest.Saved(t, src), "docker-daemon:" + out}
	begin := time.Now()
	res := setsRun(20*time.Minute, args...)
	if res.code != exitOK {
		t.Fatalf("imgslim %q: exit %d\nstderr:\n%s", args, res.code, res.stderr)
	}
	t.Logf("slimmed %s in %v", src, time.Since(begin).Round(time.Second))
	checkDive(t, out, reportPath, true, diveThresholds{0.999, 0.02})

	// Dropping dead bytes changes nothing the app sees.
	dockertest.RunApp(t, out, port)
	health := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, dockertest.HealthPath), time.Minute)
	if got := strings.TrimSpace(string(health)); got != "ok" {
		t.Errorf("GET %s: got %q, want ok", dockertest.HealthPath, got)
	}
}

// checkDive checks the waste of the image out: the report at reportPath
// says bytes were dropped as waste, of every layer when all (--no-waste),
// and `dive --ci` passes th.
func checkDive(t *testing.T, out, reportPath string, all bool, th diveThresholds) {
	t.Helper()
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := validReport(t, b)
	if len(doc.Images) != 1 {
		t.Fatalf("--report: %d images, want 1\n%s", len(doc.Images), b)
	}
	if w := doc.Images[0].Waste; w == nil || w.Bytes == 0 || w.All != all {
		t.Errorf("report: waste %+v, want the bytes dropped and all=%v", w, all)
	}
	d := dockertest.DiveCI(t, out, th.lowestEfficiency, th.highestUserWasted)
	t.Logf("DIVE %s: efficiency %.4f%%, user wasted %.4f%%, wasted %d bytes", out, d.Efficiency, d.UserWastedPercent, d.WastedBytes)
	if !d.Pass {
		t.Errorf("dive --ci --lowestEfficiency %g --highestUserWastedPercent %g %s failed:\n%s", th.lowestEfficiency, th.highestUserWasted, out, d.Output)
	}
	if d.Efficiency < 100*th.lowestEfficiency || d.UserWastedPercent > 100*th.highestUserWasted {
		t.Errorf("dive: efficiency %.4f%%, user wasted %.4f%%: want at least %g%% and at most %g%%", d.Efficiency, d.UserWastedPercent, 100*th.lowestEfficiency, 100*th.highestUserWasted)
	}
}

func TestOntoEndToEnd(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	src, port := dockertest.NodeTSApp(t)
	base := dockertest.BaseImage(t) // the minimal Debian the test setup imports
	out := "imgslim-test/beyond-onto:" + uniq()
	rmiOnCleanup(t, out)
	reportPath := filepath.Join(t.TempDir(), "R.json")
	begin := time.Now()
	res := runCommand(scratchTimeout, "-q", "--scratch", "--onto", "docker-daemon:"+base, "--report", reportPath, "docker-archive:"+dockertest.Saved(t, src), "docker-daemon:"+out)
	if res.code != exitOK {
		t.Fatalf("imgslim --scratch --onto %s %s: exit %d\nstderr:\n%s", base, src, res.code, res.stderr)
	}
	t.Logf("put %s onto %s in %v", src, base, time.Since(begin).Round(time.Second))
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := validReport(t, b)
	if len(doc.Images) != 1 || doc.Images[0].Onto == nil {
		t.Fatalf("--report: no onto section\n%s", b)
	}
	o := doc.Images[0].Onto

	// 1. The base's layers, byte for byte, and one more.
	baseLayers := strings.Fields(dockertest.Docker(t, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", base))
	outLayers := strings.Fields(dockertest.Docker(t, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", out))
	if len(outLayers) != len(baseLayers)+1 || !slices.Equal(outLayers[:len(baseLayers)], baseLayers) {
		t.Errorf("layers: got %q, want the base's %q and one more", outLayers, baseLayers)
	}
	if o.BaseLayers != len(baseLayers) || o.Shared == 0 {
		t.Errorf("report: got %+v, want %d base layers and the paths the base shares", o, len(baseLayers))
	}

	// 2. It serves, as nonroot.
	if got := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}", out); got != "65532:65532" {
		t.Errorf("User: got %q, want 65532:65532", got)
	}
	dockertest.RunApp(t, out, port)
	health := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, dockertest.HealthPath), time.Minute)
	if got := strings.TrimSpace(string(health)); got != "ok" {
		t.Errorf("GET %s: got %q, want ok", dockertest.HealthPath, got)
	}

	// 3. The base's shell and package database are there and true: the
	// base's packages are all installed, its files unchanged, and the
	// nonroot user is known.
	sh := dockertest.Docker(t, "run", "--rm", "--network", "none", "--entrypoint", "sh", out, "-c",
		"id -un; dpkg --audit && dpkg --verify && echo verify-ok")
	if !strings.HasPrefix(sh, "nonroot") || !strings.HasSuffix(sh, "verify-ok") {
		t.Errorf("sh in the output: got %q, want nonroot and dpkg --verify clean", sh)
	}

	// 4. Size beside the multi-stage build.
	ms, _ := dockertest.NodeTSMultiStage(t)
	outSize, msSize, baseSize := imageSize(t, out), imageSize(t, ms), imageSize(t, base)
	t.Logf("SIZES onto: base %s, --scratch --onto %s (%d paths added, %d shared), multi-stage %s: %.2fx", setsMB(baseSize), setsMB(outSize), o.Added, o.Shared, setsMB(msSize), float64(outSize)/float64(msSize))
}
