//go:build e2e

package dockertest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRuntimeFixtures builds each runtime fixture and its multi-stage
// twin, and checks both serve as root (the source) and as they are.
func TestRuntimeFixtures(t *testing.T) {
	for _, c := range []struct {
		name  string
		app   func(testing.TB) (string, int)
		multi func(testing.TB) string
	}{
		{"java", JavaApp, JavaMultiStage},
		{"shell", ShellApp, ShellMultiStage},
		{"ruby", RubyApp, RubyMultiStage},
		{"perl", PerlApp, PerlMultiStage},
		{"cap", CapApp, CapMultiStage},
		{"php", PhpApp, PhpMultiStage},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			tag, port := c.app(t)
			multi := c.multi(t)
			t.Logf("%s and %s ready in %v", tag, multi, time.Since(start).Round(time.Millisecond))
			for _, img := range []string{tag, multi} {
				t.Run(img, func(t *testing.T) {
					logSize(t, img)
					RunApp(t, img, port)
					health := WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, HealthPath), time.Minute)
					if got := strings.TrimSpace(string(health)); got != "ok" {
						t.Errorf("%s: GET %s: got %q, want ok", img, HealthPath, got)
					}
					body := WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
					if !strings.Contains(string(body), `"uid":0`) {
						t.Errorf("%s: GET /: got %q, want uid 0", img, body)
					}
					t.Logf("%s: GET / %s", img, strings.TrimSpace(string(body)))
				})
			}
		})
	}
}
