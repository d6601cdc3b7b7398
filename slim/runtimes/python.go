package runtimes

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Python: the interpreter finds its standard library from its own path
// (PREFIX/lib/pythonX.Y, marked by os.py), imports a few modules at start
// (site, encodings, codecs, io, os…), then what .pth files and the program
// import. The imports are read statically, transitively, over sys.path:
// the program's directory, PYTHONPATH, the standard library and
// lib-dynload, the site directories; module by module, each with the
// __init__.py of the packages on its way and their data files (a package
// reads them from its own directory). Imports inside functions are
// followed too: they run when the function is called. Byte-code is kept
// for the modules the program loads as it starts (byteCode); the others
// are compiled from their source if and when they are imported. A branch
// the interpreter's platform or version rules out is not followed
// (pycond.go).
//
// Two kinds of import are not followed to a module:
//   - one whose module is computed at run time (importlib.import_module,
//     __import__ given a variable): the package holding the call is kept
//     whole, since what it imports can only be its own or what the
//     program names;
//   - one of another installed distribution that the importing library
//     runs without, as its own code says (in a try that catches
//     ImportError, or in a function of a module that imports it so):
//     an optional feature (werkzeug's ad-hoc certificates need
//     cryptography). Such a distribution is kept only when some other
//     import needs it; otherwise it is named in a warning, and default
//     mode still protects it.
// Metadata directories (importlib.metadata reads them) and .pth files are
// kept.

// pyStartup are imported by the interpreter before the program runs:
// encodings.utf_8 is the codec of the file system and the standard
// streams in a UTF-8 locale and in the C locale (which Python coerces to
// UTF-8), looked up by name.
var pyStartup = []string{"site", "os", "stat", "posixpath", "genericpath", "_collections_abc", "_sitebuiltins",
	"codecs", "io", "abc", "encodings", "encodings.utf_8", "sitecustomize", "usercustomize", "sysconfig", "_distutils_hack"}

// pyAppRef is the "module:callable" WSGI and ASGI servers are given.
var pyAppRef = regexp.MustCompile(`^([A-Za-z_][\w.]*):[A-Za-z_][\w.()]*$`)

// pyStdSkip are the standard library's test suites, GUI and tools: an
// import of them (a test helper, an optional GUI) is not a server's.
var pyStdSkip = map[string]bool{"test": true, "idlelib": true, "tkinter": true, "turtledemo": true, "ensurepip": true, "lib2to3": true, "pydoc_data": true}

// maxPyFiles bounds the files the import reading parses.
const maxPyFiles = 20000

type pyResolver struct {
	a        *analyzer
	stdlib   string
	dynload  string
	appDirs  []string // the program's directory, PYTHONPATH
	sites    []string // dist- and site-packages
	tag      string   // "cpython-311"
	target   pyTarget // its version, from the standard library's directory
	kept     map[string]bool
	parsed   map[string]bool
	lists    map[string][]string
	hard     map[string]bool        // third-party top-levels some import needs
	optional map[string][]pyPending // third-party top-levels only soft imports name
	queue    []string               // files to parse
	entry    string                 // the script python runs
	// atLoad: by importing file ("" for the interpreter and the command
	// line), the module files it imports as it loads, outside functions:
	// what the program imports as it starts is their closure from "".
	atLoad map[string][]string
	why    map[string]string // a kept module file's reason
	bin    pyBinary          // the modules the interpreter's binary holds
	// frozenFiles: the standard library's files of the modules the
	// interpreter loads from its frozen copies, whose byte-code it never
	// reads.
	frozenFiles map[string]bool
	tooMany     bool
	// interactive: python runs no file, -m or -c: it reads the terminal.
	interactive     bool
	interactiveOnly map[string]bool // site's modules
	whyStd          string
	whySites        string
}

