package runtimes

import (
	"path"
	"regexp"
	"sort"
	"strings"
)

// Python: the interpreter finds its standard library from its own path
// (PREFIX/lib/pythonX.Y, marked by os.py), imports a few modules at start
// (site, encodings, codecs, io, os…), then what .pth files and the program
// import. The imports are read statically, transitively, over sys.path:
// the program's directory, PYTHONPATH, the standard library and
// lib-dynload, the site directories. A package outside the standard
// library is kept whole, with its data files, so an import it makes at run
// time (importlib.import_module, __import__) finds what it holds; so is a
// package of the standard library. Metadata directories (importlib.metadata
// reads them) and .pth files are kept.

var (
	pyImport     = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+([\w. \t,]+)`)
	pyAppRef     = regexp.MustCompile(`^([A-Za-z_][\w.]*):[A-Za-z_][\w.()]*$`)
	pyFromImport = regexp.MustCompile(`(?m)^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)`)
)

// pyStartup are imported by the interpreter before the program runs.
var pyStartup = []string{"site", "os", "stat", "posixpath", "genericpath", "_collections_abc", "_sitebuiltins",
	"codecs", "io", "abc", "encodings", "sitecustomize", "usercustomize", "sysconfig", "_distutils_hack"}

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
	kept     map[string]bool
	parsed   map[string]bool
	queue    []string // files to parse
	tooMany  bool
	whyStd   string
	whySites string
}

// python keeps what a Python program imports.
func (a *analyzer) python(prog, real string, argv []string, dir string) {
	prefix := path.Dir(path.Dir(real))
	base := path.Base(real) // python3.11
	r := &pyResolver{a: a, kept: map[string]bool{}, parsed: map[string]bool{}}
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
			}
			i = len(argv)
		case w == "-m":
			if i+1 < len(argv) {
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
			if p, ok := a.script(w, dir, "python"); ok {
				r.appDirs = append([]string{path.Dir(p)}, r.appDirs...)
				r.queue = append(r.queue, p)
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
		r.module(m)
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
		b, err := readFile(a.fsys, f, maxRead)
		if err != nil {
			continue
		}
		r.parseText(string(b), f)
	}
	if r.tooMany {
		// More than the reading is bounded to: the whole library.
		a.need(Need{Path: r.stdlib, Why: r.whyStd, Tree: true, Except: []string{"test", "idlelib", "tkinter", "turtledemo", "ensurepip"}})
		for _, sd := range r.sites {
			a.need(Need{Path: sd, Why: r.whySites, Tree: true})
		}
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

// parseText queues the modules src imports. file is where it is, for
// relative imports; a dynamic import keeps the top-level package that
// holds it (kept whole already when it is outside the standard library).
func (r *pyResolver) parseText(src, file string) {
	for _, m := range pyImport.FindAllStringSubmatch(src, -1) {
		for _, part := range strings.Split(m[1], ",") {
			f := strings.Fields(part)
			if len(f) > 0 {
				r.module(f[0])
			}
		}
	}
	for _, m := range pyFromImport.FindAllStringSubmatch(src, -1) {
		mod := m[1]
		if strings.HasPrefix(mod, ".") {
			if file == "" {
				continue
			}
			// from .x import y: relative to the file's package.
			pkgDir := path.Dir(file)
			dots := len(mod) - len(strings.TrimLeft(mod, "."))
			for i := 1; i < dots; i++ {
				pkgDir = path.Dir(pkgDir)
			}
			rest := strings.TrimLeft(mod, ".")
			target := path.Join(pkgDir, strings.ReplaceAll(rest, ".", "/"))
			r.keepPath(target)
			for _, name := range pyNames(m[2]) {
				r.keepPath(path.Join(target, name))
			}
			continue
		}
		r.module(mod)
		for _, name := range pyNames(m[2]) {
			r.module(mod + "." + name) // a submodule, or a name (then not found)
		}
	}
}

// pyNames returns the names of "a, b as c, (d,\n e)".
func pyNames(s string) []string {
	s = strings.Trim(strings.TrimSpace(s), "()")
	var out []string
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) > 0 && f[0] != "*" {
			out = append(out, f[0])
		}
	}
	return out
}

// keepPath keeps a module of the program's own tree by its path without
// the suffix: a package directory, NAME.py, or a native NAME.*.so.
func (r *pyResolver) keepPath(p string) {
	if r.kept[p] {
		return
	}
	r.kept[p] = true
	if isDir(r.a.fsys, p) {
		r.queue = append(r.queue, path.Join(p, "__init__.py"))
		return
	}
	if isFile(r.a.fsys, p+".py") {
		r.queue = append(r.queue, p+".py")
	}
}

// module finds a module over sys.path and keeps it.
func (r *pyResolver) module(name string) {
	if name == "" || r.kept["mod\x00"+name] {
		return
	}
	r.kept["mod\x00"+name] = true
	parts := strings.Split(name, ".")
	top := parts[0]
	if r.kept["top\x00"+top] && len(parts) == 1 {
		return
	}
	type root struct {
		dir, why string
		std      bool
	}
	var roots []root
	for _, d := range r.appDirs {
		roots = append(roots, root{d, "imported by the program", false})
	}
	roots = append(roots, root{r.stdlib, r.whyStd, true}, root{r.dynload, r.whyStd, true})
	for _, d := range r.sites {
		roots = append(roots, root{d, r.whySites, false})
	}
	for _, rt := range roots {
		if rt.std && pyStdSkip[top] {
			continue // a test suite or a GUI no server imports
		}
		pkg := path.Join(rt.dir, top)
		if isDir(r.a.fsys, pkg) && (isFile(r.a.fsys, path.Join(pkg, "__init__.py")) || !rt.std) {
			if !r.kept["top\x00"+top] {
				r.kept["top\x00"+top] = true
				// A package is kept whole: its submodules, data files and
				// what it imports at run time. Its test suite stays out.
				r.a.need(Need{Path: pkg, Why: rt.why + ": package " + top, Tree: true, Except: []string{"test", "tests"}})
				r.walkPy(pkg)
			}
			return
		}
		if f := path.Join(rt.dir, top+".py"); isFile(r.a.fsys, f) {
			if !r.kept["top\x00"+top] {
				r.kept["top\x00"+top] = true
				r.a.need(Need{Path: f, Why: rt.why + ": module " + top})
				if pyc := path.Join(rt.dir, "__pycache__", top+"."+r.tag+".pyc"); isFile(r.a.fsys, pyc) {
					r.a.need(Need{Path: pyc, Why: rt.why + ": module " + top})
				}
				r.queue = append(r.queue, f)
			}
			return
		}
		// A native module: NAME.cpython-311-x86_64-linux-gnu.so, NAME.abi3.so, NAME.so.
		var natives []string
		for _, e := range list(r.a.fsys, rt.dir) {
			if strings.HasPrefix(e, top+".") && (strings.HasSuffix(e, ".so") || strings.Contains(e, ".so.")) {
				natives = append(natives, e)
			}
		}
		if len(natives) > 0 {
			sort.Strings(natives)
			r.kept["top\x00"+top] = true
			for _, n := range natives {
				r.a.need(Need{Path: path.Join(rt.dir, n), Why: rt.why + ": native module " + top})
			}
			return
		}
	}
	// Not found: a built-in module, or an optional import the source
	// image cannot satisfy either.
}

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
