package dockertest

// Realistic application images, built the way a team that never wrote a
// multi-stage Dockerfile builds them: one stage, the toolchain, the package
// manager caches, the sources, the .git directory and a .env file all left
// in the image. They are what imgslim is for.
//
// The images are kept in the daemon between runs and are reused when their
// label FixtureLabel still matches the hash of their recipe (the Dockerfile,
// the files under testdata/apps/, the generated dotfiles and the ID of the
// image they are built FROM). On a fresh machine NodeBase and GoService take
// about two minutes each, mostly apt-get, and NodeTSApp under a minute on top
// of NodeBase; a reuse takes well under a second.
//
// The build containers cannot reach the npm registry or the Go module proxy
// (only plain-HTTP apt works inside them), so the host fills an npm cache and
// a Go module cache into the build context, and the Dockerfile copies them
// to where the tools look (/root/.npm, /root/go/pkg/mod) and installs
// offline. They stay in the image, as a real ~/.npm and module cache would.
//
// testdata/apps/node-ts-app/package-lock.json was made on the host with
//
//	npm install --omit-lockfile-registry-resolved=false
//
// (npm's default, which an npmrc setting omit-lockfile-registry-resolved
// would change; offline installs work either way). Keep every package
// installable on node 18: @typescript-eslint 8 pulls in packages that want
// node 20, hence ^7.
//
// The servers listen on 127.0.0.1 at a fixed port (NodeTSAppPort,
// GoServicePort), or at $PORT when it is set. Run them with RunApp, which
// keeps two tests (even in different packages) from running the same port at
// once.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fixture images, their ports and the label that caches them.
const (
	// NodeBaseTag is a node:18-like image: Debian's nodejs 18 and npm 9 with
	// build-essential, git and python3, apt lists and .debs left behind.
	NodeBaseTag = "imgslim-test/node18:bookworm"
	// NodeTSAppTag is a TypeScript Express app built with its devDependencies
	// in NodeBaseTag, running as root: CMD ["node", "dist/server.js"] in /app.
	NodeTSAppTag  = "imgslim-test/node-ts-app:1"
	NodeTSAppPort = 18080
	// GoServiceTag is a Go service built with Debian's Go 1.19 in the image:
	// CMD ["/app/server"], sources in /app, caches in /root.
	GoServiceTag  = "imgslim-test/go-service:1"
	GoServicePort = 18081

	// HealthPath answers 200 "ok" in both apps. "/" answers JSON holding
	// "uid", the process's uid.
	HealthPath = "/health"

	// FixtureLabel holds the hash of the recipe an image was built from.
	FixtureLabel = "imgslim.fixture"
)

// AppBuildTimeout bounds one fixture `docker build`. NodeBase's apt-get
// takes about two minutes on an idle 2-core machine, and more than 20 on one
// shared by several test runs at once (load average 15 to 25).
var AppBuildTimeout = 40 * time.Minute

// recipeVersion is hashed into every recipe: bump it when the code that
// fills a build context changes in a way the hashed files do not show.
const recipeVersion = "imgslim fixture recipe v1"

// NodeBase returns NodeBaseTag, building it from the base image when it is
// missing or stale.
func NodeBase(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:  NodeBaseTag,
		from: base,
		dockerfile: `FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential git python3 nodejs npm
CMD ["node"]
`,
	})
	return NodeBaseTag
}

// NodeTSApp returns NodeTSAppTag and the port it listens on, building it
// (and NodeBase) when missing or stale. The image holds, in /app, the
// sources, .git, a .env with fake credentials, node_modules with the
// devDependencies (typescript, jest, eslint, ...) and dist/; /root/.npm holds
// the npm cache.
func NodeTSApp(t testing.TB) (tag string, port int) {
	t.Helper()
	from := NodeBase(t)
	files := appFiles(t, "node-ts-app", "app/")
	files["app/.gitignore"] = []byte("node_modules/\ndist/\ncoverage/\n.env\n*.log\n")
	files["app/.env"] = []byte(`# local settings: never commit this file
NODE_ENV=production
DATABASE_URL=postgres://orders:hunter2@db.internal:5432/orders
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
SESSION_SECRET=imgslim-fake-session-secret-0123456789
`)
	ensureImage(t, recipe{
		tag:   NodeTSAppTag,
		from:  from,
		files: files,
		dockerfile: `FROM ` + from + `
WORKDIR /app
COPY npm-cache /root/.npm
COPY app/ .
RUN npm install --offline
RUN npx tsc
ENV PORT=` + strconv.Itoa(NodeTSAppPort) + `
EXPOSE ` + strconv.Itoa(NodeTSAppPort) + `
CMD ["node", "dist/server.js"]
`,
		fill: func(t testing.TB, dir string) {
			fillNpmCache(t, filepath.Join(dir, "app"), filepath.Join(dir, "npm-cache"))
			gitCommit(t, filepath.Join(dir, "app"))
		},
	})
	return NodeTSAppTag, NodeTSAppPort
}

