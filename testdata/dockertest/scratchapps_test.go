//go:build e2e

package dockertest

import (
	"testing"
	"time"
)

func TestStaticGoApp(t *testing.T) {
	start := time.Now()
	tag, port := StaticGoApp(t)
	t.Logf("StaticGoApp ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/.git", "/app/main.go", AppBinary, "/usr/lib/go-1.19", "/root/.cache/go-build",
		"/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo/Europe/Paris", "/var/lib/apt/lists",
	}, []string{"/app/.git", "/root/.cache/go-build", "/usr/lib/go-1.19", "/usr/share/zoneinfo", "/var/lib/apt/lists"})
}

func TestDynamicCApp(t *testing.T) {
	start := time.Now()
	tag, port := DynamicCApp(t)
	t.Logf("DynamicCApp ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/.git", "/app/server.c", AppBinary, "/usr/include/openssl/ssl.h", "/usr/include/zlib.h",
		"/usr/bin/gcc", "/var/lib/apt/lists",
	}, []string{"/app/.git", "/usr/lib/gcc", "/usr/include", "/var/lib/apt/lists"})
}

func TestFlaskApp(t *testing.T) {
	start := time.Now()
	tag, port := FlaskApp(t)
	t.Logf("FlaskApp ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/.git", "/app/app.py", "/app/__pycache__", "/app/tests", "/usr/lib/python3/dist-packages/flask",
		"/var/lib/apt/lists",
	}, []string{"/app/.git", "/usr/lib/python3", "/usr/lib/python3.11", "/var/lib/apt/lists"})
}

func TestNodeTSMultiStage(t *testing.T) {
	start := time.Now()
	tag, port := NodeTSMultiStage(t)
	t.Logf("NodeTSMultiStage ready in %v", time.Since(start).Round(time.Millisecond))
	checkApp(t, tag, port, []string{
		"/app/dist/server.js", "/app/node_modules/express", "/usr/bin/node",
	}, []string{"/app/node_modules", "/usr/lib/x86_64-linux-gnu", "/usr/share/nodejs"})
	// The production install only: no devDependencies, sources, npm or .git.
	if got := Docker(t, "run", "--rm", "--network", "none", tag, "sh", "-c",
		`for p in /app/node_modules/typescript /app/node_modules/jest /app/src /app/.git /usr/bin/npm /root/.npm; do if test -e $p; then echo $p; fi; done`); got != "" {
		t.Errorf("%s: holds %q, want none of the devDependencies, sources, .git, npm or its cache", tag, got)
	}
}
