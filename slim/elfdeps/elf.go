package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// elfInfo is what the loader reads of an ELF file: its identity, its
// program interpreter and the dynamic section's strings. It is read from
// the program headers only, as ld.so and the kernel do, so files without
// section headers are read as well as any.
type elfInfo struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	typ     elf.Type

	interp  string // PT_INTERP, "" when none
	dynamic bool   // has PT_DYNAMIC
	needed  []string
	soname  string
	rpath   string // DT_RPATH, "" when none or when DT_RUNPATH is set
	runpath string // DT_RUNPATH
	hasRun  bool   // DT_RUNPATH present, even empty
	flags1  uint64 // DT_FLAGS_1
}

// errNotELF is returned for a file that does not start with the ELF magic.
var errNotELF = errors.New("not an ELF file")

// Limits on what a file may make readELF read, far above any real file.
const (
	maxPhnum     = 1 << 12
	maxInterp    = 4096 // PATH_MAX
	maxDynamic   = 1 << 20
	maxStrtab    = 64 << 20
	maxDynString = 4096
)

// sameTarget reports whether a library fits the program that loads it:
// ld.so skips, and goes on searching past, a library of another class,
// byte order or machine.
func (e *elfInfo) sameTarget(o *elfInfo) bool {
	return e.class == o.class && e.data == o.data && e.machine == o.machine
}

// readELF reads the ELF identity, program headers and dynamic section of r.
// It returns errNotELF for a file without the ELF magic, and another error
// for an ELF file the loader would refuse as malformed.
func readELF(r io.ReaderAt, size int64) (*elfInfo, error) {
	var ident [elf.EI_NIDENT]byte
	if _, err := r.ReadAt(ident[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errNotELF
		}
		return nil, err
	}
	if !bytes.Equal(ident[:4], []byte(elf.ELFMAG)) {
		return nil, errNotELF
	}
	e := &elfInfo{class: elf.Class(ident[elf.EI_CLASS]), data: elf.Data(ident[elf.EI_DATA])}
	var bo binary.ByteOrder
	switch e.data {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("bad ELF byte order %d", ident[elf.EI_DATA])
	}
	var phoff, phentsize, phnum, wantPhent uint64
	switch e.class {
	case elf.ELFCLASS32:
		var h elf.Header32
		if err := binary.Read(io.NewSectionReader(r, 0, size), bo, &h); err != nil {
			return nil, fmt.Errorf("reading ELF header: %w", err)
		}
		e.typ, e.machine = elf.Type(h.Type), elf.Machine(h.Machine)
		phoff, phentsize, phnum = uint64(h.Phoff), uint64(h.Phentsize), uint64(h.Phnum)
		wantPhent = uint64(binary.Size(elf.Prog32{}))
	case elf.ELFCLASS64:
		var h elf.Header64
		if err := binary.Read(io.NewSectionReader(r, 0, size), bo, &h); err != nil {
			return nil, fmt.Errorf("reading ELF header: %w", err)
		}
		e.typ, e.machine = elf.Type(h.Type), elf.Machine(h.Machine)
		phoff, phentsize, phnum = h.Phoff, uint64(h.Phentsize), uint64(h.Phnum)
		wantPhent = uint64(binary.Size(elf.Prog64{}))
	default:
		return nil, fmt.Errorf("bad ELF class %d", ident[elf.EI_CLASS])
	}
	if phnum == 0 {
		return e, nil
	}
	if phentsize != wantPhent {
		return nil, fmt.Errorf("ELF program header entries of %d bytes, want %d", phentsize, wantPhent)
	}
	if phnum > maxPhnum || phoff > uint64(size) || phnum*phentsize > uint64(size)-phoff {
		return nil, fmt.Errorf("ELF program headers (%d at %d) beyond the file's %d bytes", phnum, phoff, size)
	}
	progs, err := readProgs(r, e.class, bo, int64(phoff), int(phnum))
	if err != nil {
		return nil, err
	}
	var dyn *elf.ProgHeader
	for i := range progs {
		p := &progs[i]
		switch p.Type {
		case elf.PT_INTERP:
			if e.interp != "" {
				continue // the kernel uses the first
			}
			b, err := readRange(r, size, p.Off, p.Filesz, maxInterp)
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", err)
			}
			n := bytes.IndexByte(b, 0)
			if n < 0 || n == 0 {
				return nil, fmt.Errorf("PT_INTERP is not a NUL-terminated path")
			}
			e.interp = string(b[:n])
		case elf.PT_DYNAMIC:
			if dyn == nil {
				dyn = p
			}
		}
	}
	if dyn != nil {
		e.dynamic = true
		if err := e.readDynamic(r, size, bo, dyn, progs); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func readProgs(r io.ReaderAt, class elf.Class, bo binary.ByteOrder, off int64, n int) ([]elf.ProgHeader, error) {
	progs := make([]elf.ProgHeader, n)
	sr := io.NewSectionReader(r, off, 1<<62)
	for i := range progs {
		if class == elf.ELFCLASS32 {
			var p elf.Prog32
			if err := binary.Read(sr, bo, &p); err != nil {
				return nil, fmt.Errorf("reading ELF program headers: %w", err)
			}
			progs[i] = elf.ProgHeader{Type: elf.ProgType(p.Type), Flags: elf.ProgFlag(p.Flags), Off: uint64(p.Off),
				Vaddr: uint64(p.Vaddr), Paddr: uint64(p.Paddr), Filesz: uint64(p.Filesz), Memsz: uint64(p.Memsz), Align: uint64(p.Align)}
		} else {
			var p elf.Prog64
			if err := binary.Read(sr, bo, &p); err != nil {
				return nil, fmt.Errorf("reading ELF program headers: %w", err)
			}
			progs[i] = elf.ProgHeader{Type: elf.ProgType(p.Type), Flags: elf.ProgFlag(p.Flags), Off: p.Off,
				Vaddr: p.Vaddr, Paddr: p.Paddr, Filesz: p.Filesz, Memsz: p.Memsz, Align: p.Align}
		}
	}
	return progs, nil
}

// readRange reads n bytes at off, refusing ranges past the file's end or
// longer than limit.
func readRange(r io.ReaderAt, size int64, off, n, limit uint64) ([]byte, error) {
	if n > limit {
		return nil, fmt.Errorf("%d bytes at %d: more than %d", n, off, limit)
	}
	if off > uint64(size) || n > uint64(size)-off {
		return nil, fmt.Errorf("%d bytes at %d: beyond the file's %d bytes", n, off, size)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, int64(off)); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, err
	}
	return b, nil
}

