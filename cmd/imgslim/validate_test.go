package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: an error
	}{
		{"1", 1},
		{"1B", 1},
		{"200MB", 200e6},
		{"1.5GB", 1.5e9},
		{"512MiB", 512 << 20},
		{"1.5 GiB", 3 << 29},
		{"0.5kB", 500},
		{"8TiB", 8 << 40},
		{"1.9", 1},
		{"100", 100},
		{"10 kB", 10e3},
		{"1XB", 0},
		{"NaN", 0},
		{"nan", 0},
		{"Inf", 0},
		{"+Inf", 0},
		{"-Inf", 0},
		{"infinity", 0},
		{"1e30", 0},
		{"1e3", 0},
		{"0x10", 0},
		{"0.1", 0},
		{"0", 0},
		{"0B", 0},
		{"-5MB", 0},
		{"", 0},
		{"MB", 0},
		{"1_000", 0},
		{"99999999999999999999", 0},
		{"10000000TB", 0},
		{"9223372036854775807", 0}, // rounds to 2^63 as a float64
		{"9000000000000000000", 9e18},
	} {
		got, err := parseSize(tc.in)
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("parseSize(%q): got %d, want an error", tc.in, got)
		case tc.want != 0 && err != nil:
			t.Errorf("parseSize(%q): got error %v, want %d", tc.in, err, tc.want)
		case got != tc.want:
			t.Errorf("parseSize(%q): got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCheckUser(t *testing.T) {
	for _, tc := range []struct {
		in  string
		bad string // a word the error names; "" when valid
	}{
		{"nonroot", ""},
		{"app", ""},
		{"App.User_1-x", ""},
		{"machine$", ""},
		{"_apt", ""},
		{"0", ""},
		{"0:1", ""},
		{"root:root", ""},
		{"1000:staff", ""},
		{"4294967294", ""},
		{"4294967294:4294967294", ""},
		{"007", ""},
		{"a23456789012345678901234567890ab", ""},
		{"4294967295", "range"},
		{"4294967296", "range"},
		{"1000:4294967296", "range"},
		{"99999999999999999999999", "range"},
		{"-1", "negative"},
		{"1000:-3", "negative"},
		{"", ""},
		{":5", "empty"},
		{"1000:", "empty"},
		{":", "empty"},
		{"a:b:c", "NAME|UID"},
		{"app user", "useradd"},
		{"app\nroot", "useradd"},
		{"app\x1b[2J", "useradd"},
		{"-app", "useradd"},
		{"a$b", "useradd"},
		{"app/x", "useradd"},
		{"ap:p\t", "useradd"},
		{".", "useradd"},
		{"..", "useradd"},
		{"é", "useradd"},
		{"a234567890123456789012345678901ab", "32"},
	} {
		err := checkUser(tc.in)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("checkUser(%q): got %v, want nil", tc.in, err)
		case tc.bad != "" && err == nil:
			t.Errorf("checkUser(%q): got nil, want an error naming %q", tc.in, tc.bad)
		case err != nil && !strings.Contains(err.Error(), tc.bad):
			t.Errorf("checkUser(%q): got %v, want it to name %q", tc.in, err, tc.bad)
		}
	}
}

