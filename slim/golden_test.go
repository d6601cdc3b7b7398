package slim

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// The golden test pins what imgslim writes: for a matrix of inputs built
// in code (and testdata/gen's generator at a small size) and option sets,
// the digest of every output and a hash of every report (JSON, timings
// zeroed, and text) must equal testdata/golden.txt. The engine is
// deterministic, so a refactor that changes no behaviour changes no line;
// a line that changes is a behaviour change, to be named in the commit.
//
//	go test -run TestGolden ./slim/ -update   # rewrites the golden file
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden.txt from this run")

const goldenFile = "testdata/golden.txt"

// goldenRun is what one case produced: an output digest (or the error it
// ended with) and the reports.
type goldenRun struct {
	digest  string
	reports []*Report
	scratch *ScratchReport
	err     error
}

func (g goldenRun) line() string {
	if g.err != nil {
		return "error: " + strings.ReplaceAll(g.err.Error(), "\n", `\n`)
	}
	h := sha256.New()
	for _, r := range g.reports {
		c := *r
		c.Timings = Timings{}
		b, err := json.Marshal(&c)
		if err != nil {
			return "error: marshal: " + err.Error()
		}
		h.Write(b)
		c.WriteText(h)
	}
	if g.scratch != nil {
		b, _ := json.Marshal(g.scratch)
		h.Write(b)
		ScratchAsReport(g.scratch, false).WriteText(h)
	}
	return g.digest + " report:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func goldenImage(t testing.TB, img v1.Image, opts ...Option) goldenRun {
	out, r, err := Image(img, append(opts, WithWorkDir(t.TempDir()))...)
	if err != nil {
		return goldenRun{err: err}
	}
	d, err := out.Digest()
	if err != nil {
		return goldenRun{err: err}
	}
	return goldenRun{digest: d.String(), reports: []*Report{r}}
}

// goldenDryRun is --dry-run: the plan's report, nothing written.
func goldenDryRun(t testing.TB, img v1.Image, opts ...Option) goldenRun {
	p, err := NewPlan(img, append(opts, WithWorkDir(t.TempDir()), withSpool())...)
	if err != nil {
		return goldenRun{err: err}
	}
	r := p.Report()
	p.Close()
	return goldenRun{digest: "dry-run", reports: []*Report{r}}
}

func goldenScratch(t testing.TB, img v1.Image, opts ...ScratchOption) goldenRun {
	out, r, err := Scratch(img, append(opts, WithWorkDir(t.TempDir()))...)
	if err != nil {
		return goldenRun{err: err}
	}
	d, err := out.Digest()
	if err != nil {
		return goldenRun{err: err}
	}
	return goldenRun{digest: d.String(), scratch: r}
}

func goldenIndex(t testing.TB, idx v1.ImageIndex, opts ...Option) goldenRun {
	out, rs, err := Index(idx, append(opts, WithWorkDir(t.TempDir()))...)
	if err != nil {
		return goldenRun{err: err}
	}
	d, err := out.Digest()
	if err != nil {
		return goldenRun{err: err}
	}
	return goldenRun{digest: d.String(), reports: rs}
}

func goldenPlanIndex(t testing.TB, idx v1.ImageIndex, opts ...Option) goldenRun {
	rs, err := PlanIndex(idx, append(opts, WithWorkDir(t.TempDir()))...)
	if err != nil {
		return goldenRun{err: err}
	}
	return goldenRun{digest: "dry-run", reports: rs}
}

