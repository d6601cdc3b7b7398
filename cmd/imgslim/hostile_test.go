package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The manifest/config and CLI levels of the hostile-input corpus (issue
// 9), run through the command: each input is made here, each run must
// fail with one clear line, write nothing and leave the source as it was.
// The tar level is slim/hostile_test.go and layers/; registry faults are
// slim/locations/registry_test.go.

// putBlob writes b into the layout at dir and returns its digest.
func putBlob(t testing.TB, dir string, b []byte) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobPath(dir, h), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// retag points the index.json descriptor tagged tag at the blob b, stored
// in the layout, with media type mt: every digest the layout holds
// matches, only the content is hostile.
func retag(t testing.TB, dir, tag string, b []byte, mt types.MediaType) {
	t.Helper()
	h := putBlob(t, dir, b)
	editIndexJSON(t, dir, func(im *v1.IndexManifest) {
		for i, d := range im.Manifests {
			if d.Annotations[refNameAnnotation] == tag {
				im.Manifests[i].Digest, im.Manifests[i].Size, im.Manifests[i].MediaType = h, int64(len(b)), mt
			}
		}
	})
}

func editIndexJSON(t testing.TB, dir string, edit func(*v1.IndexManifest)) {
	t.Helper()
	p := filepath.Join(dir, "index.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(b, &im); err != nil {
		t.Fatal(err)
	}
	edit(&im)
	if b, err = json.Marshal(im); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites the manifest tagged tag with edit, stored under its
// new digest, and retags it.
func editManifest(t testing.TB, dir, tag string, edit func(m map[string]any)) {
	t.Helper()
	raw, err := readLayout(t, dir, tag).RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	retag(t, dir, tag, b, types.MediaType(m["mediaType"].(string)))
}

// editConfig replaces the config of the image tagged tag by b (its digest
// and size in the manifest follow).
func editConfig(t testing.TB, dir, tag string, b []byte) {
	t.Helper()
	h := putBlob(t, dir, b)
	editManifest(t, dir, tag, func(m map[string]any) {
		c := m["config"].(map[string]any)
		c["digest"], c["size"] = h.String(), len(b)
	})
}

func layerDesc(m map[string]any, i int) map[string]any {
	return m["layers"].([]any)[i].(map[string]any)
}

// readOnlyDir returns a new directory nobody can write in, root included:
// a read-only bind mount when running as root.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount --bind: %v: %s", err, out)
		}
		t.Skipf("cannot make a read-only directory as root: mount --bind: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); err == nil {
		t.Fatalf("%s is still writable", dir)
	}
	return dir
}

