package slim

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// staticELF is the smallest static x86-64 executable elfdeps accepts: an
// ELF header and one PT_LOAD.
func staticELF() string {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	binary.Write(&b, le, uint16(2))  // ET_EXEC
	binary.Write(&b, le, uint16(62)) // EM_X86_64
	binary.Write(&b, le, uint32(1))  // version
	binary.Write(&b, le, uint64(0x400078))
	binary.Write(&b, le, uint64(64)) // phoff
	binary.Write(&b, le, uint64(0))  // shoff
	binary.Write(&b, le, uint32(0))  // flags
	binary.Write(&b, le, uint16(64)) // ehsize
	binary.Write(&b, le, uint16(56)) // phentsize
	binary.Write(&b, le, uint16(1))  // phnum
	binary.Write(&b, le, uint16(0))  // shentsize
	binary.Write(&b, le, uint16(0))  // shnum
	binary.Write(&b, le, uint16(0))  // shstrndx
	binary.Write(&b, le, uint32(1))  // PT_LOAD
	binary.Write(&b, le, uint32(5))  // R+X
	binary.Write(&b, le, uint64(0))  // offset
	binary.Write(&b, le, uint64(0x400000))
	binary.Write(&b, le, uint64(0x400000))
	binary.Write(&b, le, uint64(128))
	binary.Write(&b, le, uint64(128))
	binary.Write(&b, le, uint64(0x1000))
	for b.Len() < 128 {
		b.WriteByte(0xc3)
	}
	return b.String()
}

func symlink(name, target string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

// scratchLayer returns the output's one layer's headers by path.
func scratchLayer(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate: %v", err)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimSuffix(h.Name, "/")] = h
	}
}

func TestScratchKeepsMetadata(t *testing.T) {
	server := exe("app/server", staticELF())
	server.Uid, server.Gid = 1000, 1001
	server.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	conf := reg("app/conf.json", "{}")
	img := testImage(t, v1.Config{Cmd: []string{"/app/server", "--config", "conf.json"}, WorkingDir: "/app"},
		gzLayer(t, dir("app/"), server, conf, reg("app/.git/HEAD", "ref\n")))
	out, rep, err := Scratch(img, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Scratch: %v", err)
	}
	hs := scratchLayer(t, out)
	h := hs["/app/server"]
	if h == nil {
		t.Fatalf("output lacks /app/server: %v", rep.Files)
	}
	if h.Uid != 1000 || h.Gid != 1001 {
		t.Errorf("/app/server owner %d:%d, want 1000:1001", h.Uid, h.Gid)
	}
	if got, want := h.ModTime.Unix(), int64(1700000000); got != want {
		t.Errorf("/app/server mtime %d, want the source's %d", got, want)
	}
	if h.PAXRecords["SCHILY.xattr.security.capability"] != server.PAXRecords["SCHILY.xattr.security.capability"] {
		t.Errorf("/app/server xattrs %q, want the source's file capability", h.PAXRecords)
	}
	if hs["/app/conf.json"] == nil {
		t.Errorf("output lacks /app/conf.json, which the command line names")
	}
	if len(rep.Checked) == 0 {
		t.Errorf("report says nothing of the self-check")
	}
}

func TestScratchRefusesWhatItCannotAccountFor(t *testing.T) {
	sh := exe("usr/bin/dash", staticELF())
	for _, c := range []struct {
		name  string
		cmd   []string
		files []file
		want  []string
	}{
		{"a command built at run time", []string{"/app/run.sh"}, []file{exe("app/run.sh", "#!/bin/sh\nexec $CMD\n")}, []string{"$CMD", "--add"}},
		{"a missing script", []string{"sh", "/app/gone.sh"}, nil, []string{"/app/gone.sh"}},
		{"an unknown interpreter", []string{"/app/x.tcl"}, []file{exe("usr/bin/tclsh", staticELF()), exe("app/x.tcl", "#!/usr/bin/tclsh\nputs hi\n")}, []string{"/usr/bin/tclsh"}},
		{"a jar that is not there", []string{"/usr/bin/dash", "-c", "exec /app/start"}, nil, []string{"/app/start"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := append([]file{dir("usr/"), dir("usr/bin/"), sh, symlink("usr/bin/sh", "dash"), symlink("bin", "usr/bin"), dir("app/")}, c.files...)
			img := testImage(t, v1.Config{Cmd: c.cmd, Env: []string{"PATH=/usr/bin:/bin"}}, gzLayer(t, files...))
			out, _, err := Scratch(img, WithWorkDir(t.TempDir()))
			var u *UnresolvedError
			if !errors.As(err, &u) || out != nil {
				t.Fatalf("Scratch: got image %v, error %v; want an UnresolvedError and no image", out != nil, err)
			}
			msg := err.Error()
			if lines := strings.Split(msg, "\n"); len(lines) != len(u.Items)+1 {
				t.Errorf("error %q: want a first line and one line per item", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q: want it to name %q", msg, w)
				}
			}
		})
	}
	// The same script, its command fixed, goes through.
	img := testImage(t, v1.Config{Cmd: []string{"/app/run.sh"}, Env: []string{"PATH=/usr/bin:/bin", "CMD=/app/server"}},
		gzLayer(t, dir("usr/"), dir("usr/bin/"), sh, symlink("usr/bin/sh", "dash"), symlink("bin", "usr/bin"), dir("app/"),
			exe("app/run.sh", "#!/bin/sh\nexec $CMD\n"), exe("app/server", staticELF())))
	out, _, err := Scratch(img, WithWorkDir(t.TempDir()), WithCreated(time.Unix(1, 0)))
	if err != nil {
		t.Fatalf("Scratch with CMD set in the image: %v", err)
	}
	hs := scratchLayer(t, out)
	for _, p := range []string{"/app/run.sh", "/app/server", "/usr/bin/dash", "/usr/bin/sh", "/bin"} {
		if hs[p] == nil {
			t.Errorf("output lacks %s", p)
		}
	}
	if h := hs["/app/server"]; h != nil && h.ModTime.Unix() != 1 {
		t.Errorf("/app/server mtime %d, want it clamped to SOURCE_DATE_EPOCH's 1", h.ModTime.Unix())
	}
}

