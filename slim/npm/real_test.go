package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// fixtureDir is the project TestRealNpm installs: express, react-dom (whose
// peer react npm adds) and is-number@7 for production, chokidar as an
// optional dependency, and jest, typescript, ts-node, esbuild (whose one
// platform package is dev and optional) and a "file:" directory for
// development, plus a workspace with a dev dependency of its own.
const fixtureDir = "testdata/project"

// fixtureSchema changes when what is cached for the fixture changes.
const fixtureSchema = "imgslim npm fixture 1"

// TestRealNpm proves DevOnly against npm itself: it installs fixtureDir from
// the registry with lockfileVersion 3, 2 and 1, runs `npm prune --omit=dev`
// on each installed tree, and compares the package directories that went
// with what DevOnly says from the lockfile alone.
//
// npm's answers are cached under os.UserCacheDir()/imgslim-test/npm-<hash>
// (the lockfiles and the package directories before and after the prune;
// the hash covers the fixture, npm's version and the platform), so only the
// first run needs npm and the registry. It is skipped when npm or the
// registry is missing, and fails then when CI=true.
func TestRealNpm(t *testing.T) {
	if testing.Short() {
		t.Skip("installs packages from the npm registry; skipped with -short")
	}
	results := npmResults(t)
	manifest, err := os.ReadFile(filepath.Join(fixtureDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkFixtureCoverage(t, results[3])

	for _, v := range []int{3, 2, 1} {
		t.Run("lockfileVersion"+strconv.Itoa(v), func(t *testing.T) {
			r := results[v]
			var removed []string
			for p := range r.installed {
				if !r.pruned[p] {
					removed = append(removed, p)
				}
			}
			for p := range r.pruned {
				if !r.installed[p] {
					t.Errorf("npm prune --omit=dev added %s; want it only to remove", p)
				}
			}
			sort.Strings(removed)

			got, err := DevOnly(r.lock, manifest)
			if err != nil {
				t.Fatalf("DevOnly: %v", err)
			}
			// The lockfile also lists the optional packages of other
			// platforms (esbuild's), which npm did not install.
			optional := optionalInLock(t, r.lock)
			var onDisk []string
			for _, p := range got {
				if r.installed[p] {
					onDisk = append(onDisk, p)
				} else if !optional[p] {
					t.Errorf("DevOnly returned %s, which npm did not install and the lockfile does not flag optional", p)
				}
			}
			if !slices.Equal(onDisk, removed) {
				t.Errorf("DevOnly got %d installed directories, npm prune --omit=dev removed %d;\n\tDevOnly only: %q\n\tnpm only: %q",
					len(onDisk), len(removed), minus(onDisk, removed), minus(removed, onDisk))
			}
			t.Logf("lockfileVersion %d: %d package directories installed, npm prune --omit=dev removed %d, DevOnly lists %d of them and %d optional ones not installed",
				v, len(r.installed), len(removed), len(onDisk), len(got)-len(onDisk))

			// Without package.json, versions 2 and 3 give the same answer;
			// version 1 keeps the links it cannot judge, never more.
			alone, err := DevOnly(r.lock, nil)
			if err != nil {
				t.Fatalf("DevOnly without package.json: %v", err)
			}
			if v >= 2 && !slices.Equal(alone, got) {
				t.Errorf("DevOnly without package.json: got %q more, %q fewer; want the same", minus(alone, got), minus(got, alone))
			}
			if extra := minus(alone, got); v == 1 && len(extra) > 0 {
				t.Errorf("DevOnly without package.json removes %q, which npm keeps", extra)
			}
		})
	}
}

// checkFixtureCoverage makes sure that npm's answer for the fixture holds
// each case DevOnly must get right, so that the comparison proves them.
func checkFixtureCoverage(t *testing.T, r *npmResult) {
	t.Helper()
	var top object
	if err := json.Unmarshal(r.lock, &top); err != nil {
		t.Fatal(err)
	}
	var pk map[string]object
	if err := json.Unmarshal(top["packages"], &pk); err != nil {
		t.Fatal(err)
	}
	removed := func(p string) bool { return r.installed[p] && !r.pruned[p] }
	kept := func(p string) bool { return r.pruned[p] }
	exists := func(f func(p string, e object) bool) bool {
		for p, e := range pk {
			if f(p, e) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"a dev package nested in another package's node_modules is removed", exists(func(p string, e object) bool {
			return strings.HasPrefix(p, "node_modules/") && strings.Contains(p, "/node_modules/") && e.truthy("dev") && removed(p)
		})},
		{"an installed package flagged dev and optional is removed", exists(func(p string, e object) bool {
			return e.truthy("dev") && e.truthy("optional") && removed(p)
		})},
		{"a package flagged dev and optional and not installed (another platform) is in the lockfile", exists(func(p string, e object) bool {
			return e.truthy("dev") && e.truthy("optional") && !r.installed[p]
		})},
		{"a devOptional package is kept", exists(func(p string, e object) bool { return e.truthy("devOptional") && kept(p) })},
		{"an optional package is kept", exists(func(p string, e object) bool { return e.truthy("optional") && !e.truthy("dev") && kept(p) })},
		{"a peer package is kept", exists(func(p string, e object) bool { return e.truthy("peer") && !e.truthy("dev") && kept(p) })},
		{"a package that both a dev and a production package need is kept", exists(func(p string, e object) bool {
			if !e.truthy("dev") {
				return false
			}
			for name := range e.names("dependencies") {
				if dep := resolveIn(pk, p, name); dep != "" && !pk[dep].truthy("dev") && !pk[dep].truthy("devOptional") && kept(dep) {
					return true
				}
			}
			return false
		})},
		{"the link of a file: dev dependency is removed", removed("node_modules/localdev")},
		{"what a file: dependency holds in its own node_modules is kept", kept("localdev/node_modules/is-number")},
		{"the link of a workspace is kept", kept("node_modules/util-ws")},
		{"a dev dependency in a workspace's own node_modules is removed", removed("packages/util/node_modules/is-number")},
	} {
		if !c.ok {
			t.Errorf("the fixture does not exercise this (npm's result or the registry changed?): %s", c.what)
		}
	}
}

// resolveIn finds, as node does, the location name resolves to from the
// package at location from.
func resolveIn(pk map[string]object, from, name string) string {
	for dir := from; ; {
		loc := dir + "/node_modules/" + name
		if dir == "" {
			loc = "node_modules/" + name
		}
		if _, ok := pk[loc]; ok {
			return loc
		}
		if dir == "" {
			return ""
		}
		if i := strings.LastIndex(dir, "/node_modules/"); i >= 0 {
			dir = dir[:i]
		} else {
			dir = ""
		}
	}
}

// optionalInLock returns the locations the lockfile flags optional.
func optionalInLock(t *testing.T, lock []byte) map[string]bool {
	t.Helper()
	var top object
	if err := json.Unmarshal(lock, &top); err != nil {
		t.Fatal(err)
	}
	entries := map[string]object{}
	if raw, ok := top["packages"]; ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			t.Fatal(err)
		}
	} else {
		tree := &v1tree{entries: entries, real: map[string]string{}, links: map[string]string{}}
		if err := tree.walk(top["dependencies"], "", "dependencies"); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]bool{}
	for loc, e := range entries {
		if e.truthy("optional") {
			out[loc] = true
		}
	}
	return out
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// npmResult is what npm did with the fixture at one lockfileVersion.
type npmResult struct {
	lock              []byte          // package-lock.json after npm install
	installed, pruned map[string]bool // package directories before and after the prune
}

// npmResults returns npm's results for lockfileVersion 1, 2 and 3, from the
// cache or by running npm.
func npmResults(t *testing.T) map[int]*npmResult {
	t.Helper()
	npmPath, err := exec.LookPath("npm")
	if err != nil {
		unavailable(t, "npm not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	version, err := runNpm(ctx, "", npmPath, "--version")
	if err != nil {
		unavailable(t, "npm --version: %v", err)
	}
	key, err := fixtureKey(strings.TrimSpace(version))
	if err != nil {
		t.Fatal(err)
	}

	parent := t.TempDir()
	if cache, err := os.UserCacheDir(); err == nil {
		parent = filepath.Join(cache, "imgslim-test")
	} else {
		t.Logf("no user cache directory (%v): npm's results will not be kept", err)
	}
	dir := filepath.Join(parent, "npm-"+key)
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := runNpm(ctx, "", npmPath, "ping", "--fetch-retries=0", "--fetch-timeout=20000"); err != nil {
			unavailable(t, "the npm registry does not answer `npm ping`: %v: %s", err, strings.TrimSpace(out))
		}
		start := time.Now()
		if err := buildResults(ctx, t, npmPath, filepath.Join(parent, "npm-cache"), parent, dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("npm %s: installed and pruned the fixture in %v; results kept in %s", strings.TrimSpace(version), time.Since(start).Round(time.Millisecond), dir)
	} else {
		t.Logf("npm %s: using the results kept in %s", strings.TrimSpace(version), dir)
	}

	results := map[int]*npmResult{}
	for v := 1; v <= 3; v++ {
		sub := filepath.Join(dir, "v"+strconv.Itoa(v))
		r := &npmResult{}
		var err1, err2, err3 error
		r.lock, err1 = os.ReadFile(filepath.Join(sub, "package-lock.json"))
		r.installed, err2 = readSet(filepath.Join(sub, "installed.txt"))
		r.pruned, err3 = readSet(filepath.Join(sub, "pruned.txt"))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%v (remove %s to rebuild it)", err, dir)
		}
		results[v] = r
	}
	return results
}

// buildResults installs and prunes the fixture once per lockfileVersion, at
// the same time, and keeps the results in dir, which appears complete or
// not at all.
func buildResults(ctx context.Context, t *testing.T, npmPath, npmCache, parent, dir string) error {
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	work := t.TempDir()
	var g errgroup.Group
	for v := 1; v <= 3; v++ {
		g.Go(func() error {
			return installAndPrune(ctx, npmPath, npmCache, v,
				filepath.Join(work, "v"+strconv.Itoa(v)), filepath.Join(tmp, "v"+strconv.Itoa(v)))
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil // another test process kept its results first
		}
		return err
	}
	return nil
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

// fixtureKey hashes what npm's results depend on.
func fixtureKey(npmVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nnpm %s\n%s/%s\n", fixtureSchema, npmVersion, runtime.GOOS, runtime.GOARCH)
	err := fs.WalkDir(os.DirFS(fixtureDir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(fixtureDir, p))
		fmt.Fprintf(h, "%s %d\n%s\n", p, len(data), data)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
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

func readSet(name string) (map[string]bool, error) {
	data, err := os.ReadFile(name)
	out := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" {
			out[line] = true
		}
	}
	return out, err
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
