package runtimes

import (
	"slices"
	"strings"
	"testing"
)

func TestScanPython(t *testing.T) {
	src := `"""A module.

import notamodule  # in the docstring
"""
from __future__ import annotations
import os, sys as system
import a.b.c
from x.y import (
    p,
    q as r,
)
from . import sibling
from ..up import thing
import typing as t

if t.TYPE_CHECKING:
    from typeonly import T

try:
    import fast
except ImportError:
    import slow

try:
    from _cmod import *
except ImportError:
    from _pymod import *

try: import oneline
except (ImportError, AttributeError): pass

try:
    import needed
except ValueError:
    pass

def feature():
    try:
        from extra import thing
    except ImportError:
        raise TypeError("install extra")
    from extra.more import other
    import json

async def handler(): import lazyone

def _test():
    import doctest

def _used():
    import used_lazily

_used()

class C:
    def m(self):
        mod = importlib.import_module("plugins.base")
        return importlib.import_module(name), __import__(f"x.{name}")

s = "import instring"
u = 'from nowhere import x'

if __name__ == "__main__":
    import mainonly
    _test()
`
	got := scanPython(src)
	type want struct {
		guarded, lazy, main bool
		fallback            []string
	}
	byModule := map[string]pyImportStmt{}
	for _, s := range got.Imports {
		byModule[s.Module] = s
	}
	for mod, w := range map[string]want{
		"__future__":   {},
		"os":           {},
		"sys":          {},
		"a.b.c":        {},
		"x.y":          {},
		".":            {},
		"..up":         {},
		"fast":         {guarded: true},
		"slow":         {fallback: []string{"fast"}},
		"_cmod":        {guarded: true},
		"_pymod":       {fallback: []string{"_cmod"}},
		"oneline":      {guarded: true},
		"needed":       {},
		"extra":        {guarded: true, lazy: true},
		"extra.more":   {lazy: true},
		"json":         {lazy: true},
		"lazyone":      {lazy: true},
		"doctest":      {lazy: true, main: true},
		"used_lazily":  {lazy: true},
		"plugins.base": {lazy: true},
		"mainonly":     {main: true},
	} {
		s, ok := byModule[mod]
		if !ok {
			t.Errorf("import %s: not found, want it", mod)
			continue
		}
		if s.Guarded != w.guarded || s.Lazy != w.lazy || s.Main != w.main || !slices.Equal(s.FallbackFor, w.fallback) {
			t.Errorf("import %s: got guarded %v lazy %v main %v fallback %q, want %v %v %v %q", mod, s.Guarded, s.Lazy, s.Main, s.FallbackFor, w.guarded, w.lazy, w.main, w.fallback)
		}
	}
	for _, bad := range []string{"notamodule", "typeonly", "instring", "nowhere"} {
		if _, ok := byModule[bad]; ok {
			t.Errorf("import %s: found, want it left (in a string, or for type checkers only)", bad)
		}
	}
	if s := byModule["x.y"]; !slices.Equal(s.Names, []string{"p", "q"}) {
		t.Errorf("from x.y import: names %q, want [p q]", s.Names)
	}
	if s := byModule["."]; !slices.Equal(s.Names, []string{"sibling"}) {
		t.Errorf("from . import: names %q, want [sibling]", s.Names)
	}
	if len(got.Dynamic) != 2 || got.Dynamic[0] != "name" || !strings.HasPrefix(got.Dynamic[1], "f") {
		t.Errorf("dynamic imports %q, want [name f\"x.{name}\"]", got.Dynamic)
	}
}

// FuzzScanPython: any text scans without a panic, and every module it
// reports is a name the text holds.
func FuzzScanPython(f *testing.F) {
	f.Add("import os\nfrom . import x\n")
	f.Add("try:\n    import a\nexcept ImportError:\n    import b\n")
	f.Add("s = '''unterminated\nimport x")
	f.Add("def f(): __import__(\"a.b\")\nif __name__ == '__main__': import c\n")
	f.Fuzz(func(t *testing.T, src string) {
		got := scanPython(src)
		for _, s := range got.Imports {
			if name := strings.TrimLeft(s.Module, "."); name != "" && !strings.Contains(src, strings.Split(name, ".")[0]) {
				t.Fatalf("module %q is not in the text %q", s.Module, src)
			}
		}
	})
}

