//go:build host

package npm

// TestRealNpm asks npm itself, so it needs npm and the npm registry and
// takes about three minutes: it is opt-in (make test-host). Every build runs
// TestDevOnlyMatchesNpm on the answers it keeps.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

var update = flag.Bool("update", false, "TestRealNpm: keep npm's answers in "+goldenDir)

// TestRealNpm installs fixtureDir from the registry with lockfileVersion 3,
// 2 and 1, runs `npm prune --omit=dev` on each installed tree, and compares
// the package directories that went with what DevOnly says from the
// lockfile alone. With -update it keeps npm's answers in goldenDir for
// TestDevOnlyMatchesNpm; without, it reports where they differ from npm's
// answers today. It is skipped when npm or the registry is missing, and
// fails then when CI=true.
func TestRealNpm(t *testing.T) {
	npmPath, err := exec.LookPath("npm")
	if err != nil {
		unavailable(t, "npm not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	out, err := runNpm(ctx, "", npmPath, "--version")
	if err != nil {
		unavailable(t, "npm --version: %v", err)
	}
	version := strings.TrimSpace(out)
	if out, err := runNpm(ctx, "", npmPath, "ping", "--fetch-retries=0", "--fetch-timeout=20000"); err != nil {
		unavailable(t, "the npm registry does not answer `npm ping`: %v: %s", err, strings.TrimSpace(out))
	}
	// npm's cache of tarballs and manifests, kept between runs: it makes a
	// run faster, not its answers different.
	npmCache := filepath.Join(t.TempDir(), "npm-cache")
	if cache, err := os.UserCacheDir(); err == nil {
		npmCache = filepath.Join(cache, "imgslim-test", "npm-cache")
	}
	dir := filepath.Join(t.TempDir(), "results")
	start := time.Now()
	if err := buildResults(ctx, t, npmPath, npmCache, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("npm %s: installed and pruned the fixture in %v", version, time.Since(start).Round(time.Millisecond))
	live := readResults(t, dir)
	checkNpm(t, live)

	hash, err := fixtureHash()
	if err != nil {
		t.Fatal(err)
	}
	source := fmt.Sprintf("fixture %s\nnpm %s\nplatform %s/%s\n", hash, version, runtime.GOOS, runtime.GOARCH)
	if *update {
		if t.Failed() {
			t.Fatalf("not keeping npm's answers in %s: DevOnly disagrees with them", goldenDir)
		}
		for v := 1; v <= 3; v++ {
			sub := "v" + strconv.Itoa(v)
			if err := os.RemoveAll(filepath.Join(goldenDir, sub)); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(goldenDir, sub), os.DirFS(filepath.Join(dir, sub))); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(goldenDir, "SOURCE"), []byte(source), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("kept npm's answers in %s:\n%s", goldenDir, source)
		return
	}
	// The registry moves on (new versions of the fixture's dependencies), so
	// a difference is news, not a failure: -update keeps today's answers.
	if kept, err := os.ReadFile(filepath.Join(goldenDir, "SOURCE")); err != nil || string(kept) != source {
		t.Logf("%s/SOURCE: got %q (%v), npm today: %q", goldenDir, kept, err, source)
	}
	golden := readResults(t, goldenDir)
	for v := 1; v <= 3; v++ {
		g, l := golden[v], live[v]
		if !bytes.Equal(g.lock, l.lock) || !maps.Equal(g.installed, l.installed) || !maps.Equal(g.pruned, l.pruned) {
			t.Logf("lockfileVersion %d: npm's answer today differs from %s (installed %d -> %d, pruned %d -> %d); -update keeps today's",
				v, goldenDir, len(g.installed), len(l.installed), len(g.pruned), len(l.pruned))
		}
	}
}

// buildResults installs and prunes the fixture once per lockfileVersion, at
// the same time, and writes the results into dir, laid out as goldenDir.
func buildResults(ctx context.Context, t *testing.T, npmPath, npmCache, dir string) error {
	work := t.TempDir()
	var g errgroup.Group
	for v := 1; v <= 3; v++ {
		g.Go(func() error {
			return installAndPrune(ctx, npmPath, npmCache, v,
				filepath.Join(work, "v"+strconv.Itoa(v)), filepath.Join(dir, "v"+strconv.Itoa(v)))
		})
	}
	return g.Wait()
}

// installAndPrune installs the fixture in project with lockfileVersion v,
// prunes it, and writes the lockfile and the package directories before and
// after into out.
func installAndPrune(ctx context.Context, npmPath, npmCache string, v int, project, out string) error {
	if err := os.CopyFS(project, os.DirFS(fixtureDir)); err != nil {
		return err
	}
	common := []string{"--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--cache", npmCache,
		"--include=optional", "--include=peer", "--install-strategy=hoisted", "--install-links=false", "--legacy-peer-deps=false"}
	if log, err := runNpm(ctx, project, npmPath, append([]string{"install", "--lockfile-version", strconv.Itoa(v), "--include=dev"}, common...)...); err != nil {
		return fmt.Errorf("lockfileVersion %d: npm install: %v\n%s", v, err, log)
	}
	lock, err := os.ReadFile(filepath.Join(project, "package-lock.json"))
	if err != nil {
		return err
	}
	if want := fmt.Sprintf(`"lockfileVersion": %d,`, v); !bytes.Contains(lock, []byte(want)) {
		return fmt.Errorf("npm install --lockfile-version %d wrote a package-lock.json without %s", v, want)
	}
	installed, err := packageDirs(project)
	if err != nil {
		return err
	}
	// A version 1 lockfile makes npm fetch manifests from the registry.
	if log, err := runNpm(ctx, project, npmPath, append([]string{"prune", "--omit=dev"}, common...)...); err != nil {
		return fmt.Errorf("lockfileVersion %d: npm prune --omit=dev: %v\n%s", v, err, log)
	}
	pruned, err := packageDirs(project)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(out, "package-lock.json"), lock, 0o644),
		writeSet(filepath.Join(out, "installed.txt"), installed),
		writeSet(filepath.Join(out, "pruned.txt"), pruned))
}

// packageDirs returns the package directories (and links) under root, as
// slash-separated relative paths: the node_modules/NAME and
// node_modules/@SCOPE/NAME chains that hold a package.json, wherever the
// chain starts. A node_modules directory that a package merely ships (a test
// fixture of its own) is not one.
func packageDirs(root string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || !d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if isPackageDir(rel) {
			if _, err := os.Stat(filepath.Join(p, "package.json")); err == nil {
				out[rel] = true
			}
		}
		return nil // WalkDir does not follow symlinks
	})
	return out, err
}

