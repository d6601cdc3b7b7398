package slim

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imgslim/imgslim/slim/fsdiff"
)

// ontoSource is a script app: its closure is the script, dash and the
// sh and /bin symlinks, and distroless's accounts.
func ontoSource(t *testing.T, dash string) v1.Image {
	return testImage(t, v1.Config{Cmd: []string{"/app/run.sh"}, Env: []string{"PATH=/usr/bin:/bin", "MODE=prod"}, WorkingDir: "/app", Labels: map[string]string{"app": "run"}},
		gzLayer(t, dir("usr/"), dir("usr/bin/"), exe("usr/bin/dash", dash), symlink("usr/bin/sh", "dash"), symlink("bin", "usr/bin"),
			dir("app/"), exe("app/run.sh", "#!/bin/sh\necho hi\n")))
}

const basePasswd = "root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"

// ontoBase is a small distribution: the same dash, its own tools and
// accounts, in two layers.
func ontoBase(t *testing.T, dash string, extra ...file) v1.Image {
	l1 := append([]file{dir("usr/"), dir("usr/bin/"), exe("usr/bin/dash", dash), symlink("usr/bin/sh", "dash"), symlink("bin", "usr/bin"),
		exe("usr/bin/ls", "ls-binary"), dir("etc/"), reg("etc/passwd", basePasswd), reg("etc/group", "root:x:0:\n"), dir("tmp/"), dir("var/lib/dpkg/"), reg("var/lib/dpkg/status", "Package: dash\n")}, extra...)
	img := testImage(t, v1.Config{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, Labels: map[string]string{"base": "deb"}},
		gzLayer(t, l1...), gzLayer(t, reg("etc/hostname", "base")))
	return img
}

