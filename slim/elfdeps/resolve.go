// Package elfdeps works out, from an image's own files and never the
// host's, what a program needs to run: the program, the interpreters of
// its "#!" lines, its ELF interpreter, the shared libraries the dynamic
// loader maps for it, and the NSS modules glibc loads at run time.
//
// Resolve emulates the kernel's exec and ld.so's search without running
// anything: symlinks resolved inside the image, DT_RPATH, LD_LIBRARY_PATH,
// DT_RUNPATH, $ORIGIN/$LIB/$PLATFORM, /etc/ld.so.conf and its includes,
// the default directories, and libraries of another class or machine
// skipped as ld.so skips them.
//
// The image's files need not be on disk: an FS knows every path's
// metadata, and file contents may come later. When Resolve needs content
// it does not have, it says which files in Result.Fetch; the caller fetches
// them in one batch and calls Resolve again, until Fetch is empty.
//
// What Resolve cannot know statically is left out: the glibc-hwcaps and
// legacy hwcap subdirectories chosen by the CPU, $PLATFORM's CPU-specific
// values (it uses the machine's name, such as x86_64), libraries a
// program dlopens by itself (unless Dlopen names them), and data files
// (locales, gconv modules, certificates, /etc/passwd).
package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
)

// Need is one path a program needs, and why.
type Need struct {
	Path string // absolute, in the image
	Why  string // "needed by /usr/bin/curl", "interpreter of /usr/bin/curl", "symlink to usr/lib"
}

// Result is what a program needs to run.
type Result struct {
	// Files holds every path the program needs, sorted and deduplicated:
	// regular files by their real path, and each symlink crossed on the
	// way to one, kept as a symlink because the program or the loader
	// uses the link's name.
	Files []Need
	// Missing names what the program needs and the image lacks, one line
	// each, sorted: "libfoo.so.1 (needed by /app/bin/app)". An error for
	// a program copied alone onto an empty image, a warning otherwise.
	Missing []string
	// Fetch lists the real paths of regular files whose content Resolve
	// needs to go on. While it is not empty, Files and Missing are
	// incomplete: fetch these contents and call Resolve again. It may name
	// a few files the final answer does not need (configuration read
	// ahead, a library guessed before ld.so.conf could be read), which
	// saves rounds.
	Fetch []string
}

// Option changes how Resolve works.
type Option func(*options)

type options struct {
	machine      elf.Machine // 0: any
	loadTimeOnly bool
	dlopen       []string
}

// ForMachine makes Resolve fail when a program it follows (the program,
// an interpreter of a "#!" line, what env runs) is an ELF file for another
// machine than m, the image's platform.
func ForMachine(m elf.Machine) Option {
	return func(o *options) { o.machine = m }
}

// LoadTimeOnly limits Resolve to what the loader maps when the program
// starts, what ldd lists: no NSS modules, no /etc/nsswitch.conf.
func LoadTimeOnly() Option {
	return func(o *options) { o.loadTimeOnly = true }
}

// Dlopen maps into the program's process, after what the loader maps at
// start, the libraries at paths (absolute, in the image), as
// dlopen(path) would map them one after the other: a native module of an
// interpreter, a plugin. Each is mapped by its path, then what it needs
// through the same process's search rules (DT_RPATH up the chain of
// loading objects, which ends at the program, LD_LIBRARY_PATH, its own
// DT_RUNPATH, ld.so.cache, the default directories; $ORIGIN is the
// directory of the path it was opened by), recursively. What is mapped
// already, by real path, or by name or soname for a need, is not mapped
// twice.
//
// dlopen failing is the caller's to handle, not the end of the process:
// a library of paths that is not there goes to Result.Missing as
// "/path (dlopened by /usr/bin/prog)", one that lacks a library it
// needs, or whose need is a file the loader stops on, puts that need in
// Missing ("libfoo.so.1 (needed by /path)"); one that is not an ELF
// shared library, or is for another class or machine than the program
// (prebuilt modules for several platforms side by side), is skipped with
// no word. The libraries of paths are never checked as programs are.
//
// The process is the one that ends the exec chain: for a "#!" script,
// its interpreter's, or the command's env runs. A static program has no
// loader to map them: paths are then ignored.
func Dlopen(paths ...string) Option {
	paths = append([]string(nil), paths...)
	return func(o *options) { o.dlopen = append(o.dlopen, paths...) }
}

// Machine returns the ELF machine of an OCI or Go architecture name
// ("amd64", "arm64", ...), for ForMachine.
func Machine(arch string) (elf.Machine, error) {
	switch arch {
	case "amd64", "x86_64":
		return elf.EM_X86_64, nil
	case "arm64", "aarch64":
		return elf.EM_AARCH64, nil
	case "386", "i386":
		return elf.EM_386, nil
	case "arm":
		return elf.EM_ARM, nil
	case "ppc64le", "ppc64":
		return elf.EM_PPC64, nil
	case "s390x":
		return elf.EM_S390, nil
	case "riscv64":
		return elf.EM_RISCV, nil
	case "mips64le", "mips64", "mipsle", "mips":
		return elf.EM_MIPS, nil
	case "loong64":
		return elf.EM_LOONGARCH, nil
	}
	return 0, fmt.Errorf("unknown architecture %q", arch)
}

