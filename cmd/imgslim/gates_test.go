package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gateDoc is what the gate tests read of the JSON report.
type gateDoc struct {
	Target *struct{ Ref string }
	Gates  []struct {
		Name   string
		Passed bool
		Value  float64
	}
	Failure string
	Images  []struct {
		Secrets []struct{ Key, Status string }
	}
}

func readGateDoc(t *testing.T, p string) gateDoc {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the report was not written: %v", err)
	}
	var d gateDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	return d
}

// TestGates: each gate that fails exits 3 with one line naming it, writes
// nothing at the target and still writes the report, which lists the
// gate as failed; a gate that passes lets the run write.
func TestGates(t *testing.T) {
	t.Parallel()
	src := "oci:" + srcLayout(t) + ":src"
	staticDir := filepath.Join(t.TempDir(), "static")
	writeLayout(t, staticDir, "src", staticFixture(t))
	static := "oci:" + staticDir + ":src"

	for _, tc := range []struct {
		name   string
		args   []string
		src    string
		gate   string // the gate in the report
		fails  bool
		stderr string
	}{
		{"min-saving over what it saves", []string{"--min-saving", "99"}, src, "min-saving", true, "--min-saving 99%"},
		{"min-saving met", []string{"--min-saving", "10%"}, src, "min-saving", false, ""},
		{"max-size", []string{"--max-size", "1kB"}, src, "max-size", true, "--max-size 1kB"},
		{"fail-on root", []string{"--fail-on", "root", "--user", "root"}, src, "fail-on-root", true, "runs as root"},
		{"fail-on root, non-root output", []string{"--fail-on", "root"}, src, "fail-on-root", false, ""},
		{"fail-on unchanged", []string{"--fail-on", "unchanged", "--sets", "none"}, src, "fail-on-unchanged", true, "nothing was removed"},
		{"fail-on unchanged, slimmed", []string{"--fail-on", "unchanged,root"}, src, "fail-on-unchanged", false, ""},
		{"fail-on secrets: a token stays in Env", []string{"--fail-on", "secrets"}, static, "fail-on-secrets", true, "env GITHUB_TOKEN"},
		{"fail-on secrets: --unset-env takes it out", []string{"--fail-on", "secrets", "--unset-env", "GITHUB_TOKEN"}, static, "fail-on-secrets", false, ""},
		{"dry run", []string{"--dry-run", "--min-saving", "99"}, src, "min-saving", true, "--min-saving"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, rp := filepath.Join(dir, "out"), filepath.Join(dir, "report.json")
			r := imgslim(t, append(append([]string{"-q", "--report", rp}, tc.args...), tc.src, "oci:"+out)...)
			doc := readGateDoc(t, rp)
			var found bool
			for _, g := range doc.Gates {
				if g.Name == tc.gate {
					found = true
					if g.Passed == tc.fails {
						t.Errorf("report: gate %s passed=%v, want %v", g.Name, g.Passed, !tc.fails)
					}
				}
			}
			if !found {
				t.Errorf("report: gates %+v lack %s", doc.Gates, tc.gate)
			}
			if !tc.fails {
				if r.code != exitOK {
					t.Fatalf("exit %d, want 0; stderr %q", r.code, r.stderr)
				}
				if !exists(out) || doc.Failure != "" {
					t.Errorf("passed gate: target written %v, failure %q", exists(out), doc.Failure)
				}
				return
			}
			if r.code != exitGate {
				t.Errorf("exit: got %d, want 3; stderr %q", r.code, r.stderr)
			}
			if lines := r.stderrLines(); len(lines) != 1 || !strings.Contains(lines[0], tc.stderr) {
				t.Errorf("stderr: got %q, want one line naming %q", r.stderr, tc.stderr)
			}
			if exists(out) {
				t.Errorf("%s was written though a gate failed", out)
			}
			if doc.Failure == "" || doc.Target != nil {
				t.Errorf("report: failure %q, target %+v; want the failure and no target", doc.Failure, doc.Target)
			}
		})
	}

	// --unset-env: the token is gone from the config and the report says
	// so.
	t.Run("unset-env report", func(t *testing.T) {
		dir := t.TempDir()
		rp := filepath.Join(dir, "report.json")
		mustSlim(t, "-q", "--report", rp, "--unset-env", "GITHUB_TOKEN", static, "oci:"+filepath.Join(dir, "out")+":slim")
		cf, err := readLayout(t, filepath.Join(dir, "out"), "slim").ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range cf.Config.Env {
			if strings.HasPrefix(e, "GITHUB_TOKEN=") {
				t.Errorf("config Env still holds %q", e)
			}
		}
		doc := readGateDoc(t, rp)
		for _, s := range doc.Images[0].Secrets {
			if s.Key == "GITHUB_TOKEN" && s.Status != "removed" {
				t.Errorf("report: GITHUB_TOKEN status %q, want removed", s.Status)
			}
		}
	})

	for _, args := range [][]string{{"--min-saving", "abc"}, {"--min-saving", "101"}, {"--min-saving", "-5"}, {"--fail-on", "bogus"}, {"--fail-on", "root,"}} {
		if r := imgslim(t, append(args, src, "oci:"+filepath.Join(t.TempDir(), "out"))...); r.code != exitUsage || len(r.stderrLines()) != 1 {
			t.Errorf("%v: got exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

// TestAnalyzeGates: analyze checks thresholds as dive --ci does and exits
// 3 when one fails, with the gates in its JSON.
func TestAnalyzeGates(t *testing.T) {
	t.Parallel()
	src := "oci:" + srcLayout(t) + ":src"
	staticDir := filepath.Join(t.TempDir(), "static")
	writeLayout(t, staticDir, "src", staticFixture(t))
	static := "oci:" + staticDir + ":src"
	for _, tc := range []struct {
		args []string
		code int
		gate string
	}{
		{[]string{"--max-saving", "1", src}, exitGate, "max-saving"},
		{[]string{"--max-saving", "100", src}, exitOK, "max-saving"},
		{[]string{"--ci", "--max-wasted-percent", "100", src}, exitOK, "max-wasted-percent"},
		{[]string{"--max-wasted", "1B", "--max-wasted-percent", "100", src}, -1, "max-wasted"},
		{[]string{"--fail-on", "secrets", static}, exitGate, "fail-on-secrets"},
		{[]string{"--fail-on", "secrets", src}, exitOK, "fail-on-secrets"},
		{[]string{"--ci", src}, -1, "max-wasted-percent"},
	} {
		t.Run(strings.Join(tc.args[:len(tc.args)-1], " "), func(t *testing.T) {
			r := imgslim(t, append([]string{"analyze", "-q", "--json"}, tc.args...)...)
			var doc gateDoc
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("analyze --json: %v (exit %d, stderr %q)\n%s", err, r.code, r.stderr, r.stdout)
			}
			var passed *bool
			for _, g := range doc.Gates {
				if g.Name == tc.gate {
					passed = &g.Passed
				}
			}
			if passed == nil {
				t.Fatalf("gates %+v lack %s", doc.Gates, tc.gate)
			}
			// -1: the outcome depends on the fixture; the exit code
			// must agree with the gate.
			want := tc.code
			if want == -1 {
				want = exitOK
				if !*passed {
					want = exitGate
				}
			}
			if r.code != want || (want == exitGate) == *passed {
				t.Errorf("exit %d, gate passed %v; want exit %d (stderr %q)", r.code, *passed, want, r.stderr)
			}
			if want == exitGate && (len(r.stderrLines()) != 1 || doc.Failure == "") {
				t.Errorf("stderr %q, failure %q: want one line and the failure in the JSON", r.stderr, doc.Failure)
			}
		})
	}
	if r := imgslim(t, "analyze", "--fail-on", "root", src); r.code != exitUsage {
		t.Errorf("analyze --fail-on root: got exit %d, want 2", r.code)
	}
}
