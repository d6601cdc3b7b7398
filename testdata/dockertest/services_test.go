//go:build e2e

package dockertest

import (
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
)

// serverSource is a static HTTP server run inside the test image: it listens
// on 127.0.0.1:PORT (PORT from its first argument) and reports its uid.
const serverSource = `package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:" + os.Args[1]
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "imgslim dockertest uid=%d\n", os.Getuid())
	})
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
`

func TestBuildRunServe(t *testing.T) {
	base := BaseImage(t)

	// A static binary: the minbase image has libc, but nothing should depend on it.
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(serverSource), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", "server", "main.go")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build server: %v\n%s", err, out)
	}
	server, err := os.ReadFile(filepath.Join(src, "server"))
	if err != nil {
		t.Fatal(err)
	}

	tag := fmt.Sprintf("imgslim-test/dockertest-server:%d-%d", os.Getpid(), time.Now().UnixNano())
	BuildImage(t, tag, map[string][]byte{"bin/server": server}, `FROM `+base+`
COPY bin/server /usr/local/bin/imgslim-dockertest-server
USER 65534
ENTRYPOINT ["/usr/local/bin/imgslim-dockertest-server"]
`)
	if got := Docker(t, "image", "inspect", "--format", "{{.Config.User}}", tag); got != "65534" {
		t.Errorf("image %s user: got %q, want %q", tag, got, "65534")
	}

	port := freePort(t)
	id := RunDetached(t, tag, strconv.Itoa(port))

	body := WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 30*time.Second)
	if got, want := strings.TrimSpace(string(body)), "imgslim dockertest uid=65534"; got != want {
		t.Errorf("GET /: got %q, want %q", got, want)
	}
	if got, want := Docker(t, "exec", id, "id", "-u"), "65534"; got != want {
		t.Errorf("docker exec %.12s id -u: got %q, want %q", id, got, want)
	}
}

func TestRegistry(t *testing.T) {
	host, user, _ := Registry(t)
	if host == "" || user == "" {
		t.Errorf("Registry: got host %q user %q, want both set", host, user)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestSaved(t *testing.T) {
	base := BaseImage(t)
	t.Setenv(EnvCache, t.TempDir())
	first := Saved(t, base)
	start := time.Now()
	if again := Saved(t, base); again != first {
		t.Errorf("Saved twice: got %s, then %s; want the same archive", first, again)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Saved of a kept archive took %v, want no docker save", took)
	}
	// What docker save writes: a manifest.json naming the image.
	out, err := exec.Command("tar", "-xOf", first, "manifest.json").Output()
	if err != nil {
		t.Fatalf("tar -xOf %s manifest.json: %v", first, err)
	}
	var m []struct{ RepoTags []string }
	if err := json.Unmarshal(out, &m); err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != base {
		t.Errorf("manifest.json of %s: got %s (%v), want one image tagged %s", first, out, err, base)
	}
}

// TestBuildImageOwnIntermediates: two builds of the same recipe share no
// image but the base. With the builder's cache they shared every
// intermediate, and the first test's cleanup (rmi of its tag, which
// removes the untagged parents) broke a parallel test still building on
// them: "unable to find image sha256:…" in CI.
func TestBuildImageOwnIntermediates(t *testing.T) {
	base := BaseImage(t)
	files := map[string][]byte{"notes.txt": []byte("the same context\n")}
	dockerfile := "FROM " + base + "\nCOPY notes.txt /app/\nWORKDIR /app\nCMD [\"cat\", \"notes.txt\"]\n"
	baseIDs := map[string]bool{}
	for _, id := range strings.Fields(Docker(t, "history", "-q", base)) {
		baseIDs[id] = true
	}
	var chains [2]map[string]bool
	for i := range chains {
		tag := fmt.Sprintf("imgslim-test/dockertest-own:%d-%d-%d", os.Getpid(), time.Now().UnixNano(), i)
		BuildImage(t, tag, files, dockerfile)
		chains[i] = map[string]bool{}
		for _, id := range strings.Fields(Docker(t, "history", "-q", tag)) {
			if id != "<missing>" && !baseIDs[id] {
				chains[i][id] = true
			}
		}
		if len(chains[i]) == 0 {
			t.Fatalf("docker history %s: no image of its own above the base", tag)
		}
	}
	for id := range chains[1] {
		if chains[0][id] {
			t.Errorf("image %s is in both builds' history: got a shared intermediate, want each build's own", id)
		}
	}
}
