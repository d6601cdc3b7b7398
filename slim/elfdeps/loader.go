package elfdeps

import (
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"strings"
)

// object is one ELF file mapped by the loader of a process.
type object struct {
	name     string   // the path it was opened by: $ORIGIN is its directory
	real     string   // its real path in the image
	info     *elfInfo // never nil
	loader   *object  // the object whose need first mapped it; nil for the program
	names    []string // the names it answers to
	optional bool     // preloaded or an NSS module: its failures are tolerated
	// dlopened: mapped by Dlopen, or needed by what was; what it lacks is
	// Missing, what the loader stops on fails its dlopen, not the process.
	dlopened bool
}

// loaderKind is the dynamic loader a program names, which decides the
// search rules.
type loaderKind int

const (
	glibc loaderKind = iota // ld-linux*, ld64.so*, ld.so.1
	musl                    // ld-musl-*
	other                   // searched as glibc does, without NSS
)

func kindOf(interp string) loaderKind {
	base := path.Base(interp)
	switch {
	case strings.HasPrefix(base, "ld-musl-"):
		return musl
	case strings.HasPrefix(base, "ld-linux"), strings.HasPrefix(base, "ld64.so"), base == "ld.so.1":
		return glibc
	}
	return other
}

// proc is the loader's state for one process.
type proc struct {
	r      *resolver
	exe    *elfInfo
	main   *object
	kind   loaderKind
	interp string // PT_INTERP as named
	objs   []*object
	byReal map[string]*object
	lib    string // $LIB, once worked out
	next   int    // the first object whose needs are not mapped yet
	nssDue bool   // the NSS modules are to be mapped once the rest is
}

// load follows what the dynamic loader maps for the ELF program exe: its
// interpreter, preloads, DT_NEEDED recursively in breadth-first order as
// ld.so maps them, and for glibc the NSS modules.
func (r *resolver) load(exe string, e *elfInfo) error {
	if e.interp == "" {
		return nil // static: nothing else is mapped
	}
	p := &proc{r: r, exe: e, kind: kindOf(e.interp), interp: e.interp, byReal: map[string]*object{}}
	r.final = p
	p.main = &object{name: exe, real: exe, info: e}
	if e.soname != "" {
		p.main.names = append(p.main.names, e.soname)
	}
	p.add(p.main)

	interp := e.interp
	if !strings.HasPrefix(interp, "/") {
		interp = "/" + interp
	}
	ireal, hops, ok, err := r.regular(interp)
	switch {
	case err != nil:
		return err
	case !ok:
		r.addMissing(e.interp, fmt.Sprintf("%s (interpreter of %s)", e.interp, exe))
	default:
		r.need(hops, ireal, "interpreter of "+exe)
		c, err := r.content(ireal)
		if err != nil {
			return err
		}
		if c != nil {
			if c.elf == nil {
				return fmt.Errorf("interpreter %s of %s: not an ELF file", e.interp, exe)
			}
			if !c.elf.sameTarget(e) {
				return fmt.Errorf("interpreter %s of %s is for %s, the program for %s", e.interp, exe, machineName(c.elf.machine), machineName(e.machine))
			}
			o := &object{name: interp, real: ireal, info: c.elf, loader: p.main, names: []string{e.interp}}
			if c.elf.soname != "" {
				o.names = append(o.names, c.elf.soname)
			}
			p.add(o)
		}
	}

	if err := p.preload(); err != nil {
		return err
	}
	p.nssDue = p.kind == glibc && !r.o.loadTimeOnly
	return p.run()
}

// run maps the needs of the objects mapped and not followed yet, breadth
// first as ld.so does, then, once, the NSS modules when they are due.
func (p *proc) run() error {
	for ; p.next < len(p.objs); p.next++ {
		o := p.objs[p.next]
		for _, n := range o.info.needed {
			if err := p.needLib(n, o, o.optional, "needed by "+o.real); err != nil {
				return err
			}
		}
		if p.next == len(p.objs)-1 && p.nssDue {
			p.nssDue = false
			if err := p.nss(); err != nil {
				return err
			}
		}
	}
	return nil
}

