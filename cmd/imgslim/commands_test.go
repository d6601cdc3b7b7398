package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestVersionCommand(t *testing.T) {
	a := imgslim(t, "version")
	b := imgslim(t, "--version")
	for _, r := range []result{a, b} {
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "imgslim ") {
			t.Errorf("stdout: got %q, want one line starting with imgslim", r.stdout)
		}
	}
	if a.stdout != b.stdout {
		t.Errorf("version and --version differ: %q and %q", a.stdout, b.stdout)
	}
	if !strings.Contains(a.stdout, buildVersion().String()) {
		t.Errorf("version: got %q, want it to hold %q", a.stdout, buildVersion().String())
	}
	if r := imgslim(t, "version", "extra"); r.code != exitUsage {
		t.Errorf("version extra: got exit %d, want 2", r.code)
	}
	// --version wins over missing arguments, like --help.
	if r := imgslim(t, "--version", "--remove", "/x"); r.code != exitOK {
		t.Errorf("--version with flags: got exit %d, want 0", r.code)
	}
}

func TestVersionString(t *testing.T) {
	for _, tc := range []struct {
		v    version
		want string
	}{
		{version{Version: "v1.2.3"}, "v1.2.3"},
		{version{Version: "(devel)"}, "(devel)"},
		{version{Version: "(devel)", Revision: "0123456789abcdef0123"}, "(devel)+0123456789ab"},
		{version{Version: "(devel)", Revision: "0123456789abcdef0123", Modified: true}, "(devel)+0123456789ab-modified"},
		// Go 1.24+ puts the revision and +dirty in the pseudo-version.
		{version{Version: "v0.0.0-20261202095703-0123456789ab+dirty", Revision: "0123456789abcdef0123", Modified: true}, "v0.0.0-20261202095703-0123456789ab+dirty"},
		{version{Version: "v1.2.3", Revision: "0123456789abcdef0123"}, "v1.2.3+0123456789ab"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestHelpCommand: help and --help list every command; `help COMMAND` is
// that command's help, never an image name.
func TestHelpCommand(t *testing.T) {
	t.Parallel()
	main := imgslim(t, "--help")
	if r := imgslim(t, "help"); r.code != exitOK || r.stdout != main.stdout {
		t.Errorf("help: got exit %d, stdout %q; want --help's", r.code, r.stdout)
	}
	for _, name := range commandNames() {
		if !strings.Contains(main.stdout, "\n  "+name+" ") {
			t.Errorf("--help does not list the %s command:\n%s", name, main.stdout)
		}
	}
	for name, want := range map[string]string{
		"analyze":    "Usage: imgslim analyze",
		"version":    "Usage: imgslim version",
		"completion": "Usage: imgslim completion",
		"help":       "Usage: imgslim help",
	} {
		for _, args := range [][]string{{"help", name}, {name, "--help"}} {
			r := imgslim(t, args...)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
				t.Errorf("%v: got exit %d, stdout %q, stderr %q; want 0 and %q", args, r.code, r.stdout, r.stderr, want)
			}
		}
	}
	if r := imgslim(t, "help", "nope"); r.code != exitUsage || len(r.stderrLines()) != 1 || !strings.Contains(r.stderr, "analyze") {
		t.Errorf("help nope: got exit %d, stderr %q; want 2 and one line listing the commands", r.code, r.stderr)
	}
}

// TestCompletion: each script names every flag of every command, and is
// valid for its shell; bash's completes flags, commands and files.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := imgslim(t, "completion", sh)
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("completion %s: exit %d, stderr %q", sh, r.code, r.stderr)
		}
		check := func(fs *pflag.FlagSet) {
			fs.VisitAll(func(f *pflag.Flag) {
				if !strings.Contains(r.stdout, f.Name) {
					t.Errorf("completion %s lacks --%s of %s", sh, f.Name, fs.Name())
				}
			})
		}
		main, _ := slimFlags(&config{})
		check(main)
		for _, name := range commandNames() {
			fs, _ := commands[name].flags()
			check(fs)
			if !strings.Contains(r.stdout, name) {
				t.Errorf("completion %s lacks the %s command", sh, name)
			}
		}
		script := filepath.Join(t.TempDir(), "imgslim."+sh)
		if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("%s is not installed: its script is checked for content only", sh)
			continue
		}
		if out, err := exec.Command(sh, "-n", script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", sh, err, out)
		}
	}
	if r := imgslim(t, "completion", "tcsh"); r.code != exitUsage {
		t.Errorf("completion tcsh: got exit %d, want 2", r.code)
	}

	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script := imgslim(t, "completion", "bash").stdout
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.json"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"imgslim", "--rem"}, "--remove"},
		{[]string{"imgslim", "--dr"}, "--dry-run"},
		{[]string{"imgslim", "ana"}, "analyze"},
		{[]string{"imgslim", "oci-a"}, "oci-archive:"},
		{[]string{"imgslim", "help", "comp"}, "completion"},
		{[]string{"imgslim", "analyze", "--js"}, "--json"},
		{[]string{"imgslim", "completion", "f"}, "fish"},
		{[]string{"imgslim", "--report", "rep"}, "report.json"},
	} {
		var words []string
		for _, w := range tc.words {
			words = append(words, "'"+w+"'")
		}
		prog := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=" + string(rune('0'+len(tc.words)-1)) + "; _imgslim; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "-c", prog)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.words, err, out)
			continue
		}
		if got := strings.Fields(string(out)); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%v: got %q, want %q", tc.words, got, tc.want)
		}
	}
}
