package npm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fixtureDir is the project whose npm install the tests compare DevOnly
// with: express, react-dom (whose peer react npm adds) and is-number@7 for
// production, chokidar as an optional dependency, and jest, typescript,
// ts-node, esbuild (whose one platform package is dev and optional) and a
// "file:" directory for development, plus a workspace with a dev dependency
// of its own.
const fixtureDir = "testdata/project"

// goldenDir holds npm's answers for fixtureDir, made by TestRealNpm -update
// (make test-host): for each lockfileVersion v, vV/package-lock.json as npm
// install wrote it and the package directories before (installed.txt) and
// after (pruned.txt) npm prune --omit=dev; SOURCE names the fixture's hash,
// npm's version and the platform.
const goldenDir = "testdata/npm-prune"

// fixtureSchema changes when what is kept of npm's answers changes.
const fixtureSchema = "imgslim npm fixture 1"

// TestDevOnlyMatchesNpm proves DevOnly against npm itself, from npm's
// answers kept in goldenDir: for each lockfileVersion (3, 2, 1), the package
// directories npm prune --omit=dev removed from the installed tree are the
// ones DevOnly names from the lockfile alone. TestRealNpm (make test-host)
// asks npm again.
func TestDevOnlyMatchesNpm(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(goldenDir, "SOURCE"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := fixtureHash()
	if err != nil {
		t.Fatal(err)
	}
	if want := "fixture " + hash + "\n"; !strings.HasPrefix(string(src), want) {
		t.Fatalf("%s/SOURCE: got %q, want it to start %q: %s changed since npm's answers were kept; "+
			"run go test -tags host -run TestRealNpm ./slim/npm/ -update", goldenDir, src, want, fixtureDir)
	}
	t.Logf("npm's answers from %s/SOURCE:\n%s", goldenDir, src)
	checkNpm(t, readResults(t, goldenDir))
}

// checkNpm compares DevOnly with npm's results for each lockfileVersion.
func checkNpm(t *testing.T, results map[int]*npmResult) {
	t.Helper()
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

// readResults reads npm's results for lockfileVersion 1, 2 and 3 from dir,
// laid out as goldenDir.
func readResults(t *testing.T, dir string) map[int]*npmResult {
	t.Helper()
	results := map[int]*npmResult{}
	for v := 1; v <= 3; v++ {
		sub := filepath.Join(dir, "v"+strconv.Itoa(v))
		r := &npmResult{}
		var err1, err2, err3 error
		r.lock, err1 = os.ReadFile(filepath.Join(sub, "package-lock.json"))
		r.installed, err2 = readSet(filepath.Join(sub, "installed.txt"))
		r.pruned, err3 = readSet(filepath.Join(sub, "pruned.txt"))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("npm's results in %s: %v", dir, err)
		}
		results[v] = r
	}
	return results
}

// fixtureHash hashes fixtureDir, which npm's answers depend on (with npm's
// version and the platform, which SOURCE names).
func fixtureHash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", fixtureSchema)
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