// dlopen maps each of names, and what it needs, after what the process
// mapped at start, as dlopen(name) does one call after the other. See
// Dlopen.
func (p *proc) dlopen(names []string) error {
	why := "dlopened by " + p.main.real
	for _, name := range names {
		if name == "" || p.find(name) != nil {
			continue // dlopen matches the names it has mapped first
		}
		s, err := p.search(name, p.main, true)
		if err != nil {
			return err
		}
		switch s.status {
		case pending:
			continue
		case notFound:
			file := p.expand(name, p.main)
			if !strings.HasPrefix(file, "/") {
				file = "/" + file
			}
			if _, _, _, err := walk(p.r.fsys, file); err != nil {
				if !isLookupFailure(err) {
					return err
				}
				p.r.addMissing(name, fmt.Sprintf("%s (%s)", name, why))
			}
			continue // there, but not a library for this program
		}
		if s.info.typ != elf.ET_DYN {
			continue // dlopen maps shared objects only
		}
		p.r.need(s.hops, s.real, why)
		if o := p.byReal[s.real]; o != nil {
			o.names = append(o.names, name)
			continue // the same file, mapped already
		}
		p.add(&object{name: s.path, real: s.real, info: s.info, loader: p.main, names: []string{name}, dlopened: true})
		if err := p.run(); err != nil {
			return err
		}
	}
	return nil
}

func (p *proc) add(o *object) {
	p.objs = append(p.objs, o)
	p.byReal[o.real] = o
}

// find returns the object already mapped under name, as ld.so matches a
// need against the names and sonames of what it has mapped.
func (p *proc) find(name string) *object {
	for _, o := range p.objs {
		for _, n := range o.names {
			if n == name {
				return o
			}
		}
		if o.info.soname == name {
			return o
		}
	}
	return nil
}

// preload maps LD_PRELOAD's libraries and, for glibc, those of
// /etc/ld.so.preload. The loader ignores those it cannot find.
func (p *proc) preload() error {
	if v, ok := getenv(p.r.env, "LD_PRELOAD"); ok {
		for _, n := range strings.FieldsFunc(v, func(c rune) bool { return c == ' ' || c == ':' }) {
			if err := p.needLib(n, p.main, true, "preloaded by LD_PRELOAD for "+p.main.real); err != nil {
				return err
			}
		}
	}
	if p.kind == musl {
		return nil
	}
	real, hops, ok, err := p.r.regular("/etc/ld.so.preload")
	if err != nil || !ok {
		return err
	}
	b, ok, err := p.r.readAll(real)
	if err != nil || !ok {
		return err
	}
	p.r.need(hops, real, "read by ld.so at start-up")
	for _, n := range strings.FieldsFunc(string(b), func(c rune) bool { return strings.ContainsRune(" \t\n:", c) }) {
		if err := p.needLib(n, p.main, true, "preloaded by /etc/ld.so.preload"); err != nil {
			return err
		}
	}
	return nil
}

// nss maps the NSS modules glibc dlopens at run time: libnss_files and
// libnss_dns (built into libc since glibc 2.34, separate before), and
// those of the services /etc/nsswitch.conf names. glibc skips a module it
// cannot load, so none of them is ever missing.
func (p *proc) nss() error {
	by := p.main
	for _, o := range p.objs {
		if o.info.soname == "libc.so.6" || o.info.soname == "libc.so.6.1" {
			by = o
			break
		}
	}
	services := []string{"files", "dns"}
	real, hops, ok, err := p.r.regular("/etc/nsswitch.conf")
	if err != nil {
		return err
	}
	if ok {
		p.r.need(hops, real, "NSS configuration read by glibc")
		b, ok, err := p.r.readAll(real)
		if err != nil {
			return err
		}
		if ok {
			services = append(services, nsswitchServices(b)...)
		}
	}
	seen := map[string]bool{}
	for _, s := range services {
		if seen[s] {
			continue
		}
		seen[s] = true
		if err := p.needLib("libnss_"+s+".so.2", by, true, "NSS module glibc loads for \""+s+"\""); err != nil {
			return err
		}
	}
	return nil
}

