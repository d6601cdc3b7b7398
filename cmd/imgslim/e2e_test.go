//go:build e2e

package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// e2eServer answers / with its uid, on 127.0.0.1 only, at the port its
// first argument names.
const e2eServer = `package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "uid=%d\n", os.Getuid())
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Args[1], nil))
}
`

// buildServer compiles e2eServer as a static linux binary.
func buildServer(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(e2eServer), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module e2eserver\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", "server", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build server: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func imageSize(t *testing.T, ref string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(dockertest.Docker(t, "image", "inspect", "--format", "{{.Size}}", ref), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEndToEnd builds with the daemon an image the way a single-stage
// Dockerfile leaves it, slims it daemon to daemon, runs the result and
// looks inside it.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	start := time.Now()

	// The build context: the server, and the bloat a single-stage build
	// carries: a .git of 6 MB, an npm cache of 2 MB.
	const packSize = 3 << 20
	pack := []byte(junk(11, packSize))
	files := map[string][]byte{
		"server":                        buildServer(t),
		"git/HEAD":                      []byte("ref: refs/heads/main\n"),
		"git/ORIG_HEAD":                 []byte("0123456789abcdef0123456789abcdef01234567\n"),
		"git/objects/pack/pack-0.pack":  pack,
		"npm/index-v5/00/cache.json":    []byte(`{"key":"make-fetch-happen:request-cache"}`),
		"static/index.html":             []byte("<h1>hello</h1>\n"),
		"static/tmp/upload-0001.part":   []byte(junk(12, 512<<10)),
		"git/objects/info/commit-graph": []byte(junk(13, 256<<10)),
	}
	for i := 0; i < 24; i++ {
		files[fmt.Sprintf("git/objects/%02x/%038x", i, i)] = []byte(junk(int64(100+i), 128<<10))
		if i < 16 {
			files[fmt.Sprintf("npm/content-v2/sha512/%02x/blob", i)] = []byte(junk(int64(200+i), 128<<10))
		}
	}
	// Built once per machine, while the recipe holds.
	src := dockertest.CachedImage(t, "imgslim-test/cli-e2e-src:cached", base, files, `FROM `+base+`
COPY server /usr/local/bin/e2e-server
COPY git /app/.git
COPY npm /root/.npm/_cacache
COPY static /app/static
# A whiteout: the file stays in the layer below.
RUN rm /app/.git/ORIG_HEAD && rm -r /app/static/tmp
# A hardlink pair in one layer: the target goes with vendor/.git, the link
# stays.
RUN mkdir -p /app/vendor/.git && cp /app/.git/objects/pack/pack-0.pack /app/vendor/.git/pack \
 && ln /app/vendor/.git/pack /app/vendor/bundle.pack
WORKDIR /app
ENV APP_MODE=prod
ENTRYPOINT ["/usr/local/bin/e2e-server"]
`)
	dst := "imgslim-test/cli-e2e-slim:" + uniq()
	rmiOnCleanup(t, dst)
	// The source is what the test means it to be: .git there, a real
	// hardlink pair, running as root.
	if got := dockertest.Docker(t, "run", "--rm", "--network", "none", "--entrypoint", "sh", src, "-c",
		"test -d /app/.git && test -d /root/.npm && stat -c %h /app/vendor/bundle.pack && id -u"); got != "2\n0" {
		t.Fatalf("source image: got %q, want the link count 2 and uid 0", got)
	}
	t.Logf("%s ready in %v", src, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	res := mustSlim(t, "--remove", "**/.git", "--remove", "/root/.npm", "--remove", "/app/static/tmp",
		"docker-daemon:"+src, "docker-daemon:"+dst)
	t.Logf("slimmed in %v:\n%s", time.Since(start).Round(time.Millisecond), res.stdout)

	// The image: smaller by the bloat, less the pack the link keeps.
	before, after := imageSize(t, src), imageSize(t, dst)
	if want := int64(5 << 20); before-after < want {
		t.Errorf("image size: got %d -> %d bytes, saved %d; want at least %d saved", before, after, before-after, want)
	}
	if got := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Config.WorkingDir}}", dst); got != `65532:65532|["/usr/local/bin/e2e-server"]|/app` {
		t.Errorf("config of %s: got %q, want user 65532:65532, the entrypoint and workdir kept", dst, got)
	}

	// It runs, as nonroot, and serves.
	port := freePort(t)
	id := dockertest.RunDetached(t, dst, strconv.Itoa(port))
	body := string(dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), time.Minute))
	if strings.TrimSpace(body) != "uid=65532" {
		t.Errorf("GET /: got %q, want %q", body, "uid=65532")
	}

	// Inside: the removed trees are gone, the link is a file holding the
	// pack, the rest is there.
	sum := fmt.Sprintf("%x", sha256.Sum256(pack))
	for _, c := range []struct{ cmd, want string }{
		{"find / -xdev -name .git", ""},
		{"test -e /root/.npm || echo absent", "absent"},
		{"test -e /app/static/tmp || echo absent", "absent"},
		{"cat /app/static/index.html", "<h1>hello</h1>"},
		{"stat -c '%F %h %s' /app/vendor/bundle.pack", fmt.Sprintf("regular file 1 %d", packSize)},
		{"sha256sum < /app/vendor/bundle.pack", sum + "  -"},
		{"ls -A /app/vendor", "bundle.pack"},
		{"grep ^nonroot: /etc/passwd", "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin"},
		{"stat -c '%u:%g %a' /home/nonroot", "65532:65532 700"},
	} {
		if got := dockertest.Docker(t, "exec", "-u", "0", id, "sh", "-c", c.cmd); got != c.want {
			t.Errorf("docker exec %s: got %q, want %q", c.cmd, got, c.want)
		}
	}
	if got := dockertest.Docker(t, "exec", id, "id", "-u"); got != "65532" {
		t.Errorf("docker exec id -u: got %q, want 65532", got)
	}
}

