package elfdeps

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
	"time"
)

// elfSpec describes a synthetic ELF file: only what the loader reads,
// headers, PT_INTERP and a dynamic section.
type elfSpec struct {
	class   elf.Class   // default ELFCLASS64
	machine elf.Machine // default EM_X86_64
	typ     elf.Type    // default ET_DYN
	interp  string
	needed  []string
	soname  string
	rpath   string
	runpath string
	flags1  uint64
}

// buildELF lays out an ELF file: header, program headers (one PT_LOAD
// over the whole file, with addresses equal to offsets), the interpreter
// path, the string table and the dynamic section.
func buildELF(s elfSpec) []byte {
	if s.class == 0 {
		s.class = elf.ELFCLASS64
	}
	if s.machine == 0 {
		s.machine = elf.EM_X86_64
	}
	if s.typ == 0 {
		s.typ = elf.ET_DYN
	}
	is64 := s.class == elf.ELFCLASS64
	ehsize, phentsize, dynent := 52, 32, 8
	if is64 {
		ehsize, phentsize, dynent = 64, 56, 16
	}

	var strtab bytes.Buffer
	strtab.WriteByte(0)
	str := func(v string) uint64 {
		o := uint64(strtab.Len())
		strtab.WriteString(v)
		strtab.WriteByte(0)
		return o
	}
	type dyn struct {
		tag elf.DynTag
		val uint64
	}
	var dyns []dyn
	for _, n := range s.needed {
		dyns = append(dyns, dyn{elf.DT_NEEDED, str(n)})
	}
	if s.soname != "" {
		dyns = append(dyns, dyn{elf.DT_SONAME, str(s.soname)})
	}
	if s.rpath != "" {
		dyns = append(dyns, dyn{elf.DT_RPATH, str(s.rpath)})
	}
	if s.runpath != "" {
		dyns = append(dyns, dyn{elf.DT_RUNPATH, str(s.runpath)})
	}
	if s.flags1 != 0 {
		dyns = append(dyns, dyn{elf.DT_FLAGS_1, s.flags1})
	}

	nph := 2
	if s.interp != "" {
		nph++
	}
	interpOff := ehsize + nph*phentsize
	strOff := interpOff
	if s.interp != "" {
		strOff += len(s.interp) + 1
	}
	dyns = append(dyns, dyn{elf.DT_STRTAB, uint64(strOff)}, dyn{elf.DT_STRSZ, uint64(strtab.Len())}, dyn{elf.DT_NULL, 0})
	dynOff := strOff + strtab.Len()
	dynOff = (dynOff + 7) &^ 7
	total := dynOff + len(dyns)*dynent

	type ph struct {
		typ       elf.ProgType
		off, size int
	}
	phs := []ph{{elf.PT_LOAD, 0, total}}
	if s.interp != "" {
		phs = append(phs, ph{elf.PT_INTERP, interpOff, len(s.interp) + 1})
	}
	phs = append(phs, ph{elf.PT_DYNAMIC, dynOff, len(dyns) * dynent})

	var b bytes.Buffer
	bo := binary.LittleEndian
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(s.class), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	if is64 {
		binary.Write(&b, bo, elf.Header64{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: 1,
			Phoff: uint64(ehsize), Ehsize: uint16(ehsize), Phentsize: uint16(phentsize), Phnum: uint16(nph)})
		for _, p := range phs {
			binary.Write(&b, bo, elf.Prog64{Type: uint32(p.typ), Off: uint64(p.off), Vaddr: uint64(p.off), Paddr: uint64(p.off),
				Filesz: uint64(p.size), Memsz: uint64(p.size), Align: 8})
		}
	} else {
		binary.Write(&b, bo, elf.Header32{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: 1,
			Phoff: uint32(ehsize), Ehsize: uint16(ehsize), Phentsize: uint16(phentsize), Phnum: uint16(nph)})
		for _, p := range phs {
			binary.Write(&b, bo, elf.Prog32{Type: uint32(p.typ), Off: uint32(p.off), Vaddr: uint32(p.off), Paddr: uint32(p.off),
				Filesz: uint32(p.size), Memsz: uint32(p.size), Align: 4})
		}
	}
	if s.interp != "" {
		b.WriteString(s.interp)
		b.WriteByte(0)
	}
	b.Write(strtab.Bytes())
	for b.Len() < dynOff {
		b.WriteByte(0)
	}
	for _, d := range dyns {
		if is64 {
			binary.Write(&b, bo, elf.Dyn64{Tag: int64(d.tag), Val: d.val})
		} else {
			binary.Write(&b, bo, elf.Dyn32{Tag: int32(d.tag), Val: uint32(d.val)})
		}
	}
	return b.Bytes()
}

// memFS is an image in memory: a map of paths to nodes, some of whose
// contents are not fetched yet. It checks that Resolve keeps FS's contract
// (absolute clean names, no symlink among the parents).
type memFS struct {
	nodes   map[string]*memNode
	opened  map[string]int // Open calls that returned content
	fetched map[string]int // how often each path was fetched
}

type memNode struct {
	mode    fs.FileMode
	data    []byte
	target  string
	pending bool // content not fetched
}

