// Package dpkg works out what `apt-get purge PKGS && apt-get autoremove
// --purge` does to a Debian-based image, from the image's own dpkg and apt
// databases and without running either: which packages go, what their
// files are, and what /var/lib/dpkg/status and /var/lib/apt/extended_states
// say afterwards, so that `dpkg -l` in the slimmed image tells the truth.
//
// Parse reads the databases and Purge decides; its Result gives the new
// status and extended_states, InfoFiles the files of InfoDir to delete,
// Files the paths the packages' .list files name, Triggers the trigger
// interests that go, and Alternatives what update-alternatives does when
// their maintainer scripts take their choices out of /etc/alternatives.
// dpkg's diversions are not followed. BuildTools picks the build
// toolchain.
//
// The autoremove half follows apt's mark-and-sweep (apt-pkg/depcache.cc,
// MarkRequired and Sweep) with apt's default configuration:
//
//   - the roots are the installed packages that are manually installed (not
//     marked "Auto-Installed: 1" in extended_states), Essential, Protected
//     (or Important), of Priority required, held, or named by
//     APT::NeverAutoRemove (firmware and kernel images);
//   - from a marked package, every installed package that satisfies one of
//     its Depends, Pre-Depends, Recommends or Suggests
//     (APT::AutoRemove::RecommendsImportant and SuggestsImportant are both
//     true by default) is marked: each alternative of "a | b", the real
//     package and every provider of a virtual one, as long as its version
//     satisfies the relation. Of several providers built from one source
//     package, only those of the newest source version count;
//   - every installed package left unmarked, other than Priority required
//     ones, is removed.
package dpkg

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Dependency fields, in the order apt follows them.
const (
	depends = iota
	preDepends
	recommends
	suggests
	nKinds
)

var kindField = [nKinds]string{"Depends", "Pre-Depends", "Recommends", "Suggests"}

// pkg is one stanza of the status file.
type pkg struct {
	name, arch string // arch as written ("all" included)
	version    string
	multiArch  string // "same", "foreign", "allowed" or ""
	source     string // source package name
	sourceVer  string
	essential  bool
	protected  bool // Protected: yes, or the older Important: yes
	required   bool // Priority: required
	held       bool // selection state "hold"
	installed  bool // has a current version in apt's sense
	auto       bool // Auto-Installed: 1 in extended_states
	deps       [nKinds][][]atom
	provides   []atom
	id         string // dpkg-query's ${binary:Package}: name, or name:arch when ambiguous
	infoName   string // the base name of its files in /var/lib/dpkg/info
	stanza     int    // index in DB.stanzas
}

// DB is a parsed dpkg status file with apt's extended_states.
type DB struct {
	native     string // dpkg's own architecture
	pkgs       []*pkg // by id
	byName     map[string][]*pkg
	providers  map[string][]provider // virtual name -> installed providers
	status     []byte
	stanzas    []stanza
	ext        []byte // nil when absent
	extStanzas []stanza
}

type provider struct {
	p *pkg
	a atom // the Provides entry: name and, when versioned, "= version"
}

// Parse reads /var/lib/dpkg/status and, optionally, apt's
// /var/lib/apt/extended_states (nil when the image has none: every package
// then counts as manually installed, as apt counts it).
func Parse(status, extendedStates []byte) (*DB, error) {
	stanzas, err := parseStanzas(status)
	if err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	db := &DB{
		byName:    map[string][]*pkg{},
		providers: map[string][]provider{},
		status:    status,
		stanzas:   stanzas,
		ext:       extendedStates,
	}
	for i := range stanzas {
		p, err := newPkg(&stanzas[i])
		if err != nil {
			return nil, fmt.Errorf("reading status: %w", err)
		}
		p.stanza = i
		db.pkgs = append(db.pkgs, p)
		db.byName[p.name] = append(db.byName[p.name], p)
	}
	db.native = nativeArch(db.pkgs)
	for _, p := range db.pkgs {
		p.id, p.infoName = p.name, p.name
		if p.multiArch == "same" {
			p.id, p.infoName = p.name+":"+p.arch, p.name+":"+p.arch
		} else if p.arch != "all" && p.arch != db.native {
			p.id = p.name + ":" + p.arch
		}
		if !p.installed {
			continue
		}
		for _, a := range p.provides {
			db.providers[a.name] = append(db.providers[a.name], provider{p, a})
		}
	}
	slices.SortStableFunc(db.pkgs, func(a, b *pkg) int { return strings.Compare(a.id, b.id) })
	if extendedStates != nil {
		db.extStanzas, err = parseStanzas(extendedStates)
		if err != nil {
			return nil, fmt.Errorf("reading extended_states: %w", err)
		}
		for _, s := range db.extStanzas {
			if s.get("Auto-Installed") != "1" {
				continue
			}
			for _, p := range db.byName[s.get("Package")] {
				// apt records Architecture: all packages under the native
				// architecture; a stanza without one covers every instance.
				if arch := s.get("Architecture"); arch == "" || arch == db.effArch(p) {
					p.auto = true
				}
			}
		}
	}
	return db, nil
}

