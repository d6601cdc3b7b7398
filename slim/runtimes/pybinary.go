package runtimes

import (
	"debug/elf"
	"encoding/binary"
)

// What a CPython interpreter holds in its own binary, read from the tables
// it exports: the modules built into it (PyImport_Inittab: _io, posix,
// _socket…, as Debian builds it) and, from 3.11 on, the modules frozen
// into it (_PyImport_FrozenBootstrap, _PyImport_FrozenStdlib: the import
// system, os, site, codecs…), which it loads from that copy rather than
// from the standard library.
//
// Both matter to what a copy keeps: an import of either never reads a
// file, so the fallback a module imports when one is missing
// (`except ImportError: from . import _bootstrap`) never runs; and a
// frozen module's byte-code in __pycache__ is never read (its .py stays:
// it is the interpreter's landmark, and what -X frozen_modules=off
// loads). A binary without the tables (an older Python, one linked to a
// shared libpython) tells nothing, and everything counts as before.

// pyBinary is what the interpreter's binary holds.
type pyBinary struct {
	builtin, frozen map[string]bool
}

// maxPyTable bounds the entries read of one table.
const maxPyTable = 1000

// readPyBinary reads the module tables of the ELF interpreter at name.
func readPyBinary(fsys FS, name string) pyBinary {
	out := pyBinary{builtin: map[string]bool{}, frozen: map[string]bool{}}
	f, err := fsys.Open(name)
	if err != nil {
		return out
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil || ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return out
	}
	syms, err := ef.DynamicSymbols()
	if err != nil {
		return out
	}
	b := elfImage{f: ef, rel: relativeRelocs(ef)}
	seen := map[string]bool{} // a hostile file may name a table many times
	for _, s := range syms {
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		switch s.Name {
		case "PyImport_Inittab":
			// struct _inittab {const char *name; PyObject *(*initfunc)(void);}
			for _, n := range b.table(s.Value, []uint64{16}) {
				out.builtin[n] = true
			}
		case "_PyImport_FrozenBootstrap", "_PyImport_FrozenStdlib":
			// struct _frozen {const char *name; const unsigned char *code;
			// int size; int is_package; PyObject *(*get_code)(void);} in
			// 3.11 and 3.12, without get_code from 3.13: the size of an
			// entry is the one whose every name reads as a module's.
			for _, n := range b.table(s.Value, []uint64{32, 24}) {
				out.frozen[n] = true
			}
		}
	}
	return out
}

// elfImage reads an ELF file as it is mapped: pointers with the relative
// relocations the loader applies.
type elfImage struct {
	f   *elf.File
	rel map[uint64]uint64 // address -> the value a relative relocation puts there
}

// relativeRelocs returns the R_*_RELATIVE relocations of a position
// independent binary (x86-64, arm64), whose addend is the pointer: some
// linkers leave the word itself zero.
func relativeRelocs(f *elf.File) map[uint64]uint64 {
	out := map[uint64]uint64{}
	var relative uint64
	switch f.Machine {
	case elf.EM_X86_64:
		relative = uint64(elf.R_X86_64_RELATIVE)
	case elf.EM_AARCH64:
		relative = uint64(elf.R_AARCH64_RELATIVE)
	default:
		return out
	}
	// CPython's own tables need a few MB (python3.11: under 3 MB of
	// relocations); a hostile file's sections, however many, may not
	// cost more than budget together.
	budget := uint64(32 << 20)
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA || s.Size > budget {
			continue
		}
		budget -= s.Size
		d, err := s.Data()
		if err != nil {
			continue
		}
		for i := 0; i+24 <= len(d); i += 24 {
			if binary.LittleEndian.Uint64(d[i+8:])&0xffffffff == relative {
				out[binary.LittleEndian.Uint64(d[i:])] = binary.LittleEndian.Uint64(d[i+16:])
			}
		}
	}
	return out
}

// read returns n bytes at virtual address va, nil when no segment holds
// them in the file.
func (b elfImage) read(va uint64, n int) []byte {
	for _, p := range b.f.Progs {
		if p.Type == elf.PT_LOAD && va >= p.Vaddr && va-p.Vaddr+uint64(n) <= p.Filesz {
			buf := make([]byte, n)
			if _, err := p.ReadAt(buf, int64(va-p.Vaddr)); err != nil {
				return nil
			}
			return buf
		}
	}
	return nil
}

// pointer returns the pointer stored at va.
func (b elfImage) pointer(va uint64) (uint64, bool) {
	if v, ok := b.rel[va]; ok {
		return v, true
	}
	w := b.read(va, 8)
	if w == nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(w), true
}

// cstring returns the module name at va.
func (b elfImage) cstring(va uint64) (string, bool) {
	w := b.read(va, 128)
	for i, c := range w {
		if c == 0 {
			return string(w[:i]), validDotted(string(w[:i]))
		}
	}
	return "", false
}

// table returns the names of the NULL-terminated table of structs that
// the pointer variable at sym points to, each starting with a name: with
// the first entry size of sizes under which every entry up to the
// terminator has a module's name; nil when none fits.
func (b elfImage) table(sym uint64, sizes []uint64) []string {
	start, ok := b.pointer(sym)
	if !ok || start == 0 {
		return nil
	}
	for _, size := range sizes {
		var names []string
		for i := uint64(0); i < maxPyTable; i++ {
			p, ok := b.pointer(start + i*size)
			if !ok {
				break
			}
			if p == 0 {
				if len(names) > 0 {
					return names
				}
				break
			}
			n, ok := b.cstring(p)
			if !ok {
				break
			}
			names = append(names, n)
		}
	}
	return nil
}
