//go:build e2e

package main

// End-to-end tests of --scratch on realistic single-stage images
// (testdata/dockertest): each is copied onto an empty image in the daemon,
// run as it is, and probed on 127.0.0.1. The big fixtures are read from the
// archive dockertest.Saved keeps of them (one docker save per image and
// machine, shared by every test); the daemon as a source is exercised by
// the tests whose images are small and their own (TestScratchEntrypointForms,
// the daemon cases of TestScratchBadProgram and TestScratchRefusals,
// TestDebugTwinEndToEnd).

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// scratchTimeout bounds one --scratch run: the sources are images of up to
// 1.5 GB, beside the other parallel tests, on a machine others may load too
// (15 minutes ran out for the Node app at a load average of 30 on 2 cores).
// It is there to stop a hang, not to time the run.
const scratchTimeout = 30 * time.Minute

// scratchOut is what a scratch run produced in the daemon.
type scratchOut struct {
	ref   string
	size  int64                  // docker image inspect .Size
	files map[string]*tar.Header // the one layer's entries, by absolute path
	img   v1.Image
	root  map[string]any // GET / of the running output
}

// body returns the content of the regular file name in the output's layer.
func (o *scratchOut) body(t *testing.T, name string) []byte {
	t.Helper()
	ls, err := o.img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s: %s not in the layer", o.ref, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if path.Clean("/"+h.Name) == name && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// has reports whether the output holds name (any type).
func (o *scratchOut) has(name string) bool { _, ok := o.files[name]; return ok }

// resolve follows the symlinks of the output's layer in every component
// of name, as the kernel would in a container, and returns the path of
// what name leads to, or "" when it leads nowhere.
func (o *scratchOut) resolve(name string) string {
	hops := 0
	var walk func(dir string, rest []string) string
	walk = func(dir string, rest []string) string {
		for i, c := range rest {
			next := path.Join(dir, c)
			h, ok := o.files[next]
			if !ok && next != "/" {
				return ""
			}
			if ok && h.Typeflag == tar.TypeSymlink {
				if hops++; hops > 40 {
					return ""
				}
				target := h.Linkname
				if !strings.HasPrefix(target, "/") {
					target = path.Join(dir, target)
				}
				resolved := walk("/", strings.Split(strings.Trim(path.Clean(target), "/"), "/"))
				if resolved == "" {
					return ""
				}
				return walk(resolved, rest[i+1:])
			}
			dir = next
		}
		return dir
	}
	return walk("/", strings.Split(strings.Trim(path.Clean(name), "/"), "/"))
}

// checkRuns fails unless each of paths leads, through the output's
// symlinks, to a regular file.
func checkRuns(t *testing.T, out *scratchOut, paths ...string) {
	t.Helper()
	for _, p := range paths {
		real := out.resolve(p)
		if h, ok := out.files[real]; !ok || h.Typeflag != tar.TypeReg {
			t.Errorf("%s: %s leads to %q, want a regular file", out.ref, p, real)
		}
	}
}

// under returns the output's paths at or below dir.
func (o *scratchOut) under(dir string) []string {
	var out []string
	for p := range o.files {
		if within(p, dir) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// scratchRun runs `imgslim -q --scratch args...` with the binary TestMain
// built (runCommand).
func scratchRun(t *testing.T, args ...string) (result, time.Duration) {
	t.Helper()
	return scratchRunEnv(t, nil, args...)
}

// scratchRunEnv is scratchRun with env added to the command's environment.
func scratchRunEnv(t *testing.T, env []string, args ...string) (result, time.Duration) {
	t.Helper()
	start := time.Now()
	res := runCommandEnv(scratchTimeout, env, append([]string{"-q", "--scratch"}, args...)...)
	return res, time.Since(start)
}

// scratchServe copies src, read from the archive dockertest.Saved keeps of
// it, onto an empty image in the daemon with `imgslim -q --scratch`, checks
// the output's config (user 65532:65532, one layer) and runs it as it is:
// it must answer HealthPath with "ok" and "/" with JSON whose uid is 65532
// on 127.0.0.1:port.
func scratchServe(t *testing.T, name, src string, port int) *scratchOut {
	t.Helper()
	out := &scratchOut{ref: "imgslim-test/scratch-" + name + ":" + uniq()}
	rmiOnCleanup(t, out.ref)
	res, took := scratchRun(t, "docker-archive:"+dockertest.Saved(t, src), "docker-daemon:"+out.ref)
	if res.code != exitOK {
		t.Fatalf("imgslim -q --scratch %s: exit %d, want 0\nstderr:\n%s\nstdout:\n%s", src, res.code, res.stderr, res.stdout)
	}
	if res.stderr != "" {
		t.Errorf("imgslim -q --scratch %s: stderr %q, want nothing with -q", src, res.stderr)
	}
	t.Logf("imgslim -q --scratch %s: %v\n%s", src, took.Round(time.Millisecond), res.stdout)

	got := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}|{{len .RootFS.Layers}}", out.ref)
	if want := "65532:65532|1"; got != want {
		t.Errorf("%s: User|layers: got %q, want %q", out.ref, got, want)
	}
	out.size = imageSize(t, out.ref)
	out.img = saveFromDaemon(t, out.ref)
	ls, err := out.img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("%s: docker save holds %d layers, want 1", out.ref, len(ls))
	}
	out.files = map[string]*tar.Header{}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: reading its layer: %v", out.ref, err)
		}
		out.files[path.Clean("/"+h.Name)] = h
	}
	rc.Close()

	start := time.Now()
	dockertest.RunApp(t, out.ref, port)
	health := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, dockertest.HealthPath), time.Minute)
	if got := strings.TrimSpace(string(health)); got != "ok" {
		t.Errorf("%s: GET %s: got %q, want %q", out.ref, dockertest.HealthPath, got, "ok")
	}
	body := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
	if err := json.Unmarshal(body, &out.root); err != nil {
		t.Fatalf("%s: GET /: got %q, want JSON (%v)", out.ref, body, err)
	}
	if uid, ok := out.root["uid"].(float64); !ok || uid != 65532 {
		t.Errorf("%s: GET /: got %s, want uid 65532", out.ref, body)
	}
	t.Logf("%s serves after %v: GET / %s", out.ref, time.Since(start).Round(time.Millisecond), bytes.TrimSpace(body))
	return out
}

