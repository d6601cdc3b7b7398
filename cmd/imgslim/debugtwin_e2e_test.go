//go:build e2e

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestDebugTwinEndToEnd slims an image daemon to daemon, by default and
// with --scratch, each with --debug-target, and runs a shell in the twin:
// its lower layers are the slim image's, it runs as the same user, and it
// carries the debug label.
func TestDebugTwinEndToEnd(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	src := "imgslim-test/debugtwin-src:" + uniq()
	dockertest.BuildImage(t, src, nil, "FROM "+dockertest.BaseImage(t)+"\nCMD [\"/usr/bin/sleep\", \"infinity\"]\n")
	for _, tc := range []struct {
		name  string
		flags []string
		// shell says whether the slim image itself has one.
		shell bool
	}{
		{name: "default", flags: nil, shell: true},
		{name: "scratch", flags: []string{"--scratch"}, shell: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := "imgslim-test/debugtwin-out:" + uniq()
			twin := "imgslim-test/debugtwin-twin:" + uniq()
			rmiOnCleanup(t, out)
			rmiOnCleanup(t, twin)
			reportPath := filepath.Join(t.TempDir(), "R.json")
			args := append(append([]string{"-q", "--report", reportPath}, tc.flags...), "--debug-target", "docker-daemon:"+twin, "docker-daemon:"+src, "docker-daemon:"+out)
			res := setsRun(setsSlimTimeout, args...)
			if res.code != exitOK {
				t.Fatalf("imgslim %q: exit %d\nstderr:\n%s\nstdout:\n%s", args, res.code, res.stderr, res.stdout)
			}
			// The JSON report names the twin and what its layer holds.
			b, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			doc := validReport(t, b)
			if len(doc.Images) != 1 {
				t.Fatalf("--report: %d images, want 1\n%s", len(doc.Images), b)
			}
			// A slim image with a shell of its own gets an empty layer.
			if d := doc.Images[0].DebugTwin; d == nil || d.Target != "docker-daemon:"+twin || d.Digest == "" || d.Layer == 0 || (len(d.Files) == 0) != tc.shell {
				t.Errorf("report: debugTwin %+v, want the twin's target, digest, layer size and files (none when the slim image has a shell: %v)", d, tc.shell)
			}
			if !strings.Contains(res.stdout, "debug twin: ") {
				t.Errorf("stdout says nothing of the twin:\n%s", res.stdout)
			}

			// Lower layers byte-identical, one more on top.
			outLayers := strings.Fields(dockertest.Docker(t, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", out))
			twinLayers := strings.Fields(dockertest.Docker(t, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}", twin))
			if len(twinLayers) != len(outLayers)+1 || !slices.Equal(twinLayers[:len(outLayers)], outLayers) {
				t.Errorf("layers: slim %q, twin %q; want the slim image's and one more", outLayers, twinLayers)
			}
			inspect := func(ref, format string) string {
				return dockertest.Docker(t, "image", "inspect", "--format", format, ref)
			}
			if a, b := inspect(out, "{{.Config.User}}"), inspect(twin, "{{.Config.User}}"); a != b || a == "" {
				t.Errorf("User: slim %q, twin %q; want the same, not root", a, b)
			}
			if a, b := inspect(out, "{{json .Config.Entrypoint}}{{json .Config.Cmd}}"), inspect(twin, "{{json .Config.Entrypoint}}{{json .Config.Cmd}}"); a != b {
				t.Errorf("Entrypoint and Cmd: slim %s, twin %s", a, b)
			}
			if got := inspect(twin, `{{index .Config.Labels "dev.imgslim.variant"}}`); got != "debug" {
				t.Errorf("twin label dev.imgslim.variant = %q, want debug", got)
			}
			if got := inspect(out, `{{index .Config.Labels "dev.imgslim.variant"}}`); got != "" {
				t.Errorf("slim label dev.imgslim.variant = %q, want none", got)
			}

			// A shell in the twin, as `docker run -it --entrypoint sh` gives
			// it, with commands on its stdin.
			got := dockerStdin(t, "echo shell-ok; id -u; ls / | sort | head -3; echo abc | tr a-z A-Z; cat /etc/passwd | grep -c :; exit 0\n",
				"run", "--rm", "-i", "--network", "none", "--entrypoint", "sh", twin)
			for _, want := range []string{"shell-ok", "65532", "ABC"} {
				if !strings.Contains(got, want) {
					t.Errorf("shell in the twin: got %q, want %q in it", got, want)
				}
			}
			// The scratch image has no shell: the twin's is what the layer
			// brought.
			_, err = exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", out, "-c", "true").CombinedOutput()
			if hasShell := err == nil; hasShell != tc.shell {
				t.Errorf("slim image has a shell: %v, want %v", hasShell, tc.shell)
			}
			t.Logf("%s: slim %s, twin %s; %s", tc.name, setsMB(imageSize(t, out)), setsMB(imageSize(t, twin)), strings.TrimSpace(grepLine(res.stdout, "debug twin: ")))
		})
	}

	// Refused, writing nothing.
	twin := "imgslim-test/debugtwin-twin:" + uniq()
	for _, args := range [][]string{
		{"--debug-target", "docker-daemon:" + twin, "--dry-run", "docker-daemon:" + src, "docker-daemon:" + twin + "-out"},
		{"--debug-target", "docker-daemon:" + twin, "docker-daemon:" + src, "docker-daemon:" + twin},
		{"--debug-target", "docker-daemon:" + src, "docker-daemon:" + src, "docker-daemon:" + twin},
	} {
		res := setsRun(setsSlimTimeout, append([]string{"-q"}, args...)...)
		if res.code != exitUsage || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
			t.Errorf("imgslim %q: got exit %d, stderr %q; want exit 2 and one line", args, res.code, res.stderr)
		}
		if daemonHas(twin) || daemonHas(twin+"-out") {
			t.Errorf("imgslim %q wrote an image", args)
		}
	}
}

// dockerStdin runs docker with stdin and returns its combined output.
func dockerStdin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
