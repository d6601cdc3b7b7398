package main

import (
	"strings"
	"testing"
)

// --report - puts the JSON document alone on stdout, so that a pipeline
// can read it with jq; the human report and the TARGET@DIGEST line go to
// stderr. With an archive on stdout too, the run is refused before any
// work.
func TestReportToStdout(t *testing.T) {
	src := "oci:" + srcLayout(t) + ":src"
	dir := t.TempDir()
	target := "oci:" + dir + "/out"
	r := mustSlim(t, append(append([]string{"--report", "-"}, fixRemove...), src, target)...)
	doc := validReport(t, []byte(r.stdout))
	if doc.Target == nil || !strings.HasPrefix(doc.Target.Digest, "sha256:") {
		t.Fatalf("got target %+v, want the written image's digest", doc.Target)
	}
	if want := target + "@" + doc.Target.Digest; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr:\n%s\nwant the line %s", r.stderr, want)
	}

	archive := imgslim(t, "--report", "-", src, "docker-archive:-")
	if archive.code != exitUsage || !strings.Contains(archive.stderr, "both want stdout") {
		t.Errorf("--report - with docker-archive:-: got exit %d, stderr %q; want exit %d naming the clash", archive.code, archive.stderr, exitUsage)
	}
	if archive.stdout != "" {
		t.Errorf("--report - with docker-archive:-: got %d bytes on stdout, want none", len(archive.stdout))
	}
}