// nsswitchServices returns the services nsswitch.conf names, in order:
// "passwd: files systemd" names files and systemd; "[NOTFOUND=return]"
// actions are not services.
func nsswitchServices(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		_, list, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		depth := 0
		for _, f := range strings.Fields(strings.NewReplacer("[", " [ ", "]", " ] ").Replace(list)) {
			switch {
			case f == "[":
				depth++
			case f == "]":
				if depth > 0 {
					depth--
				}
			case depth == 0 && validService(f):
				out = append(out, f)
			}
		}
	}
	return out
}

func validService(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// needLib maps name for loader unless something already mapped answers to
// it. A library not found goes to Missing unless optional.
func (p *proc) needLib(name string, loader *object, optional bool, why string) error {
	if name == "" || p.find(name) != nil {
		return nil
	}
	if p.kind == musl && muslReserved(name) {
		if o := p.byRealInterp(); o != nil {
			o.names = append(o.names, name)
		}
		return nil
	}
	s, err := p.search(name, loader, optional)
	if err != nil {
		var le *loadError
		if loader.dlopened && errors.As(err, &le) {
			// The dlopen fails; the process goes on.
			p.r.addMissing(name, fmt.Sprintf("%s (%s, but %s)", name, why, le.what()))
			return nil
		}
		return err
	}
	switch s.status {
	case pending:
		return nil
	case notFound:
		if !optional {
			p.r.addMissing(name, fmt.Sprintf("%s (%s)", name, why))
		}
		return nil
	}
	p.r.need(s.hops, s.real, why)
	if s.cache != "" {
		p.r.need(s.cacheHops, s.cache, "read by ld.so to find "+s.real)
	}
	if o := p.byReal[s.real]; o != nil {
		// The same file under another name: ld.so opens it by this
		// path, then sees it has it mapped already.
		o.names = append(o.names, name)
		return nil
	}
	p.add(&object{name: s.path, real: s.real, info: s.info, loader: loader, names: []string{name}, optional: optional, dlopened: loader.dlopened})
	return nil
}

// loadError is a library the loader stops on: the end of the process at
// start-up, a failed dlopen after.
type loadError struct {
	name, file string
	err        error // errNotELF, or why the file is malformed
}

func (e *loadError) what() string {
	if errors.Is(e.err, errNotELF) {
		return e.file + " is not an ELF file"
	}
	return fmt.Sprintf("%s: malformed ELF file: %v", e.file, e.err)
}

func (e *loadError) Error() string {
	if errors.Is(e.err, errNotELF) {
		return fmt.Sprintf("library %s: %s is not an ELF file (ld.so stops on it)", e.name, e.file)
	}
	return fmt.Sprintf("library %s: %s", e.name, e.what())
}

func (e *loadError) Unwrap() error { return e.err }

// byRealInterp returns the interpreter's object, if mapped.
func (p *proc) byRealInterp() *object {
	for _, o := range p.objs {
		for _, n := range o.names {
			if n == p.interp {
				return o
			}
		}
	}
	return nil
}

// muslReserved reports whether musl maps name to itself: libc, libm,
// libpthread and the other libraries musl's libc contains.
func muslReserved(name string) bool {
	for _, r := range []string{"c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."} {
		if strings.HasPrefix(name, "lib"+r) {
			return true
		}
	}
	return false
}

type searchStatus int

const (
	found searchStatus = iota
	pending
	notFound
)

type searchResult struct {
	status    searchStatus
	path      string // as opened: dir + "/" + name
	real      string
	hops      []hop
	info      *elfInfo
	cache     string // /etc/ld.so.cache when the library came from it
	cacheHops []hop
}

// dirPhase is a list of directories searched together, and how they were
// found.
type dirPhase struct {
	dirs      []string
	cache     bool // the ld.so.cache emulation: needs /etc/ld.so.cache
	uncertain bool // the list may be incomplete: its configuration is not fetched
}

// search finds name the way the loader does for loader.
func (p *proc) search(name string, loader *object, optional bool) (searchResult, error) {
	// ld.so expands the tokens of a need too; one with a slash is a
	// path, relative to the working directory, taken from the root here.
	name = p.expand(name, loader)
	if strings.Contains(name, "/") {
		file := name
		if !strings.HasPrefix(file, "/") {
			file = "/" + file
		}
		return p.try([]dirPhase{{dirs: []string{""}}}, file, name, optional)
	}
	var phases []dirPhase
	envPath := func() {
		if v, ok := getenv(p.r.env, "LD_LIBRARY_PATH"); ok {
			sep := ":;"
			if p.kind == musl {
				sep = ":"
			}
			ph := dirPhase{}
			for _, d := range strings.FieldsFunc(v, func(c rune) bool { return strings.ContainsRune(sep, c) }) {
				if p.kind != musl {
					d = p.expand(d, p.main)
				}
				ph.dirs = append(ph.dirs, d)
			}
			phases = append(phases, ph)
		}
	}
	if p.kind == musl {
		// musl: LD_LIBRARY_PATH, then the DT_RUNPATH, else DT_RPATH, of
		// the loader and of every object up the chain, then the system
		// path.
		envPath()
		for l := loader; l != nil; l = l.loader {
			rp := l.info.runpath
			if !l.info.hasRun {
				rp = l.info.rpath
			}
			phases = append(phases, dirPhase{dirs: p.splitPath(rp, l)})
		}
		ph, err := p.muslSysPath()
		if err != nil {
			return searchResult{}, err
		}
		phases = append(phases, ph)
		return p.try(phases, "", name, optional)
	}
	// glibc: DT_RPATH of the loader and up its chain, unless the loader
	// has DT_RUNPATH; LD_LIBRARY_PATH; the loader's DT_RUNPATH;
	// ld.so.cache; the default directories.
	if !loader.info.hasRun {
		for l := loader; l != nil; l = l.loader {
			if l.info.rpath != "" {
				phases = append(phases, dirPhase{dirs: p.splitPath(l.info.rpath, l)})
			}
		}
	}
	envPath()
	if loader.info.hasRun {
		phases = append(phases, dirPhase{dirs: p.splitPath(loader.info.runpath, loader)})
	}
	nodeflib := elf.DynFlag1(loader.info.flags1)&elf.DF_1_NODEFLIB != 0
	defaults := defaultDirs(p.exe)
	conf, err := p.r.ldsoConf()
	if err != nil {
		return searchResult{}, err
	}
	if conf.cache != "" {
		ph := dirPhase{cache: true, uncertain: !conf.complete}
		for _, d := range conf.dirs {
			if nodeflib && contains(defaults, d) {
				continue
			}
			ph.dirs = append(ph.dirs, d)
		}
		if !nodeflib {
			ph.dirs = append(ph.dirs, defaults...) // ldconfig adds them to the cache
		}
		phases = append(phases, ph)
	}
	if !nodeflib {
		phases = append(phases, dirPhase{dirs: defaults})
	}
	return p.try(phases, "", name, optional)
}

// try looks for name in each directory of phases in order; a directory ""
// stands for file, a path. The first regular file that is an ELF file for the
// program's class and machine wins; one of another class or machine is
// skipped, as ld.so does. A candidate whose content is not fetched stops
// the search: it is listed in Fetch. After an uncertain phase, what is
// found is only a guess, fetched ahead but reported pending.
func (p *proc) try(phases []dirPhase, file, name string, optional bool) (searchResult, error) {
	uncertain := false
	for _, ph := range phases {
		uncertain = uncertain || ph.uncertain
		for _, dir := range ph.dirs {
			cand := file
			if dir != "" {
				cand = strings.TrimRight(dir, "/") + "/" + name
			}
			real, hops, ok, err := p.r.regular(cand)
			if err != nil {
				return searchResult{}, err
			}
			if !ok {
				continue
			}
			c, err := p.r.content(real)
			if err != nil {
				return searchResult{}, err
			}
			if c == nil {
				return searchResult{status: pending}, nil
			}
			if uncertain {
				// A guess, fetched ahead: go on past one that cannot be it.
				if c.elf != nil && !c.elf.sameTarget(p.exe) {
					continue
				}
				return searchResult{status: pending}, nil
			}
			if c.elf == nil {
				if optional {
					// dlopen fails, and the caller goes on without it.
					return searchResult{status: notFound}, nil
				}
				return searchResult{}, &loadError{name: name, file: cand, err: c.err}
			}
			if !c.elf.sameTarget(p.exe) {
				continue
			}
			s := searchResult{status: found, path: cand, real: real, hops: hops, info: c.elf}
			if ph.cache && !contains(defaultDirs(p.exe), dir) {
				conf, _ := p.r.ldsoConf()
				s.cache, s.cacheHops = conf.cache, conf.cacheHops
			}
			return s, nil
		}
	}
	if uncertain {
		return searchResult{status: pending}, nil
	}
	return searchResult{status: notFound}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// splitPath splits a DT_RPATH or DT_RUNPATH into directories, expanding
// the dynamic string tokens for o. Empty entries, the working directory,
// are dropped.
func (p *proc) splitPath(s string, o *object) []string {
	var dirs []string
	for _, d := range strings.Split(s, ":") {
		if d == "" {
			continue
		}
		dirs = append(dirs, p.expand(d, o))
	}
	return dirs
}

// origin is $ORIGIN for o: the directory of the path it was opened by,
// which for the program is its real path (the kernel's /proc/self/exe).
// The path is cut at its last slash, never cleaned: "/a/b/../lib" is not
// "/a/lib" when /a/b is a symlink.
func origin(o *object) string {
	name := o.name
	if o.loader == nil {
		name = o.real
	}
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return "/"
	}
	return name[:i]
}

// expand substitutes $ORIGIN, $LIB and $PLATFORM (or ${...}) in s for
// object o. Any other $ stays as it is, as in ld.so.
func (p *proc) expand(s string, o *object) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		name, n := dstName(s[i+1:])
		switch name {
		case "ORIGIN":
			b.WriteString(origin(o))
		case "LIB":
			b.WriteString(p.libDST())
		case "PLATFORM":
			b.WriteString(platform(p.exe))
		default:
			b.WriteByte('$')
			i++
			continue
		}
		i += 1 + n
	}
	return b.String()
}

