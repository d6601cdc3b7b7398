package slim

import (
	"strings"
	"testing"
)

// The cases follow .dockerignore's documented semantics, which
// moby/patternmatcher implements for docker build itself.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		remove, keep []string
		path         string
		want         bool
	}{
		{[]string{"app/.git"}, nil, "/app/.git", true},
		{[]string{"app/.git"}, nil, "/app/.git/objects/ab/cdef", true},
		{[]string{"app/.git"}, nil, "/app/.gitignore", false},
		{[]string{"app/.git"}, nil, "/srv/app/.git", false},
		{[]string{"/app/.git"}, nil, "/app/.git/HEAD", true}, // leading slash optional
		{[]string{"**/.git"}, nil, "/.git", true},
		{[]string{"**/.git"}, nil, "/a/b/c/.git/HEAD", true},
		{[]string{"*.log"}, nil, "/x.log", true},
		{[]string{"*.log"}, nil, "/var/x.log", false}, // * does not cross /
		{[]string{"**/*.log"}, nil, "/var/log/x.log", true},
		{[]string{"app/?.txt"}, nil, "/app/a.txt", true},
		{[]string{"app/?.txt"}, nil, "/app/ab.txt", false},
		{[]string{"app/[a-c].txt"}, nil, "/app/b.txt", true},
		{[]string{"root/.npm/**"}, nil, "/root/.npm/_cacache/x", true},
		{[]string{"app/node_modules", "!app/node_modules/keep"}, nil, "/app/node_modules/left-pad/index.js", true},
		{[]string{"app/node_modules", "!app/node_modules/keep"}, nil, "/app/node_modules/keep/index.js", false},
		{[]string{"app/node_modules", "!app/node_modules/keep"}, nil, "/app/node_modules/keep", false},
		{[]string{"!app/a", "app"}, nil, "/app/a", true}, // the later line wins
		{[]string{"app", "!app/a"}, nil, "/app/a", false},
		{[]string{"# a comment\napp/doc\n\n  app/tmp  "}, nil, "/app/tmp/x", true},
		{[]string{"# a comment\napp/doc"}, nil, "/# a comment", false},
		{[]string{"usr/share/doc"}, []string{"usr/share/doc/ca-certificates"}, "/usr/share/doc/ca-certificates/x", false},
		{[]string{"usr/share/doc"}, []string{"usr/share/doc/ca-certificates"}, "/usr/share/doc/bash/x", true},
		{nil, nil, "/anything", false},
		{[]string{"**"}, nil, "/", false}, // the root itself never goes
	} {
		r, err := NewRules(tc.remove, tc.keep)
		if err != nil {
			t.Fatalf("NewRules(%q, %q): %v", tc.remove, tc.keep, err)
		}
		if got, _ := r.Removes(tc.path); got != tc.want {
			t.Errorf("remove %q keep %q: Removes(%s) = %v, want %v", tc.remove, tc.keep, tc.path, got, tc.want)
		}
	}
}

func TestRulesAttribution(t *testing.T) {
	r, err := NewRules([]string{"**/.git", "app", "!app/keep", "app/keep/tmp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/srv/.git/HEAD":     "**/.git",
		"/app/main.js":       "app",
		"/app/.git/HEAD":     "app", // both match; the later line decides
		"/app/keep/tmp/x":    "app/keep/tmp",
		"/app/keep/index.js": "",
	} {
		if _, got := r.Removes(path); got != want {
			t.Errorf("pattern for %s: got %q, want %q", path, got, want)
		}
	}
	if got := r.root("/app/.git/objects/x"); got != "/app" {
		t.Errorf("root: got %s, want /app", got)
	}
}

func TestRulesBadPattern(t *testing.T) {
	_, err := NewRules([]string{"ok", "app/[z-a"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"app/[z-a"`) {
		t.Errorf("got error %v, want one naming the pattern", err)
	}
	if _, err := NewRules(nil, []string{"["}); err == nil {
		t.Errorf("bad keep pattern: got no error")
	}
}