// TestPythonImportGraph: modules are kept one by one over the static
// import graph, with the packages on their way and their data; a package
// importing by computed name is kept whole; a library's optional import of
// another distribution stays out, with a warning, and is marked Optional
// for default mode; fallbacks of present modules and __main__ blocks are
// not followed.
func TestPythonImportGraph(t *testing.T) {
	std, site := "/usr/lib/python3.11", "/usr/lib/python3/dist-packages"
	m := base().
		symlink("/usr/bin/python3", "python3.11").file("/usr/bin/python3.11", elfStub, 0o755).
		file(std+"/os.py", "", 0o644).file(std+"/site.py", "def register():\n    import readline\n", 0o644).
		file(std+"/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so", elfStub, 0o644).
		file(std+"/decimal.py", "try:\n    from _decimal import *\nexcept ImportError:\n    from _pydecimal import *\n", 0o644).
		file(std+"/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so", elfStub, 0o644).
		file(std+"/_pydecimal.py", "", 0o644).
		file(std+"/heapq.py", "if __name__ == \"__main__\":\n    import doctest\n", 0o644).file(std+"/doctest.py", "", 0o644).
		file(std+"/encodings/__init__.py", "def search(name):\n    return __import__('encodings.' + name)\n", 0o644).
		file(std+"/encodings/utf_8.py", "", 0o644).file(std+"/encodings/cp1252.py", "", 0o644).
		file(site+"/web/__init__.py", "from .app import App\n", 0o644).
		file(site+"/web/__pycache__/__init__.cpython-311.pyc", "pyc", 0o644).
		file(std+"/collections/__init__.py", "", 0o644).file(std+"/collections/abc.py", "", 0o644).
		// A library's fallback from a name the standard library dropped
		// (collections.Mapping, gone in 3.10) runs: it is followed.
		file(site+"/web/compat.py", "try:\n    from collections import Mapping\nexcept ImportError:\n    from collections.abc import Mapping\n", 0o644).
		file(site+"/web/app.py", "from . import compat\nimport heapq, decimal\ntry:\n    import signals\nexcept ImportError:\n    signals = None\n\ndef adhoc():\n    try:\n        import crypto\n    except ImportError:\n        raise TypeError('needs crypto')\n    from crypto.x509 import load\n", 0o644).
		file(site+"/web/unused.py", "import never\n", 0o644).
		file(site+"/web/templates.json", "{}", 0o644).file(site+"/web/static/app.js", "x", 0o644).
		file(site+"/web/tests/test_app.py", "", 0o644).
		file(site+"/signals/__init__.py", "", 0o644).
		file(site+"/crypto/__init__.py", "", 0o644).file(site+"/crypto/x509.py", "", 0o644).
		file(site+"/never/__init__.py", "", 0o644).
		file(site+"/plugins/__init__.py", "import importlib\ndef load(n):\n    return importlib.import_module('plugins.' + n)\n", 0o644).
		file(site+"/plugins/a.py", "", 0o644).file(site+"/plugins/tests/test_a.py", "", 0o644).
		file("/app/app.py", "from web import App\nimport plugins\nimport encodings\n", 0o644)
	r := analyze(t, m, "/app", "python3", "app.py")
	got := needPaths(r, func(n Need) bool { return !n.Optional })
	wantAll(t, "needs", got, []string{site + "/web/__init__.py", site + "/web/__pycache__/__init__.cpython-311.pyc", site + "/web/app.py",
		site + "/web/templates.json", site + "/web/static", site + "/signals/__init__.py", std + "/heapq.py", std + "/decimal.py",
		std + "/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so", site + "/plugins", std + "/encodings",
		site + "/web/compat.py", std + "/collections/abc.py"})
	for _, bad := range []string{site + "/web/unused.py", site + "/never/__init__.py", site + "/web/tests", site + "/web/tests/test_app.py",
		site + "/crypto", site + "/crypto/__init__.py", site + "/crypto/x509.py", std + "/_pydecimal.py", std + "/doctest.py",
		std + "/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so"} {
		if slices.Contains(got, bad) {
			t.Errorf("needs %s, want it left out", bad)
		}
	}
	for _, n := range r.Needs {
		if n.Path == site+"/plugins" && (!n.Tree || !slices.Contains(n.Except, "tests")) {
			t.Errorf("plugins: got %+v, want the whole tree but its tests (it imports by computed name)", n)
		}
	}
	if opt := needPaths(r, func(n Need) bool { return n.Optional }); !slices.Equal(opt, []string{site + "/crypto"}) {
		t.Errorf("optional needs %q, want [%s]", opt, site+"/crypto")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], site+"/crypto") || !strings.Contains(r.Warnings[0], "--add") {
		t.Errorf("warnings %q, want one naming %s/crypto and --add", r.Warnings, site)
	}

	// The program itself importing it makes it needed; an interactive
	// interpreter gets what site imports for it.
	m.file("/app/tls.py", "import crypto.x509\n", 0o644)
	r = analyze(t, m, "/app", "python3", "app.py")
	wantAll(t, "needs", needPaths(r, func(n Need) bool { return !n.Optional }), []string{site + "/crypto/__init__.py", site + "/crypto/x509.py"})
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q, want none", r.Warnings)
	}
	r = analyze(t, m, "/app", "python3")
	wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), []string{std + "/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so"})
}