// dstName returns the token name after a "$" ("ORIGIN" in "ORIGIN/lib" or
// "{ORIGIN}/lib") and how many bytes it takes.
func dstName(s string) (string, int) {
	if strings.HasPrefix(s, "{") {
		if j := strings.IndexByte(s, '}'); j > 0 {
			return s[1:j], j + 1
		}
		return "", 0
	}
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return s[:n], n
}

// libDST is $LIB, which depends on how glibc was built: Debian and Ubuntu
// expand it to their multiarch directory ("lib/x86_64-linux-gnu"), Fedora
// and others with lib64 to "lib64", the rest to "lib". The image's layout
// tells which.
func (p *proc) libDST() string {
	if p.lib != "" {
		return p.lib
	}
	p.lib = "lib"
	t := target(p.exe)
	isDir := func(name string) bool {
		_, _, fi, err := walk(p.r.fsys, name)
		return err == nil && fi.IsDir()
	}
	switch {
	case t.triplet != "" && (isDir("/lib/"+t.triplet) || isDir("/usr/lib/"+t.triplet)):
		p.lib = "lib/" + t.triplet
	case t.libdir != "" && (isDir("/"+t.libdir) || isDir("/usr/"+t.libdir)):
		p.lib = t.libdir
	}
	return p.lib
}