// A layer that occurs twice in an image is saved once by Docker 20.10, the
// second occurrence's layer.tar a symlink to the first; the daemon's image
// reads and slims as any other (CI met this with two empty layers).
func TestDaemonRepeatedLayer(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	src := "imgslim-test/repeated-layer-src:" + uniq()
	dst := "imgslim-test/repeated-layer-slim:" + uniq()
	rmiOnCleanup(t, src)
	rmiOnCleanup(t, dst)
	// The first and third RUN write the same file with the same time:
	// the same layer, twice.
	dockertest.BuildImage(t, src, nil, "FROM "+base+"\n"+
		"RUN echo repeated > /f && touch -d @0 /f\nRUN rm /f\nRUN echo repeated > /f && touch -d @0 /f\n"+
		"CMD [\"/bin/cat\", \"/f\"]\n")
	saved := dockertest.Docker(t, "image", "inspect", "--format", "{{json .RootFS.Layers}}", src)
	var diffIDs []string
	if err := json.Unmarshal([]byte(saved), &diffIDs); err != nil || len(diffIDs) < 4 {
		t.Fatalf("source layers %s (%v): want the base's and three more", saved, err)
	}
	if diffIDs[len(diffIDs)-1] != diffIDs[len(diffIDs)-3] {
		// A storage driver may record more than the file (a directory's
		// time): the image then holds no repeated layer, and the
		// archive no link. The reader's handling of links is proven
		// apart, by TestDockerArchiveLinkedLayers; the slim still runs.
		t.Logf("source layers %s: the daemon's storage driver made the two writes differ, so no layer repeats", saved)
	}
	mustSlim(t, "docker-daemon:"+src, "docker-daemon:"+dst)
	if got := dockertest.Docker(t, "run", "--rm", "--network", "none", dst); got != "repeated" {
		t.Errorf("docker run %s: got %q, want %q", dst, got, "repeated")
	}
}
