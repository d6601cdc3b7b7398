// Package npm reads npm lockfiles (package-lock.json, npm-shrinkwrap.json)
// and says which installed packages `npm prune --omit=dev` removes.
//
// npm (its @npmcli/arborist engine; checked against npm 11 by TestRealNpm)
// decides from the flags the lockfile records for each package, without
// looking at node_modules:
//
//   - "dev": true, the package is needed only by devDependencies: removed,
//     also when it is "optional" or "peer" as well;
//   - "devOptional": true, needed by devDependencies and by
//     optionalDependencies but not by the production tree: kept (only
//     --omit=dev --omit=optional together remove it);
//   - "optional": true and "peer": true alone: kept;
//   - "extraneous": true, needed by nothing: removed, as plain `npm prune`
//     removes it.
//
// The dev flag only counts for packages whose top is the project root or a
// workspace: the dev dependencies installed under a linked directory that is
// not a workspace (a "file:" dependency) stay. A link (a workspace or a
// "file:" dependency in node_modules) takes the flags of its target, and
// removing it removes the symlink, never the target.
package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// DevOnly returns the package directories that `npm prune --omit=dev`
// removes, relative to the project root that holds the lockfile and sorted:
// "node_modules/typescript", "node_modules/a/node_modules/b",
// "packages/web/node_modules/jest" (a workspace's own node_modules), and
// every package under one of those.
//
// lock is the content of package-lock.json or npm-shrinkwrap.json,
// lockfileVersion 1, 2 or 3. manifest is the project's package.json, or
// empty; only lockfileVersion 1 needs it, because a version 1 lockfile does
// not record the workspaces nor which of the root's "file:" dependencies are
// dev dependencies. Without it, such links and what their targets hold are
// kept.
//
// As npm does, DevOnly trusts the flags of a lockfile that is in sync with
// package.json (npm ci refuses one that is not). The list includes the
// optional packages npm skipped because they are for another platform: they
// are in the lockfile but not on disk.
func DevOnly(lock, manifest []byte) ([]string, error) {
	var top object
	if err := json.Unmarshal(lock, &top); err != nil {
		return nil, fmt.Errorf("npm lockfile: %w", err)
	}
	if top == nil {
		return nil, fmt.Errorf("npm lockfile: got null, want an object")
	}
	raw, ok := top["lockfileVersion"]
	if !ok {
		return nil, fmt.Errorf("npm lockfile: no lockfileVersion: written by npm 4 or older, or not a lockfile; such files record no dev flags")
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || v != 1 && v != 2 && v != 3 {
		return nil, fmt.Errorf("npm lockfile: lockfileVersion %s is not supported, want 1, 2 or 3", raw)
	}
	// npm reads "packages" when it is there, whatever the version says, and
	// the nested "dependencies" of version 1 otherwise.
	if raw, ok := top["packages"]; ok && !isNull(raw) {
		return fromPackages(raw)
	}
	if v >= 2 {
		return nil, nil // an empty project
	}
	return fromDependencies(top["dependencies"], manifest)
}

// fromPackages reads the "packages" map of lockfileVersion 2 and 3: keys
// are locations like "node_modules/a/node_modules/b", "" is the root.
func fromPackages(raw json.RawMessage) ([]string, error) {
	var pk map[string]object
	if err := json.Unmarshal(raw, &pk); err != nil {
		return nil, fmt.Errorf("npm lockfile: packages: %w", err)
	}
	for loc, e := range pk {
		if e == nil {
			return nil, fmt.Errorf("npm lockfile: packages[%q]: got null, want an object", loc)
		}
	}
	ws, err := parseWorkspaces(pk[""]["workspaces"])
	if err != nil {
		return nil, fmt.Errorf("npm lockfile: root workspaces: %w", err)
	}

	// A link takes the flags of its target; npm fails on a missing target.
	links := map[string]string{}
	for loc, e := range pk {
		if loc == "" || !e.truthy("link") {
			continue
		}
		res, ok := e.str("resolved")
		if !ok {
			return nil, fmt.Errorf("npm lockfile: packages[%q]: a link without a resolved target", loc)
		}
		target := path.Clean(res)
		if _, ok := pk[target]; !ok {
			return nil, fmt.Errorf("npm lockfile: packages[%q]: link target %q is not in the lockfile", loc, target)
		}
		links[loc] = target
	}
	workspaces := workspaceTargets(links, ws)

	removed := map[string]bool{}
	for loc, e := range pk {
		top, ok := topOf(loc)
		if !ok || !isLocal(top) {
			continue // not in a node_modules, or outside the project
		}
		f := e
		if target, ok := links[loc]; ok {
			f = pk[target]
		}
		if f.truthy("extraneous") || f.truthy("dev") && (top == "" || workspaces[top]) {
			removed[loc] = true
		}
	}
	locs := make([]string, 0, len(pk))
	for loc := range pk {
		locs = append(locs, loc)
	}
	return closure(removed, locs)
}

// closure adds to removed the locations under a removed directory, which go
// with it, checks that every one is a path inside the project, and returns
// them sorted.
func closure(removed map[string]bool, locs []string) ([]string, error) {
	for _, loc := range locs {
		for i := strings.LastIndexByte(loc, '/'); i > 0; i = strings.LastIndexByte(loc[:i], '/') {
			if removed[loc[:i]] {
				removed[loc] = true
				break
			}
		}
	}
	out := make([]string, 0, len(removed))
	for loc := range removed {
		if !isLocal(loc) || loc == "" {
			return nil, fmt.Errorf("npm lockfile: package location %q is not a clean relative path inside the project", loc)
		}
		out = append(out, loc)
	}
	sort.Strings(out)
	return out, nil
}

// topOf returns the directory a location's node_modules chain hangs from:
// "" (the root) for "node_modules/a/node_modules/b", "packages/web" for
// "packages/web/node_modules/c". ok is false when loc is not in a
// node_modules directory (the root, a workspace, a link target).
func topOf(loc string) (top string, ok bool) {
	if loc == "node_modules" || strings.HasPrefix(loc, "node_modules/") {
		return "", true
	}
	if i := strings.Index(loc, "/node_modules/"); i >= 0 {
		return loc[:i], true
	}
	return "", false
}

// isLocal reports whether p is a clean relative path that stays inside the
// project: no leading "/", no "." or ".." element, no empty element.
func isLocal(p string) bool {
	if p == "" {
		return true
	}
	if path.Clean(p) != p || path.IsAbs(p) {
		return false
	}
	return p != ".." && !strings.HasPrefix(p, "../")
}

// object is a JSON object whose fields are read the way npm reads them:
// exact, case-sensitive names and JavaScript truthiness.
type object map[string]json.RawMessage

// truthy reports whether field key is set to a value JavaScript takes as
// true: anything but a missing field, false, null, 0 and "".
func (o object) truthy(key string) bool {
	raw, ok := o[key]
	if !ok {
		return false
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0, isNull(raw), string(raw) == "false", string(raw) == `""`:
		return false
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		n, err := strconv.ParseFloat(string(raw), 64)
		return err != nil || n != 0
	}
	return true
}

// str returns field key when it is a string.
func (o object) str(key string) (string, bool) {
	var s string
	if raw, ok := o[key]; !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// names returns the keys of field key when it is an object, as the
// dependencies fields of package.json are.
func (o object) names(key string) map[string]bool {
	var m map[string]json.RawMessage
	if raw, ok := o[key]; !ok || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
