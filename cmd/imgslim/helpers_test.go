// Tests of the imgslim command come in two builds (README.md, "Tests").
//
// Unit tests, in untagged files, run by `make unit` under -race: fixtures
// built in code (fixture, multiFixture, layerOf), places that need no service
// (OCI layouts and archives in t.TempDir(), memRegistry). No Docker daemon,
// no registry, no network.
//
// End-to-end tests, run by `make e2e` without -race against the services of
// .ci/services. To add one, put it in a file named *_e2e_test.go that starts
//
//	//go:build e2e
//
//	package main
//
// and in it:
//
//   - get every service from testdata/dockertest: dockertest.Require(t) (the
//     daemon), dockertest.Registry(t), dockertest.BaseImage(t), a fixture app
//     (dockertest.NodeTSApp(t), ...: built once per machine, cached by the hash
//     of its recipe). Do not skip on your own: these skip when run by hand
//     without the service and fail when CI=true;
//   - read a fixture as "docker-archive:"+dockertest.Saved(t, tag), saved once
//     per image and shared by every test and run, rather than
//     "docker-daemon:"+tag, which is another docker save of up to 1.5 GB;
//     keep docker-daemon: where the daemon is what the test is about;
//   - call t.Parallel() first, unless the test uses t.Setenv or must run
//     alone; run fixture apps with dockertest.RunApp, which serialises the
//     users of one fixed port;
//   - name what it creates in the daemon "imgslim-test/<area>-...:"+uniq() and
//     remove it (rmiOnCleanup; dockertest.BuildImage and RunDetached do);
//   - run the command with imgslim(t, args...), mustSlim or, for a longer
//     timeout, runCommand: in the e2e build they exec the imgslim binary
//     TestMain built once (command_e2e_test.go; do not add another TestMain).
//
// A table of cases of which only some need a service may stay in an untagged
// file: those cases call dockertest.Require(t) (or Registry) first, which
// skips them in the unit build; the e2e build compiles the untagged files too
// and runs every case.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// ---------------------------------------------------------------------------
// Running the command.

// result is what one run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

// imgslim runs the command with args, for at most two minutes: in-process
// in the unit build, as the built binary in the e2e build (runCommand).
func imgslim(t testing.TB, args ...string) result {
	t.Helper()
	return runCommand(2*time.Minute, args...)
}

