package runtimes

import (
	"slices"
	"testing"
)

func TestPyEvalCond(t *testing.T) {
	py311 := pyTarget{major: 3, minor: 11}
	for _, c := range []struct {
		cond   string
		target pyTarget
		known  bool
		value  bool
	}{
		{`sys.platform == "win32"`, py311, true, false},
		{`sys.platform != 'win32'`, py311, true, true},
		{`sys.platform == "linux"`, py311, true, true},
		{`_sys.platform == "darwin"`, py311, true, false},
		{`sys.platform.startswith("win")`, py311, true, false},
		{`sys.platform.startswith(("freebsd", "linux"))`, py311, true, true},
		{`sys.platform.lower().startswith("win")`, py311, true, false},
		{`sys.platform[:3] == "win"`, py311, true, false},
		{`sys.platform in ('win32', 'darwin')`, py311, true, false},
		{`sys.platform not in {"emscripten", "wasi"}`, py311, true, true},
		{`os.name == "nt"`, py311, true, false},
		{`_os.name == 'posix'`, py311, true, true},
		{`os.name == "posix" and sys.platform == "darwin"`, py311, true, false},
		{`sys.platform == "win32" or WIN`, py311, false, false},
		{`WIN and sys.platform == "win32"`, py311, true, false},
		{`not (os.name == "nt")`, py311, true, true},
		{`typing.TYPE_CHECKING`, py311, true, false},
		{`not TYPE_CHECKING`, py311, true, true},
		{`sys.version_info >= (3, 8)`, py311, true, true},
		{`sys.version_info < (3, 8)`, py311, true, false},
		{`sys.version_info >= (3, 11)`, py311, true, true},
		{`sys.version_info > (3, 11)`, py311, true, true}, // (3, 11, 0, …) > (3, 11)
		{`sys.version_info < (3,)`, py311, true, false},
		{`sys.version_info[:2] == (3, 11)`, py311, true, true},
		{`sys.version_info >= (3, 11, 2)`, py311, false, false}, // the micro version is not known
		{`sys.version_info[0] == 2`, py311, true, false},
		{`sys.version_info.minor >= 12`, py311, true, false},
		{`sys.version_info >= (3, 8)`, pyTarget{}, false, false}, // the version is not known
		{`sys.platform == PLATFORM`, py311, false, false},
		{`x == "win32"`, py311, false, false},
		{`sys.platform == f"win{n}"`, py311, false, false},
		// A slice of three or more ends in the micro version.
		{`sys.version_info[:3] >= (3, 11, 0)`, py311, false, false},
		{`sys.version_info[:3] > (3, 11)`, py311, true, true},
		{`sys.version_info[:3] == (3, 11)`, py311, true, false},
		{`sys.version_info[:3] < (3, 12, 0)`, py311, true, true},
		{`sys.version_info[:1] == (3,)`, py311, true, true},
		// "in" a string is a substring test; "==" a tuple never holds.
		{`sys.platform in ("linux2")`, py311, false, false},
		{`sys.platform in "linux linux2"`, py311, false, false},
		{`sys.platform in ("linux",)`, py311, true, true},
		{`sys.platform == ("linux", "x")`, py311, false, false},
		{`sys.platform == ("linux")`, py311, true, true},
	} {
		lines, lits := pyLines("if " + c.cond + ":\n    pass\n")
		cond := lines[0].text[len("if ") : len(lines[0].text)-1]
		got := c.target.evalCond(cond, lits)
		if got.known != c.known || c.known && got.value != c.value {
			t.Errorf("%s on %+v: got known %v value %v, want %v %v", c.cond, c.target, got.known, got.value, c.known, c.value)
		}
	}
}

// TestPyScanBranches: what a branch the platform or version rules out
// imports is not followed; every other branch's imports are, the one that
// runs among them.
func TestPyScanBranches(t *testing.T) {
	src := `import sys, os
if sys.platform == 'win32':
    from .windows_events import *
else:
    from .unix_events import *

if os.name == "nt":
    import nt_only
elif sys.platform == "darwin":
    import mac_only
elif PLATFORM:
    import unknown_branch
else:
    import posix_fallback

if sys.platform != "win32": import posix_one_line
else: import win_one_line

if sys.version_info >= (3, 8):
    from importlib import metadata
else:
    import importlib_metadata as metadata

if sys.version_info < (3, 11):
    import tomli
elif sys.version_info >= (3, 11):
    import tomllib
else:
    import never_reached

if TYPE_CHECKING:
    import typeonly
else:
    import runtime_side

def f():
    if os.name == 'nt':
        import lazy_nt
    import lazy_posix

for x in ():
    pass
else:
    import for_else

if sys.platform != "win32":
    import fcntl
if USE_TOML:
    import toml_after_true_if

def g():
    if os.name == "posix":
        pass
def h():
    if cond:
        import heavy_in_h

if sys.platform == 'win32':
    pass
try:
    import after_try
except ImportError:
    pass
else:
    import try_else
`
	got := map[string]bool{}
	for _, s := range (pyTarget{major: 3, minor: 11}).scan(src).Imports {
		got[s.Module] = true
	}
	want := []string{"sys", "os", ".unix_events", "unknown_branch", "posix_fallback", "posix_one_line", "importlib", "tomllib",
		"runtime_side", "lazy_posix", "for_else", "fcntl", "toml_after_true_if", "heavy_in_h", "after_try", "try_else"}
	for _, m := range want {
		if !got[m] {
			t.Errorf("import %s: not followed, want it (the branch runs on Linux, Python 3.11)", m)
		}
	}
	for m := range got {
		if !slices.Contains(want, m) {
			t.Errorf("import %s: followed, want it left (its branch never runs on Linux, Python 3.11)", m)
		}
	}
	// On an interpreter of unknown version, both sides of a version test
	// count.
	got = map[string]bool{}
	for _, s := range scanPython(src).Imports {
		got[s.Module] = true
	}
	for _, m := range []string{"importlib_metadata", "importlib", "tomli", "tomllib", "never_reached", "posix_one_line"} {
		if !got[m] {
			t.Errorf("version unknown: import %s not followed, want it", m)
		}
	}
	if got[".windows_events"] || got["nt_only"] {
		t.Errorf("version unknown: the Windows branches followed, want them left (the platform is known)")
	}
}