// logSizes logs the source's and the output's sizes, and others (name,
// ref pairs) for comparison.
func logSizes(t *testing.T, src string, out *scratchOut, others ...string) {
	t.Helper()
	srcSize := imageSize(t, src)
	msg := fmt.Sprintf("sizes (docker image inspect .Size): source %s %s, scratch %s (%.1f%% of the source)",
		src, mb(srcSize), mb(out.size), 100*float64(out.size)/float64(srcSize))
	for i := 0; i+1 < len(others); i += 2 {
		msg += fmt.Sprintf(", %s %s %s", others[i], others[i+1], mb(imageSize(t, others[i+1])))
	}
	t.Log(msg)
}

func mb(n int64) string { return fmt.Sprintf("%d bytes (%.1f MB)", n, float64(n)/1e6) }

// checkAbsent fails for each of paths the output holds.
func checkAbsent(t *testing.T, out *scratchOut, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if got := out.under(p); len(got) > 0 {
			t.Errorf("%s holds %s (%d paths, first %s), want it left out", out.ref, p, len(got), got[0])
		}
	}
}

// checkPresent fails for each of paths the output lacks.
func checkPresent(t *testing.T, out *scratchOut, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if !out.has(p) {
			t.Errorf("%s lacks %s, want it copied", out.ref, p)
		}
	}
}

// sourceSizes returns the sizes of files (stat -L) and trees (du -sb) in
// image, measured inside it.
func sourceSizes(t *testing.T, image string, files, trees []string) map[string]int64 {
	t.Helper()
	script := "stat -L -c '%s %n' " + strings.Join(files, " ") + " && du -sb " + strings.Join(trees, " ")
	out := dockertest.Docker(t, "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", image, "-c", script)
	sizes := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("sizes in %s: got line %q, want SIZE NAME", image, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("sizes in %s: %v", image, err)
		}
		sizes[f[1]] = n
	}
	for _, p := range append(slices.Clone(files), trees...) {
		if _, ok := sizes[p]; !ok {
			t.Fatalf("sizes in %s: no size for %s in %q", image, p, out)
		}
	}
	return sizes
}

// TestScratchStaticGo: a static Go server needs its binary, the CA bundle
// and the time zones, and the output is hardly more than them.
func TestScratchStaticGo(t *testing.T) {
	t.Parallel()
	start := time.Now()
	src, port := dockertest.StaticGoApp(t)
	t.Logf("fixture %s ready in %v", src, time.Since(start).Round(time.Millisecond))
	const ca, zoneinfo = "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo"
	parts := sourceSizes(t, src, []string{dockertest.AppBinary, ca, "/etc/passwd", "/etc/group"}, []string{zoneinfo})

	out := scratchServe(t, "static-go", src, port)
	logSizes(t, src, out)

	// The server refuses to start without the zone or the CAs; check that
	// they are the real ones.
	if out.root["july"] != "CEST" || out.root["tz"] != "Europe/Paris" {
		t.Errorf("GET /: got tz %v, July %v; want Europe/Paris, CEST (the zone data of the image)", out.root["tz"], out.root["july"])
	}
	if n, _ := out.root["certs"].(float64); n < 100 {
		t.Errorf("GET /: got %v CA certificates, want the image's bundle (over 100)", out.root["certs"])
	}

	// The program is static: no interpreter, no libraries.
	f, err := elf.NewFile(bytes.NewReader(out.body(t, dockertest.AppBinary)))
	if err != nil {
		t.Fatalf("%s: %v", dockertest.AppBinary, err)
	}
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has PT_INTERP, want a static binary", dockertest.AppBinary)
		}
	}
	if len(libs) > 0 {
		t.Errorf("%s: needs %v, want a static binary", dockertest.AppBinary, libs)
	}

	checkPresent(t, out, dockertest.AppBinary, ca, zoneinfo+"/Europe/Paris", "/etc/passwd", "/etc/group", "/tmp", "/home/nonroot")
	checkAbsent(t, out, "/app/.git", "/app/main.go", "/app/go.mod", "/usr/lib/go-1.19", "/root", "/bin", "/usr/bin",
		"/usr/lib/x86_64-linux-gnu", "/var")

	// No more than 5% over what the program needs.
	var need int64
	var detail []string
	for _, p := range []string{dockertest.AppBinary, ca, "/etc/passwd", "/etc/group", zoneinfo} {
		need += parts[p]
		detail = append(detail, fmt.Sprintf("%s %d", p, parts[p]))
	}
	limit := need + need/20
	t.Logf("what it needs, measured in %s: %s; total %s, limit (+5%%) %d; output %d",
		src, strings.Join(detail, ", "), mb(need), limit, out.size)
	if out.size > limit {
		t.Errorf("%s: size %d bytes, want at most %d (1.05 x %d, the binary, CA bundle, passwd/group and zoneinfo)", out.ref, out.size, limit, need)
	}
}