// TestScratchDropsDevDependencies: the application directory comes
// without what `npm prune --omit=dev` removes, the lockfile read back from
// the spooled layers.
func TestScratchDropsDevDependencies(t *testing.T) {
	lock := `{"name":"app","lockfileVersion":3,"requires":true,"packages":{
"":{"name":"app","dependencies":{"dep":"1.0.0"},"devDependencies":{"devdep":"1.0.0"}},
"node_modules/dep":{"version":"1.0.0"},
"node_modules/devdep":{"version":"1.0.0","dev":true}}}`
	img := testImage(t, v1.Config{Cmd: []string{"node", "server.js"}, WorkingDir: "/app", Env: []string{"PATH=/usr/bin"}},
		gzLayer(t, dir("usr/"), dir("usr/bin/"), exe("usr/bin/node", staticELF()), dir("app/"),
			reg("app/server.js", "require('dep')\n"), reg("app/package.json", `{"name":"app","dependencies":{"dep":"1.0.0"},"devDependencies":{"devdep":"1.0.0"}}`),
			reg("app/package-lock.json", lock), dir("app/node_modules/"), dir("app/node_modules/dep/"), reg("app/node_modules/dep/index.js", "module.exports = 1\n"),
			dir("app/node_modules/devdep/"), reg("app/node_modules/devdep/index.js", "module.exports = 2\n")))
	out, _, err := Scratch(img, WithWorkDir(t.TempDir()), WithSets(AllSets...))
	if err != nil {
		t.Fatalf("Scratch: %v", err)
	}
	hs := scratchLayer(t, out)
	if hs["/app/node_modules/dep/index.js"] == nil || hs["/app/server.js"] == nil {
		t.Errorf("output lacks the app or its dependency")
	}
	if hs["/app/node_modules/devdep/index.js"] != nil {
		t.Errorf("output holds /app/node_modules/devdep, a dev dependency")
	}
}

// TestScratchVerifiesItsLayer: the written layer is read back and compared
// with the tree it was to hold; any difference (a file's content, an extra
// file, a lost capability) refuses the image, naming the paths.
func TestScratchVerifiesItsLayer(t *testing.T) {
	server := exe("app/server", staticELF())
	server.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "cap"}
	img := testImage(t, v1.Config{Cmd: []string{"/app/server", "--config", "conf.json"}, WorkingDir: "/app"},
		gzLayer(t, dir("app/"), server, reg("app/conf.json", "{}")))
	// Untouched, it verifies, and says so.
	out, rep, err := Scratch(img, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Scratch: %v", err)
	}
	if last := rep.Checked[len(rep.Checked)-1]; !strings.Contains(last, "read back") {
		t.Errorf("checked %q, want the read-back verification last", rep.Checked)
	}
	scratchLayer(t, out)
	for _, c := range []struct {
		name  string
		layer v1.Layer
		want  []string
	}{
		{"content changed, a file added", gzLayer(t, reg("app/conf.json", `{"debug":true}`), dir("etc/cron.d/"), reg("etc/cron.d/evil", "* * * * * root sh\n")),
			[]string{"changed (size, content): /app/conf.json", "added: /etc/cron.d/evil"}},
		{"capability lost, mode changed", gzLayer(t, file{Header: tar.Header{Typeflag: tar.TypeReg, Name: "app/server", Mode: 0o777, Size: int64(len(staticELF()))}, body: staticELF()}),
			[]string{"changed (mode, xattrs): /app/server"}},
		{"file removed", gzLayer(t, reg("app/.wh.conf.json", "")), []string{"missing: /app/conf.json"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			CorruptForTest = func(img v1.Image) (v1.Image, error) { return mutate.AppendLayers(img, c.layer) }
			defer func() { CorruptForTest = nil }()
			out, _, err := Scratch(img, WithWorkDir(t.TempDir()))
			if !errors.Is(err, ErrScratchUnverified) || out != nil {
				t.Fatalf("Scratch: got image %v, error %v; want ErrScratchUnverified and no image", out != nil, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want it to name %q", err, w)
				}
			}
		})
	}
}