// machineTarget is what the search depends on for one kind of program.
type machineTarget struct {
	triplet  string // Debian's multiarch directory name
	libdir   string // lib64, lib32, libx32: the biarch directory
	platform string // $PLATFORM
}

func target(e *elfInfo) machineTarget {
	is64 := e.class == elf.ELFCLASS64
	le := e.data == elf.ELFDATA2LSB
	switch e.machine {
	case elf.EM_X86_64:
		if !is64 {
			return machineTarget{"x86_64-linux-gnux32", "libx32", "x86_64"}
		}
		return machineTarget{"x86_64-linux-gnu", "lib64", "x86_64"}
	case elf.EM_386:
		return machineTarget{"i386-linux-gnu", "lib32", "i686"}
	case elf.EM_AARCH64:
		return machineTarget{"aarch64-linux-gnu", "lib64", "aarch64"}
	case elf.EM_ARM:
		return machineTarget{"arm-linux-gnueabihf", "", "v7l"}
	case elf.EM_PPC64:
		if le {
			return machineTarget{"powerpc64le-linux-gnu", "lib64", "power8"}
		}
		return machineTarget{"powerpc64-linux-gnu", "lib64", "power8"}
	case elf.EM_S390:
		return machineTarget{"s390x-linux-gnu", "lib64", "z13"}
	case elf.EM_RISCV:
		return machineTarget{"riscv64-linux-gnu", "lib64", "riscv64"}
	case elf.EM_MIPS:
		if is64 && le {
			return machineTarget{"mips64el-linux-gnuabi64", "lib64", "mips64"}
		}
	case elf.EM_LOONGARCH:
		return machineTarget{"loongarch64-linux-gnu", "lib64", "loongarch"}
	}
	if is64 {
		return machineTarget{libdir: "lib64"}
	}
	return machineTarget{}
}