// python keeps what a Python program imports.
func (a *analyzer) python(prog, real string, argv []string, dir string) {
	prefix := path.Dir(path.Dir(real))
	base := path.Base(real) // python3.11
	r := &pyResolver{a: a, kept: map[string]bool{}, parsed: map[string]bool{}, lists: map[string][]string{},
		hard: map[string]bool{}, optional: map[string][]pyPending{}, atLoad: map[string][]string{}, why: map[string]string{}}
	r.whyStd = "Python's standard library (" + base + ")"
	r.whySites = "Python's installed packages"
	for _, pfx := range []string{prefix, path.Join(prefix, "local")} {
		lib := path.Join(pfx, "lib")
		for _, d := range list(a.fsys, lib) {
			if d != base && d != "python3" && !(base == "python3" && strings.HasPrefix(d, "python3.")) {
				continue
			}
			p := path.Join(lib, d)
			if (d == base || strings.HasPrefix(d, "python3.")) && r.stdlib == "" && isFile(a.fsys, path.Join(p, "os.py")) {
				r.stdlib = p
				r.tag = "cpython-" + strings.ReplaceAll(strings.TrimPrefix(d, "python"), ".", "")
				if maj, mnr, ok := strings.Cut(strings.TrimPrefix(d, "python"), "."); ok {
					x, err1 := strconv.Atoi(maj)
					y, err2 := strconv.Atoi(mnr)
					if err1 == nil && err2 == nil {
						r.target = pyTarget{major: x, minor: y}
					}
				}
			}
			for _, sub := range []string{"dist-packages", "site-packages"} {
				if sd := path.Join(p, sub); isDir(a.fsys, sd) {
					r.sites = append(r.sites, sd)
				}
			}
		}
	}
	if r.stdlib == "" {
		a.unresolvedf("%s: no standard library (os.py) under %s, so where its modules are is unknown; copy them with --add PATH", real, path.Join(prefix, "lib"))
		return
	}
	// A virtual environment: pyvenv.cfg beside the bin/ the program is
	// run from (not where its symlink leads) puts its site-packages on
	// sys.path.
	if venv := path.Dir(path.Dir(prog)); isFile(a.fsys, path.Join(venv, "pyvenv.cfg")) {
		a.need(Need{Path: path.Join(venv, "pyvenv.cfg"), Why: "the virtual environment of " + prog})
		for _, lib := range []string{"lib", "lib64"} {
			for _, d := range list(a.fsys, path.Join(venv, lib)) {
				if sd := path.Join(venv, lib, d, "site-packages"); strings.HasPrefix(d, "python") && isDir(a.fsys, sd) {
					r.sites = append([]string{sd}, r.sites...)
				}
			}
		}
	}
	r.dynload = path.Join(r.stdlib, "lib-dynload")
	r.bin = readPyBinary(a.fsys, real)
	r.frozenFiles = map[string]bool{}
	if !pyFrozenOff(base, argv) {
		for name := range r.bin.frozen {
			// importlib's own code registers the frozen import system as
			// importlib._bootstrap and importlib._bootstrap_external.
			name = strings.Replace(name, "_frozen_importlib", "importlib._bootstrap", 1)
			rel := strings.ReplaceAll(name, ".", "/")
			r.frozenFiles[path.Join(r.stdlib, rel+".py")] = true
			r.frozenFiles[path.Join(r.stdlib, rel, "__init__.py")] = true
		}
	}
	r.interactiveOnly = map[string]bool{path.Join(r.stdlib, "site.py"): true, path.Join(r.stdlib, "_sitebuiltins.py"): true}
	r.interactive = true
	// os.py is the landmark the interpreter finds its prefix by,
	// lib-dynload the one of its exec prefix.
	a.need(Need{Path: r.stdlib, Why: r.whyStd})
	a.need(Need{Path: path.Join(r.stdlib, "os.py"), Why: r.whyStd + ": the landmark of its prefix"})
	a.need(Need{Path: r.dynload, Why: r.whyStd + ": the landmark of its exec prefix"})
	if v, ok := a.getenv("PYTHONPATH"); ok {
		for _, d := range strings.Split(v, ":") {
			if strings.HasPrefix(d, "/") && !systemDirs[d] && isDir(a.fsys, d) {
				r.appDirs = append(r.appDirs, d)
			}
		}
	}
	var code string
	var start []string
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-c":
			if i+1 < len(argv) {
				code = argv[i+1]
				r.interactive = false
			}
			i = len(argv)
		case w == "-m":
			if i+1 < len(argv) {
				r.interactive = false
				r.appDirs = append([]string{dir}, r.appDirs...)
				start = append(start, argv[i+1])
				a.pythonModule(argv[i+1], dir)
			}
			i = len(argv)
		case w == "-W" || w == "-X" || w == "-Q":
			i++
		case w == "-":
			i = len(argv)
		case strings.HasPrefix(w, "-"):
		default:
			r.interactive = false
			if p, ok := a.script(w, dir, "python"); ok {
				r.appDirs = append([]string{path.Dir(p)}, r.appDirs...)
				r.queue = append(r.queue, p)
				r.entry = p
				r.atLoad[""] = append(r.atLoad[""], p)
			}
			// The script's own arguments: "module:callable" is what WSGI
			// and ASGI servers (gunicorn, uvicorn) import from the
			// working directory.
			for _, arg := range argv[i+1:] {
				if m := pyAppRef.FindStringSubmatch(arg); m != nil {
					r.appDirs = append([]string{dir}, r.appDirs...)
					start = append(start, m[1])
				}
			}
			i = len(argv)
		}
	}
	// The working directory: what a server imports by name from there
	// (gunicorn app:app) is read too.
	if dir != "" && !systemDirs[dir] {
		r.appDirs = append(r.appDirs, dir)
		r.walkPy(dir)
	}
	for _, sd := range r.sites {
		for _, e := range list(a.fsys, sd) {
			p := path.Join(sd, e)
			switch {
			case strings.HasSuffix(e, ".dist-info") || strings.HasSuffix(e, ".egg-info"):
				a.need(Need{Path: p, Why: r.whySites + ": metadata importlib.metadata reads", Tree: isDir(a.fsys, p)})
			case strings.HasSuffix(e, ".pth"):
				a.need(Need{Path: p, Why: r.whySites + ": a .pth file site reads"})
				if b, err := readFile(a.fsys, p, maxRead); err == nil {
					for _, line := range strings.Split(string(b), "\n") {
						if strings.HasPrefix(line, "import ") || strings.HasPrefix(line, "import\t") {
							r.parseText(line, "")
						} else if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
							d := l
							if !strings.HasPrefix(d, "/") {
								d = path.Join(sd, d)
							}
							if isDir(a.fsys, d) {
								r.sites = append(r.sites, d)
							}
						}
					}
				}
			}
		}
	}
	for _, m := range append(pyStartup, start...) {
		r.module(m, false, false, "", "")
	}
	if code != "" {
		r.parseText(code, "")
	}
	for len(r.queue) > 0 && !r.tooMany {
		f := r.queue[0]
		r.queue = r.queue[1:]
		if r.parsed[f] {
			continue
		}
		r.parsed[f] = true
		if len(r.parsed) > maxPyFiles {
			r.tooMany = true
			break
		}
		r.parseFile(f)
	}
	if r.tooMany {
		// More than the reading is bounded to: the whole library.
		a.need(Need{Path: r.stdlib, Why: r.whyStd, Tree: true, Except: []string{"test", "idlelib", "tkinter", "turtledemo", "ensurepip"}})
		for _, sd := range r.sites {
			a.need(Need{Path: sd, Why: r.whySites, Tree: true})
		}
		return
	}
	r.byteCode()
	// What only optional imports name stays out, said so.
	for _, top := range sortedKeys(r.optional) {
		var by []string
		for _, p := range r.optional[top] {
			if p.importer != "" && !slices.Contains(by, p.importer) && len(by) < 3 {
				by = append(by, p.importer)
			}
		}
		a.warnings[fmt.Sprintf("python: %s is left out: only optional imports name it (in %s, which run without it); --add %s keeps it",
			top, strings.Join(by, ", "), top)] = true
		_, fi, _ := stat(a.fsys, top)
		a.need(Need{Path: top, Why: r.whySites + ": " + pyTopName(top) + ", an optional import", Tree: fi != nil && fi.IsDir(), Optional: true})
	}
}