// goldenNodeApp is a node application built single-stage, in miniature,
// with something for every set.
func goldenNodeApp(t testing.TB) v1.Image {
	lock := `{"name":"app","lockfileVersion":3,"requires":true,"packages":{
"":{"name":"app","dependencies":{"dep":"1.0.0"},"devDependencies":{"devdep":"1.0.0"}},
"node_modules/dep":{"version":"1.0.0"},
"node_modules/devdep":{"version":"1.0.0","dev":true}}}`
	base := gzLayer(t,
		reg("etc/passwd", passwd+"node:x:1000:1000::/home/node:/bin/sh\n"), reg("etc/group", group+"node:x:1000:\n"),
		exe("usr/bin/nodejs", staticELF()), symlinkTo("usr/bin/node", "nodejs"),
		reg("usr/share/doc/bash/README", "docs"), reg("usr/share/doc/bash/copyright", "GPL"),
		reg("usr/share/man/man1/bash.1.gz", "man"), reg("usr/share/locale/de/LC_MESSAGES/x.mo", "de"),
		reg("usr/share/locale/fr/LC_MESSAGES/x.mo", "fr"), reg("usr/share/locale/locale.alias", "alias"),
		reg("var/cache/apt/archives/gcc.deb", strings.Repeat("d", 100)), reg("var/lib/apt/lists/main_Packages", "pk"),
		dir("tmp/"), reg("tmp/npm-123/x", "tmp"),
		reg("etc/ssl/certs/ca-certificates.crt", "CERTS"),
		reg("usr/local/go/bin/go", "go toolchain"),
	)
	app := gzLayer(t,
		reg("root/.npm/_cacache/index", "cache"), reg("home/node/.npm/_cacache/x", "cache2"),
		reg("root/.cache/pip/wheels/x", "pip"), reg("usr/local/share/.cache/yarn/v6/x", "yarn"),
		reg("app/.git/HEAD", "ref"), reg("app/package.json", `{"name":"app","main":"dist/server.js","dependencies":{"dep":"1.0.0"},"devDependencies":{"devdep":"1.0.0"}}`),
		reg("app/package-lock.json", lock),
		reg("app/tsconfig.json", "{\n // comment\n \"compilerOptions\": {\"outDir\": \"dist\",},\n}"),
		reg("app/src/server.ts", "ts"), reg("app/src/types.d.ts", "dts"), reg("app/dist/server.js", "js"),
		reg("app/node_modules/dep/index.js", "module.exports = 1\n"), reg("app/node_modules/devdep/index.js", "module.exports = 2\n"),
		symlinkTo("app/node_modules/.bin/devdep", "../devdep/index.js"),
		reg("app/node_modules/lib/index.ts", "dep ts"), reg("app/.env", "DB_PASSWORD=x"),
		reg("app/certs/server.key", rsaKey), reg("app/certs/server.crt", "-----BEGIN CERTIFICATE-----\n"),
		reg("root/.npmrc", "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789\n"),
		reg("home/node/.npmrc", "save-exact=true\n"),
		hardlink("app/dist/server-copy.js", "app/dist/server.js"),
		hardlink("app/keep-doc", "usr/share/doc/bash/README"),
	)
	// A later layer deletes a file and a tree, as a cleanup RUN does.
	cleanup := gzLayer(t, reg("tmp/.wh.npm-123", ""), reg("usr/share/man/.wh..wh..opq", ""), reg("app/dist/extra.js", "extra"))
	return testImage(t, v1.Config{
		Cmd: []string{"node", "dist/server.js"}, WorkingDir: "/app",
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=de_DE.UTF-8", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "NODE_ENV=production"},
	}, base, app, cleanup)
}