func TestHostileManifests(t *testing.T) {
	// src is the fixture in a layout, tampered with by tamper.
	src := func(tamper func(t *testing.T, dir string)) func(t *testing.T) ([]string, []spot) {
		return func(t *testing.T) ([]string, []spot) {
			dir := srcLayout(t)
			tamper(t, dir)
			out, s := newPath(t, "out")
			return append(append([]string{}, fixRemove...), "oci:"+dir+":src", "oci:"+out+":slim"), []spot{s, fileSpot(t, dir)}
		}
	}
	runFailCases(t, []failCase{
		{name: "schema 1 manifest", code: exitError, msg: []string{"manifest has schema version 1"},
			setup: src(func(t *testing.T, dir string) {
				m := `{"schemaVersion":1,"name":"library/x","tag":"v1","architecture":"amd64","fsLayers":[{"blobSum":"sha256:` + strings.Repeat("a", 64) + `"}],"history":[{"v1Compatibility":"{}"}],"signatures":[]}`
				retag(t, dir, "src", []byte(m), types.DockerManifestSchema1Signed)
			})},
		{name: "schema 1 manifest named as schema 2", code: exitError, msg: []string{"manifest has schema version 1"},
			setup: src(func(t *testing.T, dir string) {
				m := `{"schemaVersion":1,"name":"library/x","tag":"v1","architecture":"amd64","fsLayers":[],"history":[]}`
				retag(t, dir, "src", []byte(m), types.DockerManifestSchema2)
			})},
		{name: "manifest of no JSON", code: exitError, msg: []string{"parsing manifest: invalid character"},
			setup: src(func(t *testing.T, dir string) {
				retag(t, dir, "src", []byte("{\"schemaVersion\": 2, \"layers\": [garbage"), types.OCIManifestSchema1)
			})},
		{name: "config of no JSON", code: exitError, msg: []string{"parsing config sha256:"},
			setup: src(func(t *testing.T, dir string) {
				editConfig(t, dir, "src", []byte("not json at all"))
			})},
		{name: "index.json of no JSON", code: exitError, msg: []string{"reading OCI layout", "parsing index: unexpected EOF"},
			setup: src(func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[`), 0o644); err != nil {
					t.Fatal(err)
				}
			})},
		{name: "unknown manifest media type", code: exitError, msg: []string{"application/vnd.example.thing+json", "neither an image nor an index"},
			setup: src(func(t *testing.T, dir string) {
				raw, _ := readLayout(t, dir, "src").RawManifest()
				retag(t, dir, "src", raw, "application/vnd.example.thing+json")
			})},
		{name: "an index named as a manifest", code: exitError, msg: []string{"names no config"},
			setup: src(func(t *testing.T, dir string) {
				b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}})
				retag(t, dir, "src", b, types.OCIManifestSchema1)
			})},
		{name: "layer blob missing", code: exitError, msg: []string{"reading layer 2 (", "no such file"},
			setup: src(func(t *testing.T, dir string) {
				os.Remove(blobPath(dir, layoutManifest(t, dir, "src").Layers[1].Digest))
			})},
		{name: "untouched layer blob missing", code: exitError, msg: []string{"reading layer 4 (", "no such file"},
			setup: src(func(t *testing.T, dir string) {
				os.Remove(blobPath(dir, layoutManifest(t, dir, "src").Layers[fixStatic].Digest))
			})},
		{name: "config blob missing", code: exitError, msg: []string{"config sha256:", "no such file"},
			setup: src(func(t *testing.T, dir string) {
				cfg, _ := readLayout(t, dir, "src").ConfigName()
				os.Remove(blobPath(dir, cfg))
			})},
		{name: "layer size in the manifest too small", code: exitError, msg: []string{"reading layer 2 (", "layer size mismatch"},
			setup: src(func(t *testing.T, dir string) {
				editManifest(t, dir, "src", func(m map[string]any) {
					layerDesc(m, 1)["size"] = layerDesc(m, 1)["size"].(float64) - 100
				})
			})},
		{name: "layer size in the manifest too large", code: exitError, msg: []string{"reading layer 4 (", "layer size mismatch"},
			setup: src(func(t *testing.T, dir string) {
				editManifest(t, dir, "src", func(m map[string]any) {
					layerDesc(m, fixStatic)["size"] = layerDesc(m, fixStatic)["size"].(float64) + 100
				})
			})},
		{name: "more layers than diff IDs", code: exitError, msg: []string{"lists 6 layers, the manifest 7"},
			setup: src(func(t *testing.T, dir string) {
				editManifest(t, dir, "src", func(m map[string]any) {
					m["layers"] = append(m["layers"].([]any), layerDesc(m, 0))
				})
			})},
		{name: "fewer layers than diff IDs", code: exitError, msg: []string{"lists 6 layers, the manifest 2"},
			setup: src(func(t *testing.T, dir string) {
				editManifest(t, dir, "src", func(m map[string]any) {
					m["layers"] = m["layers"].([]any)[:2]
				})
			})},
		{name: "a layer whose digest is another layer's", code: exitError, msg: []string{"reading layer 3 (", "layer diff ID mismatch"},
			setup: src(func(t *testing.T, dir string) {
				editManifest(t, dir, "src", func(m map[string]any) {
					m["layers"].([]any)[2] = layerDesc(m, 3)
				})
			})},
		{name: "nested index blob changed", code: exitError, msg: []string{"digest mismatch"},
			setup: func(t *testing.T) ([]string, []spot) {
				dir := filepath.Join(t.TempDir(), "src")
				p, err := layout.Write(dir, empty.Index)
				if err != nil {
					t.Fatal(err)
				}
				inner := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: fixture(t, true),
					Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
				outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
				if err := p.AppendIndex(outer, layout.WithAnnotations(map[string]string{refNameAnnotation: "src"})); err != nil {
					t.Fatal(err)
				}
				d, _ := inner.Digest()
				b, _ := inner.RawManifest()
				b = bytes.Replace(b, []byte(`"amd64"`), []byte(`"arm64"`), 1)
				if err := os.WriteFile(blobPath(dir, d), b, 0o644); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return append(append([]string{}, fixRemove...), "oci:"+dir+":src", "oci:"+out+":slim"), []spot{s, fileSpot(t, dir)}
			}},
		{name: "docker-archive: manifest.json of no JSON", code: exitError, msg: []string{"parsing manifest.json of"},
			setup: func(t *testing.T) ([]string, []spot) {
				p := filepath.Join(t.TempDir(), "bad.tar")
				if err := os.WriteFile(p, tarOf(t, ent{name: "manifest.json", body: `[{"Config": "x.json",`}), 0o644); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return []string{"docker-archive:" + p, "oci:" + out}, []spot{s, fileSpot(t, p)}
			}},
		{name: "docker-archive: a layer listed twice, diff IDs once", code: exitError, msg: []string{"config lists 6 layers, manifest.json 7"},
			setup: func(t *testing.T) ([]string, []spot) {
				p := filepath.Join(t.TempDir(), "saved.tar")
				writePlainArchive(t, p, "example.com/fixture/src:v1", fixture(t, false))
				rewriteArchiveMember(t, p, "manifest.json", func(b []byte) []byte {
					var m []map[string]any
					if err := json.Unmarshal(b, &m); err != nil {
						t.Fatal(err)
					}
					ls := m[0]["Layers"].([]any)
					m[0]["Layers"] = append(ls, ls[0])
					b, _ = json.Marshal(m)
					return b
				})
				out, s := newPath(t, "out")
				return append(append([]string{}, fixRemove...), "docker-archive:"+p, "oci:"+out), []spot{s, fileSpot(t, p)}
			}},
		{name: "oci-archive cut short", code: exitError, msg: []string{"past the end of the archive"},
			setup: func(t *testing.T) ([]string, []spot) {
				dir := srcLayout(t)
				p := filepath.Join(t.TempDir(), "src.tar")
				tarDirFile(t, dir, p)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b[:len(b)/2+100], 0o644); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return append(append([]string{}, fixRemove...), "oci-archive:"+p+":src", "oci:"+out), []spot{s, fileSpot(t, p)}
			}},
	})
}

// rewriteArchiveMember replaces the member name of the tar at p by what
// edit makes of it.
func rewriteArchiveMember(t testing.TB, p, name string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		body := new(bytes.Buffer)
		body.ReadFrom(tr)
		data := body.Bytes()
		if h.Name == name {
			data = edit(data)
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Targets that cannot be written: refused before any work, nothing
// written anywhere.
func TestHostileTargets(t *testing.T) {
	src := func(t *testing.T) (string, spot) {
		dir := srcLayout(t)
		return "oci:" + dir + ":src", fileSpot(t, dir)
	}
	dirSpot := func(t *testing.T, dir string) spot {
		return spot{"directory " + dir, func() string { return treeHash(t, dir) }}
	}
	runFailCases(t, []failCase{
		{name: "oci layout in a read-only directory", code: exitError, msg: []string{"cannot write oci:", "read-only file system"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				ro := readOnlyDir(t)
				return append(append([]string{}, fixRemove...), s, "oci:"+filepath.Join(ro, "out")+":slim"), []spot{ss, dirSpot(t, ro)}
			}},
		{name: "existing oci layout made read-only", code: exitError, msg: []string{"cannot write oci:", "read-only file system"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				dir := t.TempDir()
				writeLayout(t, filepath.Join(dir, "out"), "old", fixture(t, true, "arm64"))
				mountReadOnly(t, dir)
				return append(append([]string{}, fixRemove...), s, "oci:"+filepath.Join(dir, "out")+":slim"), []spot{ss, dirSpot(t, dir)}
			}},
		{name: "docker-archive in a read-only directory", code: exitError, msg: []string{"cannot write docker-archive:", "read-only file system"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				ro := readOnlyDir(t)
				return append(append([]string{}, fixRemove...), s, "docker-archive:"+filepath.Join(ro, "out.tar")), []spot{ss, dirSpot(t, ro)}
			}},
		{name: "--report in a read-only directory", code: exitError, msg: []string{"cannot write --report", "read-only file system"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				ro := readOnlyDir(t)
				out, os := newPath(t, "out")
				return append(append([]string{"--report", filepath.Join(ro, "r.json")}, fixRemove...), s, "oci:"+out), []spot{ss, os, dirSpot(t, ro)}
			}},
		{name: "--report naming a device", code: exitError, msg: []string{"cannot write --report /dev/null", "is a character device"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				out, os := newPath(t, "out")
				return append(append([]string{"--report", "/dev/null"}, fixRemove...), s, "oci:"+out), []spot{ss, os, devSpot("/dev/null")}
			}},
		{name: "--digest-file naming a device", code: exitError, msg: []string{"cannot write --digest-file /dev/null", "is a character device"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				out, os := newPath(t, "out")
				return append(append([]string{"--digest-file", "/dev/null"}, fixRemove...), s, "oci:"+out), []spot{ss, os, devSpot("/dev/null")}
			}},
		{name: "--report naming a directory", code: exitError, msg: []string{"cannot write --report", "is a directory, not a regular file"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				out, os := newPath(t, "out")
				d := t.TempDir()
				return append(append([]string{"--report", d}, fixRemove...), s, "oci:"+out), []spot{ss, os, dirSpot(t, d)}
			}},
		{name: "oci layout target that is a file", code: exitError, msg: []string{"is a regular file, not an OCI layout directory"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				p := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(p, []byte("a file"), 0o644); err != nil {
					t.Fatal(err)
				}
				return append(append([]string{}, fixRemove...), s, "oci:"+p+":slim"), []spot{ss, fileSpot(t, p)}
			}},
		{name: "oci-archive target that is a fifo", code: exitError, msg: []string{"is a named pipe, not a regular file"},
			setup: func(t *testing.T) ([]string, []spot) {
				s, ss := src(t)
				p := filepath.Join(t.TempDir(), "fifo")
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Fatal(err)
				}
				return append(append([]string{}, fixRemove...), s, "oci-archive:"+p), []spot{ss, dirSpot(t, filepath.Dir(p))}
			}},
	})
}

// mountReadOnly makes dir, as it is, read-only for root too.
func mountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o555)
			}
			return nil
		})
		t.Cleanup(func() {
			filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.IsDir() {
					os.Chmod(p, 0o755)
				}
				return nil
			})
		})
		return
	}
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount --bind: %v: %s", err, out)
		}
		t.Skipf("cannot make a read-only directory as root: mount --bind: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
}

// devSpot is a device node that must stay one.
func devSpot(p string) spot {
	return spot{"device " + p, func() string {
		fi, err := os.Lstat(p)
		if err != nil {
			return err.Error()
		}
		return fi.Mode().String()
	}}
}