// walkPy queues the .py files below dir.
func (r *pyResolver) walkPy(dir string) {
	var rec func(d string, depth int)
	rec = func(d string, depth int) {
		if depth > 12 || len(r.queue) > maxPyFiles {
			return
		}
		es, err := r.a.fsys.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range es {
			p := path.Join(d, e.Name())
			switch {
			case e.IsDir() && e.Name() != "__pycache__" && !strings.HasPrefix(e.Name(), "."):
				rec(p, depth+1)
			case e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".py"):
				r.queue = append(r.queue, p)
			}
		}
	}
	if real, _, ok := Realpath(r.a.fsys, dir); ok {
		rec(real, 0)
	}
}

// pyRoot is an entry of sys.path.
type pyRoot struct {
	dir, why string
	std      bool // the standard library or lib-dynload
	app      bool // the program's own directories
}

func (r *pyResolver) roots() []pyRoot {
	var roots []pyRoot
	for _, d := range r.appDirs {
		roots = append(roots, pyRoot{dir: d, why: "imported by the program", app: true})
	}
	roots = append(roots, pyRoot{dir: r.stdlib, why: r.whyStd, std: true}, pyRoot{dir: r.dynload, why: r.whyStd, std: true})
	for _, d := range r.sites {
		roots = append(roots, pyRoot{dir: d, why: r.whySites})
	}
	return roots
}