// goldenELF lays out a small x86-64 ELF file: a PT_LOAD over the whole
// file, PT_INTERP and a dynamic section when asked, and, for goSection, a
// section table with the section the Go toolchain writes.
func goldenELF(typ elf.Type, interp string, needed []string, soname string, goSection bool) string {
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	str := func(v string) uint64 {
		o := uint64(strtab.Len())
		strtab.WriteString(v)
		strtab.WriteByte(0)
		return o
	}
	type dyn struct {
		tag elf.DynTag
		val uint64
	}
	var dyns []dyn
	for _, n := range needed {
		dyns = append(dyns, dyn{elf.DT_NEEDED, str(n)})
	}
	if soname != "" {
		dyns = append(dyns, dyn{elf.DT_SONAME, str(soname)})
	}
	dynamic := len(dyns) > 0 || interp != ""
	nph := 1
	if interp != "" {
		nph++
	}
	if dynamic {
		nph++
	}
	interpOff := 64 + nph*56
	strOff := interpOff
	if interp != "" {
		strOff += len(interp) + 1
	}
	if dynamic {
		dyns = append(dyns, dyn{elf.DT_STRTAB, uint64(strOff)}, dyn{elf.DT_STRSZ, uint64(strtab.Len())}, dyn{elf.DT_NULL, 0})
	}
	dynOff := (strOff + strtab.Len() + 7) &^ 7
	end := dynOff + len(dyns)*16
	shstr := "\x00.shstrtab\x00.go.buildinfo\x00"
	shOff := 0
	if goSection {
		shOff = (end + len(shstr) + 7) &^ 7
	}
	var b bytes.Buffer
	bo := binary.LittleEndian
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	h := elf.Header64{Ident: ident, Type: uint16(typ), Machine: uint16(elf.EM_X86_64), Version: 1,
		Entry: 0x400078, Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: uint16(nph)}
	if goSection {
		h.Shoff, h.Shentsize, h.Shnum, h.Shstrndx = uint64(shOff), 64, 3, 1
	}
	binary.Write(&b, bo, h)
	binary.Write(&b, bo, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: 5, Filesz: uint64(end), Memsz: uint64(end), Align: 0x1000})
	if interp != "" {
		binary.Write(&b, bo, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: uint64(interpOff), Vaddr: uint64(interpOff), Filesz: uint64(len(interp) + 1), Memsz: uint64(len(interp) + 1), Align: 1})
	}
	if dynamic {
		binary.Write(&b, bo, elf.Prog64{Type: uint32(elf.PT_DYNAMIC), Off: uint64(dynOff), Vaddr: uint64(dynOff), Filesz: uint64(len(dyns) * 16), Memsz: uint64(len(dyns) * 16), Align: 8})
	}
	if interp != "" {
		b.WriteString(interp)
		b.WriteByte(0)
	}
	b.Write(strtab.Bytes())
	for b.Len() < dynOff {
		b.WriteByte(0)
	}
	for _, d := range dyns {
		binary.Write(&b, bo, elf.Dyn64{Tag: int64(d.tag), Val: d.val})
	}
	if goSection {
		strAt := b.Len()
		b.WriteString(shstr)
		for b.Len() < shOff {
			b.WriteByte(0)
		}
		binary.Write(&b, bo, elf.Section64{})
		binary.Write(&b, bo, elf.Section64{Name: 1, Type: uint32(elf.SHT_STRTAB), Off: uint64(strAt), Size: uint64(len(shstr)), Addralign: 1})
		binary.Write(&b, bo, elf.Section64{Name: 11, Type: uint32(elf.SHT_PROGBITS), Off: 0, Size: 0, Addralign: 1})
	}
	return b.String()
}

// goldenGoApp is a Go program built single-stage: the toolchain, the
// module cache and the sources next to the binary.
func goldenGoApp(t testing.TB) v1.Image {
	return testImage(t, v1.Config{Entrypoint: []string{"/app/server"}, WorkingDir: "/app", Env: []string{"PATH=/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"}},
		gzLayer(t, reg("etc/passwd", passwd), reg("etc/group", group),
			reg("usr/local/go/bin/go", "toolchain"), reg("go/pkg/mod/example.com/m@v1/m.go", "package m"),
			reg("root/.cache/go-build/00/x", "cache"), reg("etc/ssl/certs/ca-certificates.crt", "CERTS"),
			reg("usr/share/zoneinfo/UTC", "TZif2"), reg("usr/share/zoneinfo/Europe/Paris", "TZif2 paris")),
		gzLayer(t, dir("app/"), exe("app/server", goldenELF(elf.ET_EXEC, "", nil, "", true)),
			reg("app/main.go", "package main"), reg("app/go.mod", "module app"), reg("app/go.sum", ""),
			reg("app/vendor/modules.txt", "# none"), reg("app/vendor/x/x.go", "package x"),
			reg("app/config.yaml", "port: 8080"), reg("app/.git/HEAD", "ref")))
}

