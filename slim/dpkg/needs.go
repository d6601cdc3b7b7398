package dpkg

import (
	"slices"
	"strings"
)

// Needs returns the installed packages a system keeps to run what roots
// hold, each with why it stays, keyed as Result.Removed names packages
// (dpkg-query's ${binary:Package}):
//
//   - the roots, by name ("libssl3", every architecture installed) or by
//     id ("libssl3:amd64"), with the reason given;
//   - the packages apt never removes: Essential ("essential"), Protected
//     ("protected"), held ("held") and Priority: required ("required");
//   - what they depend on at run time, through Depends and Pre-Depends
//     ("needed by python3"): Recommends and Suggests are not needed to
//     run. Of a group "a | b" none of whose alternatives is kept already,
//     the first installed alternative stays, as apt-get purge would keep
//     it, and of a virtual package its first installed provider.
//
// Everything installed and not returned can be purged with
// Purge(func(name) bool { not in Needs }) without breaking a dependency
// of what stays; the roots must then count as manually installed, or
// autoremove takes those that were not.
func (db *DB) Needs(roots map[string]string) map[string]string {
	why := map[*pkg]string{}
	var queue []*pkg
	keep := func(p *pkg, reason string) {
		if _, ok := why[p]; !ok {
			why[p] = reason
			queue = append(queue, p)
		}
	}
	for _, p := range db.pkgs {
		if !p.installed {
			continue
		}
		if r, ok := roots[p.id]; ok {
			keep(p, r)
		} else if r, ok := roots[p.name]; ok {
			keep(p, r)
		}
	}
	for _, p := range db.pkgs {
		if !p.installed {
			continue
		}
		switch {
		case p.essential:
			keep(p, "essential")
		case p.protected:
			keep(p, "protected")
		case p.held:
			keep(p, "held")
		case p.required:
			keep(p, "required")
		}
	}
	installed := func(p *pkg) bool { return p.installed }
	kept := func(p *pkg) bool { _, ok := why[p]; return ok }
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, kind := range []int{preDepends, depends} {
		group:
			for _, alts := range p.deps[kind] {
				for _, a := range alts {
					if len(db.resolve(p, a, kept)) > 0 {
						continue group
					}
				}
				for _, a := range alts {
					if qs := db.resolve(p, a, installed); len(qs) > 0 {
						keep(qs[0], "needed by "+p.id)
						continue group
					}
				}
			}
		}
	}
	out := make(map[string]string, len(why))
	for p, r := range why {
		out[p.id] = r
	}
	return out
}

// Owners returns the installed packages whose file lists name one of the
// paths want accepts, each with the first such path (in list order), by
// dpkg-query's ${binary:Package}. lists are the .list files of InfoDir by
// base name less ".list", as InfoFiles and Files take them.
func (db *DB) Owners(lists map[string][]byte, want func(path string) bool) map[string]string {
	out := map[string]string{}
	for _, p := range db.pkgs {
		if !p.installed {
			continue
		}
		list, ok := lists[p.infoName]
		if !ok {
			continue
		}
		for _, line := range strings.Split(string(list), "\n") {
			if line != "" && want(line) {
				out[p.id] = line
				break
			}
		}
	}
	return out
}

// IDs returns the ids of the installed packages called name (several for
// a Multi-Arch: same package), sorted; none when it is not installed.
func (db *DB) IDs(name string) []string {
	var out []string
	for _, p := range db.byName[name] {
		if p.installed {
			out = append(out, p.id)
		}
	}
	slices.Sort(out)
	return out
}