// origin returns the root a file of the image is under and its top-level
// name there ("werkzeug" for .../dist-packages/werkzeug/serving.py).
func (r *pyResolver) origin(file string) (pyRoot, string, bool) {
	var best pyRoot
	found := false
	for _, rt := range r.roots() {
		if strings.HasPrefix(file, rt.dir+"/") && (!found || len(rt.dir) > len(best.dir)) {
			best, found = rt, true
		}
	}
	if !found {
		return pyRoot{}, "", false
	}
	rel := strings.TrimPrefix(file, best.dir+"/")
	top, _, _ := strings.Cut(rel, "/")
	top, _, _ = strings.Cut(top, ".")
	return best, top, true
}

// pyModule is a module found over sys.path: the files importing it runs
// (each package's __init__.py on the way, then the module), and where.
type pyModule struct {
	root  pyRoot
	top   string // the top-level package or module's path
	files []string
	dirs  []string // the packages on the way (namespace ones too)
}

// locate finds the dotted module name as the import system would: the
// first entry of sys.path holding its top-level name, then each part
// inside the package found.
func (r *pyResolver) locate(name string) (pyModule, bool) {
	parts := strings.Split(name, ".")
	if pyStdSkip[parts[0]] {
		// A test suite or a GUI no server imports.
		for _, rt := range r.roots() {
			if !rt.std {
				if m, ok := r.descend(rt, rt.dir, parts); ok {
					return m, true
				}
			}
		}
		return pyModule{}, false
	}
	for _, rt := range r.roots() {
		if m, ok := r.descend(rt, rt.dir, parts); ok {
			return m, true
		}
	}
	return pyModule{}, false
}

