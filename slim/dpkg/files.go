package dpkg

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// InfoDir is where dpkg keeps each package's file list, checksums and
// maintainer scripts.
const InfoDir = "/var/lib/dpkg/info"

// InfoFiles returns the names, among names (the entries of InfoDir), that
// belong to a removed package and that dpkg deletes when it purges it:
// PKG.list, PKG.md5sums, PKG.postinst, PKG.triggers and every other
// PKG.EXT, PKG being the package name, or name:arch for a Multi-Arch: same
// package. As dpkg does, the extension is what follows the last dot, so
// "libc6.1.list" belongs to libc6.1 and not to libc6. The result is sorted.
func (r *Result) InfoFiles(names []string) []string {
	var out []string
	for _, n := range names {
		if pkg, ok := infoPackage(n); ok && r.removedInfo[pkg] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// infoPackage splits an InfoDir entry "PKG.EXT".
func infoPackage(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 || strings.ContainsRune(name, '/') {
		return "", false
	}
	return name[:i], true
}

// Files returns the paths that dpkg deletes when it purges the removed
// packages: every path their .list files name that no package staying in
// the status file also lists. lists maps the base name of each .list file
// in InfoDir (PKG of PKG.list) to its content, and must hold every
// installed package's list; Files fails when one is missing, since a path
// of a package it does not know about could go.
//
// The result, sorted, holds files and directories alike, as .list files
// do. dpkg deletes a directory only when it is empty once the files are
// gone (rmdir), so a directory that also holds what no package lists (a
// __pycache__ a postinst wrote, a log) stays; callers must do the same.
// Paths are as dpkg records them: on a merged-/usr image some go through
// the /bin, /lib... symlinks.
func (r *Result) Files(lists map[string][]byte) ([]string, error) {
	for pkg := range r.removedInfo {
		if _, ok := lists[pkg]; !ok {
			return nil, fmt.Errorf("no %s/%s.list for removed package %s", InfoDir, pkg, pkg)
		}
	}
	for pkg := range r.keptInfo {
		if _, ok := lists[pkg]; !ok {
			return nil, fmt.Errorf("no %s/%s.list for installed package %s", InfoDir, pkg, pkg)
		}
	}
	keep := map[string]bool{"/.": true, "/": true}
	for pkg, data := range lists {
		if !r.removedInfo[pkg] {
			forEachLine(data, func(p string) { keep[p] = true })
		}
	}
	seen := map[string]bool{}
	var out []string
	for pkg := range r.removedInfo {
		forEachLine(lists[pkg], func(p string) {
			if !keep[p] && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		})
	}
	slices.Sort(out)
	return out, nil
}

func forEachLine(data []byte, f func(string)) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 {
			f(string(line))
		}
	}
}

// TriggersDir holds dpkg's trigger interests: File (lines "PATH PKG",
// for file triggers) and one file per named trigger (lines "PKG"), PKG
// possibly followed by "/noawait".
const TriggersDir = "/var/lib/dpkg/triggers"

// Triggers returns what dpkg does to the interest files of TriggersDir
// when the removed packages go: their lines are dropped, and a file left
// empty is deleted. files maps the names in TriggersDir to their content;
// Lock and Unincorp, which hold no interests, are left alone. write holds
// the files that change, remove those that go (both as names in
// TriggersDir).
func (r *Result) Triggers(files map[string][]byte) (write map[string][]byte, remove []string) {
	write = map[string][]byte{}
	for name, data := range files {
		if name == "Lock" || name == "Unincorp" {
			continue
		}
		var out []byte
		changed := false
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			fields := strings.Fields(string(line))
			if len(fields) == 0 {
				continue
			}
			pkg, _, _ := strings.Cut(fields[len(fields)-1], "/")
			if r.removedInfo[pkg] || r.removedID[pkg] {
				changed = true
				continue
			}
			out = append(out, line...)
		}
		switch {
		case !changed:
		case len(out) == 0:
			remove = append(remove, name)
		default:
			write[name] = out
		}
	}
	slices.Sort(remove)
	return write, remove
}
