package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// cancelOn is a stderr that cancels the run, as a signal would, when a
// progress line starting with stage is written: the run is then at that stage.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	stage  string
	cancel func()
	fired  bool
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fired && strings.HasPrefix(string(p), "imgslim: "+w.stage) {
		w.fired = true
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestInterrupted: a run cancelled by a signal at any stage exits 128+N
// with one line saying so, writes nothing at the target and leaves no temp
// files, in TMPDIR or beside the target. (The built binary under real
// signals is TestSignals, an end-to-end test.)
func TestInterrupted(t *testing.T) {
	src := srcLayout(t)
	for _, tc := range []struct {
		stage  string
		sig    syscall.Signal
		target func(dir string) string
		args   []string
	}{
		{stage: "reading", sig: syscall.SIGINT, target: func(d string) string { return "oci:" + d + "/out" }},
		{stage: "scanned layer", sig: syscall.SIGTERM, target: func(d string) string { return "oci:" + d + "/out" }},
		{stage: "rewrote layer", sig: syscall.SIGINT, target: func(d string) string { return "oci:" + d + "/out" }},
		{stage: "writing", sig: syscall.SIGTERM, target: func(d string) string { return "oci:" + d + "/out" }},
		{stage: "writing", sig: syscall.SIGINT, target: func(d string) string { return "oci-archive:" + d + "/out.tar" }},
		{stage: "writing", sig: syscall.SIGINT, target: func(d string) string { return "docker-archive:" + d + "/out.tar" }},
		// An existing layout gains the image in place: the signal must
		// come before its index.json is rewritten.
		{stage: "writing", sig: syscall.SIGTERM, target: func(string) string { return "oci:" + src + ":other" }},
		{stage: "scanned layer", sig: syscall.SIGINT, target: func(d string) string { return "oci:" + d + "/out" }, args: []string{"--dry-run"}},
	} {
		t.Run(tc.stage+" "+tc.sig.String()+" "+tc.target("")+strings.Join(tc.args, ""), func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			outDir := t.TempDir()
			before := treeHash(t, src)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			stderr := &cancelOn{stage: tc.stage, cancel: func() { cancel(signalError{tc.sig}) }}
			var stdout bytes.Buffer
			args := append(append([]string{"--remove", "/app/.git"}, tc.args...), "oci:"+src+":src", tc.target(outDir))
			code := run(ctx, args, &stdout, stderr)
			if !stderr.fired {
				t.Fatalf("the run never reached %q; stderr:\n%s", tc.stage, stderr.buf.String())
			}
			if want := 128 + int(tc.sig); code != want {
				t.Errorf("exit: got %d, want %d; stderr:\n%s", code, want, stderr.buf.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.buf.String()), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, "interrupted by "+signalName(tc.sig)+": nothing written") {
				t.Errorf("last stderr line: got %q, want it to say the run was interrupted", last)
			}
			if names := dirNames(t, outDir); len(names) > 0 {
				t.Errorf("target directory holds %v, want nothing", names)
			}
			if names := dirNames(t, tmp); len(names) > 0 {
				t.Errorf("TMPDIR holds %v, want nothing", names)
			}
			if after := treeHash(t, src); after != before {
				t.Errorf("the source layout changed")
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

func TestSignalCode(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		se := signalError{tc.sig}
		if se.code() != tc.code || !strings.Contains(se.Error(), tc.name) {
			t.Errorf("%v: got code %d, %q; want %d naming %s", tc.sig, se.code(), se.Error(), tc.code, tc.name)
		}
	}
}