// GoService returns GoServiceTag and the port it listens on, building it
// when missing or stale. The image holds Debian's golang-go (Go 1.19), the
// module cache in /root/go/pkg/mod, the build cache in /root/.cache/go-build,
// and in /app the sources, .git and the binary /app/server.
func GoService(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	files := appFiles(t, "go-service", "src/")
	files["src/.gitignore"] = []byte("/server\n/inventory\n*.test\n")
	ensureImage(t, recipe{
		tag:   GoServiceTag,
		from:  base,
		files: files,
		dockerfile: `FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y golang-go git ca-certificates
WORKDIR /app
COPY gomodcache /root/go/pkg/mod
COPY src/ .
RUN GOPROXY=off GOFLAGS=-mod=mod go build -o /app/server .
ENV PORT=` + strconv.Itoa(GoServicePort) + `
EXPOSE ` + strconv.Itoa(GoServicePort) + `
CMD ["/app/server"]
`,
		fill: func(t testing.TB, dir string) {
			fillGoModCache(t, filepath.Join(dir, "src"), filepath.Join(dir, "gomodcache"))
			gitCommit(t, filepath.Join(dir, "src"))
		},
	})
	return GoServiceTag, GoServicePort
}

// RunApp starts a fixture app image with RunDetached after taking a lock on
// port, held until the container is removed, so that tests in different
// packages that run the same fixed port take turns.
func RunApp(t testing.TB, image string, port int) (id string) {
	t.Helper()
	unlock := lockFile(t, fmt.Sprintf("port-%d", port))
	t.Cleanup(unlock) // registered first, so it runs after the container's removal
	return RunDetached(t, image)
}

// recipe is how a fixture image is built.
type recipe struct {
	tag        string
	from       string            // the FROM image; its ID is part of the hash
	dockerfile string            // the Dockerfile
	files      map[string][]byte // context files, by slash-separated path
	// fill, when set, adds to the context what the host derives from files
	// (package caches, .git); it must depend only on them.
	fill func(t testing.TB, dir string)
}

// hash returns the hex SHA-256 of everything the image depends on.
func (r recipe) hash(fromID string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d:%s", recipeVersion, r.tag, fromID, len(r.dockerfile), r.dockerfile)
	names := make([]string, 0, len(r.files))
	for name := range r.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(h, "\x00%s\x00%d:", name, len(r.files[name]))
		h.Write(r.files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ensureImage builds r.tag unless the daemon already holds it with a
// matching FixtureLabel. A file lock makes concurrent test binaries wait for
// one build instead of building the same image at once.
func ensureImage(t testing.TB, r recipe) {
	t.Helper()
	fromID := imageID(t, r.from)
	if fromID == "" {
		t.Fatalf("fixture %s: image %s to build FROM not found", r.tag, r.from)
	}
	want := r.hash(fromID)

	unlock := lockFile(t, "image-"+r.tag)
	defer unlock()

	if imageLabel(r.tag, FixtureLabel) == want {
		t.Logf("fixture %s: reusing the image in the daemon (%s=%.12s)", r.tag, FixtureLabel, want)
		return
	}
	oldID := imageID(t, r.tag)

	start := time.Now()
	dir := t.TempDir()
	for name, data := range r.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // not the umask's choice
			t.Fatal(err)
		}
	}
	if r.fill != nil {
		r.fill(t, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(r.dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	prepared := time.Since(start)
	_, err := run(context.Background(), AppBuildTimeout, "build", "--network", "host", "--force-rm",
		"--label", FixtureLabel+"="+want, "-t", r.tag, dir)
	if err != nil {
		t.Fatalf("fixture %s: %v", r.tag, err)
	}
	t.Logf("fixture %s: built in %v (context prepared on the host in %v)",
		r.tag, time.Since(start).Round(100*time.Millisecond), prepared.Round(100*time.Millisecond))
	if oldID != "" && oldID != imageID(t, r.tag) {
		// The stale build, now untagged; images built FROM it keep it alive.
		_, _ = run(context.Background(), time.Minute, "rmi", oldID)
	}
}

// imageID returns the ID of image in the daemon, or "" when it has none.
func imageID(t testing.TB, image string) string {
	t.Helper()
	Require(t)
	id, err := run(context.Background(), time.Minute, "image", "inspect", "--format", "{{.Id}}", image)
	if err != nil {
		return ""
	}
	return id
}

// imageLabel returns the value of label on image, or "" when either is missing.
func imageLabel(image, label string) string {
	out, err := run(context.Background(), time.Minute, "image", "inspect", "--format", "{{json .Config.Labels}}", image)
	if err != nil {
		return ""
	}
	var labels map[string]string
	if json.Unmarshal([]byte(out), &labels) != nil {
		return ""
	}
	return labels[label]
}

// lockFile takes an exclusive flock on a file in the temporary directory
// named after name, waiting for it, and returns the function that releases
// it. flock locks conflict between two opens in one process too.
func lockFile(t testing.TB, name string) (unlock func()) {
	t.Helper()
	p := filepath.Join(os.TempDir(), "imgslim-dockertest-"+fileSafe(name)+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("lock %s: %v", p, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", p, err)
	}
	return func() { f.Close() } // closing the last descriptor releases the lock
}

// appFiles reads testdata/apps/NAME (skipping node_modules, dist and .git,
// which a developer's own runs may have left there) into a map keyed by
// prefix plus the slash-separated relative path.
func appFiles(t testing.TB, name, prefix string) map[string][]byte {
	t.Helper()
	root := filepath.Join(moduleRoot(t), "testdata", "apps", name)
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "dist", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[prefix+filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatalf("fixture files: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("fixture files: nothing under %s", root)
	}
	return files
}

// moduleRoot returns the directory of the imgslim module's go.mod, looking
// up from the working directory (a test runs in its package's directory).
func moduleRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" && f[1] == "github.com/imgslim/imgslim" {
					return dir
				}
			}
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod of github.com/imgslim/imgslim above %s", wd)
		}
	}
}