// TestPythonByteCode: a module's byte-code is kept when the program
// imports it as it starts (outside functions, transitively, from the
// interpreter's start-up modules and the script); one only a function
// imports, or one of a package kept whole for a computed import, is kept
// as its source alone, which the interpreter compiles when it imports it.
func TestPythonByteCode(t *testing.T) {
	std, site := "/usr/lib/python3.11", "/usr/lib/python3/dist-packages"
	pyc := func(dir, mod string) string { return dir + "/__pycache__/" + mod + ".cpython-311.pyc" }
	m := base().
		symlink("/usr/bin/python3", "python3.11").file("/usr/bin/python3.11", elfStub, 0o755).
		file(std+"/os.py", "import stat\n", 0o644).file(pyc(std, "os"), "pyc", 0o644).
		file(std+"/stat.py", "", 0o644).file(pyc(std, "stat"), "pyc", 0o644).
		file(std+"/site.py", "import os\n", 0o644).file(pyc(std, "site"), "pyc", 0o644).
		file(std+"/encodings/__init__.py", "from . import aliases\ndef search(name):\n    return __import__('encodings.' + name)\n", 0o644).
		file(pyc(std+"/encodings", "__init__"), "pyc", 0o644).
		file(std+"/encodings/aliases.py", "", 0o644).file(pyc(std+"/encodings", "aliases"), "pyc", 0o644).
		file(std+"/encodings/utf_8.py", "", 0o644).file(pyc(std+"/encodings", "utf_8"), "pyc", 0o644).
		file(std+"/encodings/cp1252.py", "", 0o644).file(pyc(std+"/encodings", "cp1252"), "pyc", 0o644).
		file(std+"/heapq.py", "", 0o644).file(pyc(std, "heapq"), "pyc", 0o644).
		file(std+"/tarfile.py", "import gzip\n", 0o644).file(pyc(std, "tarfile"), "pyc", 0o644).
		file(std+"/gzip.py", "", 0o644).file(pyc(std, "gzip"), "pyc", 0o644).
		file(std+"/doctest.py", "", 0o644).file(pyc(std, "doctest"), "pyc", 0o644).
		file(site+"/web/__init__.py", "from .app import App\n", 0o644).file(pyc(site+"/web", "__init__"), "pyc", 0o644).
		file(site+"/web/app.py", "import heapq\nclass App:\n    def archive(self):\n        import tarfile\n", 0o644).
		file(pyc(site+"/web", "app"), "pyc", 0o644).
		file("/app/app.py", "from web import App\nif __name__ == '__main__':\n    import helper\n", 0o644).
		file("/app/helper.py", "import doctest\n", 0o644).
		file("/app/tests/test_app.py", "import tarfile\n", 0o644)
	r := analyze(t, m, "/app", "python3", "app.py")
	got := needPaths(r, func(Need) bool { return true })
	// Loaded as the program starts: the start-up modules and the codec
	// of the streams, what the script imports outside functions and in
	// its __main__ block, transitively.
	wantAll(t, "needs", got, []string{pyc(std, "os"), pyc(std, "stat"), pyc(std, "site"), pyc(std+"/encodings", "__init__"),
		pyc(std+"/encodings", "aliases"), pyc(std+"/encodings", "utf_8"), pyc(site+"/web", "__init__"), pyc(site+"/web", "app"),
		pyc(std, "heapq"), pyc(std, "doctest")})
	// Imported in a function, by a name computed at run time, or by a
	// file the program does not run as it starts: the source is there,
	// the byte-code is not.
	wantAll(t, "needs", got, []string{std + "/tarfile.py", std + "/gzip.py", std + "/encodings"})
	for _, bad := range []string{pyc(std, "tarfile"), pyc(std, "gzip"), pyc(std+"/encodings", "cp1252")} {
		if slices.Contains(got, bad) {
			t.Errorf("needs %s, the byte-code of a module only imported later", bad)
		}
	}
	for _, n := range r.Needs {
		if n.Path == std+"/encodings" && (!n.Tree || !slices.Contains(n.Except, "__pycache__/")) {
			t.Errorf("encodings: got %+v, want the whole tree but its byte-code", n)
		}
	}
}