func platform(e *elfInfo) string { return target(e).platform }

// defaultDirs are the directories the loader searches last: the multiarch
// ones of Debian and Ubuntu, the biarch ones of Fedora and others, then
// /lib and /usr/lib.
func defaultDirs(e *elfInfo) []string {
	t := target(e)
	var dirs []string
	if t.triplet != "" {
		dirs = append(dirs, "/lib/"+t.triplet, "/usr/lib/"+t.triplet)
	}
	if t.libdir != "" {
		dirs = append(dirs, "/"+t.libdir, "/usr/"+t.libdir)
	}
	return append(dirs, "/lib", "/usr/lib")
}

// muslSysPath is musl's system path: /etc/ld-musl-ARCH.path next to the
// loader's prefix, else /lib:/usr/local/lib:/usr/lib.
func (p *proc) muslSysPath() (dirPhase, error) {
	arch := strings.TrimSuffix(strings.TrimPrefix(path.Base(p.interp), "ld-musl-"), ".so.1")
	prefix := path.Dir(path.Dir(p.interp))
	if prefix == "/" {
		prefix = ""
	}
	real, _, ok, err := p.r.regular(prefix + "/etc/ld-musl-" + arch + ".path")
	if err != nil {
		return dirPhase{}, err
	}
	if ok {
		b, ok, err := p.r.readAll(real)
		if err != nil {
			return dirPhase{}, err
		}
		if !ok {
			return dirPhase{dirs: []string{"/lib", "/usr/local/lib", "/usr/lib"}, uncertain: true}, nil
		}
		return dirPhase{dirs: strings.FieldsFunc(string(b), func(c rune) bool { return c == ':' || c == '\n' })}, nil
	}
	return dirPhase{dirs: []string{"/lib", "/usr/local/lib", "/usr/lib"}}, nil
}
