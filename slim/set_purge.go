package slim

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/apk"
	"github.com/imgslim/imgslim/slim/dpkg"
)

// packageDBSet removes the build toolchain the package manager
// installed, with what only it needed, as `apt-get purge … && apt-get
// autoremove --purge` (or `apk del`) would, and edits the package
// databases to match. A package that holds a file the program needs stays.
//
// It is the packages set, and serves the docs and buildtools sets too:
// chooseSets runs it once (setOrder).
type packageDBSet struct{}

func (packageDBSet) choose(p *Plan) (*selection, error) {
	sel := newSelection(SetPackages)
	if status, ok := p.content("/var/lib/dpkg/status"); ok {
		return sel, p.purgeDpkg(status, sel)
	}
	if installed, ok := p.content(apk.InstalledPath); ok && (p.enabled(SetBuildTools) || p.enabled(SetPackages)) {
		return sel, p.purgeApk(installed, sel)
	}
	if len(p.o.keepPackages) > 0 {
		return nil, fmt.Errorf("--keep-package: the image has no dpkg or apk database")
	}
	return sel, nil
}

// Package managers of language ecosystems: they install an application's
// dependencies at build time, and a program started by node or python3
// does not run them. When the entrypoint does, its files are protected and
// the package stays.
var ecosystemTools = map[string]bool{
	"npm": true, "node-gyp": true, "yarnpkg": true, "python3-pip": true, "pipx": true,
}

// docPackage reports whether a dpkg package holds only documentation.
func docPackage(name string) bool {
	name = strings.SplitN(name, ":", 2)[0]
	return strings.HasSuffix(name, "-doc") || strings.HasSuffix(name, "-docs") || name == "manpages" || name == "manpages-dev" || name == "info" || name == "install-info"
}

// purgeSet names the set a package goes with: the buildtools and docs
// sets by name, the packages set every package it does not need (p.needs,
// by id).
func (p *Plan) purgeSet(id string) (string, bool) {
	name := strings.SplitN(id, ":", 2)[0]
	switch {
	case p.enabled(SetBuildTools) && (dpkg.BuildTools(name) || ecosystemTools[name]):
		return SetBuildTools, true
	case p.enabled(SetDocs) && docPackage(name):
		return SetDocs, true
	case p.needs != nil && p.needs[id] == "":
		return SetPackages, true
	}
	return "", false
}

// realPath resolves the directories of name inside the image, as the
// kernel would on a merged-/usr image ("/bin/gcc" is "/usr/bin/gcc").
func (p *Plan) realPath(name string) string {
	dir, _ := p.view.resolve(path.Dir(name))
	return path.Join(dir, path.Base(name))
}