// maxScripts is how many "#!" interpreters the kernel follows in a row.
const maxScripts = 5

// maxConfig bounds what Resolve reads of a configuration file.
const maxConfig = 1 << 20

// Resolve works out what program (an absolute path in the image) needs to
// run, given the environment the image's config sets (PATH for the
// command of "#!/usr/bin/env CMD", LD_LIBRARY_PATH, LD_PRELOAD). It
// returns an error when the program is missing, is neither an ELF
// executable nor a "#!" script, is a shared library rather than an
// executable, is for another machine than ForMachine's, or when the loader
// would stop on a malformed file; what the image lacks goes to
// Result.Missing.
func Resolve(fsys FS, program string, env []string, opts ...Option) (*Result, error) {
	if !strings.HasPrefix(program, "/") {
		return nil, fmt.Errorf("program %s: not an absolute path", program)
	}
	r := &resolver{
		fsys:    fsys,
		env:     env,
		files:   map[string]string{},
		missing: map[string]string{},
		fetch:   map[string]bool{},
		read:    map[string]*parsed{},
		execd:   map[string]bool{},
	}
	for _, opt := range opts {
		opt(&r.o)
	}
	if err := r.exec(program, "program", 0); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == program {
			return nil, fmt.Errorf("program %s: %w", program, pe.Err)
		}
		return nil, err
	}
	if p := r.final; p != nil && len(r.o.dlopen) > 0 {
		if err := p.dlopen(r.o.dlopen); err != nil {
			return nil, err
		}
	}
	return r.result(), nil
}

type resolver struct {
	fsys    FS
	env     []string
	o       options
	files   map[string]string // path: why
	missing map[string]string // what: line
	fetch   map[string]bool
	read    map[string]*parsed // by real path
	execd   map[string]bool    // real paths of programs followed
	conf    *ldconf
	// final is the process of the last dynamic ELF program exec'd, the
	// one the exec chain ends in; nil when that program is static, or not
	// read yet.
	final *proc
}

func (r *resolver) result() *Result {
	res := &Result{}
	for p, why := range r.files {
		res.Files = append(res.Files, Need{Path: p, Why: why})
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	for _, line := range r.missing {
		res.Missing = append(res.Missing, line)
	}
	sort.Strings(res.Missing)
	for p := range r.fetch {
		res.Fetch = append(res.Fetch, p)
	}
	sort.Strings(res.Fetch)
	return res
}

// need records real and the symlinks crossed to reach it. The first
// reason given for a path stays.
func (r *resolver) need(hops []hop, real, why string) {
	for _, h := range hops {
		if _, ok := r.files[h.path]; !ok {
			r.files[h.path] = "symlink to " + h.target
		}
	}
	if _, ok := r.files[real]; !ok {
		r.files[real] = why
	}
}

func (r *resolver) addMissing(what, line string) {
	if _, ok := r.missing[what]; !ok {
		r.missing[what] = line
	}
}

// parsed is what Resolve reads of a file's content.
type parsed struct {
	head []byte   // the first bytes, for a "#!" line
	elf  *elfInfo // nil when not ELF or malformed
	err  error    // why elf is nil
}

// content reads real's content, once. It returns nil, and lists real in
// Fetch, when the content is not fetched yet.
func (r *resolver) content(real string) (*parsed, error) {
	if p, ok := r.read[real]; ok {
		return p, nil
	}
	f, err := r.fsys.Open(real)
	if errors.Is(err, ErrNotFetched) {
		r.fetch[real] = true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", real, err)
	}
	defer f.Close()
	head := make([]byte, shebangBuf)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", real, err)
	}
	p := &parsed{head: head[:n]}
	p.elf, p.err = readELF(f, f.Size())
	r.read[real] = p
	return p, nil
}

// readAll returns a small file's content, or nil and a Fetch entry when it
// is not fetched yet.
func (r *resolver) readAll(real string) ([]byte, bool, error) {
	f, err := r.fsys.Open(real)
	if errors.Is(err, ErrNotFetched) {
		r.fetch[real] = true
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("opening %s: %w", real, err)
	}
	defer f.Close()
	n := f.Size()
	if n > maxConfig {
		n = maxConfig
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("reading %s: %w", real, err)
	}
	return b, true, nil
}

// regular resolves name to a regular file; ok is false when there is
// none.
func (r *resolver) regular(name string) (real string, hops []hop, ok bool, err error) {
	real, hops, fi, err := walk(r.fsys, name)
	if err != nil {
		if isLookupFailure(err) {
			return "", nil, false, nil
		}
		return "", nil, false, err
	}
	return real, hops, fi.Mode().IsRegular(), nil
}

