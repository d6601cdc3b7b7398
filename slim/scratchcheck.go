package slim

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/imgslim/imgslim/slim/elfdeps"
	"github.com/imgslim/imgslim/slim/runtimes"
)

// outFS is the scratch image's file tree, before it is written: the
// image's files that the copy holds, and the directories above them.
type outFS struct {
	p   *Plan
	all map[string]bool
}

var _ elfdeps.FS = outFS{}

func (o outFS) has(name string) bool { return name == "/" || o.all[name] }

func (o outFS) Lstat(name string) (fs.FileInfo, error) {
	if !o.has(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return imageFS{o.p}.Lstat(name)
}

func (o outFS) Readlink(name string) (string, error) {
	if !o.has(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrNotExist}
	}
	return imageFS{o.p}.Readlink(name)
}

func (o outFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !o.has(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	es, err := imageFS{o.p}.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := es[:0]
	for _, e := range es {
		if o.has(path.Join(name, e.Name())) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (o outFS) Open(name string) (elfdeps.File, error) {
	if !o.has(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return imageFS{o.p}.Open(name)
}

// resolveIn follows symlinks in name through fsys's Lstat and Readlink.
func resolveIn(fsys runtimes.Links, name string) (string, bool) {
	real, _, ok := runtimes.Realpath(fsys, name)
	return real, ok
}

// resolveAll runs elfdeps.Resolve over fsys until it has every content it
// asks for (the output's contents are all fetched before the check).
func (p *Plan) resolveAll(fsys elfdeps.FS, program string, opts ...elfdeps.Option) (*elfdeps.Result, error) {
	for round := 0; ; round++ {
		res, err := elfdeps.Resolve(fsys, program, p.cfg.Config.Env, opts...)
		if err != nil || len(res.Fetch) == 0 {
			return res, err
		}
		before := len(p.fetched)
		if _, err := p.fetch(res.Fetch); err != nil {
			return nil, err
		}
		if len(p.fetched) == before || round == 16 {
			return nil, fmt.Errorf("resolving %s: cannot read %v", program, res.Fetch)
		}
	}
}

// checkScratch checks the file tree a scratch image would hold, before
// anything is written: every ELF program's interpreter and libraries, every
// shared object's libraries (as the program's dlopen maps them), every
// program run's "#!" interpreter, every path the command line names, every
// symlink, resolve inside it. A hole the source image has too is not the
// copy's: it is a warning. It returns the holes, the warnings and what was
// checked.
func (p *Plan) checkScratch(program string, files map[string]string, execs, named []string, machineOpts []elfdeps.Option) (holes, warnings, checked []string, err error) {
	all := map[string]bool{}
	for name := range files {
		all[name] = true
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			all[d] = true
		}
	}
	out := outFS{p: p, all: all}
	var regular []string
	for name := range files {
		if n, ok := p.view.lookup(name); ok && (n.typ == tar.TypeReg || n.typ == tar.TypeLink) {
			regular = append(regular, name)
		}
	}
	sort.Strings(regular)
	contents, err := p.fetch(regular)
	if err != nil {
		return nil, nil, nil, err
	}
	var programs, libs, symlinks []string
	for _, name := range regular {
		b, ok := contents[name]
		if !ok {
			continue
		}
		switch elfKind(b) {
		case elfProgram:
			programs = append(programs, name)
		case elfLibrary:
			libs = append(libs, name)
		}
	}
	for name := range all {
		if n, ok := p.view.lookup(name); ok && n.typ == tar.TypeSymlink {
			symlinks = append(symlinks, name)
		}
	}
	sort.Strings(symlinks)
	hole := func(format string, args ...any) { holes = append(holes, fmt.Sprintf(format, args...)) }

	// Programs: the ELF ones found in the tree and the ones run by name
	// (scripts among them, for their "#!" interpreters).
	progSet := map[string]bool{}
	for _, e := range append(append([]string{program}, execs...), programs...) {
		if r, ok := resolveIn(imageFS{p}, e); ok {
			progSet[r] = true
		}
	}
	for _, e := range sortedKeys(progSet) {
		got, gerr := p.resolveAll(out, e, machineOpts...)
		if gerr == nil && len(got.Missing) == 0 {
			continue
		}
		src, serr := p.closure(e, machineOpts...)
		switch {
		case gerr != nil && serr != nil:
			warnings = append(warnings, fmt.Sprintf("%s cannot run in the source image either: %v", e, serr))
		case gerr != nil:
			hole("%s: %v (the source image has it: --add PATH)", e, gerr)
		default:
			srcMissing := map[string]bool{}
			if serr == nil {
				for _, m := range src.Missing {
					srcMissing[m] = true
				}
			}
			for _, m := range got.Missing {
				if srcMissing[m] {
					warnings = append(warnings, "the source image lacks "+m+" too")
				} else {
					hole("%s is not in the output (the source has it: --add PATH)", m)
				}
			}
		}
	}
	// Shared objects, as the program's process would dlopen them.
	if len(libs) > 0 {
		got, gerr := p.resolveAll(out, program, append(machineOpts, elfdeps.Dlopen(libs...))...)
		if gerr != nil {
			hole("%s with the output's shared objects: %v", program, gerr)
		} else if len(got.Missing) > 0 {
			src, serr := p.closure(program, append(machineOpts, elfdeps.Dlopen(libs...))...)
			srcMissing := map[string]bool{}
			if serr == nil {
				for _, m := range src.Missing {
					srcMissing[m] = true
				}
			}
			for _, m := range got.Missing {
				if !srcMissing[m] {
					hole("%s is not in the output (the source has it: --add PATH)", m)
				}
			}
		}
	}
	// What the command line names.
	for _, n := range named {
		if _, ok := resolveIn(out, n); !ok {
			if _, ok := resolveIn(imageFS{p}, n); ok {
				hole("%s, which the command line names, is not in the output: --add %s", n, n)
			}
		}
	}
	// Symlinks.
	for _, s := range symlinks {
		if _, ok := resolveIn(out, s); !ok {
			if r, ok := resolveIn(imageFS{p}, s); ok {
				hole("the symlink %s leads to %s, which the output lacks: --add %s", s, r, r)
			}
		}
	}
	checked = []string{
		fmt.Sprintf("%d programs (ELF interpreter and libraries, #! interpreters)", len(progSet)),
		fmt.Sprintf("%d shared objects (libraries, as the program's dlopen finds them)", len(libs)),
		fmt.Sprintf("%d paths the command line and the runtimes name", len(named)),
		fmt.Sprintf("%d symlinks", len(symlinks)),
	}
	sort.Strings(holes)
	return dedup(holes), dedup(warnings), checked, nil
}

func dedup(ss []string) []string {
	sort.Strings(ss)
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

type elfType int

const (
	notELF elfType = iota
	elfProgram
	elfLibrary
)

// elfKind tells an ELF program (an executable, or a PIE: it has an
// interpreter) from a shared object, from its first header bytes.
func elfKind(b blob) elfType {
	r, err := b.open()
	if err != nil {
		return notELF
	}
	defer r.Close()
	var h [64]byte
	n, _ := r.ReadAt(h[:], 0)
	if n < 52 || !bytes.HasPrefix(h[:], []byte("\x7fELF")) {
		return notELF
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if h[5] == byte(elf.ELFDATA2MSB) {
		bo = binary.BigEndian
	}
	typ := elf.Type(bo.Uint16(h[16:]))
	switch typ {
	case elf.ET_EXEC:
		return elfProgram
	case elf.ET_DYN:
	default:
		return notELF
	}
	// PT_INTERP among the program headers makes a PIE.
	var phoff uint64
	var phentsize, phnum uint16
	if h[4] == byte(elf.ELFCLASS64) {
		if n < 64 {
			return notELF
		}
		phoff, phentsize, phnum = bo.Uint64(h[32:]), bo.Uint16(h[54:]), bo.Uint16(h[56:])
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(h[28:])), bo.Uint16(h[42:]), bo.Uint16(h[44:])
	}
	if phnum > 256 || phentsize < 4 {
		return elfLibrary
	}
	ph := make([]byte, int(phentsize))
	for i := 0; i < int(phnum); i++ {
		if _, err := r.ReadAt(ph, int64(phoff)+int64(i)*int64(phentsize)); err != nil {
			break
		}
		if elf.ProgType(bo.Uint32(ph)) == elf.PT_INTERP {
			return elfProgram
		}
	}
	return elfLibrary
}