// TestScratchSecrets: the copy reports the source's secrets as slimming
// does, each with whether it holds it: files the secrets set took out of
// the application directory, a file a later layer hid and the history are
// not copied; the program that holds a key and the config's Env are.
func TestScratchSecrets(t *testing.T) {
	app := gzLayer(t, dir("usr/"), dir("usr/bin/"), exe("usr/bin/node", staticELF()),
		dir("app/"), reg("app/package.json", `{"main":"dist/server.js"}`),
		dir("app/dist/"), reg("app/dist/server.js", "const stripe = require('stripe')('"+testStripeKey+"');\n"),
		dir("app/config/"), reg("app/config/settings.yaml", "name: app\ngithub:\n  token: "+testGitHubPAT+"\n"),
		reg("app/Dockerfile", "FROM node:18\nENV PASSWORD=Sup3rS3cretPassw0rd\nCOPY . /app\n"),
		dir("srv/"), dir("srv/deploy/"), reg("srv/deploy/credentials", "[default]\naws_access_key_id = "+testAWSKeyID+"\naws_secret_access_key = "+testAWSSecret+"\n"),
		dir("tmp/"), dir("tmp/build/"), reg("tmp/build/ci.txt", "GITLAB="+testGitLabPAT+"\n"))
	clean := gzLayer(t, file{Header: tar.Header{Typeflag: tar.TypeReg, Name: "tmp/build/.wh.ci.txt"}})
	img := testImage(t, v1.Config{Cmd: []string{"node", "dist/server.js"}, WorkingDir: "/app",
		Env: []string{"PATH=/usr/bin", "DEPLOY_KEY_ID=" + testAWSKeyID}}, app, clean)
	out, rep, err := Scratch(img, WithWorkDir(t.TempDir()), WithSets(AllSets...))
	if err != nil {
		t.Fatalf("Scratch: %v", err)
	}
	hs := scratchLayer(t, out)
	got := map[string]string{}
	for _, s := range rep.Secrets {
		got[s.Where] = s.Status
		if s.Location == SecretInFile && (hs[s.Path] != nil) != (s.Status == SecretRemaining) {
			t.Errorf("%s: status %s, but the layer holding it is %v", s.Path, s.Status, hs[s.Path] != nil)
		}
	}
	for where, want := range map[string]string{
		"/app/dist/server.js":       SecretRemaining,
		"env DEPLOY_KEY_ID":         SecretRemaining,
		"/app/config/settings.yaml": SecretRemoved,
		"/app/Dockerfile":           SecretRemoved,
		"/srv/deploy/credentials":   SecretRemoved,
	} {
		if got[where] != want {
			t.Errorf("secret in %s: status %q, want %q (all: %v)", where, got[where], want, got)
		}
	}
	var hidden bool
	for where, st := range got {
		if strings.HasPrefix(where, "/tmp/build/ci.txt") {
			hidden = st == SecretRemoved
		}
	}
	if !hidden {
		t.Errorf("the secret a later layer hid: %v, want it reported as removed", got)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "ROTATE THEM") || !strings.Contains(text.String(), "/app/dist/server.js") {
		t.Errorf("text report lacks the secrets:\n%s", text.String())
	}
	r := ScratchAsReport(rep, false)
	if len(r.Secrets) != len(rep.Secrets) {
		t.Errorf("JSON report: %d secrets, want %d", len(r.Secrets), len(rep.Secrets))
	}
	// Every stage took some time, as in a slim's report.
	if tm := r.Timings; tm.Plan <= 0 || tm.Rewrite <= 0 || tm.Verify <= 0 {
		t.Errorf("JSON report: timings %+v, want each stage's seconds", tm)
	}
}

// A layer may hardlink to a file an earlier layer wrote (the applier links
// to it on the filesystem built so far): the copy holds that file's bytes.
func TestScratchHardlinkToLowerLayer(t *testing.T) {
	img := testImage(t, v1.Config{Cmd: []string{"/app/server", "--doc", "/app/doc"}, WorkingDir: "/app"},
		gzLayer(t, dir("usr/"), reg("usr/README", "lower layer's text")),
		gzLayer(t, dir("app/"), exe("app/server", staticELF()), hardlink("app/doc", "usr/README")))
	out, _, err := Scratch(img, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Scratch: %v", err)
	}
	ls, _ := out.Layers()
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("output lacks /app/doc: %v", err)
		}
		if h.Name != "app/doc" {
			continue
		}
		b, _ := io.ReadAll(tr)
		if got, want := string(b), "lower layer's text"; h.Typeflag != tar.TypeReg || got != want {
			t.Fatalf("/app/doc: type %c, content %q; want a regular file holding %q", h.Typeflag, got, want)
		}
		return
	}
}