// mustSlim runs the command and fails the test unless it exits 0.
func mustSlim(t testing.TB, args ...string) result {
	t.Helper()
	r := imgslim(t, args...)
	if r.code != exitOK {
		t.Fatalf("imgslim %s: got exit %d, want 0\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r
}

// stderrLines returns the non-empty lines of stderr.
func (r result) stderrLines() []string {
	var out []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// uniq returns a string unique to this test run, for tags and file names
// that must not collide with other tests or packages running at once.
var uniqCounter atomic.Int64

func uniq() string {
	return fmt.Sprintf("%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, uniqCounter.Add(1))
}

// ---------------------------------------------------------------------------
// Building fixture images.

// ent is one entry of a fixture layer. typ defaults to a regular file, or
// a directory when name ends in "/".
type ent struct {
	name string
	typ  byte
	body string
	link string // hardlink or symlink target
	mode int64
	uid  int
}

// fixedTime is the mtime of every fixture entry, so fixtures are
// byte-for-byte reproducible.
var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func tarOf(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, ModTime: fixedTime, Uid: e.uid, Gid: e.uid, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			if strings.HasSuffix(e.name, "/") {
				h.Typeflag = tar.TypeDir
			}
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		switch h.Typeflag {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeLink, tar.TypeSymlink:
			h.Linkname = e.link
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// layerOf builds a gzip layer of mediatype mt from entries.
func layerOf(t testing.TB, mt types.MediaType, entries ...ent) v1.Layer {
	t.Helper()
	raw := tarOf(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(mt))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// junk returns n bytes of reproducible, incompressible content.
func junk(seed int64, n int) string {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return string(b)
}

// The bloated fixture: what a single-stage build leaves, in six layers.
//
//	0 base    /etc/passwd (root only), /etc/group, /bin/app, /usr/share/doc
//	1 app     /app with a .git tree, and /app/pack.link, a hardlink to a
//	          pack in .git: the link is kept, its target removed
//	2 npm     /root/.npm/_cacache beside /root/.profile, which stays
//	3 static  /srv/index.html: nothing removed, the layer must be untouched
//	4 cache   /tmp/cache only: every file removed, the layer dropped
//	5 rm      a whiteout of /app/.git/HEAD (hides nothing once .git goes)
//	          and /app/new.txt
//
// and one empty-layer history entry (an ENV) between layers 2 and 3.
const (
	fixStatic    = 3 // index of the layer nothing is removed from
	fixDropped   = 4 // index of the layer every file is removed from
	fixOutLayers = 6 // 6 source layers - 1 dropped + 1 user layer
)

// fixRemove are the flags that slim the fixture.
var fixRemove = []string{"--remove", "**/.git", "--remove", "/root/.npm", "--remove", "/usr/share/doc", "--remove", "/tmp/cache"}

// fixGone are the trees fixRemove takes out of the fixture.
var fixGone = []string{"/app/.git", "/root/.npm", "/usr/share/doc", "/tmp/cache"}

var packBody = junk(1, 40<<10)

// fixture returns the bloated image, with Docker media types or OCI ones,
// for arch (amd64 unless given).
func fixture(t testing.TB, oci bool, arch ...string) v1.Image {
	t.Helper()
	lmt, base := types.DockerLayer, empty.Image
	if oci {
		lmt = types.OCILayer
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	a := "amd64"
	if len(arch) > 0 {
		a = arch[0]
	}
	layers := [][]ent{
		{
			{name: "etc/"},
			{name: "etc/passwd", body: "root:x:0:0:root:/root:/bin/sh\n"},
			{name: "etc/group", body: "root:x:0:\n"},
			{name: "bin/"},
			{name: "bin/app", body: "#!/bin/sh\necho " + a + "\n", mode: 0o755},
			{name: "usr/"},
			{name: "usr/share/"},
			{name: "usr/share/doc/"},
			{name: "usr/share/doc/app/"},
			{name: "usr/share/doc/app/README", body: junk(2, 8<<10)},
		},
		{
			{name: "app/"},
			{name: "app/main", body: "main " + a},
			{name: "app/.git/"},
			{name: "app/.git/HEAD", body: "ref: refs/heads/main\n"},
			{name: "app/.git/objects/"},
			{name: "app/.git/objects/pack/"},
			{name: "app/.git/objects/pack/pack-1.pack", body: packBody},
			{name: "app/pack.link", typ: tar.TypeLink, link: "app/.git/objects/pack/pack-1.pack"},
			{name: "app/lib/"},
			{name: "app/lib/.git/"},
			{name: "app/lib/.git/config", body: "[core]\n"},
			{name: "app/data.txt", body: "data"},
		},
		{
			{name: "root/", mode: 0o700},
			{name: "root/.profile", body: "PS1=x\n"},
			{name: "root/.npm/"},
			{name: "root/.npm/_cacache/"},
			{name: "root/.npm/_cacache/index-v5/"},
			{name: "root/.npm/_cacache/index-v5/aa", body: junk(3, 20<<10)},
		},
		{
			{name: "srv/"},
			{name: "srv/index.html", body: "<h1>" + a + "</h1>\n"},
		},
		{
			{name: "tmp/cache/"},
			{name: "tmp/cache/blob", body: junk(4, 30<<10)},
		},
		{
			{name: "app/.git/.wh.HEAD", body: ""},
			{name: "app/new.txt", body: "new"},
		},
	}
	created := v1.Time{Time: fixedTime}
	var adds []mutate.Addendum
	for i, es := range layers {
		adds = append(adds, mutate.Addendum{
			Layer:   layerOf(t, lmt, es...),
			History: v1.History{Created: created, CreatedBy: fmt.Sprintf("layer %d", i)},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture = "linux", a
	cf.Config.Entrypoint = []string{"/bin/app"}
	cf.Config.Cmd = []string{"serve", "--port", "8080"}
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "APP_MODE=prod"}
	cf.Config.WorkingDir = "/app"
	cf.Config.Labels = map[string]string{"org.example.fixture": "bloated"}
	// An ENV instruction between layers 2 and 3: history and layers no
	// longer line up index for index.
	h := append([]v1.History(nil), cf.History[:3]...)
	h = append(h, v1.History{Created: created, CreatedBy: "ENV APP_MODE=prod", EmptyLayer: true})
	cf.History = append(h, cf.History[3:]...)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ---------------------------------------------------------------------------
// Places to put fixtures.

// memRegistry starts ggcr's in-memory registry and returns its host:port.
// httptest listens on 127.0.0.1, which ggcr reaches over plain HTTP
// without name.Insecure.
func memRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// writeLayout writes img to a new OCI layout at dir, tagged tag.
func writeLayout(t testing.TB, dir, tag string, img v1.Image) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
		t.Fatal(err)
	}
}

// readLayout reads the image tagged tag (or the only one, when tag is
// empty) from the OCI layout at dir.
func readLayout(t testing.TB, dir, tag string) v1.Image {
	t.Helper()
	d := layoutDesc(t, dir, tag)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layoutDesc returns the index.json descriptor tagged tag (or the only one).
func layoutDesc(t testing.TB, dir, tag string) v1.Descriptor {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		if tag == "" || d.Annotations[refNameAnnotation] == tag {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("OCI layout %s: got %d manifests tagged %q, want 1 (index: %+v)", dir, len(found), tag, im.Manifests)
	}
	return found[0]
}

// tarDirFile writes the directory dir as a tar file at p (an oci-archive),
// with GNU tar rather than the code under test.
func tarDirFile(t testing.TB, dir, p string) {
	t.Helper()
	if out, err := exec.Command("tar", "-C", dir, "-cf", p, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar -C %s -cf %s: %v: %s", dir, p, err, out)
	}
}

// untarFile unpacks the tar at p into a new temporary directory, with GNU
// tar rather than the code under test.
func untarFile(t testing.TB, p string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-C", dir, "-xf", p).CombinedOutput(); err != nil {
		t.Fatalf("unpacking %s: %v: %s", p, err, out)
	}
	return dir
}

// refNameAnnotation tags an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// writeArchive writes img as a docker-archive (ggcr's tarball: gzip
// members) at p, tagged ref.
func writeArchive(t testing.TB, p, ref string, img v1.Image) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
}

// readArchive reads the docker-archive at p through ggcr's tarball
// package, which presents plain-tar members as gzip, so validate.Image can
// read them.
func readArchiveGGCR(t testing.TB, p, ref string) v1.Image {
	t.Helper()
	var tag *name.Tag
	if ref != "" {
		tg, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		tag = &tg
	}
	img, err := tarball.ImageFromPath(p, tag)
	if err != nil {
		t.Fatalf("reading docker-archive %s: %v", p, err)
	}
	return img
}

// ---------------------------------------------------------------------------
// The Docker daemon, through the CLI (independent of the code under test).

// dockerOK runs docker and reports whether it succeeded, with its output.
func dockerOK(args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// daemonHas reports whether the daemon holds ref.
func daemonHas(ref string) bool {
	_, ok := dockerOK("image", "inspect", "--format", "{{.Id}}", ref)
	return ok
}

// daemonID returns the image ID of ref in the daemon, or "" when absent.
func daemonID(ref string) string {
	id, ok := dockerOK("image", "inspect", "--format", "{{.Id}}", ref)
	if !ok {
		return ""
	}
	return id
}

// rmiOnCleanup removes ref from the daemon when the test ends.
func rmiOnCleanup(t testing.TB, ref string) {
	t.Cleanup(func() {
		if daemonHas(ref) {
			if out, ok := dockerOK("rmi", "-f", ref); !ok {
				t.Errorf("cleanup: docker rmi %s: %s", ref, out)
			}
		}
	})
}

// loadIntoDaemon loads img into the daemon as ref with `docker load`.
func loadIntoDaemon(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "load.tar")
	writeArchive(t, p, ref, img)
	rmiOnCleanup(t, ref)
	if out, ok := dockerOK("load", "-i", p); !ok {
		t.Fatalf("docker load %s: %s", ref, out)
	}
}

// saveFromDaemon reads ref back with `docker save` and ggcr's tarball.
func saveFromDaemon(t testing.TB, ref string) v1.Image {
	t.Helper()
	p := filepath.Join(t.TempDir(), "save.tar")
	if out, ok := dockerOK("save", "-o", p, ref); !ok {
		t.Fatalf("docker save %s: %s", ref, out)
	}
	return readArchiveGGCR(t, p, ref)
}

// dockerConfig points ggcr's default keychain (and the docker CLI) at a
// config.json holding user:pass for host.
func dockerConfig(t *testing.T, host, user, pass string) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", dockerConfigDir(t, host, user, pass))
}

// dockerConfigDir writes a config.json holding user:pass for host and
// returns its directory, for a command's DOCKER_CONFIG: a test that hands
// it to the commands it runs, rather than setting it for the process, can
// run in parallel.
func dockerConfigDir(t *testing.T, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))},
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ---------------------------------------------------------------------------
// Checking outputs.

// layerEntries reads every header of l's tar, in order, with the content
// of regular files.
type tarEntry struct {
	hdr  *tar.Header
	name string // layers.Clean form
	body []byte
}

func layerEntries(t testing.TB, l v1.Layer) []tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []tarEntry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading layer tar: %v", err)
		}
		e := tarEntry{hdr: h, name: path.Clean("/" + h.Name)}
		if h.Typeflag == tar.TypeReg {
			if e.body, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, e)
	}
}

// within reports whether p is dir or below it.
func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// digests returns the compressed digests and the diff IDs of img's layers.
func digests(t testing.TB, img v1.Image) (digest, diffID []v1.Hash) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		di, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		digest, diffID = append(digest, d), append(diffID, di)
	}
	return digest, diffID
}