// readDynamic reads the dynamic section the way ld.so does: the entries
// from PT_DYNAMIC, and their strings from DT_STRTAB, an address mapped to
// the file through the PT_LOAD segments.
func (e *elfInfo) readDynamic(r io.ReaderAt, size int64, bo binary.ByteOrder, dyn *elf.ProgHeader, progs []elf.ProgHeader) error {
	raw, err := readRange(r, size, dyn.Off, dyn.Filesz, maxDynamic)
	if err != nil {
		return fmt.Errorf("reading PT_DYNAMIC: %w", err)
	}
	entSize := 16
	if e.class == elf.ELFCLASS32 {
		entSize = 8
	}
	var (
		needed                      []uint64
		soname, rpath, runpath      uint64
		hasSoname, hasRpath, hasRun bool
		strtab, strsz               uint64
		hasStrtab                   bool
	)
	for i := 0; i+entSize <= len(raw); i += entSize {
		var tag int64
		var val uint64
		if entSize == 8 {
			tag, val = int64(int32(bo.Uint32(raw[i:]))), uint64(bo.Uint32(raw[i+4:]))
		} else {
			tag, val = int64(bo.Uint64(raw[i:])), bo.Uint64(raw[i+8:])
		}
		switch elf.DynTag(tag) {
		case elf.DT_NULL:
			i = len(raw)
		case elf.DT_NEEDED:
			needed = append(needed, val)
		case elf.DT_SONAME:
			soname, hasSoname = val, true
		case elf.DT_RPATH:
			rpath, hasRpath = val, true
		case elf.DT_RUNPATH:
			runpath, hasRun = val, true
		case elf.DT_STRTAB:
			strtab, hasStrtab = val, true
		case elf.DT_STRSZ:
			strsz = val
		case elf.DT_FLAGS_1:
			e.flags1 = val
		}
	}
	if len(needed) == 0 && !hasSoname && !hasRpath && !hasRun {
		return nil
	}
	if !hasStrtab {
		return errors.New("dynamic section without DT_STRTAB")
	}
	off, ok := fileOffset(progs, strtab)
	if !ok {
		return fmt.Errorf("DT_STRTAB address %#x is in no PT_LOAD segment", strtab)
	}
	if off > uint64(size) {
		return fmt.Errorf("DT_STRTAB at %d beyond the file's %d bytes", off, size)
	}
	if strsz > uint64(size)-off {
		strsz = uint64(size) - off
	}
	tab, err := readRange(r, size, off, strsz, maxStrtab)
	if err != nil {
		return fmt.Errorf("reading DT_STRTAB: %w", err)
	}
	str := func(what string, o uint64) (string, error) {
		if o >= uint64(len(tab)) {
			return "", fmt.Errorf("%s string at %d beyond DT_STRTAB's %d bytes", what, o, len(tab))
		}
		s := tab[o:]
		n := bytes.IndexByte(s, 0)
		if n < 0 || n > maxDynString {
			return "", fmt.Errorf("%s string at %d is not NUL-terminated", what, o)
		}
		return string(s[:n]), nil
	}
	for _, o := range needed {
		s, err := str("DT_NEEDED", o)
		if err != nil {
			return err
		}
		e.needed = append(e.needed, s)
	}
	if hasSoname {
		if e.soname, err = str("DT_SONAME", soname); err != nil {
			return err
		}
	}
	if hasRun {
		// With DT_RUNPATH, ld.so ignores DT_RPATH.
		e.hasRun = true
		if e.runpath, err = str("DT_RUNPATH", runpath); err != nil {
			return err
		}
	} else if hasRpath {
		if e.rpath, err = str("DT_RPATH", rpath); err != nil {
			return err
		}
	}
	return nil
}

// fileOffset maps a virtual address to a file offset through the PT_LOAD
// segments.
func fileOffset(progs []elf.ProgHeader, addr uint64) (uint64, bool) {
	for _, p := range progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr-p.Vaddr < p.Filesz {
			return addr - p.Vaddr + p.Off, true
		}
	}
	return 0, false
}
