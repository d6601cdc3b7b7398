package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/fsdiff"
)

// imgslim diff of a source and its output lists exactly what the report
// says was removed, and what imgslim says it wrote.
func TestDiffCommand(t *testing.T) {
	t.Parallel()
	src := "oci:" + srcLayout(t) + ":src"
	out := filepath.Join(t.TempDir(), "out")
	rp := filepath.Join(t.TempDir(), "report.json")
	mustSlim(t, append([]string{"-q", "--report", rp, src, "oci:" + out}, fixRemove...)...)
	var r slim.Report
	readReport(t, rp, &r)

	res := mustSlim(t, "diff", "--json", src, "oci:"+out)
	var d struct {
		SchemaVersion int             `json:"schemaVersion"`
		A             slim.Ref        `json:"a"`
		B             slim.Ref        `json:"b"`
		Removed       []fsdiff.Change `json:"removed"`
		Added         []fsdiff.Change `json:"added"`
		Changed       []fsdiff.Change `json:"changed"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &d); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, res.stdout)
	}
	if d.A.Digest != r.SourceDigest {
		t.Errorf("diff a: got digest %s, want the source's %s", d.A.Digest, r.SourceDigest)
	}
	var roots []string
	for _, pr := range r.Removed {
		for _, p := range pr.Paths {
			roots = append(roots, p.Path)
		}
	}
	within := func(p string) bool {
		for _, root := range roots {
			if p == root || strings.HasPrefix(p, root+"/") {
				return true
			}
		}
		return false
	}
	if len(d.Removed) == 0 {
		t.Errorf("diff: nothing removed")
	}
	for _, c := range d.Removed {
		if !within(c.Path) {
			t.Errorf("diff: %s removed, but the report's rules do not list it (%v)", c.Path, roots)
		}
	}
	written := map[string]bool{}
	for _, w := range r.Written {
		written[w.Path] = true
	}
	for _, c := range append(d.Added, d.Changed...) {
		if !written[c.Path] {
			t.Errorf("diff: %s added or changed %v, but the report does not say imgslim wrote it (%+v)", c.Path, c.Fields, r.Written)
		}
	}
	for _, gone := range fixGone {
		found := false
		for _, c := range d.Removed {
			found = found || c.Path == gone
		}
		if !found {
			t.Errorf("diff: %s not listed as removed", gone)
		}
	}

	text := mustSlim(t, "diff", src, "oci:"+out).stdout
	for _, want := range []string{"- /app/.git\n", "+ /home/nonroot\n", "~ /etc/passwd (size, content)\n", "removed,"} {
		if !strings.Contains(text, want) {
			t.Errorf("diff text lacks %q:\n%s", want, text)
		}
	}
	if same := mustSlim(t, "diff", src, src).stdout; !strings.Contains(same, "0 removed, 0 added, 0 changed") {
		t.Errorf("diff of an image with itself:\n%s", same)
	}
	for _, args := range [][]string{{"diff", src}, {"diff", "--bogus", src, src}, {"diff", "foo://x", src}} {
		if r := imgslim(t, args...); r.code != exitUsage || len(r.stderrLines()) != 1 {
			t.Errorf("imgslim %v: got exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

// A corrupt rewrite (a test hook changes a file and adds one after the
// layers are written) is caught by the output's verification: exit 1,
// the differences named, nothing at the target, no report of success.
func TestVerifyCatchesCorruption(t *testing.T) {
	if !inProcess {
		// The hook is a package variable, which the e2e build's
		// binary cannot see; make unit runs this test in-process.
		t.Skip("sets slim.CorruptForTest, which only an in-process run reads")
	}
	slim.CorruptForTest = func(img v1.Image) (v1.Image, error) {
		return mutate.AppendLayers(img, layerOf(t, types.OCILayer,
			ent{name: "srv/index.html", body: "<h1>defaced</h1>\n"},
			ent{name: "etc/cron.d/"}, ent{name: "etc/cron.d/evil", body: "* * * * * root sh\n"}))
	}
	t.Cleanup(func() { slim.CorruptForTest = nil })
	src := "oci:" + srcLayout(t) + ":src"
	for _, tc := range []struct{ name, target string }{
		{"layout", "oci:" + filepath.Join(t.TempDir(), "out")},
		{"archive", "docker-archive:" + filepath.Join(t.TempDir(), "out.tar") + ":out:v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := imgslim(t, append([]string{"-q", src, tc.target}, fixRemove...)...)
			if res.code != exitError {
				t.Fatalf("got exit %d, want 1; stderr %s", res.code, res.stderr)
			}
			for _, want := range []string{"verifying the output", "changed (size, content): /srv/index.html", "added: /etc/cron.d/evil"} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr lacks %q: %s", want, res.stderr)
				}
			}
			if len(res.stderrLines()) != 1 {
				t.Errorf("stderr: got %d lines, want one", len(res.stderrLines()))
			}
			path := tc.target[strings.Index(tc.target, ":")+1:]
			if i := strings.Index(path, ".tar:"); i >= 0 {
				path = path[:i+4]
			}
			if exists(path) {
				t.Errorf("%s was written though the output failed its verification", path)
			}
		})
	}
}
