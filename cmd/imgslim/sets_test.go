package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgslim/imgslim/slim"
)

// The built-in sets apply by default; --sets and --skip choose.
func TestSetsFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "src"), "src", fixture(t, true))
	src := "oci:" + filepath.Join(dir, "src") + ":src"
	for _, tc := range []struct {
		name     string
		args     []string
		wantSets []string // sets with bytes in the report
		code     int
	}{
		{"default: every set", nil, []string{"caches", "vcs", "docs"}, 0},
		{"--sets none", []string{"--sets", "none"}, nil, 0},
		{"--sets vcs", []string{"--sets", "vcs"}, []string{"vcs"}, 0},
		{"--skip docs,caches", []string{"--skip", "docs,caches"}, []string{"vcs"}, 0},
		{"unknown set", []string{"--sets", "vcs,bogus"}, nil, 2},
		{"unknown skip", []string{"--skip", "bogus"}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "r.json")
			args := append(append([]string{"-q", "--dry-run", "--report", report}, tc.args...), src, "oci:"+filepath.Join(t.TempDir(), "out"))
			r := imgslim(t, args...)
			if r.code != tc.code {
				t.Fatalf("got exit %d, want %d; stderr %s", r.code, tc.code, r.stderr)
			}
			if tc.code != 0 {
				if lines := r.stderrLines(); len(lines) != 1 || !strings.Contains(lines[0], "bogus") {
					t.Errorf("got stderr %q, want one line naming bogus", lines)
				}
				return
			}
			var rep slim.Report
			readReport(t, report, &rep)
			var got []string
			for _, s := range rep.Sets {
				if s.Bytes > 0 {
					got = append(got, s.Set)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.wantSets, ",") {
				t.Errorf("got sets %v, want %v", got, tc.wantSets)
			}
		})
	}
}

// --max-size refuses an output over budget and writes nothing.
func TestMaxSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "src"), "src", fixture(t, true))
	src := "oci:" + filepath.Join(dir, "src") + ":src"
	out := filepath.Join(dir, "out")
	r := imgslim(t, "-q", "--max-size", "10kB", src, "oci:"+out)
	if r.code != exitGate || !strings.Contains(r.stderr, "--max-size 10kB") {
		t.Errorf("got exit %d, stderr %q; want 3 naming the budget", r.code, r.stderr)
	}
	if exists(out) {
		t.Errorf("%s was written though the output is over budget", out)
	}
	mustSlim(t, "-q", "--max-size", "10MB", src, "oci:"+out)
	if !exists(out) {
		t.Errorf("%s not written under budget", out)
	}
	if r := imgslim(t, "--max-size", "lots", src, "oci:"+out+"2"); r.code != exitUsage {
		t.Errorf("bad size: got exit %d, want 2", r.code)
	}
}

func TestAnalyzeCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "src"), "src", fixture(t, true))
	src := "oci:" + filepath.Join(dir, "src") + ":src"
	before := treeHash(t, filepath.Join(dir, "src"))
	r := mustSlim(t, "analyze", "-q", src)
	for _, want := range []string{"your application", "VCS history", "caches", "docs", "wasted by later layers", "would save"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("analyze output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustSlim(t, "analyze", "-q", "--json", src)
	doc := validReport(t, []byte(r.stdout))
	if doc.Mode != slim.ModeAnalyze || len(doc.Images) != 1 || doc.Images[0].Analysis == nil {
		t.Fatalf("analyze --json: got mode %q, %d images", doc.Mode, len(doc.Images))
	}
	a := doc.Images[0]
	cat := map[string]int64{}
	for _, c := range a.Analysis.Categories {
		cat[c.Key] = c.Bytes
	}
	if cat[slim.SetVCS] == 0 || cat[slim.SetCaches] == 0 || a.Analysis.Saving.Uncompressed <= 0 || a.Before.Uncompressed <= a.Analysis.Saving.Uncompressed {
		t.Errorf("got categories %v, saving %d of %d", cat, a.Analysis.Saving.Uncompressed, a.Before.Uncompressed)
	}
	if after := treeHash(t, filepath.Join(dir, "src")); after != before {
		t.Errorf("analyze changed its source")
	}
	for _, args := range [][]string{{"analyze"}, {"analyze", "a", "b"}, {"analyze", "foo://x"}, {"analyze", "--bogus", src}} {
		if r := imgslim(t, args...); r.code != exitUsage || len(r.stderrLines()) != 1 {
			t.Errorf("imgslim %v: got exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
	if r := imgslim(t, "analyze", "-q", "oci:"+filepath.Join(dir, "nope")); r.code != exitError || len(r.stderrLines()) != 1 {
		t.Errorf("missing image: got exit %d, stderr %q", r.code, r.stderr)
	}
}
