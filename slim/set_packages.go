package slim

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/apk"
	"github.com/imgslim/imgslim/slim/dpkg"
)

// The "packages" set (opt-in: not part of "all") purges every package of
// the image's dpkg or apk database that the program does not need at run
// time, as `apt-get purge … && apt-get autoremove --purge` or `apk del`
// would, and leaves the database saying so. What stays:
//
//   - the packages that hold a file the program needs: its ELF closure and
//     what protect keeps (CA certificates, account and loader files), the
//     interpreter's run-time libraries (for Python the standard library
//     and dist-packages; for Node.js the Debian modules the application
//     names and its node_modules lacks), and what --keep patterns keep;
//   - what the user names with --keep-package;
//   - Debian's Essential, Protected, held and Priority: required packages
//     (apt among them, so apt-get still works), or Alpine's base system
//     (apk-tools, busybox, musl...);
//   - what they depend on (Depends and Pre-Depends; not Recommends).
//
// The roots are marked manually installed, so that autoremove in the
// output does not take them.

// WithKeepPackages names packages the packages set keeps, with what they
// depend on: "libcurl4", or "libc6:amd64" for one architecture.
func WithKeepPackages(names ...string) SlimOption {
	return func(o *options) error { o.keepPackages = append(o.keepPackages, names...); return nil }
}

// runtimeFile reports whether the program loads real (a path of the image,
// not a directory) at run time, and why: it is protected, under an
// interpreter's run-time library tree, or kept by the user's --keep.
type runtimeFiles struct {
	p     *Plan
	trees []string // interpreters' run-time trees
	why   map[string]string
}

func (p *Plan) runtimeFiles() *runtimeFiles {
	rf := &runtimeFiles{p: p, why: map[string]string{}}
	interp := ""
	if p.app.program != "" {
		interp = interpreterKind(path.Base(p.app.program))
	}
	for _, name := range sortedKeys(p.protected) {
		if interp == "" {
			interp = interpreterKind(path.Base(name))
		}
	}
	switch interp {
	case "":
	case "node":
		// Node.js looks in its global directories only for what the
		// application's node_modules lacks.
		rf.trees = p.nodeGlobalModules()
	case "python":
		// The standard library whole; of the installed packages, those
		// the application imports. What they import in turn is in their
		// Depends (dh-python writes them from the requirements), and what
		// they import optionally they import in a try.
		for _, d := range []string{"/usr/lib/{v}", "/usr/local/lib/{v}"} {
			rf.trees = append(rf.trees, p.versionDirs(d)...)
		}
		rf.trees = append(rf.trees, p.pythonModules()...)
	default:
		for _, d := range runtimeDirs[interp] {
			rf.trees = append(rf.trees, p.versionDirs(d)...)
		}
	}
	return rf
}

