package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestWriteProgress: a write says, in plain lines on stderr, how far it
// has read the layers; -q says nothing at all.
func TestWriteProgress(t *testing.T) {
	if !inProcess {
		// The built binary keeps its 2 s interval, which a small write
		// never reaches; make unit runs this test in-process.
		t.Skip("sets progressInterval, which only an in-process run reads")
	}
	old := progressInterval
	progressInterval = 0
	t.Cleanup(func() { progressInterval = old })
	src := "oci:" + srcLayout(t) + ":src"
	for _, target := range []string{"oci:DIR/out", "docker-archive:DIR/out.tar", "oci-archive:DIR/out.tar"} {
		target := strings.ReplaceAll(target, "DIR", t.TempDir())
		r := mustSlim(t, append(append([]string{}, fixRemove...), src, target)...)
		re := regexp.MustCompile(`(?m)^imgslim: writing ` + regexp.QuoteMeta(target) + `: [0-9.]+ [kMG]?B of [0-9.]+ [kMG]?B of layers read \(\d+%\)$`)
		if !re.MatchString(r.stderr) {
			t.Errorf("%s: stderr:\n%s\nwant progress lines of the write", target, r.stderr)
		}
		q := mustSlim(t, append(append([]string{"-q"}, fixRemove...), src, target)...)
		if q.stderr != "" {
			t.Errorf("%s -q: stderr %q, want nothing", target, q.stderr)
		}
	}
}

// TestWriteProgressBar: on a terminal the write draws a bar (vbauerster/mpb)
// that ends complete; a plain writer, a pipe or -q gets no bar.
func TestWriteProgressBar(t *testing.T) {
	var out bytes.Buffer
	var lines []string
	p := newWriteProgress("oci:out", func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }, &out, 4<<20)
	for range 64 {
		p.add(64 << 10)
	}
	p.finish(true)
	if s := out.String(); !strings.Contains(s, "imgslim: writing oci:out") || !strings.Contains(s, "100 %") {
		t.Errorf("bar output: got %q, want the target and 100 %%", s)
	}
	if len(lines) != 0 {
		t.Errorf("lines %q beside the bar, want none", lines)
	}
	if terminal(&out, false) != nil {
		t.Errorf("a buffer is taken for a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if terminal(w, false) != nil {
		t.Errorf("a pipe is taken for a terminal")
	}
}