// checkOpts says what checkSlimmed can expect of an output.
type checkOpts struct {
	// plain: the output's layers are stored as plain tars (daemon,
	// docker-archive), so an untouched layer keeps its diff ID but not its
	// compressed digest.
	plain bool
	arch  string
}

// checkSlimmed checks that out is src (a fixture) slimmed with fixRemove:
// valid, with the removed trees absent from every layer, the untouched
// layer unchanged, the config kept but for the user, history aligned.
func checkSlimmed(t testing.TB, src, out v1.Image, o checkOpts) {
	t.Helper()
	if err := validate.Image(out); err != nil {
		t.Errorf("validate.Image: got %v, want nil", err)
	}
	ls, err := out.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != fixOutLayers {
		t.Errorf("layers: got %d, want %d", len(ls), fixOutLayers)
	}

	// Every layer's tar: nothing of the removed trees, no whiteout of
	// them, and no hardlink to a path not written before it.
	seen := map[string]bool{}
	flat := map[string]tarEntry{} // the flattened file system
	for i, l := range ls {
		for _, e := range layerEntries(t, l) {
			dir, base := path.Split(e.name)
			target, opaque := e.name, false
			switch {
			case base == ".wh..wh..opq":
				target, opaque = path.Clean(dir), true
			case strings.HasPrefix(base, ".wh."):
				target = path.Join(dir, strings.TrimPrefix(base, ".wh."))
			}
			for _, g := range fixGone {
				if within(target, g) {
					t.Errorf("layer %d holds %s (type %q), under removed %s", i, e.hdr.Name, e.hdr.Typeflag, g)
				}
			}
			if e.hdr.Typeflag == tar.TypeLink {
				if lt := path.Clean("/" + e.hdr.Linkname); !seen[lt] {
					t.Errorf("layer %d: hardlink %s -> %s: target not written before it", i, e.name, lt)
				}
			}
			seen[e.name] = true
			if target == e.name {
				flat[e.name] = e
				continue
			}
			for k := range flat {
				if within(k, target) && !(opaque && k == target) {
					delete(flat, k)
				}
			}
		}
	}

	// The flattened result keeps what was not removed.
	if e, ok := flat["/app/pack.link"]; !ok {
		t.Errorf("/app/pack.link: missing, want kept")
	} else if e.hdr.Typeflag == tar.TypeLink {
		t.Errorf("/app/pack.link: got a hardlink to %s, want a regular file (its target was removed)", e.hdr.Linkname)
	} else if string(e.body) != packBody {
		t.Errorf("/app/pack.link: got %d bytes, want the %d bytes of the pack", len(e.body), len(packBody))
	}
	for _, p := range []string{"/bin/app", "/app/main", "/app/data.txt", "/app/new.txt", "/root/.profile", "/srv/index.html", "/home/nonroot"} {
		if _, ok := flat[p]; !ok {
			t.Errorf("%s: missing from the output, want kept", p)
		}
	}
	if e := flat["/etc/passwd"]; !strings.Contains(string(e.body), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd: got %q, want a nonroot 65532:65532 line", e.body)
	}

	// The untouched layer is the source's own.
	srcDigest, srcDiff := digests(t, src)
	outDigest, outDiff := digests(t, out)
	want, got := srcDigest[fixStatic], outDigest
	if o.plain {
		want, got = srcDiff[fixStatic], outDiff
	}
	if len(got) > fixStatic && got[fixStatic] != want {
		t.Errorf("untouched layer %d: got %s, want the source's %s", fixStatic, got[fixStatic], want)
	}
	// Layers 0 to 2 lose files: they are rewritten.
	for i := 0; i < fixStatic && i < len(outDiff); i++ {
		if outDiff[i] == srcDiff[i] {
			t.Errorf("layer %d: got the source's diff ID %s, want it rewritten", i, outDiff[i])
		}
	}

	// Config: the user changes, the rest stays.
	sc, err := src.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := out.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	oc, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if oc.Config.User != "65532:65532" {
		t.Errorf("config User: got %q, want %q", oc.Config.User, "65532:65532")
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Entrypoint", oc.Config.Entrypoint, sc.Config.Entrypoint},
		{"Cmd", oc.Config.Cmd, sc.Config.Cmd},
		{"Env", oc.Config.Env, sc.Config.Env},
		{"WorkingDir", oc.Config.WorkingDir, sc.Config.WorkingDir},
		{"Labels", oc.Config.Labels, sc.Config.Labels},
		{"Architecture", oc.Architecture, sc.Architecture},
		{"OS", oc.OS, sc.OS},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("config %s: got %q, want %q", f.name, f.got, f.want)
		}
	}
	if o.arch != "" && oc.Architecture != o.arch {
		t.Errorf("config Architecture: got %q, want %q", oc.Architecture, o.arch)
	}

	// History stays aligned with diff_ids, and the dropped layer's entry
	// is there, marked empty.
	nonEmpty := 0
	for _, h := range oc.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(oc.RootFS.DiffIDs) || nonEmpty != len(ls) {
		t.Errorf("history: got %d non-empty entries, %d diff_ids, %d layers; want all equal", nonEmpty, len(oc.RootFS.DiffIDs), len(ls))
	}
	if len(oc.History) != len(sc.History)+1 {
		t.Errorf("history: got %d entries, want the source's %d and imgslim's", len(oc.History), len(sc.History))
	}
	for _, h := range oc.History {
		if h.CreatedBy == fmt.Sprintf("layer %d", fixDropped) && !h.EmptyLayer {
			t.Errorf("history of dropped layer %d: got empty_layer false, want true", fixDropped)
		}
	}

	// The manifest keeps the source's media type family.
	smt, err := src.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	omt, err := out.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	if !o.plain && smt != omt {
		t.Errorf("manifest media type: got %s, want the source's %s", omt, smt)
	}
}