// nodeGlobalModules returns the directories of Debian's global Node.js
// modules (/usr/share/nodejs/NAME, /usr/lib/nodejs/NAME) that the
// application's package.json depends on and its node_modules lacks.
func (p *Plan) nodeGlobalModules() []string {
	a := p.app
	if a.appDir == "" {
		return nil
	}
	b, ok := p.content(path.Join(a.appDir, "package.json"))
	if !ok {
		return nil
	}
	var pkg struct {
		Dependencies         map[string]string `json:"dependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		PeerDependencies     map[string]string `json:"peerDependencies"`
	}
	if json.Unmarshal(b, &pkg) != nil {
		return nil
	}
	var out []string
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.OptionalDependencies, pkg.PeerDependencies} {
		for _, name := range sortedKeys(deps) {
			if p.view.exists(path.Join(a.appDir, "node_modules", name)) {
				continue
			}
			for _, d := range runtimeDirs["node"] {
				if g := path.Join(d, name); p.view.exists(g) {
					out = append(out, g)
				}
			}
		}
	}
	return out
}

// pythonImport matches the imports of a Python file: "import a.b, c" and
// "from a.b import c" (not relative imports).
var pythonImport = regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*))`)

// pythonModules returns the modules, in the interpreter's package
// directories (dist-packages, site-packages), that the application's
// Python files import or that the entrypoint runs with -m: the packages'
// directories, their single-file modules and their extension modules.
func (p *Plan) pythonModules() []string {
	a := p.app
	names := map[string]bool{}
	for i, arg := range a.argv {
		if arg == "-m" && i+1 < len(a.argv) {
			names[strings.SplitN(a.argv[i+1], ".", 2)[0]] = true
		}
	}
	var files []string
	seen := map[string]bool{}
	for _, dir := range []string{a.appDir, path.Dir(a.script)} {
		if dir == "" || dir == "." || systemDirs[dir] {
			continue
		}
		p.view.walk(dir, func(name string, n node, ok bool) {
			if ok && n.typ == tar.TypeReg && strings.HasSuffix(name, ".py") && n.size < 4<<20 && !seen[name] && !strings.Contains(name, "/.git/") {
				seen[name] = true
				files = append(files, name)
			}
		})
	}
	if a.script != "" && !seen[a.script] {
		files = append(files, a.script)
	}
	blobs, err := p.fetch(files)
	if err != nil {
		p.warnings = append(p.warnings, fmt.Sprintf("packages: reading the application's Python files: %v", err))
	}
	for _, f := range files {
		b, ok := blobs[f]
		if !ok {
			continue
		}
		r, err := b.open()
		if err != nil {
			continue
		}
		src, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			continue
		}
		for _, m := range pythonImport.FindAllSubmatch(src, -1) {
			list := string(m[1])
			if list == "" {
				list = string(m[2])
			}
			for _, mod := range strings.Split(list, ",") {
				names[strings.SplitN(strings.TrimSpace(mod), ".", 2)[0]] = true
			}
		}
	}
	var dirs []string
	for _, d := range []string{"/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages", "/usr/lib/{v}/dist-packages", "/usr/lib/{v}/site-packages", "/usr/local/lib/{v}/dist-packages", "/usr/local/lib/{v}/site-packages"} {
		if strings.Contains(d, "{v}") {
			for _, v := range p.versionDirs(path.Dir(path.Dir(d)) + "/{v}") {
				if c := path.Join(v, path.Base(d)); p.view.exists(c) {
					dirs = append(dirs, c)
				}
			}
		} else if p.view.exists(d) {
			dirs = append(dirs, d)
		}
	}
	var out []string
	for _, name := range sortedKeys(names) {
		for _, d := range dirs {
			for _, c := range p.view.list(d) {
				base := path.Base(c)
				if base == name || base == name+".py" || strings.HasPrefix(base, name+".") && strings.HasSuffix(base, ".so") {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// needs reports whether the program needs real at run time, and why.
func (rf *runtimeFiles) needs(real string) (string, bool) {
	p := rf.p
	if why, ok := rf.why[real]; ok {
		return why, why != ""
	}
	why := ""
	n, ok := p.view.lookup(real)
	switch {
	case !ok || n.typ == tar.TypeDir || p.isDirLink(real):
		// Directories are shared by many packages, and a path the image
		// lacks holds nothing.
	default:
		if reason, ok := p.isProtected(real); ok && !p.metadataOnly(real) {
			why = reason
			break
		}
		for _, t := range rf.trees {
			if layers.Within(real, t) {
				why = "run-time library (" + t + ")"
				break
			}
		}
		if why == "" && p.o.rules != nil && p.o.rules.keep != nil {
			if kept, pat := p.o.rules.keep.match(real); kept {
				why = "--keep " + pat
			}
		}
	}
	rf.why[real] = why
	return why, why != ""
}

// metadataOnly reports whether real is part of a Python distribution's
// metadata (NAME.dist-info, NAME.egg-info), which the runtime protects for
// every installed distribution because importlib.metadata reads them all:
// it goes with the distribution's code, and keeps no package by itself.
func (p *Plan) metadataOnly(real string) bool {
	for d := real; d != "/" && d != "."; d = path.Dir(d) {
		if b := path.Base(d); strings.HasSuffix(b, ".dist-info") || strings.HasSuffix(b, ".egg-info") {
			return true
		}
	}
	return false
}

// dpkgRoots returns the packages the packages set starts from, by id or
// name, with why: those holding what the program needs, and
// --keep-package's.
func (p *Plan) dpkgRoots(db *dpkg.DB, lists map[string][]byte) (map[string]string, error) {
	roots := map[string]string{}
	for _, name := range p.o.keepPackages {
		if len(db.IDs(name)) == 0 && len(db.IDs(strings.SplitN(name, ":", 2)[0])) == 0 {
			return nil, fmt.Errorf("--keep-package %s: no such package is installed", name)
		}
		roots[name] = "--keep-package"
	}
	rf := p.runtimeFiles()
	// A directory the program needs by name (a Python package the runtime
	// found imported) keeps the one package that lists it; directories
	// many packages list are shared, and keep none.
	listers := map[string]int{}
	for _, list := range lists {
		for _, line := range strings.Split(string(list), "\n") {
			if line == "" {
				continue
			}
			real := p.realPath(line)
			if n, ok := p.view.lookup(real); ok && n.typ == tar.TypeDir {
				if _, ok := p.protected[real]; ok && !p.metadataOnly(real) {
					listers[real]++
				}
			}
		}
	}
	for real, n := range listers {
		if n == 1 {
			rf.why[real] = p.protected[real]
		}
	}
	for id, f := range db.Owners(lists, func(line string) bool {
		_, ok := rf.needs(p.realPath(line))
		return ok
	}) {
		if _, ok := roots[id]; !ok {
			why, _ := rf.needs(p.realPath(f))
			roots[id] = "holds " + f + " (" + why + ")"
		}
	}
	return roots, nil
}

// apkRoots is dpkgRoots for apk.
func (p *Plan) apkRoots(db *apk.DB) (map[string]string, error) {
	roots := map[string]string{}
	installed := map[string]bool{}
	for _, name := range db.Installed() {
		installed[name] = true
	}
	for _, name := range p.o.keepPackages {
		if !installed[name] {
			return nil, fmt.Errorf("--keep-package %s: no such package is installed", name)
		}
		roots[name] = "--keep-package"
	}
	rf := p.runtimeFiles()
	for name, f := range db.Owners(func(f string) bool {
		_, ok := rf.needs(p.realPath(layers.Clean(f)))
		return ok
	}) {
		if _, ok := roots[name]; !ok {
			why, _ := rf.needs(p.realPath(layers.Clean(f)))
			roots[name] = "holds " + f + " (" + why + ")"
		}
	}
	return roots, nil
}

// rootNames returns the package names of roots (ids lose their
// architecture), sorted.
func rootNames(roots map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for id := range roots {
		name := strings.SplitN(id, ":", 2)[0]
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
