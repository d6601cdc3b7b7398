package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// spot is a place a failed run must leave as it was: a source, or a
// target that did not exist.
type spot struct {
	what  string
	state func() string // a fingerprint of what is there
}

// fileSpot is a file or directory that exists: its contents must not
// change.
func fileSpot(t testing.TB, p string) spot {
	return spot{"source " + p, func() string {
		if !exists(p) {
			return "absent"
		}
		return treeHash(t, p)
	}}
}

// newPath returns a path in a new directory, and a spot that is the whole
// directory: a failed run leaves neither the path nor a temporary file.
func newPath(t testing.TB, base string) (string, spot) {
	dir := t.TempDir()
	return filepath.Join(dir, base), spot{"target directory " + dir, func() string {
		return fmt.Sprint(dirNames(t, dir))
	}}
}

func regSpot(t testing.TB, ref string, auth authn.Authenticator) spot {
	return spot{"registry " + ref, func() string { return remoteDigest(t, ref, auth) }}
}

func daemonSpot(ref string) spot {
	return spot{"daemon " + ref, func() string { return daemonID(ref) }}
}

// failCase is a run that must fail.
type failCase struct {
	name  string
	needs func(t *testing.T)
	// setup makes the places and returns the arguments (after -q) and the
	// places that must not change.
	setup func(t *testing.T) ([]string, []spot)
	code  int
	// msg: the one stderr line holds every one of these (case-insensitive).
	msg []string
}

func runFailCases(t *testing.T, cases []failCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runFailCase(t, tc) })
	}
}

// runFailCasesParallel is runFailCases with the cases run in parallel:
// for cases that set nothing for the process (no t.Setenv) and share no
// target.
func runFailCasesParallel(t *testing.T, cases []failCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFailCase(t, tc)
		})
	}
}

func runFailCase(t *testing.T, tc failCase) {
	t.Helper()
	if tc.needs != nil {
		tc.needs(t)
	}
	args, spots := tc.setup(t)
	before := make([]string, len(spots))
	for i, s := range spots {
		before[i] = s.state()
	}
	res := imgslim(t, append([]string{"-q"}, args...)...)
	if res.code != tc.code {
		t.Errorf("imgslim %s: exit: got %d, want %d\nstderr: %s", strings.Join(args, " "), res.code, tc.code, res.stderr)
	}
	lines := res.stderrLines()
	if len(lines) != 1 {
		t.Errorf("stderr: got %d lines %q, want 1", len(lines), lines)
	} else {
		for _, m := range tc.msg {
			if !strings.Contains(strings.ToLower(lines[0]), strings.ToLower(m)) {
				t.Errorf("stderr: got %q, want it to name %q", lines[0], m)
			}
		}
		if !strings.HasPrefix(lines[0], "imgslim: ") {
			t.Errorf("stderr: got %q, want it to start with %q", lines[0], "imgslim: ")
		}
	}
	if res.stdout != "" {
		t.Errorf("stdout: got %q, want nothing", res.stdout)
	}
	for i, s := range spots {
		if after := s.state(); after != before[i] {
			t.Errorf("%s: got %q after the failed run, want %q as before", s.what, after, before[i])
		}
	}
}