// isLookupFailure reports whether err means a path leads nowhere, as
// ENOENT, ENOTDIR and ELOOP do.
func isLookupFailure(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		errors.Is(err, errNotFile)
}

// exec follows what execve(name) runs: a "#!" script's interpreter, or an
// ELF program and what its loader maps. depth counts the "#!" levels.
func (r *resolver) exec(name, why string, depth int) error {
	r.final = nil
	real, hops, fi, err := walk(r.fsys, name)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "exec", Path: name, Err: errNotFile}
	}
	r.need(hops, real, why)
	if depth == 0 {
		// A program env runs again ends a cycle; a "#!" chain is bounded
		// by maxScripts instead, as the kernel bounds it.
		if r.execd[real] {
			return nil
		}
		r.execd[real] = true
	}
	p, err := r.content(real)
	if err != nil {
		return err
	}
	if p == nil {
		if depth == 0 {
			// Read the loader's configuration ahead, in the same batch.
			r.prefetch()
		}
		return nil
	}
	interp, arg, script, err := parseShebang(p.head)
	if script {
		if err != nil {
			return fmt.Errorf("script %s: %w", real, err)
		}
		if depth+1 > maxScripts {
			return fmt.Errorf("script %s: more than %d levels of #! interpreters", real, maxScripts)
		}
		if !strings.HasPrefix(interp, "/") {
			interp = "/" + interp // relative to the working directory; taken from the root
		}
		if err := r.exec(interp, "#! interpreter of "+real, depth+1); err != nil {
			if !isLookupFailure(err) {
				return err
			}
			r.addMissing(interp, fmt.Sprintf("%s (#! interpreter of %s)", interp, real))
			return nil
		}
		if path.Base(interp) != "env" {
			return nil
		}
		cmd := envCommand(arg)
		if cmd == "" {
			return nil
		}
		prog, err := LookPath(r.fsys, cmd, r.env)
		if err != nil {
			if !isLookupFailure(err) {
				return err
			}
			r.addMissing(cmd, fmt.Sprintf("%s (run by %s for %s, not in PATH)", cmd, interp, real))
			r.final = nil // env fails: no process goes on
			return nil
		}
		// env execs the command: a new exec, so the "#!" count restarts.
		if err := r.exec(prog, "run by "+interp+" for "+real, 0); err != nil {
			if !isLookupFailure(err) {
				return err
			}
			r.addMissing(cmd, fmt.Sprintf("%s (run by %s for %s)", prog, interp, real))
		}
		return nil
	}
	if p.elf == nil {
		if errors.Is(p.err, errNotELF) {
			return fmt.Errorf("%s is neither an ELF executable nor a #! script", real)
		}
		return fmt.Errorf("%s: malformed ELF file: %w", real, p.err)
	}
	e := p.elf
	if e.typ != elf.ET_EXEC && e.typ != elf.ET_DYN {
		return fmt.Errorf("%s is an ELF file of type %v, not an executable", real, e.typ)
	}
	if e.typ == elf.ET_DYN && e.interp == "" && elf.DynFlag1(e.flags1)&elf.DF_1_PIE == 0 {
		// Neither a dynamic program nor a static PIE: exec maps it and
		// jumps to an entry point that is not one.
		return fmt.Errorf("%s is a shared library, not an executable", real)
	}
	if r.o.machine != 0 && e.machine != r.o.machine {
		return fmt.Errorf("%s is an ELF executable for %s, want %s", real, machineName(e.machine), machineName(r.o.machine))
	}
	return r.load(real, e)
}

// machineName names an ELF machine as people know it.
func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86-64 (EM_X86_64)"
	case elf.EM_AARCH64:
		return "aarch64 (EM_AARCH64)"
	case elf.EM_386:
		return "i386 (EM_386)"
	case elf.EM_ARM:
		return "arm (EM_ARM)"
	}
	return m.String()
}

// prefetch lists the configuration the loader and glibc read, when it
// exists and is not fetched, so that it comes with the program's content.
func (r *resolver) prefetch() {
	names := []string{"/etc/ld.so.preload"}
	if !r.o.loadTimeOnly {
		names = append(names, "/etc/nsswitch.conf")
	}
	if _, _, ok, _ := r.regular("/etc/ld.so.cache"); ok {
		names = append(names, "/etc/ld.so.conf")
		if more, err := glob(r.fsys, "/etc/ld.so.conf.d/*.conf"); err == nil {
			names = append(names, more...)
		}
	}
	for _, n := range names {
		real, _, ok, err := r.regular(n)
		if err != nil || !ok {
			continue
		}
		f, err := r.fsys.Open(real)
		if errors.Is(err, ErrNotFetched) {
			r.fetch[real] = true
		} else if err == nil {
			f.Close()
		}
	}
}
