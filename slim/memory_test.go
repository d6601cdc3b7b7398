package slim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
)

// listsImage is a small image that declares gigabytes of content: 40 dpkg
// file lists of 64 MiB each, zeros past their first line, stored as PAX
// sparse files (GNU tar -S), so the layer is a few kilobytes.
func listsImage(b testing.TB) v1.Image {
	b.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		b.Skip("no tar")
	}
	src := b.TempDir()
	info := filepath.Join(src, "var/lib/dpkg/info")
	if err := os.MkdirAll(info, 0o755); err != nil {
		b.Fatal(err)
	}
	var status strings.Builder
	names := []string{"var/lib/dpkg/status"}
	for i := range 40 {
		pkg := fmt.Sprintf("pkg%d-doc", i)
		fmt.Fprintf(&status, "Package: %s\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n", pkg)
		f, err := os.Create(filepath.Join(info, pkg+".list"))
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "/usr/share/doc/%s\n", pkg)
		if err := f.Truncate(64 << 20); err != nil {
			b.Fatal(err)
		}
		f.Close()
		names = append(names, "var/lib/dpkg/info/"+pkg+".list")
	}
	if err := os.WriteFile(filepath.Join(src, "var/lib/dpkg/status"), []byte(status.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	archive := filepath.Join(b.TempDir(), "layer.tar")
	args := append([]string{"--format=posix", "--sparse-version=1.0", "-S", "-cf", archive, "-C", src}, names...)
	if out, err := exec.Command(tarBin, args...).CombinedOutput(); err != nil {
		b.Fatalf("tar: %v: %s", err, out)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		b.Fatal(err)
	}
	return testImage(b, v1.Config{User: "1000"}, rawLayer(b, raw))
}

// peakHeap samples the heap in use until stop is called, and returns the
// largest figure seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// BenchmarkMemoryListsImage records the peak memory of slimming an image
// whose file lists declare 2.5 GiB: what the rule sets read is read on
// demand from the spool and line by line, so the peak stays under 256 MiB
// whatever the image declares. Run with: go test -run X -bench MemoryLists ./slim/
func BenchmarkMemoryListsImage(b *testing.B) {
	src := listsImage(b)
	debug.FreeOSMemory()
	var worst uint64
	for b.Loop() {
		stop := peakHeap()
		_, r, err := Image(src, WithSets(AllSets...), WithWorkDir(b.TempDir()))
		peak := stop()
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Sets) == 0 {
			b.Fatalf("no set removed anything: the file lists were not read")
		}
		worst = max(worst, peak)
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-MiB")
	if worst > 256<<20 {
		b.Errorf("peak heap %s, want at most 256 MiB", strconv.FormatUint(worst>>20, 10)+" MiB")
	}
}