// descend finds parts below dir: a package (a directory with an
// __init__ module: native, source or byte-code), a module (native first,
// as the import system's finder looks, then source, then byte-code), or a
// namespace package (a directory without __init__, outside the standard
// library).
func (r *pyResolver) descend(rt pyRoot, dir string, parts []string) (pyModule, bool) {
	m := pyModule{root: rt}
	for i, part := range parts {
		p := path.Join(dir, part)
		last := i == len(parts)-1
		if isDir(r.a.fsys, p) && r.moduleFile(p, "__init__", &m) {
			m.dirs = append(m.dirs, p)
			if i == 0 {
				m.top = p
			}
			dir = p
			continue
		}
		if r.moduleFile(dir, part, &m) {
			if i == 0 {
				m.top = m.files[len(m.files)-1]
			}
			return m, last // a module has no submodules
		}
		if !rt.std && isDir(r.a.fsys, p) {
			m.dirs = append(m.dirs, p)
			if i == 0 {
				m.top = p
			}
			dir = p
			continue
		}
		return pyModule{}, false
	}
	return m, true
}

// moduleFile adds the module part of dir to m (a native module first, as
// the import system's finder looks, then part.py, then part.pyc) and
// reports whether there is one.
func (r *pyResolver) moduleFile(dir, part string, m *pyModule) bool {
	var natives []string
	for _, e := range r.dirList(dir) {
		if strings.HasPrefix(e, part+".") && (strings.HasSuffix(e, ".so") || strings.Contains(e, ".so.")) && !strings.Contains(strings.TrimPrefix(e, part+"."), "/") {
			suffix := strings.TrimPrefix(e, part+".")
			if suffix == "so" || strings.HasPrefix(suffix, r.tag+"-") || strings.HasPrefix(suffix, "abi3.") || suffix == r.tag+".so" {
				natives = append(natives, path.Join(dir, e))
			}
		}
	}
	if len(natives) > 0 {
		sort.Strings(natives)
		m.files = append(m.files, natives[0])
		return true
	}
	if f := path.Join(dir, part+".py"); isFile(r.a.fsys, f) {
		m.files = append(m.files, f)
		return true
	}
	// Byte-code without its source, beside where the source would be
	// (not in __pycache__, which is read only with the source): the
	// import system loads it.
	if f := path.Join(dir, part+".pyc"); isFile(r.a.fsys, f) {
		m.files = append(m.files, f)
		return true
	}
	return false
}

// dirList caches directory listings: a module lookup lists the same
// directories many times.
func (r *pyResolver) dirList(dir string) []string {
	if l, ok := r.lists[dir]; ok {
		return l
	}
	l := list(r.a.fsys, dir)
	r.lists[dir] = l
	return l
}

// parseFile reads a Python file for what it imports, and keeps that.
func (r *pyResolver) parseFile(file string) {
	b, err := readFile(r.a.fsys, file, maxRead)
	if err != nil {
		return
	}
	r.parseText(string(b), file)
}

// parseText keeps what src imports. file is where it is ("" for code
// given on the command line), for relative imports and to tell the
// program's own imports from a library's.
func (r *pyResolver) parseText(src, file string) {
	ps := r.target.scan(src)
	rt, top, known := r.origin(file)
	app := file == "" || !known || rt.app
	guardedTops := map[string]bool{}
	for _, s := range ps.Imports {
		if s.Guarded {
			guardedTops[strings.SplitN(s.Module, ".", 2)[0]] = true
		}
	}
	for _, s := range ps.Imports {
		// An import of another distribution that a library makes in a
		// function, for a feature, and runs without, as its own code
		// says: in a try that catches ImportError, or in a module that
		// imports it so elsewhere. One the module makes as it loads
		// (try: import blinker) changes what the library does when the
		// distribution is there: it is followed. The program's own
		// imports are never optional.
		soft := !app && s.Lazy && (s.Guarded || guardedTops[strings.SplitN(s.Module, ".", 2)[0]])
		if !app && s.Main {
			continue // runs when the file is the program, not when imported
		}
		if s.Lazy && !r.interactive && r.interactiveOnly[file] {
			// What site imports in its functions serves the interactive
			// interpreter (readline's completion, help()), which a
			// program run from a file, -m or -c never starts.
			continue
		}
		if len(s.FallbackFor) > 0 && r.allStd(s.FallbackFor, known && rt.std) {
			// The fallback of an import of the standard library that
			// the image has (decimal's _pydecimal for _decimal): the
			// handler never runs.
			continue
		}
		// The __main__ block of the script python runs runs as it
		// starts; the one of a module it imports (which the program's
		// own files may have) does not.
		lazy := s.Lazy || s.Main && file != r.entry
		if strings.HasPrefix(s.Module, ".") {
			if file != "" {
				r.relative(file, s, lazy)
			}
			continue
		}
		r.importStmt(s.Module, s.Names, soft, lazy, file, top)
	}
	if len(ps.Dynamic) > 0 && !app {
		// What it imports is computed at run time: the package that holds
		// it is kept whole (a top-level module is kept already).
		if pkg := path.Join(rt.dir, top); isDir(r.a.fsys, pkg) {
			r.whole(pkg, rt.why+": package "+top+", which imports modules named at run time ("+strings.Join(dedupStrings(ps.Dynamic), ", ")+")")
		}
	}
}