func newPkg(s *stanza) (*pkg, error) {
	p := &pkg{
		name:      s.get("Package"),
		arch:      s.get("Architecture"),
		version:   s.get("Version"),
		multiArch: s.get("Multi-Arch"),
		essential: s.get("Essential") == "yes",
		protected: s.get("Protected") == "yes" || s.get("Important") == "yes",
		required:  s.get("Priority") == "required",
	}
	if p.name == "" {
		return nil, fmt.Errorf("stanza at line %d has no Package field", s.line)
	}
	if p.arch == "" {
		p.arch = "all"
	}
	// Status: want error state; apt gives a package a current version
	// unless it is not-installed or config-files.
	st := strings.Fields(s.get("Status"))
	if len(st) != 3 {
		return nil, fmt.Errorf("package %s: got Status %q, want three words", p.name, s.get("Status"))
	}
	p.held = st[0] == "hold"
	p.installed = st[2] != "not-installed" && st[2] != "config-files"
	p.source, p.sourceVer = p.name, p.version
	if src := s.get("Source"); src != "" {
		p.source = src
		if i := strings.IndexByte(src, '('); i >= 0 {
			p.source = strings.TrimSpace(src[:i])
			p.sourceVer = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(src[i+1:]), ")"))
		}
	}
	for k, field := range kindField {
		deps, err := parseDeps(s.get(field))
		if err != nil {
			return nil, fmt.Errorf("package %s: %s: %w", p.name, field, err)
		}
		p.deps[k] = deps
	}
	prov, err := parseDeps(s.get("Provides"))
	if err != nil {
		return nil, fmt.Errorf("package %s: Provides: %w", p.name, err)
	}
	for _, g := range prov {
		p.provides = append(p.provides, g...)
	}
	return p, nil
}

// nativeArch is the architecture of the dpkg package, which is always
// native; failing that, the most common one.
func nativeArch(pkgs []*pkg) string {
	count := map[string]int{}
	for _, p := range pkgs {
		if p.name == "dpkg" && p.installed {
			return p.arch
		}
		if p.arch != "all" {
			count[p.arch]++
		}
	}
	best := "all"
	for arch, n := range count {
		if n > count[best] || (n == count[best] && arch < best) {
			best = arch
		}
	}
	return best
}

// effArch is the architecture dependencies see: Architecture: all
// packages count as native.
func (db *DB) effArch(p *pkg) string {
	if p.arch == "all" {
		return db.native
	}
	return p.arch
}

// archOK reports whether q can satisfy dependency a of package from, by
// architecture alone.
func (db *DB) archOK(from *pkg, a atom, q *pkg) bool {
	switch a.arch {
	case "any":
		return true
	case "":
		return q.multiArch == "foreign" || db.effArch(q) == db.effArch(from)
	case "all", "native":
		return db.effArch(q) == db.native
	}
	return db.effArch(q) == a.arch
}

