package npm

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// v1tree is the nested "dependencies" tree of a lockfileVersion 1 file,
// flattened by location the way arborist migrates it: dependencies nested
// under a link live under the link's target.
type v1tree struct {
	entries map[string]object // location -> entry, links included
	real    map[string]string // location -> where its dependencies live
	links   map[string]string // link location -> target
}

// fromDependencies reads lockfileVersion 1. The entries carry "dev" flags as
// npm wrote them; npm 7 and later recompute the flags from the registry's
// manifests and package.json, which give the same answer for a lockfile in
// sync with package.json, except for links: npm 7+ writes no flags on them
// in version 1, so manifest (package.json, may be nil) says which are root
// dev dependencies and which are workspaces.
func fromDependencies(raw json.RawMessage, manifest []byte) ([]string, error) {
	var m object
	if len(manifest) > 0 {
		if err := json.Unmarshal(manifest, &m); err != nil {
			return nil, fmt.Errorf("package.json: %w", err)
		}
	}
	globs, err := parseWorkspaces(m["workspaces"])
	if err != nil {
		return nil, fmt.Errorf("package.json: workspaces: %w", err)
	}
	t := &v1tree{entries: map[string]object{}, real: map[string]string{}, links: map[string]string{}}
	if err := t.walk(raw, "", "dependencies"); err != nil {
		return nil, fmt.Errorf("npm lockfile: %w", err)
	}
	workspaces := workspaceTargets(t.links, globs)

	// rootDevOnly: a root dependency named only in devDependencies.
	prod := [...]map[string]bool{m.names("dependencies"), m.names("optionalDependencies"), m.names("peerDependencies")}
	devDeps := m.names("devDependencies")
	rootDevOnly := func(name string) bool {
		return devDeps[name] && !prod[0][name] && !prod[1][name] && !prod[2][name]
	}
	isDev := func(loc string) bool {
		e := t.entries[loc]
		if e.truthy("dev") {
			return true
		}
		target, link := t.links[loc]
		name, top := strings.CutPrefix(loc, "node_modules/")
		if !link || !top || !validName(name) || workspaces[target] || !rootDevOnly(name) {
			return false
		}
		return !t.requiredByProd(loc, name, rootDevOnly)
	}

	removed := map[string]bool{}
	locs := make([]string, 0, 2*len(t.entries))
	for loc := range t.entries {
		locs = append(locs, loc, t.real[loc])
		top, ok := topOf(loc)
		if ok && isLocal(top) && (top == "" || workspaces[top]) && isDev(loc) {
			removed[loc] = true
		}
	}
	return closure(removed, locs)
}

// walk adds the entries of the "dependencies" object raw, which sits at
// location; field names it in errors.
func (t *v1tree) walk(raw json.RawMessage, location, field string) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	var deps map[string]object
	if err := json.Unmarshal(raw, &deps); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	names := make([]string, 0, len(deps))
	for name := range deps {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic when two links share a target
	for _, name := range names {
		e := deps[name]
		f := fmt.Sprintf("%s[%q]", field, name)
		if e == nil {
			return fmt.Errorf("%s: got null, want an object", f)
		}
		if !validName(name) {
			return fmt.Errorf("%s: invalid package name", f)
		}
		loc := "node_modules/" + name
		if location != "" {
			loc = location + "/" + loc
		}
		t.entries[loc] = e
		real := loc
		if target, ok := linkTarget(e); ok {
			t.links[loc] = target
			real = target
		}
		t.real[loc] = real
		if err := t.walk(e["dependencies"], real, f+".dependencies"); err != nil {
			return err
		}
	}
	return nil
}

// requiredByProd reports whether an entry that is not a dev dependency
// "requires" name and resolves it, as node does, to the link at loc.
func (t *v1tree) requiredByProd(loc, name string, rootDevOnly func(string) bool) bool {
	for from, e := range t.entries {
		if from == loc || e.truthy("dev") || !e.names("requires")[name] {
			continue
		}
		if _, link := t.links[from]; link {
			if n, top := strings.CutPrefix(from, "node_modules/"); top && rootDevOnly(n) {
				continue
			}
		}
		if t.resolve(t.real[from], name) == loc {
			return true
		}
	}
	return false
}

// resolve finds the location that name resolves to from directory dir.
func (t *v1tree) resolve(dir, name string) string {
	for {
		loc := "node_modules/" + name
		if dir != "" {
			loc = dir + "/" + loc
		}
		if _, ok := t.entries[loc]; ok {
			return loc
		}
		if dir == "" || dir == "." || dir == "/" {
			return ""
		}
		dir = path.Dir(dir)
		if dir == "." {
			dir = ""
		}
	}
}

// linkTarget returns the directory a version 1 entry links to, relative to
// the project root, when its version is a directory spec ("file:../lib",
// "file:packages/a"); not for a "file:" tarball. A target outside the
// project comes back as a path that is not local.
func linkTarget(e object) (string, bool) {
	spec, _ := e.str("version")
	if spec == "" {
		spec, _ = e.str("resolved")
	}
	p, file := strings.CutPrefix(spec, "file:")
	if !file && !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~/") {
		return "", false
	}
	lower := strings.ToLower(p)
	if strings.HasSuffix(lower, ".tgz") || strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tar") {
		return "", false
	}
	if rest, ok := strings.CutPrefix(p, "//"); ok { // file://host/path
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = "/"
		}
	}
	if strings.HasPrefix(p, "~") {
		p = "/" + p // the user's home: not in the project
	}
	return path.Clean(p), true
}