// goldenCApp is a dynamically linked C program: the loader, libc through
// a symlink, and the sources and objects beside it.
func goldenCApp(t testing.TB) v1.Image {
	const ld = "/lib64/ld-linux-x86-64.so.2"
	return testImage(t, v1.Config{Entrypoint: []string{"server"}, Cmd: []string{"--port", "80"}, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		gzLayer(t, reg("etc/passwd", passwd), reg("etc/group", group), reg("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n"),
			reg("etc/ld.so.conf.d/x86_64.conf", "/lib/x86_64-linux-gnu\n"),
			dir("lib/"), dir("lib/x86_64-linux-gnu/"), dir("lib64/"),
			exe("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", goldenELF(elf.ET_DYN, "", nil, "ld-linux-x86-64.so.2", false)),
			symlinkTo("lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
			exe("lib/x86_64-linux-gnu/libc.so.6", goldenELF(elf.ET_DYN, "", []string{"ld-linux-x86-64.so.2"}, "libc.so.6", false)),
			exe("lib/x86_64-linux-gnu/libm.so.6", goldenELF(elf.ET_DYN, "", []string{"libc.so.6"}, "libm.so.6", false)),
			reg("usr/share/doc/libc6/README", "glibc docs"), exe("usr/bin/gcc", "gcc")),
		gzLayer(t, exe("usr/local/bin/server", goldenELF(elf.ET_DYN, ld, []string{"libc.so.6"}, "", false)),
			reg("usr/local/src/server/main.c", "int main(){}"), reg("usr/local/src/server/main.o", "obj")))
}

// goldenStaticApp is a static program with a config its command line names.
func goldenStaticApp(t testing.TB) v1.Image {
	server := exe("app/server", staticELF())
	server.Uid, server.Gid = 1000, 1001
	server.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	return testImage(t, v1.Config{Cmd: []string{"/app/server", "--config", "conf.json"}, WorkingDir: "/app"},
		gzLayer(t, dir("app/"), server, reg("app/conf.json", "{}"), reg("app/.git/HEAD", "ref\n"),
			reg("app/static/index.html", "<html>"), reg("usr/share/zoneinfo/UTC", "TZif2")))
}

// goldenHostile are odd and hostile tar shapes that slim without error
// (those that must fail are pinned by their error line).
func goldenHostile(t testing.TB) map[string]v1.Layer {
	good := tarOf(t, reg("keep", "k"), reg("junk", "j"))
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	zw.Write(good)
	zw.Close()
	long := strings.Repeat("d/", 60) + strings.Repeat("n", 200)
	xattr := reg("bin/ping", "ping")
	xattr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02", "LIBARCHIVE.creationtime": "1", "unknown.vendor.key": "v"}
	global := file{Header: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "git archive"}}}
	devices := []file{
		{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Devmajor: 8}},
		{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o600}},
	}
	sparse := file{Header: tar.Header{Typeflag: tar.TypeReg, Name: "junk-sparse", Mode: 0o644, Size: 3}, body: "abc"}
	return map[string]v1.Layer{
		"plain":            newBlobLayer(good, types.OCIUncompressedLayer, good),
		"zstd":             newBlobLayer(zbuf.Bytes(), "application/vnd.oci.image.layer.v1.tar+zstd", good),
		"unknown-type":     newBlobLayer(gzipOf(good), "application/x-unknown", good),
		"traversal":        rawLayer(t, tarOf(t, reg("../../etc/evil", "e"), reg("./../x", "x"), reg("junk", "j"))),
		"absolute":         rawLayer(t, tarOf(t, reg("/abs/file", "a"), reg("/abs/junk", "j"))),
		"symlinks-out":     rawLayer(t, tarOf(t, symlinkTo("link", "../../../../etc/shadow"), symlinkTo("abs", "/etc/shadow"), reg("junk", "j"))),
		"hardlink-climb":   rawLayer(t, tarOf(t, reg("etc/f", "f"), hardlink("l", "../../etc/f"), reg("junk", "j"))),
		"hardlink-promote": rawLayer(t, tarOf(t, reg("junk/lib", "L"), hardlink("app/lib", "junk/lib"))),
		"dups-all-go":      rawLayer(t, tarOf(t, reg("dup", "1"), reg("dup", "2"), reg("keep", "k"))),
		"dups-last-shows":  rawLayer(t, tarOf(t, reg("dup", "1"), reg("dup", "2"), reg("junk", "j"))),
		"file-over-dir":    rawLayer(t, tarOf(t, dir("x/"), reg("x/in", "i"), reg("x", "file"), reg("junk", "j"))),
		"trailing-bytes":   rawLayer(t, append(append([]byte(nil), good...), bytes.Repeat([]byte("trailing"), 1000)...)),
		"long-names-pax":   rawLayer(t, tarOf(t, reg(long, "l"), xattr, global, reg("junk", "j"))),
		"odd-names":        rawLayer(t, tarOf(t, reg("a\nb", "1"), reg("\x1b[2J", "2"), reg("caf\xe9", "3"), reg("junk", "j"))),
		"devices":          rawLayer(t, tarOf(t, append(devices, reg("junk", "j"))...)),
		"odd-whiteouts":    rawLayer(t, tarOf(t, reg(".wh..wh..opq", ""), reg("etc/.wh.", ""), dir("w/.wh.d/"), reg("x/.wh.missing", "content"), reg("keep", "k"), reg("junk", "j"))),
		"whiteout-before":  rawLayer(t, tarOf(t, reg("a/.wh.f", ""), reg("a/f", "f"), reg("junk", "j"))),
		"truncated-tar":    rawLayer(t, good[:700]),
		"not-a-tar":        rawLayer(t, []byte(strings.Repeat("garbage!", 200))),
		"empty-blob":       newBlobLayer(nil, types.OCIUncompressedLayer, nil),
		"pax-names":        rawLayer(t, tarOf(t, sparse, reg("keep", "k"))),
	}
}

