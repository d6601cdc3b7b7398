package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lastLine is the last line of a command's stdout.
func lastLine(stdout string) string {
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

// withoutPinned is stdout without its last line, TARGET@DIGEST, which
// names where the run wrote: what is left is the report.
func withoutPinned(t testing.TB, stdout string) string {
	t.Helper()
	last := lastLine(stdout)
	if !strings.Contains(last, "@sha256:") {
		t.Fatalf("last stdout line: got %q, want TARGET@DIGEST", last)
	}
	return strings.TrimSuffix(strings.TrimRight(stdout, "\n"), last)
}

func readDigestFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading --digest-file: %v", err)
	}
	return string(b)
}

// TestDigestFile: --digest-file holds the digest of what was written, the
// one its reader serves for the target (the index's for a multi-platform
// output, the image ID for a docker-archive), and stdout ends with
// TARGET@DIGEST; with -q that line is all of stdout.
func TestDigestFile(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", epoch) // the -q rerun gives the same digest
	host := memRegistry(t)
	single := host + "/digest/src:v1"
	pushImage(t, single, fixture(t, false), nil)
	multi := host + "/digest/multi:v1"
	idx, _ := multiFixture(t)
	pushIndex(t, multi, idx)

	for _, tc := range []struct {
		name   string
		src    string
		target func(dir string) string
		// served is the digest the target's reader gives.
		served func(t *testing.T, target string) string
		pinned func(target string) string
	}{
		{
			name: "registry", src: "docker://" + single,
			target: func(string) string { return "docker://" + host + "/digest/out:" + uniq() },
			served: func(t *testing.T, target string) string {
				return remoteDigest(t, strings.TrimPrefix(target, "docker://"), nil)
			},
			pinned: func(target string) string { return strings.TrimPrefix(target, "docker://") },
		},
		{
			name: "registry, multi-platform index", src: "docker://" + multi,
			target: func(string) string { return "docker://" + host + "/digest/outmulti:" + uniq() },
			served: func(t *testing.T, target string) string {
				return remoteDigest(t, strings.TrimPrefix(target, "docker://"), nil)
			},
			pinned: func(target string) string { return strings.TrimPrefix(target, "docker://") },
		},
		{
			name: "oci layout", src: "docker://" + single,
			target: func(dir string) string { return "oci:" + dir + "/out:slim" },
			served: func(t *testing.T, target string) string {
				return layoutDesc(t, strings.TrimSuffix(strings.TrimPrefix(target, "oci:"), ":slim"), "slim").Digest.String()
			},
			pinned: func(target string) string { return target },
		},
		{
			name: "oci layout, multi-platform index", src: "docker://" + multi,
			target: func(dir string) string { return "oci:" + dir + "/out" },
			served: func(t *testing.T, target string) string {
				return layoutDesc(t, strings.TrimPrefix(target, "oci:"), "").Digest.String()
			},
			pinned: func(target string) string { return target },
		},
		{
			name: "oci-archive", src: "docker://" + single,
			target: func(dir string) string { return "oci-archive:" + dir + "/out.tar:slim" },
			served: func(t *testing.T, target string) string {
				return layoutDesc(t, untarFile(t, strings.TrimSuffix(strings.TrimPrefix(target, "oci-archive:"), ":slim")), "slim").Digest.String()
			},
			pinned: func(target string) string { return target },
		},
		{
			name: "docker-archive: the image ID", src: "docker://" + single,
			target: func(dir string) string { return "docker-archive:" + dir + "/out.tar:example.com/out:v1" },
			served: func(t *testing.T, target string) string {
				img := readArchiveGGCR(t, strings.TrimSuffix(strings.TrimPrefix(target, "docker-archive:"), ":example.com/out:v1"), "example.com/out:v1")
				id, err := img.ConfigName()
				if err != nil {
					t.Fatal(err)
				}
				return id.String()
			},
			pinned: func(target string) string { return target },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := tc.target(dir)
			df := filepath.Join(dir, "digest")
			r := mustSlim(t, append(append([]string{"--digest-file", df}, fixRemove...), tc.src, target)...)
			got := readDigestFile(t, df)
			want := tc.served(t, target)
			if want == "" || got != want {
				t.Errorf("--digest-file: got %q, want %q, what %s serves", got, want, target)
			}
			if last, want := lastLine(r.stdout), tc.pinned(target)+"@"+got; last != want {
				t.Errorf("last stdout line: got %q, want %q", last, want)
			}

			// -q: the line alone, the same digest: the output is
			// reproducible.
			q := mustSlim(t, append(append([]string{"-q"}, fixRemove...), tc.src, target)...)
			if q.stdout != tc.pinned(target)+"@"+got+"\n" {
				t.Errorf("-q stdout: got %q, want only %q", q.stdout, tc.pinned(target)+"@"+got)
			}
			if q.stderr != "" {
				t.Errorf("-q stderr: got %q, want nothing", q.stderr)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		for _, tc := range []struct {
			name string
			args []string
			code int
			msg  string
		}{
			{"with --dry-run", []string{"--dry-run", "--digest-file", filepath.Join(dir, "d")}, exitUsage, "--dry-run"},
			{"unwritable directory", []string{"--digest-file", filepath.Join(dir, "nodir", "d")}, exitError, "--digest-file"},
		} {
			r := imgslim(t, append(tc.args, "docker://"+single, "oci:"+out)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("%s: got exit %d, stderr %q; want %d naming %s", tc.name, r.code, r.stderr, tc.code, tc.msg)
			}
			if exists(out) || exists(filepath.Join(dir, "d")) {
				t.Errorf("%s: something was written", tc.name)
			}
		}
		// A failed gate writes no image, so no digest either.
		df := filepath.Join(dir, "gate-digest")
		if r := imgslim(t, "-q", "--max-size", "1kB", "--digest-file", df, "docker://"+single, "oci:"+out); r.code == exitOK || r.stdout != "" {
			t.Errorf("over --max-size: got exit %d, stdout %q; want a failure and nothing", r.code, r.stdout)
		}
		if exists(df) || exists(out) {
			t.Errorf("over --max-size: something was written")
		}
	})
}
