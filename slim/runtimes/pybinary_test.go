package runtimes

import (
	"encoding/binary"
	"maps"
	"slices"
	"testing"
)

// pyELF builds a 64-bit x86-64 ELF with CPython's exported module tables:
// PyImport_Inittab (entries of 16 bytes) and the two frozen tables
// (entries of frozenSize bytes), each a pointer variable to a
// NULL-terminated array of structs that start with the module's name. With
// rela, the pointers are left zero in the file and set by R_X86_64_RELATIVE
// relocations, as some linkers write them.
func pyELF(frozenSize int, rela bool, inittab, bootstrap, stdlib []string) []byte {
	const base = 0x400000
	le := binary.LittleEndian
	blob := make([]byte, 0x200) // the ELF and program headers go here
	var relocs [][2]uint64      // offset, value
	ptr := func(off int, v uint64) {
		if rela {
			relocs = append(relocs, [2]uint64{uint64(off), v})
			return
		}
		le.PutUint64(blob[off:], v)
	}
	align := func() {
		for len(blob)%8 != 0 {
			blob = append(blob, 0)
		}
	}
	table := func(names []string, size int) int {
		var at []uint64
		for _, n := range names {
			at = append(at, uint64(base+len(blob)))
			blob = append(blob, n...)
			blob = append(blob, 0)
		}
		align()
		start := len(blob)
		blob = append(blob, make([]byte, size*(len(names)+1))...)
		for i, a := range at {
			ptr(start+i*size, a)
			le.PutUint64(blob[start+i*size+8:], base+1) // the code or the init function
		}
		v := len(blob)
		blob = append(blob, make([]byte, 8)...)
		ptr(v, uint64(base+start))
		return v
	}
	vars := map[string]int{
		"PyImport_Inittab":          table(inittab, 16),
		"_PyImport_FrozenBootstrap": table(bootstrap, frozenSize),
		"_PyImport_FrozenStdlib":    table(stdlib, frozenSize),
	}
	dataEnd := len(blob)
	// .rela.dyn
	align()
	relaOff := len(blob)
	for _, r := range relocs {
		e := make([]byte, 24)
		le.PutUint64(e, base+r[0])
		le.PutUint64(e[8:], 8) // R_X86_64_RELATIVE
		le.PutUint64(e[16:], r[1])
		blob = append(blob, e...)
	}
	relaEnd := len(blob)
	// .dynstr, .dynsym
	strOff := len(blob)
	blob = append(blob, 0)
	names := slices.Sorted(maps.Keys(vars))
	nameAt := map[string]int{}
	for _, n := range names {
		nameAt[n] = len(blob) - strOff
		blob = append(blob, n...)
		blob = append(blob, 0)
	}
	strEnd := len(blob)
	align()
	symOff := len(blob)
	blob = append(blob, make([]byte, 24)...)
	for _, n := range names {
		e := make([]byte, 24)
		le.PutUint32(e, uint32(nameAt[n]))
		e[4] = 0x11 // STB_GLOBAL, STT_OBJECT
		le.PutUint16(e[6:], 4)
		le.PutUint64(e[8:], uint64(base+vars[n]))
		le.PutUint64(e[16:], 8)
		blob = append(blob, e...)
	}
	symEnd := len(blob)
	shstr := "\x00.dynsym\x00.dynstr\x00.rela.dyn\x00.data\x00.shstrtab\x00"
	shstrOff := len(blob)
	blob = append(blob, shstr...)
	align()
	shOff := len(blob)
	section := func(name, typ uint32, off, end int, link, info uint32, entsize uint64) {
		e := make([]byte, 64)
		le.PutUint32(e, name)
		le.PutUint32(e[4:], typ)
		le.PutUint64(e[16:], uint64(base+off))
		le.PutUint64(e[24:], uint64(off))
		le.PutUint64(e[32:], uint64(end-off))
		le.PutUint32(e[40:], link)
		le.PutUint32(e[44:], info)
		le.PutUint64(e[48:], 8)
		le.PutUint64(e[56:], entsize)
		blob = append(blob, e...)
	}
	blob = append(blob, make([]byte, 64)...)
	section(1, 11, symOff, symEnd, 2, 1, 24)               // .dynsym
	section(9, 3, strOff, strEnd, 0, 0, 0)                 // .dynstr
	section(17, 4, relaOff, relaEnd, 1, 0, 24)             // .rela.dyn
	section(27, 1, 0x200, dataEnd, 0, 0, 0)                // .data
	section(33, 3, shstrOff, shstrOff+len(shstr), 0, 0, 0) // .shstrtab
	copy(blob, "\x7fELF\x02\x01\x01")
	le.PutUint16(blob[16:], 3)  // ET_DYN
	le.PutUint16(blob[18:], 62) // EM_X86_64
	le.PutUint32(blob[20:], 1)
	le.PutUint64(blob[32:], 64) // program headers
	le.PutUint64(blob[40:], uint64(shOff))
	le.PutUint16(blob[52:], 64)
	le.PutUint16(blob[54:], 56)
	le.PutUint16(blob[56:], 1)
	le.PutUint16(blob[58:], 64)
	le.PutUint16(blob[60:], 6)
	le.PutUint16(blob[62:], 5)
	ph := blob[64:]
	le.PutUint32(ph, 1) // PT_LOAD
	le.PutUint32(ph[4:], 6)
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], uint64(len(blob)))
	le.PutUint64(ph[40:], uint64(len(blob)))
	le.PutUint64(ph[48:], 0x1000)
	return blob
}