func (p *Plan) purgeDpkg(status []byte, sel *selection) error {
	ext, _ := p.content("/var/lib/apt/extended_states")
	lists := map[string][]byte{}
	var infoNames []string
	for _, name := range p.view.list(dpkg.InfoDir) {
		base := path.Base(name)
		infoNames = append(infoNames, base)
		if pkg, ok := strings.CutSuffix(base, ".list"); ok {
			if b, ok := p.dpkgList(name); ok {
				lists[pkg] = b
			}
		}
	}
	// Which packages hold what the program needs.
	holds := map[string]string{} // package -> a protected path it holds
	for pkg, list := range lists {
		for _, line := range strings.Split(string(list), "\n") {
			if line == "" {
				continue
			}
			// What the program loads, not the shared trees (certificates,
			// loader configuration) that many packages add files to.
			real := p.realPath(line)
			if why, ok := p.protected[real]; ok && why != "needed by every program" && !p.metadataOnly(real) {
				if n, ok := p.view.lookup(real); ok && n.typ != tar.TypeDir && !p.isDirLink(real) {
					holds[strings.SplitN(pkg, ":", 2)[0]] = line
					break
				}
			}
		}
	}
	keep := map[string]bool{}
	if p.enabled(SetPackages) {
		db, err := dpkg.Parse(status, ext)
		if err != nil {
			return fmt.Errorf("packages: reading dpkg's database: %w", err)
		}
		roots, err := p.dpkgRoots(db, lists)
		if err != nil {
			return err
		}
		p.needs = db.Needs(roots)
		// Marked manual, as `apt-mark manual` would: autoremove in the
		// output must not take what the program needs.
		for _, name := range rootNames(roots) {
			keep[name] = true
		}
	}
	var res *dpkg.Result
	for range 8 {
		db, err := dpkg.Parse(status, manual(ext, keep))
		if err != nil {
			sel.warnings = append(sel.warnings, fmt.Sprintf("buildtools: skipping dpkg: %v", err))
			return nil
		}
		res = db.PurgeIDs(func(id string) bool {
			_, ok := p.purgeSet(id)
			return ok && !keep[strings.SplitN(id, ":", 2)[0]]
		})
		grew := false
		for _, r := range res.Removed {
			name := strings.SplitN(r, ":", 2)[0]
			if f, ok := holds[name]; ok && !keep[name] {
				keep[name] = true
				grew = true
				sel.warnings = append(sel.warnings, fmt.Sprintf("buildtools: kept package %s: it holds %s, which the program needs", name, f))
			}
		}
		if !grew {
			break
		}
	}
	if len(res.Removed) == 0 {
		return nil
	}
	files, err := res.Files(lists)
	if err != nil {
		sel.warnings = append(sel.warnings, fmt.Sprintf("buildtools: skipping dpkg: %v", err))
		return nil
	}
	owner := ownerOf(res.Removed, lists)
	p.unprotectMetadata(files)
	for _, f := range files {
		// Files leaves out what a kept package also lists, such as the
		// /lib of a merged-/usr image that every library package names.
		real := p.realPath(f)
		if _, ok := p.view.lookup(real); !ok {
			continue
		}
		set, asked := p.purgeSet(owner[f])
		if !asked && p.needs != nil {
			set = SetPackages
		} else if !asked {
			set = SetBuildTools // what only the removed packages needed
			if p.enabled(SetDocs) && !p.enabled(SetBuildTools) {
				set = SetDocs
			}
		}
		// Exact: dpkg removes a directory only once it is empty.
		sel.paths[real] = setChoice{set: set, why: "packages purged with dpkg's file lists", exact: true}
		p.purgeByteCode(real, set, sel)
	}
	for _, name := range res.InfoFiles(infoNames) {
		sel.paths[path.Join(dpkg.InfoDir, name)] = setChoice{set: p.databaseSet(), why: "packages purged with dpkg's file lists"}
	}
	sel.replace["/var/lib/dpkg/status"] = res.Status
	if res.ExtendedStates != nil {
		sel.replace["/var/lib/apt/extended_states"] = res.ExtendedStates
	}
	// Triggers and alternatives the removed packages registered.
	triggers := map[string][]byte{}
	for _, name := range p.view.list(dpkg.TriggersDir) {
		if b, ok := p.content(name); ok {
			triggers[path.Base(name)] = b
		}
	}
	write, gone := res.Triggers(triggers)
	for name, b := range write {
		sel.replace[path.Join(dpkg.TriggersDir, name)] = b
	}
	for _, name := range gone {
		sel.paths[path.Join(dpkg.TriggersDir, name)] = setChoice{set: p.databaseSet(), why: "dpkg triggers"}
	}
	admin := map[string][]byte{}
	for _, name := range p.view.list(dpkg.AltAdminDir) {
		if b, ok := p.content(name); ok {
			admin[path.Base(name)] = b
		}
	}
	current := map[string]string{}
	for _, name := range p.view.list(dpkg.AltDir) {
		if n, ok := p.view.lookup(name); ok && n.typ == tar.TypeSymlink {
			current[path.Base(name)] = n.link
		}
	}
	alt, err := res.Alternatives(files, admin, current)
	if err != nil {
		sel.warnings = append(sel.warnings, fmt.Sprintf("buildtools: alternatives: %v", err))
	} else {
		for _, name := range alt.Remove {
			sel.paths[p.realPath(name)] = setChoice{set: p.databaseSet(), why: "alternatives of removed packages"}
		}
		for name, b := range alt.Write {
			sel.replace[name] = b
		}
		for name, target := range alt.Symlinks {
			sel.symlinks[p.realPath(name)] = target
		}
	}
	sel.packages = res.Removed
	sel.packagesKept = map[string]string{}
	for k := range keep {
		if p.needs == nil || p.needs[k] == "" && len(p.needsByName(k)) == 0 {
			sel.packagesKept[k] = "holds what the program needs"
		}
	}
	// The packages set says why every package that stays does.
	for k, v := range p.needs {
		sel.packagesKept[k] = v
	}
	for k, v := range res.Kept {
		sel.packagesKept[k] = v
	}
	return nil
}

// purgeByteCode removes the byte-code Python compiled for a module a
// purged package lists, as the package's prerm does (py3clean): the .pyc
// files are in no file list, and a package directory left holding them
// would still import, as an empty namespace package.
func (p *Plan) purgeByteCode(module, set string, sel *selection) {
	stem, ok := strings.CutSuffix(path.Base(module), ".py")
	if !ok {
		return
	}
	cache := path.Join(path.Dir(module), "__pycache__")
	found := false
	for _, c := range p.view.list(cache) {
		if b := path.Base(c); strings.HasPrefix(b, stem+".") && strings.HasSuffix(b, ".pyc") {
			sel.paths[c] = setChoice{set: set, why: "byte-code of purged Python modules (py3clean)", exact: true}
			found = true
		}
	}
	if found {
		// Gone once nothing else is left in it.
		sel.paths[cache] = setChoice{set: set, why: "byte-code of purged Python modules (py3clean)", exact: true}
	}
}

// unprotectMetadata lets the Python distribution metadata of purged
// packages go with them: the runtime protects every installed
// distribution's, as importlib.metadata reads them all, but one whose code
// is gone must not be found.
func (p *Plan) unprotectMetadata(files []string) {
	gone := map[string]bool{}
	for _, f := range files {
		real := p.realPath(f)
		if p.metadataOnly(real) {
			gone[real] = true
			delete(p.protected, real)
		}
	}
	trees := p.protTrees[:0]
	for _, t := range p.protTrees {
		if !gone[t] {
			trees = append(trees, t)
		}
	}
	p.protTrees = trees
}

