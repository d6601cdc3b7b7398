package slim

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"

	"github.com/imgslim/imgslim/layers"
)

type file struct {
	tar.Header
	body string
}

func reg(name, body string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func hardlink(name, target string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

func gzLayer(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := f.Header
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, f.body)
	}
	tw.Close()
	zw.Close()
	// tarball reads a gzip blob as it is (static.NewLayer would take it for
	// a plain tar and give it its digest as diff ID).
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage builds an OCI image with a history entry per layer plus an empty
// one, as a Dockerfile's ENV or CMD leaves.
func testImage(t testing.TB, cfg v1.Config, ls ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	var err error
	for i, l := range ls {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "RUN step " + string(rune('A'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.History = append(cf.History, v1.History{CreatedBy: "CMD", EmptyLayer: true})
	cf.Created = v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return viaLayout(t, img)
}

// viaLayout stores img in an OCI layout and reads it back, so the test
// works on layers as a real source presents them.
func viaLayout(t testing.TB, img v1.Image) v1.Image {
	t.Helper()
	p, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// layerFiles reads every entry of every layer of img, with bodies.
func layerFiles(t testing.TB, img v1.Image) [][]file {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]file
	for _, l := range ls {
		var fs []file
		if _, err := layers.Scan(context.Background(), l, func(h *tar.Header, r io.Reader) error {
			b, err := io.ReadAll(r)
			fs = append(fs, file{Header: *h, body: string(b)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		out = append(out, fs)
	}
	return out
}

// find returns the entry named name (Clean form) in any layer, topmost
// first.
func find(all [][]file, name string) (file, bool) {
	for i := len(all) - 1; i >= 0; i-- {
		for _, f := range all[i] {
			if layers.Clean(f.Name) == name {
				return f, true
			}
		}
	}
	return file{}, false
}

func mustRules(t testing.TB, remove ...string) *Rules {
	t.Helper()
	r, err := NewRules(remove, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
const group = "root:x:0:\nnogroup:x:65534:\n"

func TestImage(t *testing.T) {
	base := gzLayer(t,
		dir("etc/"), reg("etc/passwd", passwd), reg("etc/group", group),
		dir("app/"), dir("app/.git/"), reg("app/.git/HEAD", "ref: main"), reg("app/.git/objects", strings.Repeat("git", 1000)),
		reg("app/main", "#!/bin/sh\necho hi"),
		dir("build/"), reg("build/lib.so", "ELF-LIB"), hardlink("app/lib.so", "build/lib.so"), hardlink("app/lib2.so", "build/lib.so"),
		dir("var/cache/apt/"), reg("var/cache/apt/a.deb", strings.Repeat("deb", 500)),
	)
	onlyGit := gzLayer(t, reg("app/.git/ORIG_HEAD", "abc"))
	whiteouts := gzLayer(t, reg("var/cache/apt/.wh.a.deb", ""), reg("etc/.wh.motd", ""), reg("etc/hostname", "box"))
	untouched := gzLayer(t, reg("app/config.json", "{}"))
	cfg := v1.Config{Entrypoint: []string{"/app/main"}, Cmd: []string{"serve"}, Env: []string{"PATH=/usr/bin", "MODE=prod"}, WorkingDir: "/app",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}}, Labels: map[string]string{"team": "a"}}
	src := testImage(t, cfg, base, onlyGit, whiteouts, untouched)
	srcDigest, _ := src.Digest()

	out, report, err := Image(src, WithRules(mustRules(t, "**/.git", "build", "var/cache/apt")), WithWorkDir(t.TempDir()), WithDescription("imgslim test"))
	if err != nil {
		t.Fatalf("Image: %v", err)
	}
	if err := validate.Image(out); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	if d, _ := src.Digest(); d != srcDigest {
		t.Errorf("source digest changed: got %s, want %s", d, srcDigest)
	}
	all := layerFiles(t, out)

	t.Run("removed paths are gone from every layer", func(t *testing.T) {
		for _, fs := range all {
			for _, f := range fs {
				n := layers.Clean(f.Name)
				if strings.Contains(n, "/.git") || layers.Within(n, "/build") || n == "/var/cache/apt/a.deb" {
					t.Errorf("%s is still in the output", n)
				}
			}
		}
	})
	t.Run("a hardlink to a removed file becomes the file", func(t *testing.T) {
		f, ok := find(all, "/app/lib.so")
		if !ok || f.Typeflag != tar.TypeReg || f.body != "ELF-LIB" {
			t.Errorf("got /app/lib.so %v type %q body %q, want a regular file holding ELF-LIB", ok, f.Typeflag, f.body)
		}
		f, ok = find(all, "/app/lib2.so")
		if !ok || f.Typeflag != tar.TypeLink || layers.Clean(f.Linkname) != "/app/lib.so" {
			t.Errorf("got /app/lib2.so %v type %q -> %q, want a hardlink to app/lib.so", ok, f.Typeflag, f.Linkname)
		}
	})
	t.Run("a whiteout left hiding nothing is dropped, others stay", func(t *testing.T) {
		if _, ok := find(all, "/var/cache/apt/.wh.a.deb"); ok {
			t.Errorf("the whiteout of a removed file is still there")
		}
		if _, ok := find(all, "/etc/.wh.motd"); !ok {
			// It hid nothing in the source either: not imgslim's to drop.
			t.Errorf("the whiteout of /etc/motd was dropped")
		}
	})
	t.Run("layers: emptied dropped, untouched kept byte for byte, user added", func(t *testing.T) {
		ls, _ := out.Layers()
		if len(ls) != 4 {
			t.Fatalf("got %d layers, want 4 (base, whiteouts, untouched, user)", len(ls))
		}
		want, _ := untouched.Digest()
		if got, _ := ls[2].Digest(); got != want {
			t.Errorf("untouched layer: got digest %s, want %s", got, want)
		}
		if got, _ := ls[0].Digest(); got == mustDigest(t, base) {
			t.Errorf("base layer kept its digest though it lost files")
		}
		if mt, _ := ls[0].MediaType(); mt != types.OCILayer {
			t.Errorf("rewritten layer media type: got %s, want %s", mt, types.OCILayer)
		}
	})
	t.Run("config and history", func(t *testing.T) {
		cf, err := out.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("got User %q, want 65532:65532", cf.Config.User)
		}
		c := cf.Config
		c.User = ""
		if got, want := strings.Join(c.Entrypoint, " ")+"|"+strings.Join(c.Cmd, " ")+"|"+strings.Join(c.Env, ",")+"|"+c.WorkingDir+"|"+c.Labels["team"],
			"/app/main|serve|PATH=/usr/bin,MODE=prod|/app|a"; got != want {
			t.Errorf("got config %q, want %q", got, want)
		}
		if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
			t.Errorf("ExposedPorts lost")
		}
		if cf.OS != "linux" || cf.Architecture != "amd64" {
			t.Errorf("got platform %s/%s", cf.OS, cf.Architecture)
		}
		nonEmpty := 0
		for _, h := range cf.History {
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		if nonEmpty != len(cf.RootFS.DiffIDs) {
			t.Errorf("history has %d non-empty entries for %d layers", nonEmpty, len(cf.RootFS.DiffIDs))
		}
		if h := cf.History[1]; !h.EmptyLayer || h.CreatedBy != "RUN step B" {
			t.Errorf("history of the emptied layer: got %+v, want it kept and marked empty", h)
		}
		if last := cf.History[len(cf.History)-1]; last.CreatedBy != "imgslim test" || last.EmptyLayer {
			t.Errorf("imgslim's history entry: got %+v", last)
		}
	})
	t.Run("the user", func(t *testing.T) {
		p, _ := find(all, "/etc/passwd")
		if !strings.HasPrefix(p.body, passwd) || !strings.Contains(p.body, "nonroot:x:65532:65532:nonroot:/home/nonroot:") {
			t.Errorf("got /etc/passwd %q", p.body)
		}
		g, _ := find(all, "/etc/group")
		if !strings.Contains(g.body, "nonroot:x:65532:") {
			t.Errorf("got /etc/group %q", g.body)
		}
		h, ok := find(all, "/home/nonroot")
		if !ok || h.Uid != 65532 || h.Gid != 65532 || h.Mode&0o777 != 0o700 {
			t.Errorf("got /home/nonroot %v uid %d gid %d mode %o", ok, h.Uid, h.Gid, h.Mode)
		}
	})
	t.Run("report", func(t *testing.T) {
		if report.Before.Layers != 4 || report.After.Layers != 4 || report.LayersDropped != 1 || report.WhiteoutsDropped != 1 {
			t.Errorf("got before %d after %d dropped %d whiteouts %d layers, want 4 4 1 1", report.Before.Layers, report.After.Layers, report.LayersDropped, report.WhiteoutsDropped)
		}
		got := map[string]int64{}
		for _, p := range report.Removed {
			got[p.Pattern] = p.Bytes
		}
		// build/lib.so lives on as /app/lib.so: its bytes are not saved.
		if got["**/.git"] != 9+3000+3 || got["build"] != 0 || got["var/cache/apt"] != 1500 {
			t.Errorf("got bytes per pattern %v", got)
		}
		if report.After.Compressed >= report.Before.Compressed || report.Estimated {
			t.Errorf("got compressed %d -> %d (estimated %v)", report.Before.Compressed, report.After.Compressed, report.Estimated)
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		again, _, err := Image(src, WithRules(mustRules(t, "**/.git", "build", "var/cache/apt")), WithWorkDir(t.TempDir()), WithDescription("imgslim test"))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := mustImageDigest(t, out), mustImageDigest(t, again); a != b {
			t.Errorf("got digests %s and %s for the same input", a, b)
		}
	})
}

func mustDigest(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustImageDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestImageKeepsWhatKeptFilesNeed(t *testing.T) {
	t.Run("an exception keeps its directory", func(t *testing.T) {
		src := testImage(t, v1.Config{User: "1000"}, gzLayer(t, dir("app/"), dir("app/node_modules/"), dir("app/node_modules/a/"), reg("app/node_modules/a/x", "x"), dir("app/node_modules/keep/"), reg("app/node_modules/keep/y", "y")))
		out, _, err := Image(src, WithRules(mustRules(t, "app/node_modules", "!app/node_modules/keep")), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		all := layerFiles(t, out)
		for name, want := range map[string]bool{"/app/node_modules": true, "/app/node_modules/keep/y": true, "/app/node_modules/a": false, "/app/node_modules/a/x": false} {
			if _, got := find(all, name); got != want {
				t.Errorf("%s present: got %v, want %v", name, got, want)
			}
		}
	})
	t.Run("a hardlink target in a lower layer stays", func(t *testing.T) {
		src := testImage(t, v1.Config{User: "1000"}, gzLayer(t, reg("build/lib.so", "ELF")), gzLayer(t, hardlink("app/lib.so", "build/lib.so")))
		out, r, err := Image(src, WithRules(mustRules(t, "build")), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := find(layerFiles(t, out), "/build/lib.so"); !ok {
			t.Errorf("the target of a kept hardlink in a later layer was removed")
		}
		if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "/build/lib.so") {
			t.Errorf("got warnings %q, want one naming /build/lib.so", r.Warnings)
		}
	})
	t.Run("a removed tree hidden by an opaque whiteout takes the marker with it", func(t *testing.T) {
		src := testImage(t, v1.Config{User: "1000"}, gzLayer(t, reg("var/tmp/a", "a")), gzLayer(t, dir("var/tmp/"), reg("var/tmp/.wh..wh..opq", ""), reg("var/tmp/b", "b")))
		out, _, err := Image(src, WithRules(mustRules(t, "var/tmp/a")), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := out.Layers()
		if len(ls) != 1 {
			t.Errorf("got %d layers, want 1: the first layer is empty", len(ls))
		}
		if _, ok := find(layerFiles(t, out), "/var/tmp/.wh..wh..opq"); ok {
			t.Errorf("the opaque marker hides nothing now but is still there")
		}
	})
}

func TestUser(t *testing.T) {
	withAccounts := gzLayer(t, reg("etc/passwd", passwd+"app:x:1000:1000::/home/app:/bin/sh\n"), reg("etc/group", group+"app:x:1000:\n"), dir("srv/"), reg("srv/data", "d"))
	bare := gzLayer(t, reg("server", "ELF"))
	for _, tc := range []struct {
		name      string
		layer     v1.Layer
		srcUser   string
		opts      []Option
		wantUser  string
		wantLayer bool   // a layer adding the user
		wantLine  string // in /etc/passwd
		warn      string
	}{
		{name: "root becomes nonroot", layer: withAccounts, srcUser: "", wantUser: "65532:65532", wantLayer: true, wantLine: "nonroot:x:65532:65532:"},
		{name: "root:root too", layer: withAccounts, srcUser: "root:root", wantUser: "65532:65532", wantLayer: true, wantLine: "nonroot:x:65532"},
		{name: "a non-root source stays", layer: withAccounts, srcUser: "app", wantUser: "app"},
		{name: "an existing user by name", layer: withAccounts, opts: []Option{WithUser("app")}, wantUser: "1000:1000"},
		{name: "an existing uid with another gid", layer: withAccounts, opts: []Option{WithUser("1000:65534")}, wantUser: "1000:65534"},
		{name: "a new named user", layer: withAccounts, opts: []Option{WithUser("svc")}, wantUser: "65532:65532", wantLayer: true, wantLine: "svc:x:65532:65532:svc:/home/svc:"},
		{name: "root kept on request, with a warning", layer: withAccounts, opts: []Option{WithUser("root")}, wantUser: "", warn: "root"},
		{name: "no /etc/passwd: created with root and nonroot", layer: bare, wantUser: "65532:65532", wantLayer: true, wantLine: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := testImage(t, v1.Config{User: tc.srcUser}, tc.layer)
			out, r, err := Image(src, append(tc.opts, WithWorkDir(t.TempDir()))...)
			if err != nil {
				t.Fatal(err)
			}
			cf, _ := out.ConfigFile()
			if cf.Config.User != tc.wantUser {
				t.Errorf("got User %q, want %q", cf.Config.User, tc.wantUser)
			}
			ls, _ := out.Layers()
			if got := len(ls) == 2; got != tc.wantLayer {
				t.Errorf("got %d layers, want a user layer: %v", len(ls), tc.wantLayer)
			}
			if tc.wantLine != "" {
				p, _ := find(layerFiles(t, out), "/etc/passwd")
				if !strings.Contains(p.body, tc.wantLine) {
					t.Errorf("got /etc/passwd %q, want it to contain %q", p.body, tc.wantLine)
				}
			}
			if tc.warn != "" && (len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], tc.warn)) {
				t.Errorf("got warnings %q, want one about %q", r.Warnings, tc.warn)
			}
			if err := validate.Image(out); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
		})
	}
	t.Run("bad group", func(t *testing.T) {
		_, _, err := Image(testImage(t, v1.Config{}, withAccounts), WithUser("app:nosuchgroup"), WithWorkDir(t.TempDir()))
		if err == nil || !strings.Contains(err.Error(), "nosuchgroup") {
			t.Errorf("got %v, want an error naming the group", err)
		}
	})
}

func TestChown(t *testing.T) {
	src := testImage(t, v1.Config{}, gzLayer(t, reg("etc/passwd", passwd), dir("app/"), reg("app/data", "d"), reg("etc/hosts", "h")))
	out, _, err := Image(src, WithChown("/app"), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	all := layerFiles(t, out)
	for name, want := range map[string]int{"/app": 65532, "/app/data": 65532, "/etc/hosts": 0} {
		if f, _ := find(all, name); f.Uid != want || f.Gid != want {
			t.Errorf("%s: got owner %d:%d, want %d:%d", name, f.Uid, f.Gid, want, want)
		}
	}
}

func TestIndex(t *testing.T) {
	amd := testImage(t, v1.Config{}, gzLayer(t, reg("app/.git/HEAD", "x"), reg("app/main", "amd64")))
	arm := testImage(t, v1.Config{}, gzLayer(t, reg("app/.git/HEAD", "y"), reg("app/main", "arm64")))
	cf, _ := arm.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	arm, _ = mutate.ConfigFile(arm, cf)
	arm = viaLayout(t, arm)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	out, reports, err := Index(idx, WithRules(mustRules(t, "**/.git")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(out); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	im, _ := out.IndexManifest()
	if len(im.Manifests) != 2 || len(reports) != 2 {
		t.Fatalf("got %d manifests and %d reports, want 2 and 2", len(im.Manifests), len(reports))
	}
	for i, d := range im.Manifests {
		img, _ := out.Image(d.Digest)
		all := layerFiles(t, img)
		if _, ok := find(all, "/app/.git/HEAD"); ok {
			t.Errorf("%s: .git still there", d.Platform)
		}
		if f, _ := find(all, "/app/main"); f.body != d.Platform.Architecture {
			t.Errorf("%s: got /app/main %q", d.Platform, f.body)
		}
		if reports[i].Platform != d.Platform.String() {
			t.Errorf("got report platform %q, want %q", reports[i].Platform, d.Platform)
		}
	}
}