// hostTool returns the path of a command the host needs to prepare a build
// context, skipping the test (failing it when CI is true) when it is missing.
func hostTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, "%s not found on the host: needed to prepare fixture images", name)
	}
	return p
}

// hostRun runs a host command in dir with env merged into the environment
// (see mergeEnv) and fails the test, showing its output, when it fails.
func hostRun(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hostTool(t, name), args...)
	cmd.Dir = dir
	cmd.Env = mergeEnv(os.Environ(), env)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// mergeEnv returns base with the entries of env: "KEY=VALUE" sets KEY, a
// bare "KEY" unsets it.
func mergeEnv(base, env []string) []string {
	override := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		override[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !override[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		}
	}
	return out
}

// fillNpmCache fills cache (an npm cache directory, as ~/.npm) with every
// tarball app's package-lock.json names, with `npm ci` on the host (which
// reaches the registry) in a scratch copy of the manifests. Tarballs with
// resolved URLs and integrity are all an offline install needs.
func fillNpmCache(t testing.TB, app, cache string) {
	t.Helper()
	scratch := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(app, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(scratch, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostRun(t, scratch, nil, "npm", "ci", "--cache", cache, "--ignore-scripts",
		"--no-audit", "--no-fund", "--loglevel=error")
	// The host's logs of this run are not part of the image's story.
	if err := os.RemoveAll(filepath.Join(cache, "_logs")); err != nil {
		t.Fatal(err)
	}
}

// fillGoModCache downloads the modules of the Go module in src into modcache
// (laid out as GOMODCACHE) with the host's go, trying the host's own module
// cache first. The files are left writable so that cleanup can delete them.
func fillGoModCache(t testing.TB, src, modcache string) {
	t.Helper()
	proxy := strings.TrimSpace(hostRun(t, src, []string{"GOWORK=off", "GOFLAGS="}, "go", "env", "GOPROXY"))
	if hostCache := strings.TrimSpace(hostRun(t, src, []string{"GOWORK=off", "GOFLAGS="}, "go", "env", "GOMODCACHE")); hostCache != "" {
		proxy = "file://" + filepath.ToSlash(filepath.Join(hostCache, "cache", "download")) + "," + proxy
	}
	hostRun(t, src, []string{
		"GOMODCACHE=" + modcache, "GOPROXY=" + proxy, "GOFLAGS=-modcacherw",
		"GOWORK=off", "GOTOOLCHAIN=local",
	}, "go", "mod", "download")
}

// gitCommit makes dir a git repository holding its files in two commits, as
// a checkout would, with fixed identities and dates and none of the host's
// git configuration. The .gitignore keeps ignored files (.env) out.
func gitCommit(t testing.TB, dir string) {
	t.Helper()
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "HOME=" + dir, "XDG_CONFIG_HOME",
		"GIT_AUTHOR_NAME=Dana Developer", "GIT_AUTHOR_EMAIL=dana@example.com",
		"GIT_COMMITTER_NAME=Dana Developer", "GIT_COMMITTER_EMAIL=dana@example.com",
	}
	for _, kv := range os.Environ() { // GIT_DIR and friends would point elsewhere
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") {
			env = append(env, k)
		}
	}
	git := func(date string, args ...string) {
		t.Helper()
		hostRun(t, dir, append(env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date), "git", args...)
	}
	const first, second = "2024-03-04T10:00:00Z", "2024-05-06T16:30:00Z"
	git(first, "init", "-q", "-b", "main")
	git(first, "add", "-A")
	git(first, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "Initial import")
	f, err := os.OpenFile(filepath.Join(dir, "README.md"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nThe server listens on 127.0.0.1:$PORT.\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	git(second, "add", "-A")
	git(second, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "README: document PORT")
}