func TestReadPyBinary(t *testing.T) {
	inittab := []string{"_abc", "_io", "posix", "_thread"}
	bootstrap := []string{"_frozen_importlib", "_frozen_importlib_external", "zipimport"}
	stdlib := []string{"abc", "codecs", "os.path", "os", "site", "importlib.util"}
	for _, c := range []struct {
		name    string
		data    []byte
		builtin []string
		frozen  []string
	}{
		{"3.11: get_code in each frozen entry, pointers in place", pyELF(32, false, inittab, bootstrap, stdlib), inittab, append(bootstrap, stdlib...)},
		{"3.13: 24-byte frozen entries, relocated pointers", pyELF(24, true, inittab, bootstrap, stdlib), inittab, append(bootstrap, stdlib...)},
		{"3.10: no frozen standard library", pyELF(32, false, inittab, nil, nil), inittab, nil},
		{"not an ELF", []byte("#!/bin/sh\n"), nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := readPyBinary(newFS().file("/usr/bin/python3", string(c.data), 0o755), "/usr/bin/python3")
			if b := slices.Sorted(maps.Keys(got.builtin)); !slices.Equal(b, slices.Sorted(slices.Values(c.builtin))) {
				t.Errorf("built-in %q, want %q", b, c.builtin)
			}
			if f := slices.Sorted(maps.Keys(got.frozen)); !slices.Equal(f, slices.Sorted(slices.Values(c.frozen))) {
				t.Errorf("frozen %q, want %q", f, c.frozen)
			}
		})
	}
}

// TestPythonFrozenModules: a module frozen into the interpreter keeps its
// source but not its byte-code, which the interpreter never reads; the
// fallback of a module built into it or frozen (importlib's pure-Python
// _bootstrap for _frozen_importlib, _py_abc for _abc) is not followed,
// the fallback of one it lacks still is; -X frozen_modules=off loads the
// standard library's copies, byte-code included.
func TestPythonFrozenModules(t *testing.T) {
	std := "/usr/lib/python3.11"
	pyc := func(dir, mod string) string { return dir + "/__pycache__/" + mod + ".cpython-311.pyc" }
	bin := pyELF(32, false, []string{"_abc", "_thread"}, []string{"_frozen_importlib", "_frozen_importlib_external", "zipimport"},
		[]string{"abc", "os", "site", "importlib.util"})
	m := base().
		symlink("/usr/bin/python3", "python3.11").file("/usr/bin/python3.11", string(bin), 0o755).
		file(std+"/os.py", "import abc\n", 0o644).file(pyc(std, "os"), "pyc", 0o644).
		file(std+"/site.py", "", 0o644).file(pyc(std, "site"), "pyc", 0o644).
		file(std+"/abc.py", "try:\n    from _abc import get_cache_token\nexcept ImportError:\n    from _py_abc import ABCMeta\n", 0o644).
		file(pyc(std, "abc"), "pyc", 0o644).file(std+"/_py_abc.py", "", 0o644).
		file(std+"/importlib/__init__.py", "try:\n    import _frozen_importlib as _bootstrap\nexcept ImportError:\n    from . import _bootstrap\nfrom . import util\n", 0o644).
		file(pyc(std+"/importlib", "__init__"), "pyc", 0o644).
		file(std+"/importlib/_bootstrap.py", "", 0o644).file(pyc(std+"/importlib", "_bootstrap"), "pyc", 0o644).
		file(std+"/importlib/util.py", "from ._bootstrap_external import cache_from_source\n", 0o644).file(pyc(std+"/importlib", "util"), "pyc", 0o644).
		file(std+"/importlib/_bootstrap_external.py", "", 0o644).file(pyc(std+"/importlib", "_bootstrap_external"), "pyc", 0o644).
		file(std+"/json/__init__.py", "try:\n    from _json import scanstring\nexcept ImportError:\n    from .pyscanner import scanstring\n", 0o644).
		file(std+"/json/pyscanner.py", "", 0o644).
		file("/app/app.py", "import importlib, json\n", 0o644)
	r := analyze(t, m, "/app", "python3", "app.py")
	got := needPaths(r, func(Need) bool { return true })
	wantAll(t, "needs", got, []string{std + "/os.py", std + "/abc.py", std + "/site.py", std + "/importlib/util.py",
		pyc(std+"/importlib", "__init__"), std + "/json/pyscanner.py"})
	for _, bad := range []string{pyc(std, "os"), pyc(std, "abc"), pyc(std, "site"), pyc(std+"/importlib", "util"),
		pyc(std+"/importlib", "_bootstrap_external"), std + "/_py_abc.py", std + "/importlib/_bootstrap.py"} {
		if slices.Contains(got, bad) {
			t.Errorf("needs %s, which the interpreter never reads", bad)
		}
	}
	r = analyze(t, m, "/app", "python3", "-X", "frozen_modules=off", "app.py")
	wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), []string{pyc(std, "os"), pyc(std, "abc"), pyc(std+"/importlib", "util")})
}
