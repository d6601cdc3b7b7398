package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestWriteProgress: a write says, in plain lines on stderr, how far it
// has read the layers; -q says nothing at all.
func TestWriteProgress(t *testing.T) {
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