func newMemFS() *memFS {
	return &memFS{
		nodes:   map[string]*memNode{"/": {mode: fs.ModeDir | 0o755}},
		opened:  map[string]int{},
		fetched: map[string]int{},
	}
}

func (m *memFS) mkdirs(name string) {
	for d := path.Dir(name); ; d = path.Dir(d) {
		if _, ok := m.nodes[d]; !ok {
			m.nodes[d] = &memNode{mode: fs.ModeDir | 0o755}
		}
		if d == "/" {
			return
		}
	}
}

// file adds a regular file; mode 0 means 0o755.
func (m *memFS) file(name string, data []byte, mode fs.FileMode) *memFS {
	if mode == 0 {
		mode = 0o755
	}
	m.mkdirs(name)
	m.nodes[name] = &memNode{mode: mode, data: data}
	return m
}

func (m *memFS) elf(name string, s elfSpec) *memFS { return m.file(name, buildELF(s), 0) }

func (m *memFS) text(name, s string) *memFS { return m.file(name, []byte(s), 0o644) }

func (m *memFS) symlink(name, target string) *memFS {
	m.mkdirs(name)
	m.nodes[name] = &memNode{mode: fs.ModeSymlink | 0o777, target: target}
	return m
}

func (m *memFS) dir(name string) *memFS {
	m.mkdirs(name)
	m.nodes[name] = &memNode{mode: fs.ModeDir | 0o755}
	return m
}

// unfetch marks every regular file's content as not fetched.
func (m *memFS) unfetch() *memFS {
	for _, n := range m.nodes {
		if n.mode.IsRegular() {
			n.pending = true
		}
	}
	return m
}

func (m *memFS) fetch(names []string) {
	for _, n := range names {
		m.fetched[n]++
		if node, ok := m.nodes[n]; ok {
			node.pending = false
		}
	}
}

func (m *memFS) check(name string) error {
	if !strings.HasPrefix(name, "/") || path.Clean(name) != name {
		return fmt.Errorf("memFS: name %q is not absolute and clean", name)
	}
	for d := path.Dir(name); d != "/"; d = path.Dir(d) {
		if n, ok := m.nodes[d]; ok && n.mode&fs.ModeSymlink != 0 {
			return fmt.Errorf("memFS: name %q has a symlink parent %s", name, d)
		}
	}
	return nil
}

func (m *memFS) Lstat(name string) (fs.FileInfo, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	n, ok := m.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{path.Base(name), n}, nil
}

func (m *memFS) Readlink(name string) (string, error) {
	if err := m.check(name); err != nil {
		return "", err
	}
	n, ok := m.nodes[name]
	if !ok || n.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.target, nil
}

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	var out []fs.DirEntry
	for p, n := range m.nodes {
		if p != "/" && path.Dir(p) == name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{path.Base(p), n}))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *memFS) Open(name string) (File, error) {
	if err := m.check(name); err != nil {
		return nil, err
	}
	n, ok := m.nodes[name]
	if !ok || !n.mode.IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if n.pending {
		return nil, ErrNotFetched
	}
	m.opened[name]++
	return memFile{bytes.NewReader(n.data)}, nil
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

type memInfo struct {
	name string
	n    *memNode
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return int64(len(i.n.data)) }
func (i memInfo) Mode() fs.FileMode  { return i.n.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.n.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

// resolveAll calls Resolve, fetching what it asks for, until it asks for
// nothing. It fails the test when a file is asked for twice.
func resolveAll(t testing.TB, m *memFS, program string, env []string, opts ...Option) (*Result, int, error) {
	t.Helper()
	for round := 1; ; round++ {
		res, err := Resolve(m, program, env, opts...)
		if err != nil || len(res.Fetch) == 0 {
			return res, round, err
		}
		if round > 50 {
			t.Fatalf("Resolve(%s) still fetching after %d rounds: %q", program, round, res.Fetch)
		}
		for _, f := range res.Fetch {
			if m.fetched[f] > 0 {
				t.Fatalf("round %d: %s asked for again", round, f)
			}
			if n, ok := m.nodes[f]; !ok || !n.mode.IsRegular() {
				t.Fatalf("round %d: asked to fetch %s, not a regular file", round, f)
			}
		}
		m.fetch(res.Fetch)
	}
}

// whys returns res.Files as a map of path to reason.
func whys(res *Result) map[string]string {
	out := map[string]string{}
	for _, f := range res.Files {
		out[f.Path] = f.Why
	}
	return out
}

// glibcImage returns a small Debian-like image with merged /usr: a loader,
// libc, and a few libraries.
func glibcImage() *memFS {
	const dir = "/usr/lib/x86_64-linux-gnu"
	return newMemFS().
		symlink("/lib", "usr/lib").
		symlink("/lib64", "usr/lib64").
		symlink("/bin", "usr/bin").
		symlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").
		elf(dir+"/ld-linux-x86-64.so.2", elfSpec{soname: "ld-linux-x86-64.so.2"}).
		elf(dir+"/libc.so.6", elfSpec{soname: "libc.so.6", needed: []string{"ld-linux-x86-64.so.2"}})
}

const ldso = "/lib64/ld-linux-x86-64.so.2"