// ---------------------------------------------------------------------------
// Checking that nothing changed.

// treeHash hashes every file under p (a file or a directory): names, modes
// and contents.
func treeHash(t testing.TB, p string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, q)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v\n", rel, info.Mode())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(q)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// dirNames lists the names in dir, sorted.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// exists reports whether p exists.
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writePlainArchive writes img as `docker save` does: a docker-archive
// whose layers are plain tars, "<diff id>/layer.tar".
func writePlainArchive(t testing.TB, p, ref string, img v1.Image) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b)), ModTime: fixedTime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgName := fmt.Sprintf("%x.json", sha256.Sum256(raw))
	add(cfgName, raw)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, d.Hex+"/layer.tar")
		add(d.Hex+"/layer.tar", b)
	}
	m, err := json.Marshal(tarball.Manifest{{Config: cfgName, RepoTags: []string{ref}, Layers: names}})
	if err != nil {
		t.Fatal(err)
	}
	add("manifest.json", m)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// archiveCompression returns, for each layer member of the docker-archive
// at p, whether it is gzip.
func archiveCompression(t testing.TB, p string) []bool {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	members := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		members[path.Clean(h.Name)] = b
	}
	var ms tarball.Manifest
	if err := json.Unmarshal(members["manifest.json"], &ms); err != nil {
		t.Fatalf("manifest.json of %s: %v", p, err)
	}
	if len(ms) != 1 {
		t.Fatalf("manifest.json of %s: got %d images, want 1", p, len(ms))
	}
	var out []bool
	for _, l := range ms[0].Layers {
		b := members[path.Clean(l)]
		out = append(out, len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b)
	}
	return out
}
