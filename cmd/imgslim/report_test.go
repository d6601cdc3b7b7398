package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/imgslim/imgslim/slim"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// reportSchema compiles docs/report.schema.json, the report's contract.
func reportSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile(filepath.Join("..", "..", "docs", "report.schema.json"))
	})
	if schemaErr != nil {
		t.Fatalf("compiling the report schema: %v", schemaErr)
	}
	return schema
}

// validReport checks a JSON report against the schema, and that it has no
// key the Go types do not know (the schema and the types agree), and
// returns it.
func validReport(t testing.TB, b []byte) *slim.Document {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	if err := reportSchema(t).Validate(inst); err != nil {
		t.Fatalf("report does not match docs/report.schema.json: %v\n%s", err, b)
	}
	var doc slim.Document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("parsing report: %v\n%s", err, b)
	}
	return &doc
}

// staticELF is the smallest static x86-64 executable: an ELF header and
// one loadable segment that calls exit(0).
func staticELF() []byte {
	var b bytes.Buffer
	code := []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05} // mov eax,60; xor edi,edi; syscall
	const base, hdr = 0x400000, 64 + 56
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	le := binary.LittleEndian
	w := func(v any) { binary.Write(&b, le, v) }
	w(uint16(2))               // ET_EXEC
	w(uint16(62))              // EM_X86_64
	w(uint32(1))               // version
	w(uint64(base + hdr))      // entry
	w(uint64(64))              // phoff
	w(uint64(0))               // shoff
	w(uint32(0))               // flags
	w(uint16(64))              // ehsize
	w(uint16(56))              // phentsize
	w(uint16(1))               // phnum
	w(uint16(64))              // shentsize
	w(uint16(0))               // shnum
	w(uint16(0))               // shstrndx
	w(uint32(1))               // PT_LOAD
	w(uint32(5))               // R+X
	w(uint64(0))               // offset
	w(uint64(base))            // vaddr
	w(uint64(base))            // paddr
	w(uint64(hdr + len(code))) // filesz
	w(uint64(hdr + len(code))) // memsz
	w(uint64(0x1000))          // align
	b.Write(code)
	return b.Bytes()
}

// staticFixture is an image whose entrypoint is a static program, for
// --scratch.
func staticFixture(t testing.TB) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layerOf(t, types.OCILayer,
		ent{name: "etc/"},
		ent{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
		ent{name: "usr/"}, ent{name: "usr/bin/"},
		ent{name: "usr/bin/server", body: string(staticELF()), mode: 0o755},
		ent{name: "usr/share/"}, ent{name: "usr/share/doc/"},
		ent{name: "usr/share/doc/README", body: "docs"},
	), History: v1.History{CreatedBy: "COPY server"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/usr/bin/server"}
	cf.Config.Env = []string{"PATH=/usr/bin", "GITHUB_TOKEN=ghp_" + strings.Repeat("a1B2", 9)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestReportSchema checks the JSON report of every mode against
// docs/report.schema.json: slim, dry run, index, scratch, analyze, and a
// run that fails a gate, whose report is written all the same.
func TestReportSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "oci:" + srcLayout(t) + ":src"
	scratchDir := filepath.Join(dir, "static")
	writeLayout(t, scratchDir, "src", staticFixture(t))
	host := memRegistry(t)
	idx, _ := multiFixture(t)
	pushIndex(t, host+"/schema/src:v1", idx)

	for _, tc := range []struct {
		name     string
		args     []string
		stdout   bool // the report is analyze --json's stdout
		wantCode int
		mode     string
		images   int
	}{
		{"slim", append([]string{src, "oci:" + filepath.Join(dir, "slim")}, fixRemove...), false, exitOK, slim.ModeSlim, 1},
		{"dry run", append([]string{"--dry-run", src, "oci:" + filepath.Join(dir, "dry")}, fixRemove...), false, exitOK, slim.ModeSlim, 1},
		{"index", []string{"docker://" + host + "/schema/src:v1", "docker://" + host + "/schema/out:v1"}, false, exitOK, slim.ModeIndex, 2},
		{"index dry run", []string{"--dry-run", "docker://" + host + "/schema/src:v1", "docker://" + host + "/schema/out:v2"}, false, exitOK, slim.ModeIndex, 2},
		{"scratch", []string{"--scratch", "oci:" + scratchDir + ":src", "oci:" + filepath.Join(dir, "scratch")}, false, exitOK, slim.ModeScratch, 1},
		{"gate failed", []string{"--max-size", "1kB", src, "oci:" + filepath.Join(dir, "gate")}, false, exitGate, slim.ModeSlim, 1},
		{"scratch gate failed", []string{"--scratch", "--max-size", "1B", "oci:" + scratchDir + ":src", "oci:" + filepath.Join(dir, "scratch-gate")}, false, exitGate, slim.ModeScratch, 1},
		{"analyze", []string{"analyze", "--json", src}, true, exitOK, slim.ModeAnalyze, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := filepath.Join(t.TempDir(), "report.json")
			args := tc.args
			if !tc.stdout {
				args = append([]string{"-q", "--report", rp}, args...)
			} else {
				args = append(args[:1:1], append([]string{"-q"}, args[1:]...)...)
			}
			r := imgslim(t, args...)
			if r.code != tc.wantCode {
				t.Fatalf("got exit %d, want %d; stderr %s", r.code, tc.wantCode, r.stderr)
			}
			b := []byte(r.stdout)
			if !tc.stdout {
				var err error
				if b, err = os.ReadFile(rp); err != nil {
					t.Fatalf("report not written: %v", err)
				}
			}
			doc := validReport(t, b)
			if doc.Mode != tc.mode || len(doc.Images) != tc.images || doc.SchemaVersion != slim.SchemaVersion {
				t.Errorf("got mode %q, %d images, schema %d; want %q, %d, %d", doc.Mode, len(doc.Images), doc.SchemaVersion, tc.mode, tc.images, slim.SchemaVersion)
			}
			if doc.Source.Digest == "" {
				t.Errorf("source %q has no digest", doc.Source.Ref)
			}
			wrote := tc.wantCode == exitOK && !doc.DryRun
			if got := doc.Target != nil && doc.Target.Digest != ""; got != wrote {
				t.Errorf("target %+v: want a digest %v", doc.Target, wrote)
			}
			if tc.wantCode != exitOK && (doc.Failure == "" || len(doc.Gates) == 0 || doc.Gates[0].Passed) {
				t.Errorf("failed run: got failure %q, gates %+v; want the failed gate", doc.Failure, doc.Gates)
			}
			for _, img := range doc.Images {
				if img.SourceDigest == "" && tc.mode != slim.ModeScratch {
					t.Errorf("image %s has no source digest", img.Platform)
				}
				if tc.mode == slim.ModeSlim || tc.mode == slim.ModeIndex {
					if len(img.Layers) < img.Before.Layers {
						t.Errorf("image %s: %d layer reports for %d layers", img.Platform, len(img.Layers), img.Before.Layers)
					}
				}
			}
		})
	}
}