// allStd reports whether every module of mods is in the standard library
// or in the interpreter's binary, and so the handler that falls back from
// them never runs. Names imported from such a module count as there only
// for the standard library's own code (inStd), which matches its own
// version: a library's `from collections import Mapping` fails since 3.10,
// and its handler then runs.
func (r *pyResolver) allStd(mods []string, inStd bool) bool {
	for _, m := range mods {
		m, names := strings.CutPrefix(m, fromNamesMark)
		if strings.HasPrefix(m, ".") || names && !inStd {
			return false
		}
		if r.bin.builtin[m] || r.bin.frozen[m] {
			continue
		}
		if l, ok := r.locate(m); !ok || !l.root.std {
			return false
		}
	}
	return true
}

func dedupStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] && len(out) < 3 {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// importStmt keeps module and, for "from module import names", the names
// that are submodules.
func (r *pyResolver) importStmt(module string, names []string, soft, lazy bool, importer, importerTop string) {
	if !r.module(module, soft, lazy, importer, importerTop) {
		return
	}
	for _, n := range names {
		if n == "*" {
			// A star import of a package imports what its __all__ names:
			// the package is kept whole.
			if m, ok := r.locate(module); ok && len(m.files) > 0 && strings.HasSuffix(m.files[len(m.files)-1], "/__init__.py") {
				r.whole(path.Dir(m.files[len(m.files)-1]), m.root.why+": package "+module+" (a star import)")
			}
			continue
		}
		r.module(module+"."+n, soft, lazy, importer, importerTop) // a submodule, or a name (then not found)
	}
}

// relative keeps what "from .x import y" in file names.
func (r *pyResolver) relative(file string, s pyImportStmt, lazy bool) {
	dots := len(s.Module) - len(strings.TrimLeft(s.Module, "."))
	base := path.Dir(file)
	for i := 1; i < dots; i++ {
		base = path.Dir(base)
	}
	rt, _, _ := r.origin(file)
	var parts []string
	if rest := strings.TrimLeft(s.Module, "."); rest != "" {
		parts = strings.Split(rest, ".")
	}
	keep := func(ps []string) bool {
		if len(ps) == 0 {
			if f := path.Join(base, "__init__.py"); isFile(r.a.fsys, f) {
				r.keepFiles(pyModule{root: rt, files: []string{f}, dirs: []string{base}}, s.Module, file, lazy)
			}
			return true
		}
		m, ok := r.descend(rt, base, ps)
		if ok {
			m.dirs = append([]string{base}, m.dirs...)
			r.keepFiles(m, strings.Repeat(".", dots)+strings.Join(ps, "."), file, lazy)
		}
		return ok
	}
	if !keep(parts) {
		return
	}
	for _, n := range s.Names {
		if n != "*" {
			keep(append(append([]string(nil), parts...), n))
		}
	}
}

// module keeps the dotted module name and the packages on its way, and
// reports whether it was found. A soft import of another distribution's
// module is held back until a hard one asks for that distribution.
func (r *pyResolver) module(name string, soft, lazy bool, importer, importerTop string) bool {
	if name == "" || !validDotted(name) {
		return false
	}
	m, ok := r.locate(name)
	if !ok {
		return false // a built-in module, or one the source image lacks too
	}
	thirdParty := !m.root.std && !m.root.app
	if thirdParty && soft && pyTopName(m.top) != importerTop {
		if !r.hard[m.top] {
			r.optional[m.top] = append(r.optional[m.top], pyPending{name: name, importer: importer})
			return true
		}
	}
	if thirdParty && !r.hard[m.top] {
		r.hard[m.top] = true
		pending := r.optional[m.top]
		delete(r.optional, m.top)
		for _, p := range pending {
			r.module(p.name, false, true, p.importer, "") // a soft import is in a function
		}
	}
	r.keepFiles(m, name, importer, lazy)
	return true
}

// keepFiles keeps a module's files and the data files of the packages on
// the way; the .py files are read in turn. lazy: the import is in a
// function, so importer does not load the module as it loads.
func (r *pyResolver) keepFiles(m pyModule, name, importer string, lazy bool) {
	if !lazy {
		r.atLoad[importer] = append(r.atLoad[importer], m.files...)
	}
	why := m.root.why
	if name != "" {
		why += ": module " + name
	}
	if importer != "" {
		why += ", imported by " + importer
	}
	for _, d := range m.dirs {
		r.packageData(d, why)
	}
	for _, f := range m.files {
		if r.kept[f] {
			continue
		}
		r.kept[f] = true
		r.why[f] = why
		r.a.need(Need{Path: f, Why: why})
		switch {
		case strings.HasSuffix(f, ".py"):
			r.queue = append(r.queue, f)
		case strings.HasSuffix(f, ".pyc"):
			r.sourceless(m, f, why)
		}
	}
}

// sourceless keeps what a module shipped as byte-code alone may import,
// which cannot be read from its source: the package holding it whole,
// or, for a module at the top of its sys.path entry, the whole entry.
func (r *pyResolver) sourceless(m pyModule, file, why string) {
	why += ", byte-code without its source, whose imports cannot be read"
	if m.top != "" && m.top != file && isDir(r.a.fsys, m.top) {
		r.whole(m.top, why)
		return
	}
	if r.kept["whole\x00"+m.root.dir] {
		return
	}
	r.kept["whole\x00"+m.root.dir] = true
	except := []string{"test", "tests", "__pycache__/"}
	if m.root.std {
		except = append(except, "idlelib", "tkinter", "turtledemo", "ensurepip")
	}
	r.a.need(Need{Path: m.root.dir, Why: why, Tree: true, Except: except})
	r.walkPy(m.root.dir)
}

// byteCode keeps the byte-code of the modules the program imports as it
// starts: the closure of the imports made outside functions, from the
// interpreter's start-up modules and the program. The interpreter loads
// a source module's byte-code from __pycache__/NAME.TAG.pyc when it was
// compiled from the source beside it, which it must find too (a .pyc
// there without its .py is never loaded); without the .pyc it compiles
// the source. So a module only a function imports, or one a package
// imports by a name computed at run time, is kept as source alone: it
// imports as it would, compiled when first imported, and the byte-code
// (larger than the source) stays out.
func (r *pyResolver) byteCode() {
	seen := map[string]bool{}
	queue := []string{""}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		for _, g := range r.atLoad[f] {
			if !seen[g] {
				seen[g] = true
				queue = append(queue, g)
			}
		}
	}
	for _, f := range sortedKeys(seen) {
		if !strings.HasSuffix(f, ".py") || r.frozenFiles[f] {
			continue
		}
		mod := strings.TrimSuffix(path.Base(f), ".py")
		if pyc := path.Join(path.Dir(f), "__pycache__", mod+"."+r.tag+".pyc"); isFile(r.a.fsys, pyc) {
			why := r.why[f]
			if why == "" {
				why = "the script python runs"
			}
			r.a.need(Need{Path: pyc, Why: why + ": its byte-code, loaded as the program starts"})
		}
	}
}

