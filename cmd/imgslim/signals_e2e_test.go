//go:build e2e

package main

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals sends SIGINT and SIGTERM to the built binary at each stage
// of a run on a generated image: the process must stop within 2 s with
// 128+N, nothing at the target, nothing left in TMPDIR; a second signal
// kills it at once, the work directory removed all the same.
func TestSignals(t *testing.T) {
	t.Parallel()
	bin := builtImgslim(t)
	src := "oci:" + generatedImage(t) + ":demo"
	for _, tc := range []struct {
		name   string
		stage  string // the progress line after which the signal is sent
		sigs   []syscall.Signal
		target string // under a fresh directory
	}{
		{"opening", "reading", []syscall.Signal{syscall.SIGINT}, "oci:DIR/out"},
		{"scanning", "scanned layer", []syscall.Signal{syscall.SIGTERM}, "oci:DIR/out"},
		{"rewriting", "rewrote layer", []syscall.Signal{syscall.SIGINT}, "oci:DIR/out"},
		{"writing a layout", "writing", []syscall.Signal{syscall.SIGTERM}, "oci:DIR/out"},
		{"writing an archive", "writing", []syscall.Signal{syscall.SIGINT}, "docker-archive:DIR/out.tar"},
		{"second signal", "scanned layer", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, "oci:DIR/out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, dir := t.TempDir(), t.TempDir()
			cmd := exec.Command(bin, "--jobs", "2", src, strings.ReplaceAll(tc.target, "DIR", dir))
			cmd.Env = append(cmd.Environ(), "TMPDIR="+tmp)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var lines []string
			sc := bufio.NewScanner(stderr)
			var sent time.Time
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if sent.IsZero() && strings.HasPrefix(sc.Text(), "imgslim: "+tc.stage) {
					sent = time.Now()
					for _, s := range tc.sigs {
						cmd.Process.Signal(s)
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
			err = cmd.Wait()
			took := time.Since(sent)
			if sent.IsZero() {
				t.Fatalf("the run never reached %q; stderr:\n%s", tc.stage, strings.Join(lines, "\n"))
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("exit: got %v, want an exit code; stderr:\n%s", err, strings.Join(lines, "\n"))
			}
			if want := 128 + int(tc.sigs[0]); ee.ExitCode() != want {
				t.Errorf("exit: got %d, want %d; stderr:\n%s", ee.ExitCode(), want, strings.Join(lines, "\n"))
			}
			if took > 2*time.Second {
				t.Errorf("stopped %v after the signal, want within 2s", took)
			}
			if len(tc.sigs) == 1 && !strings.Contains(lines[len(lines)-1], "nothing written") {
				t.Errorf("last stderr line: got %q, want it to say nothing was written", lines[len(lines)-1])
			}
			if names := dirNames(t, dir); len(names) > 0 {
				t.Errorf("target directory holds %v, want nothing", names)
			}
			if names := dirNames(t, tmp); len(names) > 0 {
				t.Errorf("TMPDIR holds %v, want nothing", names)
			}
			t.Logf("stopped %v after %s", took.Round(time.Millisecond), tc.stage)
		})
	}
}
