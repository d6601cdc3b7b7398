package apk

import (
	"slices"
	"strings"
)

// Base are the packages of Alpine's base system (alpine-base's
// dependencies): Needs keeps them as Debian keeps its Essential set, so
// that the image keeps a shell, its accounts and apk itself.
var Base = []string{
	"alpine-baselayout", "alpine-baselayout-data", "alpine-keys", "alpine-release",
	"apk-tools", "busybox", "busybox-binsh", "libc-utils", "musl", "musl-utils",
}

// Needs returns the installed packages a system keeps to run what roots
// (package names, with why) hold, each with why it stays: the roots, Base
// ("base system"), and what apk keeps installed for them: their
// dependencies, met by every installed provider ("needed by python3"),
// and the install_if packages whose conditions they all meet
// ("install_if py3-foo").
//
// The image's world is not consulted. To purge the rest as `apk del`
// would, pass NewWorld's result to Parse and purge every package not in
// the result.
func (db *DB) Needs(roots map[string]string) map[string]string {
	start := map[*pkg]string{}
	for name, why := range roots {
		if p := db.byName[name]; p != nil {
			start[p] = why
		}
	}
	for _, name := range Base {
		if p := db.byName[name]; p != nil {
			if _, ok := start[p]; !ok {
				start[p] = "base system"
			}
		}
	}
	why := db.reach(start)
	out := make(map[string]string, len(why))
	for p, r := range why {
		out[p.name] = r
	}
	return out
}

// NewWorld returns the world file that keeps needs (Needs' result)
// installed: the entries of the image's world that a kept package meets,
// then the kept roots and Base packages the world does not name yet, one a
// line, as `apk add` appends them.
func (db *DB) NewWorld(needs map[string]string, roots map[string]string) []byte {
	var out []string
	named := map[string]bool{}
	for _, d := range db.world {
		if d.conflict {
			out = append(out, d.raw)
			continue
		}
		for _, p := range db.providers[d.name] {
			if _, ok := needs[p.name]; ok {
				out = append(out, d.raw)
				named[d.name] = true
				break
			}
		}
	}
	var add []string
	for name := range roots {
		add = append(add, name)
	}
	add = append(add, Base...)
	slices.Sort(add)
	for _, name := range slices.Compact(add) {
		if _, ok := needs[name]; ok && !named[name] {
			out = append(out, name)
			named[name] = true
		}
	}
	if len(out) == 0 {
		return []byte{}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

// reach returns what apk keeps installed from start: start's packages,
// what they depend on through every provider, and the install_if packages
// whose conditions are met; each with why.
func (db *DB) reach(start map[*pkg]string) map[*pkg]string {
	why := map[*pkg]string{}
	var queue []*pkg
	stay := func(p *pkg, reason string) {
		if _, ok := why[p]; !ok {
			why[p] = reason
			queue = append(queue, p)
		}
	}
	for _, p := range db.pkgs { // database order, for stable reasons
		if r, ok := start[p]; ok {
			stay(p, r)
		}
	}
	for {
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, d := range p.deps {
				if d.conflict {
					continue
				}
				for _, q := range db.providers[d.name] {
					stay(q, "needed by "+p.name)
				}
			}
		}
		for _, p := range db.pkgs {
			if _, ok := why[p]; ok || len(p.installIf) == 0 {
				continue
			}
			met, by := true, []string{}
			for _, d := range p.installIf {
				has := false
				for _, q := range db.providers[d.name] {
					if _, ok := why[q]; ok {
						has = true
					}
				}
				if has == d.conflict {
					met = false
					break
				}
				if !d.conflict {
					by = append(by, d.name)
				}
			}
			if met {
				stay(p, "install_if "+strings.Join(by, " "))
			}
		}
		if len(queue) == 0 {
			return why
		}
	}
}

// Owners returns the installed packages that hold a file (R:) want
// accepts, each with the first such path, by name.
func (db *DB) Owners(want func(path string) bool) map[string]string {
	out := map[string]string{}
	for _, p := range db.pkgs {
		for _, f := range p.files {
			if want(f) {
				out[p.name] = f
				break
			}
		}
	}
	return out
}

// Owner returns the removed package that has path (as Files returns it),
// "" when none has.
func (r *Result) Owner(path string) string {
	var out string
	for p := range r.removed {
		if slices.Contains(p.paths, path) && (out == "" || p.name < out) {
			out = p.name
		}
	}
	return out
}