// packageData keeps what a package directory holds besides its modules:
// data files (templates, certificates, type markers), which a package
// reads from its own directory, and the subdirectories that hold no
// Python (static assets), whole.
func (r *pyResolver) packageData(dir, why string) {
	if r.kept["data\x00"+dir] {
		return
	}
	r.kept["data\x00"+dir] = true
	for _, rt := range r.roots() {
		if dir == rt.dir {
			return // a directory of sys.path holds modules, not a package's data
		}
	}
	for _, e := range r.dirList(dir) {
		p := path.Join(dir, e)
		if e == "__pycache__" || e == "tests" || e == "test" {
			continue
		}
		if isDir(r.a.fsys, p) {
			if !r.holdsPython(p) {
				r.a.need(Need{Path: p, Why: why + ": its data", Tree: true})
			}
			continue
		}
		if strings.HasSuffix(e, ".py") || strings.HasSuffix(e, ".pyc") || strings.HasSuffix(e, ".so") || strings.Contains(e, ".so.") {
			continue
		}
		r.a.need(Need{Path: p, Why: why + ": its data"})
	}
}

// holdsPython reports whether dir is a package or holds modules.
func (r *pyResolver) holdsPython(dir string) bool {
	for _, e := range r.dirList(dir) {
		if strings.HasSuffix(e, ".py") || strings.HasSuffix(e, ".so") || strings.Contains(e, ".so.") {
			return true
		}
	}
	return false
}

