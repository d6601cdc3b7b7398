package slim

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// debugSource is a merged-/usr image with a shell, two tools and a
// program.
func debugSource(t *testing.T, withShell bool) v1.Image {
	files := []file{
		reg("etc/passwd", passwd), reg("etc/group", group),
		symlinkTo("bin", "usr/bin"), dir("usr/"), dir("usr/bin/"),
		exe("usr/bin/ls", "ls"), exe("usr/bin/cat", "cat"), exe("usr/bin/gcc", "gcc"),
		exe("app/server", "server"),
	}
	if withShell {
		files = append(files, exe("usr/bin/dash", "dash"), symlinkTo("usr/bin/sh", "dash"))
	}
	return testImage(t, v1.Config{Entrypoint: []string{"/app/server"}, User: "1000"}, gzLayer(t, files...))
}

func TestDebugTwin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove []string
		added  []string // paths of the twin's layer
		tools  []string
	}{{
		name:   "the tools the slim image lost",
		remove: []string{"usr/bin/ls", "usr/bin/cat", "usr/bin/gcc"},
		added:  []string{"/usr/bin/cat", "/usr/bin/ls"},
		tools:  []string{"cat", "ls"},
	}, {
		name:   "no shell, no /bin, no /usr/bin left",
		remove: []string{"usr", "bin"},
		added:  []string{"/bin", "/usr", "/usr/bin", "/usr/bin/cat", "/usr/bin/dash", "/usr/bin/ls", "/usr/bin/sh"},
		tools:  []string{"cat", "ls", "sh"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src := debugSource(t, true)
			slimmed, _, err := Image(src, WithRules(mustRules(t, tc.remove...)), WithWorkDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			twin, rep, err := DebugTwin(src, slimmed, WithWorkDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(twin); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			// The slim image's layers, byte for byte, and one more.
			sl, tl := mustLayers(t, slimmed), mustLayers(t, twin)
			if len(tl) != len(sl)+1 {
				t.Fatalf("twin has %d layers, want %d + 1", len(tl), len(sl))
			}
			for i := range sl {
				if got, want := mustDigest(t, tl[i]), mustDigest(t, sl[i]); got != want {
					t.Errorf("layer %d: twin %s, slim %s", i, got, want)
				}
			}
			all := layerFiles(t, twin)
			var got []string
			for _, f := range all[len(all)-1] {
				got = append(got, "/"+strings.TrimSuffix(f.Name, "/"))
			}
			if !slices.Equal(got, tc.added) {
				t.Errorf("debug layer: got %q, want %q", got, tc.added)
			}
			if sh, ok := find(all[len(all)-1:], "/usr/bin/sh"); ok && sh.Linkname != "dash" {
				t.Errorf("/usr/bin/sh: got a link to %q, want dash", sh.Linkname)
			}
			if !slices.Equal(rep.Tools, tc.tools) {
				t.Errorf("report tools: got %q, want %q", rep.Tools, tc.tools)
			}
			sc, _ := slimmed.ConfigFile()
			cf, _ := twin.ConfigFile()
			if cf.Config.User != sc.Config.User || !slices.Equal(cf.Config.Entrypoint, sc.Config.Entrypoint) {
				t.Errorf("twin runs %q as %q, slim %q as %q", cf.Config.Entrypoint, cf.Config.User, sc.Config.Entrypoint, sc.Config.User)
			}
			if cf.Config.Labels[DebugLabel] != DebugVariant {
				t.Errorf("labels %v lack %s=%s", cf.Config.Labels, DebugLabel, DebugVariant)
			}
			if sc.Config.Labels[DebugLabel] != "" {
				t.Errorf("the slim image has the debug label")
			}
			// Determinism.
			twin2, _, err := DebugTwin(src, slimmed, WithWorkDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := mustImageDigest(t, twin), mustImageDigest(t, twin2); a != b {
				t.Errorf("two twins of one image: %s and %s", a, b)
			}
		})
	}
}

func TestDebugTwinRefuses(t *testing.T) {
	src := debugSource(t, false)
	slimmed, _, err := Image(src, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := DebugTwin(src, slimmed, WithWorkDir(t.TempDir())); err == nil || !strings.Contains(err.Error(), "no /bin/sh") {
		t.Errorf("got %v, want an error saying the source has no /bin/sh", err)
	}
}