// resolve returns the packages in set that satisfy a for from: the real
// package first, then the providers, as apt orders them.
func (db *DB) resolve(from *pkg, a atom, in func(*pkg) bool) []*pkg {
	var out []*pkg
	for _, q := range db.byName[a.name] {
		if in(q) && db.archOK(from, a, q) && satisfies(q.version, a.op, a.ver) {
			out = append(out, q)
		}
	}
	for _, pr := range db.providers[a.name] {
		q := pr.p
		if !in(q) || !db.archOK(from, a, q) {
			continue
		}
		// A versioned dependency is met only by a versioned Provides.
		if a.op != "" && (pr.a.op != "=" || !satisfies(pr.a.ver, a.op, a.ver)) {
			continue
		}
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// neverAutoRemove is apt's default APT::NeverAutoRemove
// (/etc/apt/apt.conf.d/01autoremove). apt also protects the running and
// newest kernels; no package here is a kernel apt would remove, so every
// linux-image package is a root.
var neverAutoRemove = regexp.MustCompile(`^firmware-linux.*$|^linux-firmware$|^linux-image-`)

// Result is what the purge does.
type Result struct {
	// Removed are the packages that go, as dpkg-query's ${binary:Package}
	// names them (name, or name:arch for Multi-Arch: same and foreign
	// packages), sorted.
	Removed []string
	// Kept maps each asked-for installed package that stays to why:
	// "needed by python3", "essential", "protected", "held".
	Kept map[string]string
	// Status is the new /var/lib/dpkg/status: the old one without the
	// removed packages' stanzas, byte for byte otherwise.
	Status []byte
	// ExtendedStates is the new /var/lib/apt/extended_states, written as
	// apt writes it: removed packages' entries dropped. Nil if the input
	// was nil.
	ExtendedStates []byte

	removedInfo map[string]bool // infoName of the removed packages
	removedID   map[string]bool // their ids
	keptInfo    map[string]bool // infoName of the installed packages that stay
}

// Purge works out what `apt-get purge PKGS && apt-get autoremove --purge`
// removes, PKGS being the installed packages whose name match accepts.
//
// apt-get purge would also remove every installed package that depends on
// one of PKGS; Purge keeps such a PKG instead, with the kept package that
// needs it in Result.Kept. For a dependency "a | b" with both asked for, the
// first installed alternative stays. Essential, Protected and held packages
// are kept too (apt would refuse to remove them).
//
// The two steps are repeated until nothing changes: an asked-for package
// kept only because a package needs it that autoremove then takes goes
// too, as it would if that package had been asked for in the first place
// (libc6-dev kept for comerr-dev, itself only there for a removed
// krb5-multidev).
func (db *DB) Purge(match func(name string) bool) *Result {
	return db.fixedPoint(func(p *pkg) bool { return match(p.name) })
}

// PurgeIDs is Purge with packages asked for by id, as Result.Removed and
// Needs name them: "libssl-dev:amd64" and not "libssl-dev:i386".
func (db *DB) PurgeIDs(match func(id string) bool) *Result {
	return db.fixedPoint(func(p *pkg) bool { return match(p.id) })
}

func (db *DB) fixedPoint(match func(*pkg) bool) *Result {
	gone := map[*pkg]bool{}
	for {
		r, removed := db.purge(match, gone)
		if len(removed) == len(gone) {
			return r
		}
		gone = removed
	}
}

// purge is one round of Purge. The packages in gone are taken as removed
// from the start, neither asked for nor keeping anything; it returns the
// Result and every package it removes, gone included.
func (db *DB) purge(match func(*pkg) bool, gone map[*pkg]bool) (*Result, map[*pkg]bool) {
	alive := map[*pkg]bool{}
	asked := map[*pkg]bool{}
	kept := map[string]string{}
	for _, p := range db.pkgs {
		if !p.installed {
			continue
		}
		if gone[p] && !match(p) {
			continue // autoremoved in an earlier round
		}
		alive[p] = true
		if !match(p) {
			continue
		}
		switch {
		case p.essential:
			kept[p.id] = "essential"
		case p.protected:
			kept[p.id] = "protected"
		case p.held:
			kept[p.id] = "held"
		default:
			asked[p] = true
			delete(alive, p)
		}
	}
	isAlive := func(p *pkg) bool { return alive[p] }
	isAsked := func(p *pkg) bool { return asked[p] }

	// apt-get purge: an asked-for package that a staying package depends
	// on stays, and what it depends on in turn.
	queue := slices.Clone(db.pkgs)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if !alive[p] {
			continue
		}
		for _, kind := range []int{preDepends, depends} {
		group:
			for _, alts := range p.deps[kind] {
				for _, a := range alts {
					if len(db.resolve(p, a, isAlive)) > 0 {
						continue group
					}
				}
				for _, a := range alts {
					if qs := db.resolve(p, a, isAsked); len(qs) > 0 {
						q := qs[0]
						delete(asked, q)
						alive[q] = true
						kept[q.id] = "needed by " + p.id
						queue = append(queue, q)
						continue group
					}
				}
			}
		}
	}

	// apt-get autoremove: mark from the roots, sweep the rest.
	marked := map[*pkg]bool{}
	var stack []*pkg
	for _, p := range db.pkgs {
		if alive[p] && (!p.auto || p.essential || p.protected || p.required || p.held || neverAutoRemove.MatchString(p.name)) {
			marked[p] = true
			stack = append(stack, p)
		}
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for kind := range nKinds {
			for _, alts := range p.deps[kind] {
				for _, a := range alts {
					for _, q := range newestOfSource(db.resolve(p, a, isAlive)) {
						if !marked[q] {
							marked[q] = true
							stack = append(stack, q)
						}
					}
				}
			}
		}
	}

	r := &Result{Kept: kept, removedInfo: map[string]bool{}, removedID: map[string]bool{}, keptInfo: map[string]bool{}}
	stanzas := map[int]bool{} // of the removed packages
	removed := map[*pkg]bool{}
	for _, p := range db.pkgs {
		if asked[p] || gone[p] || (alive[p] && !marked[p] && !p.required) {
			removed[p] = true
			r.Removed = append(r.Removed, p.id)
			r.removedInfo[p.infoName] = true
			r.removedID[p.id] = true
			stanzas[p.stanza] = true
			delete(kept, p.id) // kept by apt-get purge, then autoremoved
			continue
		}
		if p.installed {
			r.keptInfo[p.infoName] = true
		}
	}
	r.Status = db.writeStatus(stanzas)
	r.ExtendedStates = db.writeExtendedStates(stanzas)
	return r, removed
}

// newestOfSource drops, of several packages built from one source package,
// those not of its newest source version, as apt's MarkPackage does.
func newestOfSource(ps []*pkg) []*pkg {
	if len(ps) < 2 {
		return ps
	}
	newest := map[string]string{}
	for _, p := range ps {
		if v, ok := newest[p.source]; !ok || compareVersions(p.sourceVer, v) > 0 {
			newest[p.source] = p.sourceVer
		}
	}
	return slices.DeleteFunc(slices.Clone(ps), func(p *pkg) bool {
		return compareVersions(p.sourceVer, newest[p.source]) != 0
	})
}

func (db *DB) writeStatus(gone map[int]bool) []byte {
	var out bytes.Buffer
	prev := 0
	for i, s := range db.stanzas {
		if gone[i] {
			out.Write(db.status[prev:s.start])
			prev = s.end
		}
	}
	out.Write(db.status[prev:])
	return out.Bytes()
}

// writeExtendedStates rewrites extended_states as apt's writeStateFile does
// after the purge: the entry of a package that is not installed any more
// loses its auto mark, and an entry without an auto mark that says nothing
// else (only Package, Architecture, Auto-Installed) is dropped.
func (db *DB) writeExtendedStates(gone map[int]bool) []byte {
	if db.ext == nil {
		return nil
	}
	installed := func(name, arch string) bool {
		for _, p := range db.byName[name] {
			if p.installed && !gone[p.stanza] && (arch == "" || arch == db.effArch(p)) {
				return true
			}
		}
		return false
	}
	var out bytes.Buffer
	prev := 0
	for _, s := range db.extStanzas {
		auto := s.get("Auto-Installed") == "1"
		if auto && installed(s.get("Package"), s.get("Architecture")) {
			continue
		}
		minimal := true
		for f := range s.fields {
			if f != "package" && f != "architecture" && f != "auto-installed" {
				minimal = false
			}
		}
		if !minimal && !auto {
			continue
		}
		out.Write(db.ext[prev:s.start])
		prev = s.end
		if minimal {
			continue
		}
		for _, line := range bytes.SplitAfter(db.ext[s.start:s.end], []byte("\n")) {
			if name, _, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(name), "Auto-Installed") {
				line = []byte("Auto-Installed: 0\n")
			}
			out.Write(line)
		}
	}
	out.Write(db.ext[prev:])
	return out.Bytes()
}

// Installed returns the installed packages as dpkg-query's
// ${binary:Package} names them, sorted.
func (db *DB) Installed() []string {
	var out []string
	for _, p := range db.pkgs {
		if p.installed {
			out = append(out, p.id)
		}
	}
	return out
}