// goldenFuzzInputs are FuzzImage's seeds and corpus: the generated layers
// and the rule mask.
func goldenFuzzInputs(t testing.TB) map[string]struct {
	data []byte
	mask uint8
} {
	out := map[string]struct {
		data []byte
		mask uint8
	}{
		"seed1": {[]byte{0, 0, 0, 1, 3, 6, 7, 0, 3, 3}, 1},
		"seed2": {[]byte{2, 0, 0, 1, 3, 3, 7, 0, 6, 1, 0, 2}, 0b11},
		"seed3": {[]byte{0, 4, 3, 0, 7, 0, 3, 3, 5, 4, 0, 4}, 0b100},
		"seed4": {[]byte{0, 1, 11, 2, 7, 0, 0, 1, 14, 1, 0, 4, 3, 5}, 0b1011},
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzImage/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 {
			continue
		}
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "byte("), ")"))
		if err != nil || len(m) != 1 {
			t.Fatalf("%s: mask %q: %v", f, lines[2], err)
		}
		out["corpus-"+filepath.Base(f)] = struct {
			data []byte
			mask uint8
		}{[]byte(data), m[0]}
	}
	return out
}

// goldenGenerated is testdata/gen's bloated image at a small size.
func goldenGenerated(t testing.TB) v1.Image {
	dir := filepath.Join(t.TempDir(), "gen")
	cmd := exec.Command("go", "run", "../testdata/gen", "-out", dir, "-tag", "demo", "-size", "3MB")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testdata/gen: %v\n%s", err, out)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("gen's layout: %v, %v", im, err)
	}
	img, err := p.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func goldenRulesFile(t testing.TB, name string) *Rules {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pats, err := ParsePatterns(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRules(pats, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func goldenTwoPlatforms(t testing.TB) v1.ImageIndex {
	amd := goldenStaticApp(t)
	arm := testImage(t, v1.Config{Cmd: []string{"/app/main"}}, gzLayer(t, reg("app/.git/HEAD", "y"), exe("app/main", staticELF()), reg("usr/share/doc/x/README", "doc")))
	cf, _ := arm.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	arm, _ = mutate.ConfigFile(arm, cf)
	arm = viaLayout(t, arm)
	att := testImage(t, v1.Config{}, gzLayer(t, reg("in-toto.json", "{}")))
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, Annotations: map[string]string{"a": "b"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
}

func TestGolden(t *testing.T) {
	got := map[string]string{}
	add := func(name string, g goldenRun) { got[name] = g.line() }

	node := goldenNodeApp(t)
	add("node/none", goldenImage(t, node))
	add("node/all", goldenImage(t, node, WithSets(AllSets...)))
	for _, set := range append(AllSets[:len(AllSets):len(AllSets)], OptInSets...) {
		add("node/set="+set, goldenImage(t, node, WithSets(set)))
	}
	add("node/all+keep", goldenImage(t, node, WithSets(AllSets...),
		WithRules(mustRulesKeep(t, []string{"usr/share/locale", "app/src"}, []string{"usr/share/doc/**", "app/.env", "app/src/types.d.ts"}))))
	add("node/rules-hardlink-target", goldenImage(t, node, WithRules(mustRules(t, "app/dist/server.js", "usr/share/doc"))))
	add("node/user=node+chown", goldenImage(t, node, WithSets(AllSets...), WithUser("node"), WithChown("/app")))
	add("node/user=1234:1234", goldenImage(t, node, WithUser("1234:1234")))
	add("node/user=root", goldenImage(t, node, WithUser("root")))
	add("node/user=root:0", goldenImage(t, node, WithUser("0:0")))
	add("node/user=bad", goldenImage(t, node, WithUser(":x")))
	add("node/chown-default-user", goldenImage(t, node, WithChown("/app", "/tmp")))
	add("node/scrub+description", goldenImage(t, node, WithSets(SetVCS), WithScrubHistory(), WithDescription("imgslim --test")))
	add("node/uncompressed", goldenImage(t, node, WithSets(SetCaches), WithoutCompression()))
	add("node/level1", goldenImage(t, node, WithSets(SetCaches), WithCompression(1)))
	add("node/jobs1", goldenImage(t, node, WithSets(AllSets...), WithJobs(1)))
	add("node/dry-run", goldenDryRun(t, node, WithSets(AllSets...)))
	add("node/dry-run-none", goldenDryRun(t, node))
	add("node/scratch", goldenScratch(t, node, WithSets(AllSets...)))

	secretsApp := contentSecretsApp(t)
	add("secrets/all", goldenImage(t, secretsApp, WithSets(AllSets...)))
	add("secrets/none", goldenImage(t, secretsApp))
	add("secrets/dry-run", goldenDryRun(t, secretsApp, WithSets(SetSecrets)))

	cfg := v1.Config{Cmd: []string{"python3", "/app/app.py"}, WorkingDir: "/app", Env: []string{"PATH=/usr/bin:/bin"}}
	deb := debianImage(t, cfg, debianBase, flaskPackages, flaskAuto,
		reg("app/app.py", "import os, sys\nfrom flask import Flask\nfrom . import local\n"), reg("app/local.py", "import json\n"),
		reg("usr/lib/python3/dist-packages/dotenv/__pycache__/__init__.cpython-311.pyc", "pyc"))
	add("debian/all", goldenImage(t, deb, WithSets(AllSets...)))
	add("debian/packages", goldenImage(t, deb, WithSets(SetPackages)))
	add("debian/buildtools+packages+keep-package", goldenImage(t, deb, WithSets(SetBuildTools, SetPackages), WithKeepPackages("less", "curl")))
	add("debian/keep-package-unknown", goldenImage(t, deb, WithSets(SetPackages), WithKeepPackages("nosuch")))
	add("debian/docs", goldenImage(t, deb, WithSets(SetDocs)))
	add("debian/dry-run", goldenDryRun(t, deb, WithSets(append(AllSets[:len(AllSets):len(AllSets)], SetPackages)...)))

	goApp := goldenGoApp(t)
	add("go/all", goldenImage(t, goApp, WithSets(AllSets...)))
	add("go/scratch", goldenScratch(t, goApp, WithSets(AllSets...)))
	add("go/scratch-no-tz", goldenScratch(t, goApp, WithoutTZ(), WithAdd("/app/config.yaml")))
	cApp := goldenCApp(t)
	add("c/all", goldenImage(t, cApp, WithSets(AllSets...)))
	add("c/scratch", goldenScratch(t, cApp, WithSets(AllSets...)))
	static := goldenStaticApp(t)
	add("static/scratch", goldenScratch(t, static))
	add("static/scratch-binary", goldenScratch(t, static, WithBinary("/app/server"), WithCreated(time.Unix(1600000000, 0))))
	add("static/all", goldenImage(t, static, WithSets(AllSets...), WithUser("1000")))

	idx := goldenTwoPlatforms(t)
	add("index/vcs+docs", goldenIndex(t, idx, WithSets(SetVCS, SetDocs)))
	add("index/dry-run", goldenPlanIndex(t, idx, WithSets(SetVCS, SetDocs)))

	hostile := goldenHostile(t)
	for _, name := range sortedKeys(hostile) {
		src := testImage(t, v1.Config{User: "1000"}, hostile[name])
		add("hostile/"+name, goldenImage(t, src, WithRules(mustRules(t, "junk", "abs/junk")), WithSets(AllSets...)))
	}

	fuzz := goldenFuzzInputs(t)
	for _, name := range sortedKeys(fuzz) {
		in := fuzz[name]
		var patterns []string
		for i, p := range fuzzRules {
			if in.mask&(1<<i) != 0 {
				patterns = append(patterns, p)
			}
		}
		var vls []v1.Layer
		for _, fs := range genImage(in.data) {
			vls = append(vls, gzLayer(t, fs...))
		}
		if len(vls) == 0 {
			continue
		}
		src := testImage(t, v1.Config{User: "1000"}, vls...)
		add("fuzz/"+name, goldenImage(t, src, WithRules(mustRules(t, patterns...))))
	}

	gen := goldenGenerated(t)
	add("gen/demo-rules", goldenImage(t, gen, WithSets(AllSets...), WithRules(goldenRulesFile(t, "../testdata/demo.rules"))))
	add("gen/none", goldenImage(t, gen))
	add("gen/dry-run", goldenDryRun(t, gen, WithSets(AllSets...)))

	var b strings.Builder
	for _, k := range sortedKeys(got) {
		fmt.Fprintf(&b, "%s %s\n", k, got[k])
	}
	if *updateGolden {
		if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readGolden(t)
	for _, k := range sortedKeys(got) {
		if w, ok := want[k]; !ok {
			t.Errorf("%s: got %s, not in %s (run with -update)", k, got[k], goldenFile)
		} else if w != got[k] {
			t.Errorf("%s:\n got  %s\n want %s", k, got[k], w)
		}
	}
	for _, k := range sortedKeys(want) {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: in %s, not run", k, goldenFile)
		}
	}
}

func readGolden(t *testing.T) map[string]string {
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		out[k] = v
	}
	return out
}

func mustRulesKeep(t testing.TB, remove, keep []string) *Rules {
	r, err := NewRules(remove, keep)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
