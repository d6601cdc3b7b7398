//go:build e2e

package dockertest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNodeBase(t *testing.T) {
	start := time.Now()
	tag := NodeBase(t)
	t.Logf("NodeBase ready in %v", time.Since(start).Round(time.Millisecond))
	logSize(t, tag)
	out := Docker(t, "run", "--rm", "--network", "host", tag, "sh", "-c", "node --version && npm --version")
	if !strings.HasPrefix(out, "v18.") {
		t.Errorf("%s: node --version && npm --version: got %q, want node v18.x", tag, out)
	}
}

func TestNodeTSApp(t *testing.T) {
	start := time.Now()
	tag, port := NodeTSApp(t)
	t.Logf("NodeTSApp ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/.git", "/app/.env", "/app/src/server.ts", "/app/dist/server.js",
		"/app/node_modules/typescript", "/app/node_modules/jest", "/app/node_modules/eslint",
		"/app/node_modules/express", "/root/.npm/_cacache", "/var/lib/apt/lists", "/usr/bin/gcc",
	}, []string{"/app/.git", "/app/node_modules", "/root/.npm", "/usr/lib/gcc", "/var/lib/apt/lists", "/var/cache/apt"})
}

func TestGoService(t *testing.T) {
	start := time.Now()
	tag, port := GoService(t)
	t.Logf("GoService ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/.git", "/app/main.go", "/app/server",
		"/root/go/pkg/mod/github.com/go-chi", "/root/go/pkg/mod/cache/download",
		"/root/.cache/go-build", "/usr/lib/go-1.19", "/var/lib/apt/lists",
	}, []string{"/app/.git", "/root/go", "/root/.cache/go-build", "/usr/lib/go-1.19", "/usr/lib/gcc", "/var/lib/apt/lists", "/var/cache/apt"})
}

// checkApp runs tag, checks that it answers on 127.0.0.1:port as root and
// that the paths in want (the bloat the fixture exists for) are there, and
// logs the image's size and the sizes of the trees in du (which must not
// nest: du counts a tree once).
func checkApp(t *testing.T, tag string, port int, want, du []string) {
	t.Helper()
	logSize(t, tag)
	if user := Docker(t, "image", "inspect", "--format", "{{.Config.User}}", tag); user != "" {
		t.Errorf("%s: User %q, want empty (root)", tag, user)
	}
	id := RunApp(t, tag, port)

	health := WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, HealthPath), time.Minute)
	if got := strings.TrimSpace(string(health)); got != "ok" {
		t.Errorf("GET %s: got %q, want %q", HealthPath, got, "ok")
	}
	body := WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
	var root struct {
		UID *int `json:"uid"`
	}
	if err := json.Unmarshal(body, &root); err != nil || root.UID == nil {
		t.Fatalf("GET /: got %q, want JSON with a uid (err %v)", body, err)
	}
	if *root.UID != 0 {
		t.Errorf("GET /: uid %d, want 0; body %s", *root.UID, body)
	}

	// ls fails, naming them, when some are missing.
	Docker(t, append([]string{"exec", id, "ls", "-d"}, want...)...)
	t.Logf("%s: some of the bloat it carries:\n%s", tag, Docker(t, append([]string{"exec", id, "du", "-sh"}, du...)...))
}

// logSize logs the size of image as the daemon reports it.
func logSize(t *testing.T, image string) {
	t.Helper()
	size, err := strconv.ParseInt(Docker(t, "image", "inspect", "--format", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatalf("size of %s: %v", image, err)
	}
	t.Logf("%s: %d bytes (%.0f MB)", image, size, float64(size)/1e6)
}