func TestOnto(t *testing.T) {
	dash := staticELF()
	src, base := ontoSource(t, dash), ontoBase(t, dash)
	out, rep, sec, err := Onto(src, base, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Onto: %v", err)
	}
	if err := validate.Image(out); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	bls, _ := base.Layers()
	ols, _ := out.Layers()
	if len(ols) != len(bls)+1 {
		t.Fatalf("got %d layers, want the base's %d and one", len(ols), len(bls))
	}
	for i := range bls {
		if got, want := mustDigest(t, ols[i]), mustDigest(t, bls[i]); got != want {
			t.Errorf("layer %d: got %s, want the base's %s byte for byte", i+1, got, want)
		}
	}
	all := layerFiles(t, out)
	top := all[len(all)-1]
	for _, n := range []string{"/usr/bin/dash", "/usr/bin/sh", "/bin", "/usr", "/tmp"} {
		if has(top, n) {
			t.Errorf("the added layer holds %s, which the base holds identically", n)
		}
	}
	for _, n := range []string{"/app/run.sh", "/home/nonroot", "/etc/passwd", "/etc/group"} {
		if !has(top, n) {
			t.Errorf("the added layer lacks %s: %q", n, names(top))
		}
	}
	pw, _ := find(all, "/etc/passwd")
	if !strings.HasPrefix(pw.body, basePasswd) || !strings.Contains(pw.body, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd: got %q, want the base's lines and nonroot added", pw.body)
	}
	cf, _ := out.ConfigFile()
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Cmd, []string{"/app/run.sh"}) || cf.Config.WorkingDir != "/app" {
		t.Errorf("config: got user %q cmd %q workdir %q, want the scratch image's", cf.Config.User, cf.Config.Cmd, cf.Config.WorkingDir)
	}
	if !slices.Contains(cf.Config.Env, "PATH=/usr/bin:/bin:/usr/local/bin") || !slices.Contains(cf.Config.Env, "MODE=prod") {
		t.Errorf("env: got %q, want the program's with the base's PATH after it", cf.Config.Env)
	}
	if cf.Config.Labels["app"] != "run" || cf.Config.Labels["base"] != "deb" {
		t.Errorf("labels: got %v, want the base's and the program's", cf.Config.Labels)
	}
	if sec == nil || sec.BaseLayers != 2 || sec.Shared == 0 || sec.BaseDigest != mustImageDigest(t, base).String() {
		t.Errorf("report: got %+v, want the base's 2 layers, its digest and the shared paths counted", sec)
	}
	if len(rep.Checked) == 0 {
		t.Errorf("report: the self-check on the base checked nothing")
	}

	// What a container sees: the base, with the closure over it.
	bfs, err := fsdiff.Read(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	ofs, err := fsdiff.Read(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range bfs {
		o, ok := ofs[p]
		if !ok {
			t.Errorf("%s: the base's, gone", p)
		} else if p != "/etc/passwd" && p != "/etc/group" && (o.Digest != e.Digest || o.Type != e.Type || o.Link != e.Link) {
			t.Errorf("%s: changed from the base's", p)
		}
	}

	t.Run("deterministic", func(t *testing.T) {
		again, _, _, err := Onto(src, base, WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := mustImageDigest(t, out), mustImageDigest(t, again); a != b {
			t.Errorf("two runs: got %s and %s", a, b)
		}
	})
}

func TestOntoRefuses(t *testing.T) {
	dash := staticELF()
	armBase := func(t *testing.T) v1.Image {
		b := ontoBase(t, dash)
		cf, _ := b.ConfigFile()
		cf = cf.DeepCopy()
		cf.Architecture = "arm64"
		img, err := mutate.ConfigFile(b, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	tests := []struct {
		name string
		base func(t *testing.T) v1.Image
		want []string
	}{{
		name: "another version of a file the closure holds",
		base: func(t *testing.T) v1.Image { return ontoBase(t, dash+"patched") },
		want: []string{"/usr/bin/dash: the base holds another file"},
	}, {
		name: "a directory where the closure has a symlink",
		base: func(t *testing.T) v1.Image {
			return testImage(t, v1.Config{}, gzLayer(t, dir("bin/"), exe("bin/ls", "ls"), dir("etc/"), reg("etc/passwd", basePasswd)))
		},
		want: []string{"/bin: a symlink to usr/bin in the closure, a directory in the base"},
	}, {
		name: "a loader configuration the program would read on the base",
		base: func(t *testing.T) v1.Image {
			return ontoBase(t, dash, dir("etc/ld.so.conf.d/"), reg("etc/ld.so.conf.d/local.conf", "/usr/local/lib\n"))
		},
		want: []string{"/etc/ld.so.conf.d/local.conf: on the base the program would also use the base's copy"},
	}, {
		name: "a base of another architecture",
		base: armBase,
		want: []string{"the base is linux/arm64 and the program linux/amd64"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, _, err := Onto(ontoSource(t, dash), tt.base(t), WithWorkDir(t.TempDir()))
			if err == nil || out != nil {
				t.Fatalf("Onto: got image %v, error %v; want a refusal and no image", out != nil, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to say %q", err, w)
				}
			}
			var c *ConflictError
			if errors.As(err, &c) {
				if lines := strings.Split(err.Error(), "\n"); len(lines) != len(c.Items)+1 {
					t.Errorf("error %q: want a first line and one line per conflict", err)
				}
			}
		})
	}
}

// The loader's cache is derived data: the base's stays when the closure's
// libraries are where the loader looks on a miss.
func TestOntoKeepsTheBaseLoaderCache(t *testing.T) {
	dash := staticELF()
	src := testImage(t, v1.Config{Cmd: []string{"/app/run.sh"}},
		gzLayer(t, dir("usr/"), dir("usr/bin/"), exe("usr/bin/dash", dash), symlink("usr/bin/sh", "dash"), symlink("bin", "usr/bin"),
			dir("etc/"), reg("etc/ld.so.cache", "source-cache"), dir("app/"), exe("app/run.sh", "#!/bin/sh\necho hi\n")))
	base := ontoBase(t, dash, reg("etc/ld.so.cache", "base-cache"))
	out, rep, _, err := Onto(src, base, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Onto: %v", err)
	}
	if f, ok := find(layerFiles(t, out), "/etc/ld.so.cache"); !ok || f.body != "base-cache" {
		t.Errorf("/etc/ld.so.cache: got %q, want the base's", f.body)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "kept the base's /etc/ld.so.cache") {
		t.Errorf("warnings %q: want the kept cache named", rep.Warnings)
	}
	if got := outsideLoaderDirs([]ScratchEntry{{Path: "/usr/lib/x86_64-linux-gnu/libz.so.1"}, {Path: "/opt/vendor/lib/libx.so"}, {Path: "/lib64/ld-linux-x86-64.so.2"}}); !slices.Equal(got, []string{"/opt/vendor/lib/libx.so"}) {
		t.Errorf("outsideLoaderDirs: got %q, want /opt/vendor/lib/libx.so alone", got)
	}
}