// TestPythonModuleKinds: every kind of module the import system finds is
// found, in its order (native, then source, then byte-code beside where
// the source would be): a package whose __init__ is native or byte-code
// alone is a package; a module shipped as byte-code alone is kept with
// what it may import, which cannot be read: its package whole, or its
// whole sys.path entry when it is a top-level module. Byte-code in
// __pycache__ without its source is not a module.
func TestPythonModuleKinds(t *testing.T) {
	std, site := "/usr/lib/python3.11", "/usr/lib/python3/dist-packages"
	so := ".cpython-311-x86_64-linux-gnu.so"
	m := base().
		symlink("/usr/bin/python3", "python3.11").file("/usr/bin/python3.11", elfStub, 0o755).
		file(std+"/os.py", "", 0o644).
		file(site+"/cy/__init__"+so, elfStub, 0o644).file(site+"/cy/helpers.py", "import json\n", 0o644).
		file(std+"/json/__init__.py", "", 0o644).
		file(site+"/vendor/__init__.pyc", "pyc", 0o644).file(site+"/vendor/core.pyc", "pyc", 0o644).
		file(site+"/vendor/plugin.pyc", "pyc", 0o644).file(site+"/vendor/data.json", "{}", 0o644).
		file(site+"/both.py", "", 0o644).file(site+"/both.pyc", "stale", 0o644).
		file(site+"/cacheonly/__init__.py", "from . import gone\n", 0o644).
		file(site+"/cacheonly/__pycache__/gone.cpython-311.pyc", "pyc", 0o644).
		file(site+"/unrelated/__init__.py", "", 0o644).
		file("/app/app.py", "import cy.helpers\nfrom vendor import core\nimport both\nimport cacheonly\n", 0o644)
	r := analyze(t, m, "/app", "python3", "app.py")
	got := needPaths(r, func(Need) bool { return true })
	wantAll(t, "needs", got, []string{site + "/cy/__init__" + so, site + "/cy/helpers.py", std + "/json/__init__.py",
		site + "/vendor/__init__.pyc", site + "/vendor/core.pyc", site + "/vendor", site + "/both.py", site + "/cacheonly/__init__.py"})
	for _, bad := range []string{site + "/both.pyc", site + "/cacheonly/__pycache__/gone.cpython-311.pyc", site + "/unrelated/__init__.py", site} {
		if slices.Contains(got, bad) {
			t.Errorf("needs %s, want it left out", bad)
		}
	}
	for _, n := range r.Needs {
		if n.Path == site+"/vendor" && !n.Tree {
			t.Errorf("vendor: got %+v, want the whole package (byte-code alone: its imports cannot be read)", n)
		}
	}

	// A top-level module without its source: its whole sys.path entry.
	m.file(site+"/fastmod.pyc", "pyc", 0o644).file("/app/app.py", "import fastmod\n", 0o644)
	r = analyze(t, m, "/app", "python3", "app.py")
	var tree *Need
	for i, n := range r.Needs {
		if n.Path == site && n.Tree {
			tree = &r.Needs[i]
		}
	}
	if tree == nil {
		t.Fatalf("needs %q, want %s whole (fastmod.pyc imports what cannot be read)", needPaths(r, func(Need) bool { return true }), site)
	}
	wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), []string{site + "/fastmod.pyc"})
}