func isPackageDir(rel string) bool {
	els := strings.Split(rel, "/")
	i := slices.Index(els, "node_modules")
	if i < 0 {
		return false
	}
	for i < len(els) {
		if els[i] != "node_modules" || i+1 == len(els) {
			return false
		}
		i++
		if strings.HasPrefix(els[i], "@") {
			if i++; i == len(els) {
				return false
			}
		}
		i++
	}
	return true
}

func writeSet(name string, set map[string]bool) error {
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(set)) {
		b.WriteString(p + "\n")
	}
	return os.WriteFile(name, []byte(b.String()), 0o644)
}

// runNpm runs npm in dir with the settings that change what it installs or
// prunes taken out of the environment (flags set them instead), and returns
// its combined output.
func runNpm(ctx context.Context, dir, npmPath string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, npmPath, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		k = strings.ReplaceAll(strings.ToLower(k), "-", "_")
		if k == "node_env" || strings.HasPrefix(k, "npm_config_") && npmSettings[strings.TrimPrefix(k, "npm_config_")] {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "npm_config_update_notifier=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// npmSettings are the npm settings that change what npm installs or prunes.
var npmSettings = map[string]bool{
	"omit": true, "include": true, "production": true, "only": true, "dev": true, "also": true, "optional": true,
	"lockfile_version": true, "package_lock": true, "package_lock_only": true, "install_links": true,
	"install_strategy": true, "legacy_peer_deps": true, "strict_peer_deps": true, "workspace": true, "workspaces": true,
	"include_workspace_root": true, "global": true, "location": true, "prefix": true, "dry_run": true, "offline": true,
	"cache": true, "before": true, "force": true, "save": true, "cpu": true, "os": true, "libc": true,
}

// unavailable skips the test, or fails it when CI is true, so that CI cannot
// pass by skipping.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s (fatal because CI=%s)", msg, os.Getenv("CI"))
	}
	t.Skipf("%s (TestRealNpm needs npm and its registry)", msg)
}