// TestFlagValidation: bad flag values fail at flag time, exit 2 with one
// line naming the flag, before the source is even opened (the source here
// is a registry nobody listens on: reaching it would exit 1), and nothing
// is written at the target.
func TestFlagValidation(t *testing.T) {
	t.Parallel()
	const src = "docker://127.0.0.1:1/imgslim-test/nothing:v1"
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"max-size NaN", []string{"--max-size", "NaN"}, "--max-size"},
		{"max-size 0.1", []string{"--max-size", "0.1"}, "less than one byte"},
		{"max-size Inf", []string{"--max-size", "Inf"}, "--max-size"},
		{"max-size 1e30", []string{"--max-size", "1e30"}, "--max-size"},
		{"max-size overflow", []string{"--max-size", "10000000TB"}, "too large"},
		{"max-size negative", []string{"--max-size", "-1GB"}, "--max-size"},
		{"user uid overflow", []string{"--user", "4294967296"}, "out of range"},
		{"user uid -1 as unsigned", []string{"--user", "4294967295"}, "out of range"},
		{"user gid overflow", []string{"--user", "0:4294967296"}, "out of range"},
		{"user with a newline", []string{"--user", "app\nx"}, "useradd"},
		{"user with a space", []string{"--user", "app x"}, "useradd"},
		{"user negative", []string{"--user", "-1"}, "negative"},
		{"jobs negative", []string{"--jobs", "-5"}, "--jobs"},
		{"jobs zero", []string{"--jobs", "0"}, "--jobs"},
		{"jobs not a number", []string{"--jobs", "many"}, "--jobs"},
		{"max-ratio zero", []string{"--max-ratio", "0"}, "--max-ratio"},
		{"max-ratio negative", []string{"--max-ratio", "-3"}, "--max-ratio"},
		{"remove /", []string{"--remove", "/"}, "root directory"},
		{"remove .", []string{"--remove", "."}, "root directory"},
		{"remove //", []string{"--remove", "//"}, "root directory"},
		{"remove /./", []string{"--remove", "/./"}, "root directory"},
		{"remove !/", []string{"--remove", "/app", "--remove", "!/"}, "root directory"},
		{"remove empty", []string{"--remove", ""}, "empty pattern"},
		{"keep /", []string{"--keep", "/"}, "root directory"},
		{"compression level", []string{"--compression-level", "0"}, "--compression-level"},
		{"compression", []string{"--compression", "brotli"}, "--compression"},
		{"compression empty", []string{"--compression", ""}, "--compression"},
		{"platform", []string{"--platform", "a/b/c/d"}, "--platform"},
		{"binary without scratch", []string{"--binary", "/app"}, "--scratch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := imgslim(t, append(tc.args, src, "oci:"+out)...)
			if r.code != exitUsage {
				t.Errorf("exit: got %d, want %d (stderr %q)", r.code, exitUsage, r.stderr)
			}
			lines := r.stderrLines()
			if len(lines) != 1 || !strings.Contains(lines[0], tc.msg) {
				t.Errorf("stderr: got %q, want one line naming %q", r.stderr, tc.msg)
			}
			if exists(out) {
				t.Errorf("%s was written", out)
			}
		})
	}
}

// TestZstdToDocker: a target that Docker loads cannot take zstd layers:
// one line says so before any work, and nothing is written.
func TestZstdToDocker(t *testing.T) {
	src := "oci:" + filepath.Join(t.TempDir(), "nothing") + ":v1" // never opened
	for _, target := range []func(dir string) (arg, path string){
		func(dir string) (string, string) {
			return "docker-archive:" + filepath.Join(dir, "out.tar") + ":imgslim-test/x:v1", filepath.Join(dir, "out.tar")
		},
		func(dir string) (string, string) { return "docker-daemon:imgslim-test/zstd-refused:v1", "" },
	} {
		arg, path := target(t.TempDir())
		t.Run(arg, func(t *testing.T) {
			r := imgslim(t, "--compression", "zstd", src, arg)
			if r.code != exitUsage {
				t.Errorf("exit: got %d, want %d (stderr %q)", r.code, exitUsage, r.stderr)
			}
			lines := r.stderrLines()
			if len(lines) != 1 || !strings.Contains(lines[0], "zstd") || !strings.Contains(lines[0], "Docker") {
				t.Errorf("stderr: got %q, want one line saying Docker reads no zstd", r.stderr)
			}
			if path != "" && exists(path) {
				t.Errorf("%s was written", path)
			}
		})
	}
}

// TestRulesFileRoot: a rules file is held to the same rule as --remove.
func TestRulesFileRoot(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "x.rules")
	if err := os.WriteFile(rules, []byte("/app/.git\n/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r := imgslim(t, "--rules", rules, "docker://127.0.0.1:1/imgslim-test/nothing:v1", "oci:"+out)
	if r.code != exitUsage || !strings.Contains(r.stderr, "root directory") {
		t.Errorf("got exit %d, stderr %q; want 2 naming the root directory", r.code, r.stderr)
	}
	if exists(out) {
		t.Errorf("%s was written", out)
	}
}