// needsByName returns the ids in p.needs of the package called name.
func (p *Plan) needsByName(name string) []string {
	var out []string
	for id := range p.needs {
		if strings.SplitN(id, ":", 2)[0] == name {
			out = append(out, id)
		}
	}
	return out
}

// databaseSet is the set the package database's own files (info files,
// triggers, alternatives) go with.
func (p *Plan) databaseSet() string {
	switch {
	case p.enabled(SetBuildTools):
		return SetBuildTools
	case p.enabled(SetPackages):
		return SetPackages
	}
	return SetDocs
}

// manual returns extended_states without the Auto-Installed marks of the
// packages in keep, so that autoremove counts them as asked for.
func manual(ext []byte, keep map[string]bool) []byte {
	if ext == nil || len(keep) == 0 {
		return ext
	}
	var out bytes.Buffer
	for _, stanza := range strings.Split(string(ext), "\n\n") {
		pkg := ""
		for _, line := range strings.Split(stanza, "\n") {
			if v, ok := strings.CutPrefix(line, "Package: "); ok {
				pkg = strings.TrimSpace(v)
			}
		}
		if keep[pkg] || strings.TrimSpace(stanza) == "" {
			continue
		}
		out.WriteString(strings.Trim(stanza, "\n") + "\n\n")
	}
	return out.Bytes()
}

// isDirLink reports whether name is a symlink to a directory, such as
// /lib on a merged-/usr image.
func (p *Plan) isDirLink(name string) bool {
	n, ok := p.view.lookup(name)
	if !ok || n.typ != tar.TypeSymlink {
		return false
	}
	r, ok := p.view.resolve(name)
	if !ok {
		return false
	}
	t, ok := p.view.lookup(r)
	return !ok && p.view.exists(r) || ok && t.typ == tar.TypeDir
}

// ownerOf maps each path the removed packages list to one of them.
func ownerOf(removed []string, lists map[string][]byte) map[string]string {
	out := map[string]string{}
	for _, pkg := range removed {
		for _, key := range []string{pkg, strings.SplitN(pkg, ":", 2)[0]} {
			for _, line := range strings.Split(string(lists[key]), "\n") {
				if line != "" {
					out[line] = pkg
				}
			}
		}
	}
	return out
}

func (p *Plan) purgeApk(installed []byte, sel *selection) error {
	world, _ := p.content(apk.WorldPath)
	db, err := apk.Parse(installed, world)
	if err != nil {
		sel.warnings = append(sel.warnings, fmt.Sprintf("buildtools: skipping apk: %v", err))
		return nil
	}
	ask := func(name string) bool { return p.enabled(SetBuildTools) && apk.BuildTools(name) }
	if p.enabled(SetPackages) {
		roots, err := p.apkRoots(db)
		if err != nil {
			return err
		}
		p.needs = db.Needs(roots)
		// The roots join the world, as `apk add` would put them there,
		// and the world entries of what goes leave it.
		if db, err = apk.Parse(installed, db.NewWorld(p.needs, roots)); err != nil {
			return fmt.Errorf("packages: %w", err)
		}
		ask = func(name string) bool {
			_, ok := p.purgeSet(name)
			return ok || apk.BuildTools(name) && p.enabled(SetBuildTools)
		}
	}
	res := db.Purge(ask)
	if len(res.Removed) == 0 {
		return nil
	}
	for _, f := range res.Files() {
		real := p.realPath(layers.Clean(f))
		if _, ok := p.view.lookup(real); !ok {
			continue
		}
		if _, protected := p.isProtected(real); protected {
			return fmt.Errorf("buildtools: apk package holding %s, which the program needs, would go: rerun with --skip buildtools", real)
		}
		set := SetBuildTools
		if !p.enabled(SetBuildTools) || !apk.BuildTools(res.Owner(f)) && p.needs != nil {
			set = SetPackages
		}
		sel.paths[real] = setChoice{set: set, why: "packages deleted with apk's database", exact: true}
	}
	sel.replace[apk.InstalledPath] = res.Installed
	if res.World != nil {
		sel.replace[apk.WorldPath] = res.World
	}
	if b, ok := p.content(apk.TriggersPath); ok {
		sel.replace[apk.TriggersPath] = res.Triggers(b)
	}
	if b, ok := p.content(apk.ScriptsPath); ok {
		if nb, err := res.Scripts(b); err == nil {
			sel.replace[apk.ScriptsPath] = nb
		}
	}
	sel.packages = res.Removed
	sel.packagesKept = map[string]string{}
	for k, v := range p.needs {
		sel.packagesKept[k] = v
	}
	for k, v := range res.Kept {
		sel.packagesKept[k] = v
	}
	return nil
}

// dpkgList returns the paths a dpkg file list names, read on demand and
// line by line: memory follows the paths, not the file's size.
func (p *Plan) dpkgList(name string) ([]byte, bool) {
	rc, ok := p.openContent(name)
	if !ok {
		return nil, false
	}
	defer rc.Close()
	return pathLines(rc), true
}