// srcLayout writes the fixture to a new OCI layout tagged "src".
func srcLayout(t testing.TB) string {
	dir := filepath.Join(t.TempDir(), "src")
	writeLayout(t, dir, "src", fixture(t, true))
	return dir
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	srcRef := host + "/bad/src:v1"
	pushImage(t, srcRef, fixture(t, false), nil)
	docker := func(t *testing.T) { dockertest.Require(t) }

	runFailCases(t, []failCase{
		// Usage.
		{name: "unknown location syntax", code: exitUsage, msg: []string{"foo://x"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"foo://x", "oci:" + out}, []spot{s}
			}},
		{name: "unknown target syntax", code: exitUsage, msg: []string{"foo://x"},
			setup: func(t *testing.T) ([]string, []spot) {
				return []string{"docker://" + srcRef, "foo://x"}, []spot{regSpot(t, srcRef, nil)}
			}},
		{name: "unsupported transport", code: exitUsage, msg: []string{"dir:"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"dir:" + out, "oci:" + out}, []spot{s}
			}},
		{name: "one argument", code: exitUsage, msg: []string{"SOURCE and TARGET"},
			setup: func(t *testing.T) ([]string, []spot) { return []string{"docker://" + srcRef}, nil }},
		{name: "unknown flag", code: exitUsage, msg: []string{"--bogus"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--bogus", "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "bad pattern", code: exitUsage, msg: []string{"pattern", "["},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--remove", "[", "docker://" + srcRef, "oci:" + out}, []spot{s, regSpot(t, srcRef, nil)}
			}},
		{name: "bad keep pattern", code: exitUsage, msg: []string{"pattern"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--remove", "/app", "--keep", "a[", "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "missing rules file", code: exitUsage, msg: []string{"--rules", "nope.rules"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--rules", filepath.Join(t.TempDir(), "nope.rules"), "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "bad platform", code: exitUsage, msg: []string{"--platform"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--platform", "a/b/c/d", "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "bad compression level", code: exitUsage, msg: []string{"--compression-level"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--compression-level", "10", "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "bad user", code: exitError, msg: []string{"user"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--user", "1000:nogroup", "docker://" + srcRef, "oci:" + out}, []spot{s}
			}},
		{name: "daemon target without a tag", code: exitUsage, msg: []string{"tag"},
			setup: func(t *testing.T) ([]string, []spot) {
				return []string{"docker://" + srcRef, "docker-daemon:imgslim-test/x@sha256:" + strings.Repeat("a", 64)}, nil
			}},
		{name: "bare target from a file source", code: exitUsage, msg: []string{"no default place"},
			setup: func(t *testing.T) ([]string, []spot) {
				src := srcLayout(t)
				return []string{"oci:" + src + ":src", "imgslim-test/x:v1"}, []spot{fileSpot(t, src)}
			}},

		// Image not found.
		{name: "registry: no such image", code: exitError, msg: []string{"bad/nope"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"docker://" + host + "/bad/nope:v1", "oci:" + out}, []spot{s}
			}},
		{name: "registry: no such tag", code: exitError, msg: []string{"bad/src:v2"},
			setup: func(t *testing.T) ([]string, []spot) {
				dst := host + "/bad/out:" + uniq()
				return []string{"docker://" + host + "/bad/src:v2", "docker://" + dst}, []spot{regSpot(t, dst, nil)}
			}},
		{name: "registry not answering", code: exitError, msg: []string{"127.0.0.1:1"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"docker://127.0.0.1:1/bad/src:v1", "oci:" + out}, []spot{s}
			}},
		{name: "bare reference in no daemon and no registry", code: exitError, msg: []string{"bad/nope"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{host + "/bad/nope:v1", "oci:" + out}, []spot{s}
			}},
		{name: "oci layout: no such tag", code: exitError, msg: []string{"nope"},
			setup: func(t *testing.T) ([]string, []spot) {
				src := srcLayout(t)
				out, s := newPath(t, "out")
				return []string{"oci:" + src + ":nope", "oci:" + out}, []spot{s, fileSpot(t, src)}
			}},
		{name: "oci layout: no such directory", code: exitError, msg: []string{"nowhere"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"oci:" + filepath.Join(t.TempDir(), "nowhere") + ":src", "oci:" + out}, []spot{s}
			}},
		{name: "oci layout: two images and no tag", code: exitError, msg: []string{"2 images"},
			setup: func(t *testing.T) ([]string, []spot) {
				src := srcLayout(t)
				p, err := layout.FromPath(src)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.AppendImage(fixture(t, true, "arm64"), layout.WithAnnotations(map[string]string{refNameAnnotation: "other"})); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return []string{"oci:" + src, "oci:" + out}, []spot{s, fileSpot(t, src)}
			}},
		{name: "oci-archive: no such file", code: exitError, msg: []string{"none.tar"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"oci-archive:" + filepath.Join(t.TempDir(), "none.tar"), "oci:" + out}, []spot{s}
			}},
		{name: "docker-archive: no such file", code: exitError, msg: []string{"none.tar"},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"docker-archive:" + filepath.Join(t.TempDir(), "none.tar"), "oci:" + out}, []spot{s}
			}},
		{name: "docker-archive: not an archive", code: exitError, msg: []string{"not a docker-archive"},
			setup: func(t *testing.T) ([]string, []spot) {
				p := filepath.Join(t.TempDir(), "junk.tar")
				if err := os.WriteFile(p, []byte(junk(9, 4096)), 0o644); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return []string{"docker-archive:" + p, "oci:" + out}, []spot{s, fileSpot(t, p)}
			}},
		{name: "docker-archive: no such image", code: exitError, msg: []string{"example.com/nope"},
			setup: func(t *testing.T) ([]string, []spot) {
				p := filepath.Join(t.TempDir(), "src.tar")
				writeArchive(t, p, "example.com/fixture/src:v1", fixture(t, false))
				out, s := newPath(t, "out")
				return []string{"docker-archive:" + p + ":example.com/nope:v1", "oci:" + out}, []spot{s, fileSpot(t, p)}
			}},
		{name: "docker-archive: two images and no name", code: exitError, msg: []string{"2 images"},
			setup: func(t *testing.T) ([]string, []spot) {
				p := filepath.Join(t.TempDir(), "two.tar")
				refs := map[name.Reference]v1.Image{}
				for _, arch := range []string{"amd64", "arm64"} {
					r, err := name.ParseReference("example.com/fixture/" + arch + ":v1")
					if err != nil {
						t.Fatal(err)
					}
					refs[r] = fixture(t, false, arch)
				}
				if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return []string{"docker-archive:" + p, "oci:" + out}, []spot{s, fileSpot(t, p)}
			}},
		{name: "oci-archive: entry outside the archive", code: exitError, msg: []string{"escapes"},
			setup: func(t *testing.T) ([]string, []spot) {
				dir := t.TempDir()
				p := filepath.Join(dir, "evil.tar")
				if err := os.WriteFile(p, tarOf(t, ent{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`}, ent{name: "../../../../../../tmp/imgslim-escaped-" + uniq(), body: "x"}), 0o644); err != nil {
					t.Fatal(err)
				}
				out, s := newPath(t, "out")
				return []string{"oci-archive:" + p, "oci:" + out}, []spot{s, {"directory " + dir, func() string { return treeHash(t, dir) }},
					{"/tmp", func() string {
						m, _ := filepath.Glob("/tmp/imgslim-escaped-*")
						return fmt.Sprint(m)
					}}}
			}},
		{name: "daemon: no such image", code: exitError, needs: docker, msg: []string{"imgslim-test/none"},
			setup: func(t *testing.T) ([]string, []spot) {
				dst := "imgslim-test/cli-out:" + uniq()
				rmiOnCleanup(t, dst)
				return []string{"docker-daemon:imgslim-test/none:" + uniq(), "docker-daemon:" + dst}, []spot{daemonSpot(dst)}
			}},
	})
}

// TestAuthRefused runs against the real registry with a wrong password and
// with none.
func TestAuthRefused(t *testing.T) {
	host, user, pass := dockertest.Registry(t)
	auth := &authn.Basic{Username: user, Password: pass}
	repo := host + "/imgslim-cli/auth-" + uniq()
	pushImage(t, repo+":src", fixture(t, false), auth)

	// The two failures say which they are.
	for _, creds := range []struct {
		name, why string
		set       func(t *testing.T)
	}{
		{"wrong password", "registry refused the credentials", func(t *testing.T) { dockerConfig(t, host, user, pass+"-wrong") }},
		{"no credentials", "no credentials found", func(t *testing.T) { t.Setenv("DOCKER_CONFIG", t.TempDir()) }},
	} {
		t.Run(creds.name, func(t *testing.T) {
			creds.set(t)
			runFailCases(t, []failCase{
				{name: "pull", code: exitError, msg: []string{repo + ":src", creds.why},
					setup: func(t *testing.T) ([]string, []spot) {
						out, s := newPath(t, "out")
						return []string{"docker://" + repo + ":src", "oci:" + out}, []spot{s, regSpot(t, repo+":src", auth)}
					}},
				{name: "push", code: exitError, msg: []string{repo + ":denied", creds.why},
					setup: func(t *testing.T) ([]string, []spot) {
						src := srcLayout(t)
						return []string{"oci:" + src + ":src", "docker://" + repo + ":denied"},
							[]spot{fileSpot(t, src), regSpot(t, repo+":denied", auth)}
					}},
			})
		})
	}
}

// ---------------------------------------------------------------------------
// Corrupt layers.

// layoutManifest returns the manifest tagged tag in the layout at dir.
func layoutManifest(t testing.TB, dir, tag string) *v1.Manifest {
	t.Helper()
	m, err := readLayout(t, dir, tag).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// flipBlobByte changes byte off of layer i's blob in place: its digest no
// longer matches.
func flipBlobByte(t testing.TB, dir, tag string, i int, off int64) {
	t.Helper()
	p := blobPath(dir, layoutManifest(t, dir, tag).Layers[i].Digest)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceLayer swaps layer i of the image tagged tag for blob, with a
// manifest and index.json that name it correctly: its digest matches, its
// content is what is wrong.
func replaceLayer(t testing.TB, dir, tag string, i int, blob []byte, mt types.MediaType) {
	t.Helper()
	write := func(b []byte) v1.Hash {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(blobPath(dir, h), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return h
	}
	m := layoutManifest(t, dir, tag)
	m.Layers[i].Digest = write(blob)
	m.Layers[i].Size = int64(len(blob))
	m.Layers[i].MediaType = mt
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	md := write(mb)

	ib, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(ib, &im); err != nil {
		t.Fatal(err)
	}
	for j, d := range im.Manifests {
		if d.Annotations[refNameAnnotation] == tag {
			im.Manifests[j].Digest, im.Manifests[j].Size = md, int64(len(mb))
		}
	}
	if ib, err = json.Marshal(im); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), ib, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCorruptLayer feeds a layer that is broken in each way, both as the
// layer nothing is removed from (copied as it is: only reading it whole
// finds the fault) and as one that is rewritten.
func TestCorruptLayer(t *testing.T) {
	t.Parallel()
	bigTar := tarOf(t, ent{name: "srv/"}, ent{name: "srv/big", body: junk(7, 64<<10)})
	corruptions := []struct {
		name    string
		corrupt func(t testing.TB, dir string, layer int)
		msg     string
	}{
		{"digest mismatch in the gzip header", func(t testing.TB, dir string, layer int) {
			// Byte 4 is the gzip MTIME: the stream still decompresses,
			// only the digest tells.
			flipBlobByte(t, dir, "src", layer, 4)
		}, "digest"},
		{"digest mismatch in the deflate data", func(t testing.TB, dir string, layer int) {
			flipBlobByte(t, dir, "src", layer, -12)
		}, ""},
		{"truncated gzip", func(t testing.TB, dir string, layer int) {
			gz := gzipped(t, bigTar)
			replaceLayer(t, dir, "src", layer, gz[:len(gz)/2], types.OCILayer)
		}, "EOF"},
		{"gzip of no tar", func(t testing.TB, dir string, layer int) {
			replaceLayer(t, dir, "src", layer, gzipped(t, []byte(junk(8, 4096))), types.OCILayer)
		}, "tar"},
		{"plain blob of no tar", func(t testing.TB, dir string, layer int) {
			replaceLayer(t, dir, "src", layer, []byte(strings.Repeat("not a tar\n", 300)), types.OCIUncompressedLayer)
		}, "tar"},
		{"plain layer content changed", func(t testing.TB, dir string, layer int) {
			// An uncompressed layer has no gzip checksum: only the
			// digest tells.
			replaceLayer(t, dir, "src", layer, bigTar, types.OCIUncompressedLayer)
			flipBlobByte(t, dir, "src", layer, 2000)
		}, "digest"},
		{"content not the config's diff_id", func(t testing.TB, dir string, layer int) {
			// A valid blob with the right digest, of a tar that is not
			// the one rootfs.diff_ids names.
			replaceLayer(t, dir, "src", layer, gzipped(t, bigTar), types.OCILayer)
		}, "diff"},
		{"tar cut short", func(t testing.TB, dir string, layer int) {
			replaceLayer(t, dir, "src", layer, gzipped(t, bigTar[:len(bigTar)/2]), types.OCILayer)
		}, "EOF"},
	}
	var cases []failCase
	for _, c := range corruptions {
		for _, layer := range []struct {
			name string
			i    int
		}{{"untouched layer", fixStatic}, {"rewritten layer", 1}} {
			msg := []string{fmt.Sprintf("layer %d", layer.i+1)}
			if c.msg != "" {
				msg = append(msg, c.msg)
			}
			cases = append(cases, failCase{
				name: c.name + ", " + layer.name, code: exitError, msg: msg,
				setup: func(t *testing.T) ([]string, []spot) {
					src := srcLayout(t)
					c.corrupt(t, src, layer.i)
					out, s := newPath(t, "out")
					return append(append([]string{}, fixRemove...), "oci:"+src+":src", "oci:"+out+":slim"), []spot{s, fileSpot(t, src)}
				},
			})
		}
	}

	// A docker save archive whose layer.tar no longer matches its diff ID.
	cases = append(cases, failCase{
		name: "docker-archive: layer content changed", code: exitError, msg: []string{"digest"},
		setup: func(t *testing.T) ([]string, []spot) {
			p := filepath.Join(t.TempDir(), "saved.tar")
			writePlainArchive(t, p, "example.com/fixture/src:v1", fixture(t, false))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// The pack's bytes are in layer 1: change one.
			i := bytes.Index(b, []byte(packBody[:64]))
			if i < 0 {
				t.Fatal("pack not found in the archive")
			}
			b[i+10] ^= 0x01
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, s := newPath(t, "out.tar")
			return append(append([]string{}, fixRemove...), "docker-archive:"+p, "docker-archive:"+out), []spot{s, fileSpot(t, p)}
		},
	})

	// A registry that serves the untouched layer with one byte changed.
	cases = append(cases, failCase{
		name: "registry serves a corrupt blob", code: exitError, msg: []string{"layer 4"},
		setup: func(t *testing.T) ([]string, []spot) {
			img := fixture(t, false)
			d, _ := digests(t, img)
			bad := d[fixStatic].String()
			reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad) {
					reg.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				reg.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				if len(body) > 4 {
					body[4] ^= 0x01
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
			}))
			t.Cleanup(srv.Close)
			h := strings.TrimPrefix(srv.URL, "http://")
			pushImage(t, h+"/bad/src:v1", img, nil)
			return append(append([]string{}, fixRemove...), "docker://"+h+"/bad/src:v1", "docker://"+h+"/bad/out:v1"),
				[]spot{regSpot(t, h+"/bad/src:v1", nil), regSpot(t, h+"/bad/out:v1", nil)}
		},
	})
	runFailCases(t, cases)
}