// TestScratchDynamicC: a C server dynamically linked to libssl and libz
// gets its loader and libraries from the image.
func TestScratchDynamicC(t *testing.T) {
	t.Parallel()
	start := time.Now()
	src, port := dockertest.DynamicCApp(t)
	t.Logf("fixture %s ready in %v", src, time.Since(start).Round(time.Millisecond))

	out := scratchServe(t, "dynamic-c", src, port)
	logSizes(t, src, out)
	if v, _ := out.root["openssl"].(string); !strings.HasPrefix(v, "OpenSSL 3") {
		t.Errorf("GET /: openssl %q, want OpenSSL 3.x", v)
	}
	if v, _ := out.root["zlib"].(string); v == "" {
		t.Errorf("GET /: got no zlib version")
	}

	// It is dynamically linked to libssl and libz, and the output holds
	// what it needs under the names the loader looks for.
	f, err := elf.NewFile(bytes.NewReader(out.body(t, dockertest.AppBinary)))
	if err != nil {
		t.Fatalf("%s: %v", dockertest.AppBinary, err)
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: interpreter %s, needs %v", dockertest.AppBinary, interp, libs)
	if interp == "" {
		t.Errorf("%s: no PT_INTERP, want a dynamically linked program", dockertest.AppBinary)
	} else {
		checkRuns(t, out, interp)
	}
	for _, want := range []string{"libssl.so.3", "libcrypto.so.3", "libz.so.1", "libc.so.6"} {
		if !slices.Contains(libs, want) {
			t.Errorf("%s: needs %v, want %s among them", dockertest.AppBinary, libs, want)
		}
		checkRuns(t, out, "/usr/lib/x86_64-linux-gnu/"+want)
	}
	checkAbsent(t, out, "/app/.git", "/app/server.c", "/app/Makefile", "/usr/include", "/usr/lib/gcc", "/usr/bin", "/bin", "/var")
}

// TestScratchPythonFlask: an interpreted program gets the interpreter, the
// modules it imports (read statically over sys.path, packages whole), and
// its application directory without .git.
func TestScratchPythonFlask(t *testing.T) {
	t.Parallel()
	start := time.Now()
	src, port := dockertest.FlaskApp(t)
	t.Logf("fixture %s ready in %v", src, time.Since(start).Round(time.Millisecond))

	out := scratchServe(t, "python-flask", src, port)
	logSizes(t, src, out)
	if out.root["greeting"] != "hello from /app" {
		t.Errorf("GET /: greeting %v, want the one of /app/greetings.py", out.root["greeting"])
	}
	if v, _ := out.root["flask"].(string); v == "" {
		t.Errorf("GET /: no flask version (importlib.metadata reads its dist-info)")
	}
	checkPresent(t, out, "/app/app.py", "/app/greetings.py", "/usr/bin/python3", "/usr/lib/python3/dist-packages/flask/__init__.py")
	checkAbsent(t, out, "/app/.git", "/usr/bin/apt", "/bin/sh", "/var/lib/apt", "/var/cache")

	// The imports are read statically: what the app imports (werkzeug
	// imports ssl and hashlib, native modules linked to libssl and
	// libcrypto) loads; what nothing imports stays out.
	checkAbsent(t, out, "/usr/lib/python3.11/sqlite3", "/usr/lib/python3.11/tkinter", "/usr/lib/python3.11/test",
		"/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so")
	// Module by module: what no import reaches stays out of the packages
	// kept (the standard library's doctest, reached only from pickle's
	// __main__ test; decimal's pure-Python fallback of _decimal), and so
	// do werkzeug's optional cryptography (its ad-hoc certificates) and
	// flask's optional asgiref (async views), which only imports in a
	// try … except ImportError inside a function name.
	checkAbsent(t, out, "/usr/lib/python3.11/doctest.py", "/usr/lib/python3.11/_pydecimal.py", "/usr/lib/python3.11/idlelib",
		"/usr/lib/python3/dist-packages/cryptography", "/usr/lib/python3/dist-packages/asgiref", "/usr/lib/python3/dist-packages/pkg_resources",
		"/usr/lib/python3/dist-packages/babel", "/usr/lib/python3/dist-packages/simplejson")
	checkPresent(t, out, "/usr/lib/python3/dist-packages/werkzeug/serving.py", "/usr/lib/python3/dist-packages/blinker/__init__.py",
		"/usr/lib/python3/dist-packages/itsdangerous/__init__.py", "/usr/lib/python3/dist-packages/markupsafe/__init__.py",
		"/usr/lib/python3.11/encodings/cp1252.py", "/usr/lib/python3.11/__pycache__/decimal.cpython-311.pyc",
		"/usr/lib/python3/dist-packages/werkzeug/__pycache__/serving.cpython-311.pyc")
	// Byte-code goes with what loads as the app starts: a module only a
	// function imports (asyncio, for jinja2's async rendering; tarfile,
	// for shutil's archives) is there as source, compiled if it is ever
	// imported; a module frozen into the interpreter (os) keeps the
	// source its byte-code is never read beside. asyncio's Windows event
	// loop is imported only on Windows.
	checkPresent(t, out, "/usr/lib/python3.11/asyncio/base_events.py", "/usr/lib/python3.11/tarfile.py", "/usr/lib/python3.11/os.py")
	checkAbsent(t, out, "/usr/lib/python3.11/asyncio/__pycache__/base_events.cpython-311.pyc", "/usr/lib/python3.11/__pycache__/tarfile.cpython-311.pyc",
		"/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", "/usr/lib/python3.11/asyncio/windows_events.py")
	t.Run("against a trace", func(t *testing.T) {
		traced := traceFlask(t, src)
		ratio := float64(out.size) / float64(traced)
		t.Logf("FIGURES flask: source %s, scratch %s, traced %s: %.2fx", mb(imageSize(t, src)), mb(out.size), mb(traced), ratio)
		// Imports inside functions are followed (a request importing
		// lazily finds its module), packages that import by computed
		// name are kept whole (werkzeug, jinja2, flask, encodings for
		// codecs looked up by name, with the CJK codecs' native modules),
		// the time zones and the CA bundle are there: the copy is larger
		// than a trace of one start and two requests. Measured: 1.72x
		// when packages were kept whole; 1.39x module by module; 1.24x
		// with byte-code only for what loads at start, none for frozen
		// modules, and no branch for another platform. Of what is left
		// over the trace (7.4 MB), the encodings package is 2.4 MB, the
		// time zones 1.3 MB, readline with its libraries (flask shell)
		// 0.6 MB.
		if ratio > 1.3 {
			t.Errorf("%s: %s, over 1.3 times the %s a trace keeps", out.ref, mb(out.size), mb(traced))
		}
	})
	t.Run("native modules", func(t *testing.T) {
		probe := `import ssl, hashlib
ctx = ssl.create_default_context()
print(ssl.OPENSSL_VERSION, len(ctx.get_ca_certs()) + ctx.cert_store_stats()["x509_ca"], hashlib.sha3_256(b"").hexdigest()[:8])`
		got, ok := dockerOK("run", "--rm", "--network", "none", out.ref, "python3", "-c", probe)
		if !ok {
			var missing []string
			for _, lib := range []string{"libssl.so.3", "libcrypto.so.3"} {
				if !out.has("/usr/lib/x86_64-linux-gnu/" + lib) {
					missing = append(missing, lib)
				}
			}
			t.Errorf("%s: python3 -c 'import ssl, hashlib': failed:\n%s\nlibraries of the native modules the output lacks: %v", out.ref, got, missing)
			return
		}
		t.Logf("native modules load: %s", got)
	})
}

// pyTrace runs /app/app.py with an audit hook recording every file Python
// opens, plus the modules loaded (and their .pyc), the mapped libraries
// and the interpreter, probes the server, and prints "TRACED files bytes":
// what a run-time tracing tool would keep.
const pyTrace = `import sys
opened = set()
def hook(ev, args):
    if ev == "open" and args and isinstance(args[0], str):
        opened.add(args[0])
sys.addaudithook(hook)
import os, runpy, threading, time, urllib.request
def dump():
    for _ in range(100):
        try:
            for u in ("/health", "/"):
                urllib.request.urlopen("http://127.0.0.1:" + os.environ["PORT"] + u).read()
            break
        except Exception:
            time.sleep(0.2)
    files = set(opened)
    for m in list(sys.modules.values()):
        for f in (getattr(m, "__file__", None), getattr(m, "__cached__", None)):
            if f:
                files.add(f)
    for l in open("/proc/self/maps"):
        if l.split()[-1].startswith("/"):
            files.add(l.split()[-1])
    files.add(sys.executable)
    real = {os.path.realpath(f) for f in files}
    real = {r for r in real if os.path.isfile(r) and not r.startswith(("/proc", "/dev", "/trace"))}
    print("TRACED", len(real), sum(os.path.getsize(r) for r in real), flush=True)
    os._exit(0)
threading.Thread(target=dump, daemon=True).start()
sys.path.insert(0, "/app")
sys.argv = ["/app/app.py"]
runpy.run_path("/app/app.py", run_name="__main__")
`

// traceFlask returns the bytes of the files the Flask app uses as it
// starts and serves, as a tracing tool would find them.
func traceFlask(t *testing.T, src string) int64 {
	t.Helper()
	tracer := "imgslim-test/scratch-flask-trace:" + uniq()
	dockertest.BuildImage(t, tracer, map[string][]byte{"trace.py": []byte(pyTrace)}, "FROM "+src+"\nCOPY trace.py /trace/trace.py\n")
	// A port of its own: the scratch copy may still hold the fixture's.
	out := dockertest.Docker(t, "run", "--rm", "--network", "host", "-e", "PORT="+strconv.Itoa(freePort(t)), tracer, "python3", "/trace/trace.py")
	m := regexp.MustCompile(`TRACED (\d+) (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trace of %s: got %q, want a TRACED line", src, out)
	}
	n, _ := strconv.ParseInt(m[2], 10, 64)
	t.Logf("a run-time trace of %s keeps %s files, %s", src, m[1], mb(n))
	return n
}

// TestScratchNodeTS: the TypeScript Express app comes out no bigger than
// the multi-stage build of the same app.
func TestScratchNodeTS(t *testing.T) {
	t.Parallel()
	start := time.Now()
	src, port := dockertest.NodeTSApp(t)
	multi, _ := dockertest.NodeTSMultiStage(t)
	t.Logf("fixtures %s and %s ready in %v", src, multi, time.Since(start).Round(time.Millisecond))

	out := scratchServe(t, "node-ts", src, port)
	logSizes(t, src, out, "multi-stage", multi)
	if ms := imageSize(t, multi); out.size > ms {
		t.Errorf("%s: %s, want no more than the multi-stage image %s's %s", out.ref, mb(out.size), multi, mb(ms))
	}
	checkPresent(t, out, "/app/dist/server.js", "/app/node_modules/express/package.json", "/app/package.json")
	checkAbsent(t, out, "/app/.git", "/app/.env", "/app/node_modules/typescript", "/app/node_modules/jest",
		"/app/node_modules/eslint", "/root", "/usr/bin/gcc", "/bin/sh", "/var/lib/apt")
}

// TestScratchDeterministic: the same source and flags give the same image,
// run after run, and the same config (image ID) whatever the target. The
// source is a static Go server on the Debian base, two layers: what makes
// an output differ (the order of parallel work, times, the daemon's
// storage) does not grow with the source, so three runs over the 1.3 GB
// Go fixture proved no more than three over this.
func TestScratchDeterministic(t *testing.T) {
	t.Parallel()
	// The output's creation time is now unless SOURCE_DATE_EPOCH says, as
	// reproducible builds set it: the command gets it in its environment.
	epoch := []string{"SOURCE_DATE_EPOCH=1700000000"}
	base := dockertest.BaseImage(t)
	src := dockertest.CachedImage(t, "imgslim-test/scratch-determinism-src:cached", base,
		map[string][]byte{"server": buildServer(t)},
		"FROM "+base+"\nCOPY server /usr/local/bin/e2e-server\nENTRYPOINT [\"/usr/local/bin/e2e-server\", \"8080\"]\n")
	from := "docker-archive:" + dockertest.Saved(t, src)
	var digests, configs []string
	for i := range 2 {
		dir := filepath.Join(t.TempDir(), "out")
		res, took := scratchRunEnv(t, epoch, from, "oci:"+dir+":scratch")
		if res.code != exitOK {
			t.Fatalf("run %d: exit %d, stderr %s", i, res.code, res.stderr)
		}
		d := layoutDesc(t, dir, "scratch").Digest.String()
		cd, err := readLayout(t, dir, "scratch").ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %v, digest %s, config %s", i, took.Round(time.Millisecond), d, cd)
		// -q prints what was written, REF@DIGEST; the report says "digest: …".
		if m := regexp.MustCompile(`(?m)(?:^digest: |@)(sha256:[0-9a-f]{64})$`).FindStringSubmatch(res.stdout); m == nil || m[1] != d {
			t.Errorf("run %d: the report gives digest %v, want the layout's %s", i, m, d)
		}
		digests, configs = append(digests, d), append(configs, cd.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two runs into OCI layouts: digests %s and %s, want the same", digests[0], digests[1])
	}

	// The daemon stores the layer uncompressed, so only the config, the
	// image ID, can be compared.
	ref := "imgslim-test/scratch-determinism:" + uniq()
	rmiOnCleanup(t, ref)
	if res, _ := scratchRunEnv(t, epoch, from, "docker-daemon:"+ref); res.code != exitOK {
		t.Fatalf("to the daemon: exit %d, stderr %s", res.code, res.stderr)
	}
	if id := daemonID(ref); id != configs[0] {
		t.Errorf("image ID in the daemon %s, want the OCI layout's config digest %s", id, configs[0])
	}
}

// TestScratchBadProgram: a program that cannot run on an empty image is
// refused, exit 1, with one line naming it, and nothing written.
func TestScratchBadProgram(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	dir := t.TempDir()
	hostBuild := func(name string, env []string, cmd ...string) []byte {
		t.Helper()
		if _, err := exec.LookPath(cmd[0]); err != nil {
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				t.Fatalf("%s not found on the host: %v", cmd[0], err)
			}
			t.Skipf("%s not found on the host: %v", cmd[0], err)
		}
		c := exec.Command(cmd[0], cmd[1:]...)
		c.Dir, c.Env = dir, append(os.Environ(), env...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An arm64 program in an amd64 image.
	write("go.mod", "module arm\n\ngo 1.21\n")
	write("main.go", "package main\n\nfunc main() { println(\"hello\") }\n")
	arm := hostBuild("server-arm64", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=", "GOWORK=off"},
		"go", "build", "-trimpath", "-o", "server-arm64", ".")
	// A program linked to libssl, which the base image lacks.
	write("needs-ssl.c", "#include <openssl/ssl.h>\nint main(void) { return OPENSSL_init_ssl(0, NULL) == 1 ? 0 : 1; }\n")
	needsSSL := hostBuild("needs-ssl", nil, "cc", "-o", "needs-ssl", "needs-ssl.c", "-lssl")
	if f, err := elf.NewFile(bytes.NewReader(needsSSL)); err != nil {
		t.Fatal(err)
	} else if libs, _ := f.ImportedLibraries(); !slices.Contains(libs, "libssl.so.3") {
		t.Fatalf("needs-ssl: needs %v, want libssl.so.3", libs)
	}
	if runtime.GOARCH != "amd64" {
		t.Skipf("the base image is for amd64; the host is %s", runtime.GOARCH)
	}

	src := "imgslim-test/scratch-bad-src:" + uniq()
	dockertest.BuildImage(t, src, map[string][]byte{
		"notes.txt":    []byte("Remember: deploy on Fridays.\n"),
		"server-arm64": arm,
		"needs-ssl":    needsSSL,
	}, `FROM `+base+`
COPY notes.txt server-arm64 needs-ssl /app/
RUN chmod 0755 /app/notes.txt /app/needs-ssl && test ! -e /usr/lib/x86_64-linux-gnu/libssl.so.3 \
 && cp /usr/bin/true /app/true-noexec && chmod 0644 /app/true-noexec \
 && cp /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 /app/libz.so && chmod 0755 /app/libz.so
WORKDIR /app
CMD ["/app/needs-ssl"]
`)
	// The layout cases read the source from one docker save of it; the
	// daemon cases read it from the daemon, each.
	archive := filepath.Join(t.TempDir(), "src.tar")
	dockertest.Docker(t, "save", "-o", archive, src)

	var cases []failCase
	for _, c := range []struct {
		name, binary string
		msg          []string
	}{
		{"missing", "/app/no-such-server", []string{"/app/no-such-server", "not in the image"}},
		{"text file", "/app/notes.txt", []string{"/app/notes.txt", "neither an ELF executable nor a #! script"}},
		{"other architecture", "/app/server-arm64", []string{"/app/server-arm64", "aarch64", "x86-64"}},
		{"missing library", "/app/needs-ssl", []string{"/app/needs-ssl", "libssl.so.3"}},
		// exec refuses a file without an execute bit.
		{"not executable", "/app/true-noexec", []string{"/app/true-noexec", "not executable"}},
		// A shared library (ET_DYN, no PT_INTERP, no DF_1_PIE) is not a
		// static program: exec maps it and jumps to a bogus entry point.
		{"shared library", "/app/libz.so", []string{"/app/libz.so", "not an executable"}},
	} {
		cases = append(cases,
			failCase{
				name: c.name + " to the daemon",
				setup: func(t *testing.T) ([]string, []spot) {
					dst := "imgslim-test/scratch-bad-dst:" + uniq()
					rmiOnCleanup(t, dst)
					return []string{"--scratch", "--binary", c.binary, "docker-daemon:" + src, "docker-daemon:" + dst}, []spot{daemonSpot(dst), daemonSpot(src)}
				},
				code: exitError,
				msg:  c.msg,
			},
			failCase{
				name: c.name + " to a layout",
				setup: func(t *testing.T) ([]string, []spot) {
					dst, s := newPath(t, "out")
					return []string{"--scratch", "--binary", c.binary, "docker-archive:" + archive, "oci:" + dst + ":scratch"}, []spot{s, fileSpot(t, archive)}
				},
				code: exitError,
				msg:  c.msg,
			})
	}
	runFailCasesParallel(t, cases)
}

// TestScratchEntrypointForms: the output starts whatever way the source
// names its program: through /bin (a symlink to usr/bin in the base
// image), by a shell form (which needs the shell), or by a --binary that
// is a symlink. The server answers "uid=N" at the port of its argument.
func TestScratchEntrypointForms(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	server := buildServer(t)
	if got := dockertest.Docker(t, "run", "--rm", "--network", "none", base, "readlink", "/bin"); got != "usr/bin" {
		t.Fatalf("%s: /bin links to %q, want usr/bin (a merged /usr)", base, got)
	}
	for _, c := range []struct {
		name       string
		dockerfile func(port int) string
		flags      []string
		args       bool     // the port is passed as the command's argument
		config     string   // the output's {{json .Config.Entrypoint}} {{json .Config.Cmd}}
		present    []string // in the output
		absent     []string
	}{
		{
			name: "exec form through /bin",
			dockerfile: func(int) string {
				return "COPY server /usr/bin/e2e-server\nENTRYPOINT [\"/bin/e2e-server\"]\n"
			},
			args:    true,
			config:  `["/bin/e2e-server"] null`,
			present: []string{"/bin", "/usr/bin/e2e-server"},
			absent:  []string{"/usr/bin/bash", "/usr/bin/dash"},
		},
		{
			name: "shell form",
			dockerfile: func(port int) string {
				return fmt.Sprintf("COPY server /usr/local/bin/e2e-server\nENV PORT=%d\nCMD e2e-server $PORT\n", port)
			},
			config:  `null ["/bin/sh","-c","e2e-server $PORT"]`,
			present: []string{"/bin", "/usr/bin/sh", "/usr/bin/dash", "/usr/local/bin/e2e-server"},
			absent:  []string{"/usr/bin/bash"},
		},
		{
			name: "--binary through a symlink",
			dockerfile: func(int) string {
				return "COPY server /opt/app/server\nRUN ln -s /opt/app/server /usr/local/bin/e2e-server\n" // CMD ["bash"] of the base
			},
			flags:   []string{"--binary", "/usr/local/bin/e2e-server"},
			args:    true,
			config:  `["/usr/local/bin/e2e-server"] null`,
			present: []string{"/usr/local/bin/e2e-server", "/opt/app/server"},
			// The base's CMD names bash: --binary replaces it, bash stays out.
			absent: []string{"/usr/bin/bash", "/bin"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := freePort(t)
			src := "imgslim-test/scratch-forms-src:" + uniq()
			dockertest.BuildImage(t, src, map[string][]byte{"server": server}, "FROM "+base+"\n"+c.dockerfile(port))
			out := &scratchOut{ref: "imgslim-test/scratch-forms:" + uniq()}
			rmiOnCleanup(t, out.ref)
			res, took := scratchRun(t, append(c.flags, "docker-daemon:"+src, "docker-daemon:"+out.ref)...)
			if res.code != exitOK {
				t.Fatalf("imgslim -q --scratch %s: exit %d, want 0\nstderr:\n%s", strings.Join(c.flags, " "), res.code, res.stderr)
			}
			t.Logf("scratch in %v:\n%s", took.Round(time.Millisecond), res.stdout)
			if got := dockertest.Docker(t, "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", out.ref); got != c.config {
				t.Errorf("%s: Entrypoint Cmd: got %s, want %s", out.ref, got, c.config)
			}
			out.img = saveFromDaemon(t, out.ref)
			out.files = map[string]*tar.Header{}
			ls, err := out.img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range layerEntries(t, ls[0]) {
				out.files[e.name] = e.hdr
			}
			checkPresent(t, out, c.present...)
			checkAbsent(t, out, c.absent...)

			var args []string
			if c.args {
				args = []string{strconv.Itoa(port)}
			}
			dockertest.RunDetached(t, out.ref, args...)
			body := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 30*time.Second)
			if got := strings.TrimSpace(string(body)); got != "uid=65532" {
				t.Errorf("GET /: got %q, want %q", got, "uid=65532")
			}
		})
	}
}

// scratchApp is a runtime fixture app and what its scratch copy must hold.
type scratchApp struct {
	name    string
	app     func(testing.TB) (string, int)
	multi   func(testing.TB) string
	present []string // in the output
	absent  []string
	check   func(t *testing.T, out *scratchOut)
}

// TestScratchRuntimes: apps hosted by a runtime (a JVM, Ruby through
// bundler, a shell and socat, Perl) and a program with a file capability,
// each copied onto an empty image, started as 65532 as it is and probed;
// each no larger than the multi-stage image of the same app.
func TestScratchRuntimes(t *testing.T) {
	t.Parallel()
	jdk := "/usr/lib/jvm/java-17-openjdk-amd64"
	for _, c := range []scratchApp{
		{
			name: "java", app: dockertest.JavaApp, multi: dockertest.JavaMultiStage,
			present: []string{dockertest.JavaJar, "/usr/local/lib/svc/lib/greet.jar", jdk + "/lib/jvm.cfg", jdk + "/lib/server/libjvm.so",
				jdk + "/lib/modules", jdk + "/lib/libjava.so", jdk + "/lib/libnet.so", jdk + "/lib/libnio.so", jdk + "/lib/security/cacerts",
				"/etc/ssl/certs/java/cacerts"},
			absent: []string{jdk + "/bin/javac", jdk + "/jmods", jdk + "/include", jdk + "/lib/src.zip", jdk + "/lib/ct.sym", "/usr/bin/apt", "/bin/sh", "/var/lib/apt"},
			check: func(t *testing.T, out *scratchOut) {
				if out.root["greeting"] != "hello from greet.jar" {
					t.Errorf("GET /: greeting %v, want the one of the jar the manifest's Class-Path names", out.root["greeting"])
				}
				if n, _ := out.root["cas"].(float64); n < 100 {
					t.Errorf("GET /: %v CAs in the default trust store, want the image's cacerts (over 100)", out.root["cas"])
				}
			},
		},
		{
			name: "shell", app: dockertest.ShellApp, multi: dockertest.ShellMultiStage,
			present: []string{"/app/start.sh", "/app/handler.sh", "/app/lib/config.sh", "/usr/bin/socat", "/usr/bin/dash", "/usr/bin/id",
				"/usr/bin/date", "/usr/bin/tr", "/usr/bin/wc", "/usr/bin/uname"},
			absent: []string{"/usr/bin/curl", "/usr/bin/apt", "/usr/bin/bash", "/usr/bin/ls", "/var/lib/apt"},
			check: func(t *testing.T, out *scratchOut) {
				if out.root["words"] != float64(3) || out.root["kernel"] != "Linux" || out.root["greeting"] != "hello from sh" {
					t.Errorf("GET /: got %v, want the handler's coreutils answers (words 3, kernel Linux) and the sourced greeting", out.root)
				}
			},
		},
		{
			name: "ruby", app: dockertest.RubyApp, multi: dockertest.RubyMultiStage,
			present: []string{"/app/app.rb", "/app/Gemfile", "/app/Gemfile.lock", "/usr/bin/bundle", "/usr/lib/ruby/3.1.0/rubygems.rb",
				"/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/extensions/x86_64-linux/3.1.0/nokogiri-1.13.10/nokogiri/nokogiri.so"},
			absent: []string{"/usr/bin/gcc", "/usr/include", "/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/gems/nokogiri-1.13.10/ext", "/var/lib/apt"},
			check: func(t *testing.T, out *scratchOut) {
				if out.root["greeting"] != "hello from ruby" || out.root["nokogiri"] == nil {
					t.Errorf("GET /: got %v, want nokogiri's parse of the greeting", out.root)
				}
			},
		},
		{
			name: "perl", app: dockertest.PerlApp, multi: dockertest.PerlMultiStage,
			present: []string{"/app/server.pl", "/app/lib/Greeting.pm", "/usr/bin/perl"},
			absent:  []string{"/usr/bin/make", "/usr/bin/apt", "/bin/sh", "/var/lib/apt"},
			check: func(t *testing.T, out *scratchOut) {
				if out.root["greeting"] != "hello from perl" {
					t.Errorf("GET /: got %v, want the greeting of /app/lib/Greeting.pm", out.root)
				}
			},
		},
		{
			name: "php", app: dockertest.PhpApp, multi: dockertest.PhpMultiStage,
			present: []string{"/app/index.php", "/app/src/Greeting.php", "/usr/bin/php8.2", "/etc/php/8.2/cli/php.ini",
				"/usr/lib/php/20220829/mbstring.so", "/usr/lib/php/20220829/sqlite3.so"},
			absent: []string{"/usr/bin/curl", "/usr/bin/apt", "/bin/sh", "/var/lib/apt", "/usr/lib/php/20220829/ffi.so.bak"},
			check: func(t *testing.T, out *scratchOut) {
				if out.root["greeting"] != "hello from php" || out.root["upper"] != "HÉLLO WÖRLD" || out.root["sqlite"] == nil {
					t.Errorf("GET /: got %v, want the greeting read back from SQLite and mbstring's upper case", out.root)
				}
			},
		},
		{
			name: "file capability", app: dockertest.CapApp, multi: dockertest.CapMultiStage,
			present: []string{dockertest.AppBinary},
			absent:  []string{"/usr/bin/gcc", "/usr/sbin/setcap", "/app/server.c", "/bin/sh"},
			check: func(t *testing.T, out *scratchOut) {
				h := out.files[dockertest.AppBinary]
				if h == nil || h.PAXRecords["SCHILY.xattr.security.capability"] == "" {
					t.Errorf("%s: no security.capability xattr in the layer, want the source's", dockertest.AppBinary)
				}
				if out.root["port"] != float64(dockertest.CapAppPort) {
					t.Errorf("GET /: got %v, want port %d", out.root, dockertest.CapAppPort)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			src, port := c.app(t)
			multi := c.multi(t)
			t.Logf("fixtures %s and %s ready in %v", src, multi, time.Since(start).Round(time.Millisecond))
			out := scratchServe(t, strings.ReplaceAll(c.name, " ", "-"), src, port)
			logSizes(t, src, out, "multi-stage", multi)
			ms := imageSize(t, multi)
			if out.size > ms {
				t.Errorf("%s: %s, want no more than the multi-stage image %s's %s", out.ref, mb(out.size), multi, mb(ms))
			}
			t.Logf("FIGURES %s: source %s, scratch %s, multi-stage %s, probe GET / as uid %v: ok",
				c.name, mb(imageSize(t, src)), mb(out.size), mb(ms), out.root["uid"])
			checkPresent(t, out, c.present...)
			checkAbsent(t, out, c.absent...)
			if c.check != nil {
				c.check(t, out)
			}
			// Copies keep their source's times and owners.
			for _, p := range c.present {
				if h := out.files[p]; h != nil && h.Typeflag == tar.TypeReg && h.ModTime.Unix() <= 0 {
					t.Errorf("%s: mtime %v, want the source's", p, h.ModTime)
				}
			}
		})
	}
}

// TestScratchRefusals: what imgslim cannot account for is refused: exit
// 1, a first line saying nothing is written and one line per unresolved
// item naming it, stdout empty, nothing at the target, the source as it
// was.
func TestScratchRefusals(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	for _, c := range []struct {
		name, cmd string
		files     map[string][]byte
		want      []string // in the item lines
	}{
		{
			name:  "unknown interpreter",
			files: map[string][]byte{"report.awk": []byte("#!/usr/bin/mawk -f\nBEGIN { print \"report\" }\n")},
			cmd:   `CMD ["/app/report.awk"]`,
			want:  []string{"/usr/bin/mawk", "--add"},
		},
		{
			name:  "a script that runs $CMD",
			files: map[string][]byte{"run.sh": []byte("#!/bin/sh\nset -e\nexec $CMD --serve\n")},
			cmd:   `CMD ["/app/run.sh"]`,
			want:  []string{"/app/run.sh", "$CMD", "--add"},
		},
		{
			name:  "a missing argument file",
			files: map[string][]byte{"notes.txt": []byte("no script here\n")},
			cmd:   `WORKDIR /app` + "\n" + `CMD ["sh", "serve.sh"]`,
			want:  []string{"/app/serve.sh", "not in the image"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := "imgslim-test/scratch-refuse-src:" + uniq()
			var names []string
			for n := range c.files {
				names = append(names, n)
			}
			dockertest.BuildImage(t, src, c.files, "FROM "+base+"\nCOPY "+strings.Join(names, " ")+" /app/\n"+c.cmd+"\n")
			for _, target := range []string{"daemon", "layout"} {
				t.Run(target, func(t *testing.T) {
					var args []string
					var spots []spot
					if target == "daemon" {
						dst := "imgslim-test/scratch-refuse-dst:" + uniq()
						rmiOnCleanup(t, dst)
						args, spots = []string{"docker-daemon:" + src, "docker-daemon:" + dst}, []spot{daemonSpot(dst), daemonSpot(src)}
					} else {
						dst, s := newPath(t, "out")
						args, spots = []string{"docker-daemon:" + src, "oci:" + dst + ":scratch"}, []spot{s, daemonSpot(src)}
					}
					before := make([]string, len(spots))
					for i, s := range spots {
						before[i] = s.state()
					}
					res, _ := scratchRun(t, args...)
					if res.code != exitError {
						t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, exitError, res.stderr)
					}
					lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
					if !strings.HasPrefix(lines[0], "imgslim: cannot account for") || !strings.Contains(lines[0], "no image is written") {
						t.Errorf("stderr's first line %q, want it to say nothing is written", lines[0])
					}
					items := lines[1:]
					if len(items) == 0 {
						t.Fatalf("stderr %q: no unresolved item, want one a line", res.stderr)
					}
					all := strings.Join(items, "\n")
					for _, w := range c.want {
						if !strings.Contains(all, w) {
							t.Errorf("unresolved items %q, want them to name %q", items, w)
						}
					}
					if res.stdout != "" {
						t.Errorf("stdout %q, want nothing", res.stdout)
					}
					for i, s := range spots {
						if after := s.state(); after != before[i] {
							t.Errorf("%s: got %q after the refusal, want %q as before", s.what, after, before[i])
						}
					}
					t.Logf("refused as it should:\n%s", res.stderr)
				})
			}
		})
	}
}

// TestScratchSecrets: a scratch copy reports the source's secrets as the
// slim path does, each with whether it holds it: a credentials file in the
// application directory (recognisable only by content) is left out by the
// secrets set, a token in Env is copied with the config, and
// --fail-on secrets then exits 3 with the report written, nothing at the
// target.
func TestScratchSecrets(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	src := "imgslim-test/scratch-secrets-src:" + uniq()
	rmiOnCleanup(t, src)
	token := "ghp_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX"
	dockertest.BuildImage(t, src, map[string][]byte{
		"run.sh":       []byte("#!/bin/sh\necho served\n"),
		"settings.yml": []byte("aws_access_key_id = AKIAZ3MSJV4WWNKWW5FG\naws_secret_access_key = 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\n"),
	}, "FROM "+base+"\nCOPY run.sh /app/run.sh\nCOPY settings.yml /app/deploy/settings.yml\nRUN chmod 0755 /app/run.sh\n"+
		"ENV DEPLOY_TOKEN="+token+"\nWORKDIR /app\nCMD [\"/app/run.sh\"]\n")
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"reported", nil, exitOK},
		{"gate", []string{"--fail-on", "secrets"}, exitGate},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := "oci:" + filepath.Join(dir, c.name) + ":scratch"
			report := filepath.Join(dir, c.name+".json")
			res, _ := scratchRun(t, append(append([]string{"--sets", "all", "--report", report}, c.args...), "docker-daemon:"+src, dst)...)
			if res.code != c.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, c.code, res.stderr)
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("the report: %v", err)
			}
			var doc struct {
				Images []struct {
					Secrets []struct{ Where, Location, Status string } `json:"secrets"`
				} `json:"images"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || len(doc.Images) != 1 {
				t.Fatalf("the report: %v, %d images; want one", err, len(doc.Images))
			}
			got := map[string]string{}
			for _, s := range doc.Images[0].Secrets {
				got[s.Where] = s.Status
			}
			if got["/app/deploy/settings.yml"] != "removed" || got["env DEPLOY_TOKEN"] != "remaining" {
				t.Errorf("secrets %v, want /app/deploy/settings.yml removed and env DEPLOY_TOKEN remaining", got)
			}
			_, err = os.Stat(filepath.Join(dir, c.name))
			if written := err == nil; written != (c.code == exitOK) {
				t.Errorf("target written: %v, want %v", written, c.code == exitOK)
			}
		})
	}
}