// whole keeps a package directory with everything below it but its test
// suite, and reads its modules.
func (r *pyResolver) whole(dir, why string) {
	if r.kept["whole\x00"+dir] {
		return
	}
	r.kept["whole\x00"+dir] = true
	// Its byte-code is kept module by module (byteCode).
	r.a.need(Need{Path: dir, Why: why, Tree: true, Except: []string{"test", "tests", "__pycache__/"}})
	if rt, top, ok := r.origin(dir + "/x"); ok && !rt.std && !rt.app {
		if t := path.Join(rt.dir, top); !r.hard[t] {
			r.hard[t] = true
			pending := r.optional[t]
			delete(r.optional, t)
			for _, p := range pending {
				r.module(p.name, false, true, p.importer, "") // a soft import is in a function
			}
		}
	}
	r.walkPy(dir)
}

// pyFrozenOff reports whether the interpreter imports its frozen modules
// from the standard library instead: told so (-X frozen_modules=off), or
// a debug build (python3.11d), where that is the default.
func pyFrozenOff(binary string, argv []string) bool {
	if strings.HasPrefix(binary, "python") && strings.HasSuffix(binary, "d") {
		return true
	}
	for i := 1; i < len(argv); i++ {
		switch w := argv[i]; {
		case w == "-Xfrozen_modules=off":
			return true
		case w == "-X" || w == "-W":
			if i++; w == "-X" && i < len(argv) && argv[i] == "frozen_modules=off" {
				return true
			}
		case w == "-c" || w == "-m" || !strings.HasPrefix(w, "-"):
			return false // the program's own arguments follow
		}
	}
	return false
}

// pyTopName is the import name of a top-level package or module's path.
func pyTopName(p string) string {
	name, _, _ := strings.Cut(path.Base(p), ".")
	return name
}

// pyPending is a soft import held back.
type pyPending struct{ name, importer string }

// pythonModule keeps the module -m names when the working directory (the
// first entry of sys.path with -m) holds it.
func (a *analyzer) pythonModule(mod, dir string) {
	top := strings.SplitN(strings.ReplaceAll(mod, ".", "/"), "/", 2)[0]
	for _, c := range []string{path.Join(dir, top), path.Join(dir, top+".py")} {
		if _, fi, ok := stat(a.fsys, c); ok {
			a.need(Need{Path: c, Why: "python -m " + mod, Tree: fi != nil && fi.IsDir()})
		}
	}
}
