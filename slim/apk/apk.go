// Package apk works out what `apk del PKGS` does to an Alpine-based image,
// from the image's own apk database and without running apk: which
// packages go, their files, and the new /lib/apk/db/installed,
// /etc/apk/world, /lib/apk/db/triggers and /lib/apk/db/scripts.tar, so
// that `apk info` in the slimmed image tells the truth.
//
// apk keeps installed exactly what the world file asks for and what that
// needs. `apk del PKGS` takes PKGS out of the world; then every installed
// package stays that is reachable from what the world still names:
// through the dependencies (D:), each of them met by the installed package
// of that name and by every installed package that provides it (p:: so:,
// cmd:, pc:, /bin/sh...), and through install_if (i:): a package whose
// install_if conditions are all met by staying packages stays too. The
// rest goes. Versions in dependencies are taken as met by presence, and of
// several installed providers of one name all stay, where apk's solver
// might keep only one.
package apk

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Paths of apk's database in an image.
const (
	InstalledPath = "/lib/apk/db/installed"
	WorldPath     = "/etc/apk/world"
	TriggersPath  = "/lib/apk/db/triggers"
	ScriptsPath   = "/lib/apk/db/scripts.tar"
)

// pkg is one block of the installed database.
type pkg struct {
	name, version string
	checksum      string // C:, the package's identity in triggers
	deps          []dep
	provides      []string // names only
	installIf     []dep
	paths         []string // "/dir" for F:, "/dir/file" for R:
	files         []string // the R: ones alone
	start, end    int      // raw bytes of the block, blank lines after it included
}

// dep is one entry of D:, i: or the world: "name", "name>=1.2",
// "name@edge", "!name" (a conflict, which keeps nothing).
type dep struct {
	name     string
	conflict bool
	raw      string
}

func parseDep(s string) (dep, error) {
	d := dep{raw: s}
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		d.conflict, s = true, rest
	}
	if i := strings.IndexAny(s, "=<>~@"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return dep{}, fmt.Errorf("bad dependency %q: no name", d.raw)
	}
	d.name = s
	return d, nil
}

func parseDeps(field string) ([]dep, error) {
	var out []dep
	for _, f := range strings.Fields(field) {
		d, err := parseDep(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DB is a parsed apk database.
type DB struct {
	installed []byte
	pkgs      []*pkg // in database order
	byName    map[string]*pkg
	providers map[string][]*pkg // name -> packages that are or provide it
	world     []dep             // nil without a world file
	hasWorld  bool
}

// Parse reads /lib/apk/db/installed and /etc/apk/world. A nil world means
// the image has none: every installed package then counts as asked for.
func Parse(installed, world []byte) (*DB, error) {
	db := &DB{installed: installed, byName: map[string]*pkg{}, providers: map[string][]*pkg{}}
	var cur *pkg
	dir := ""
	pos, lineN := 0, 0
	for pos < len(installed) {
		lineStart := pos
		var line string
		if nl := bytes.IndexByte(installed[pos:], '\n'); nl < 0 {
			line, pos = string(installed[pos:]), len(installed)
		} else {
			line, pos = string(installed[pos:pos+nl]), pos+nl+1
		}
		lineN++
		if strings.TrimSpace(line) == "" {
			if cur != nil {
				cur.end = pos
			} else if len(db.pkgs) > 0 {
				db.pkgs[len(db.pkgs)-1].end = pos
			}
			cur = nil
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("reading installed: line %d: got %q, want \"X:value\"", lineN, line)
		}
		if cur == nil {
			start := lineStart
			if len(db.pkgs) == 0 {
				start = 0 // leading blank lines go with the first package
			}
			cur = &pkg{start: start}
			db.pkgs = append(db.pkgs, cur)
			dir = ""
		}
		cur.end = pos
		key, val := line[0], line[2:]
		var err error
		switch key {
		case 'P':
			cur.name = val
		case 'V':
			cur.version = val
		case 'C':
			cur.checksum = val
		case 'D':
			var ds []dep
			ds, err = parseDeps(val)
			cur.deps = append(cur.deps, ds...)
		case 'i':
			var ds []dep
			ds, err = parseDeps(val)
			cur.installIf = append(cur.installIf, ds...)
		case 'p':
			for _, f := range strings.Fields(val) {
				var d dep
				if d, err = parseDep(f); err != nil {
					break
				}
				cur.provides = append(cur.provides, d.name)
			}
		case 'F':
			dir = val
			cur.paths = append(cur.paths, "/"+dir)
		case 'R':
			f := "/" + val
			if dir != "" {
				f = "/" + dir + "/" + val
			}
			cur.paths = append(cur.paths, f)
			cur.files = append(cur.files, f)
		}
		if err != nil {
			return nil, fmt.Errorf("reading installed: line %d: %w", lineN, err)
		}
	}
	for _, p := range db.pkgs {
		if p.name == "" {
			return nil, fmt.Errorf("reading installed: package at byte %d has no P: line", p.start)
		}
		if _, dup := db.byName[p.name]; dup {
			return nil, fmt.Errorf("reading installed: package %s is there twice", p.name)
		}
		db.byName[p.name] = p
		db.providers[p.name] = append(db.providers[p.name], p)
		for _, n := range p.provides {
			if n != p.name {
				db.providers[n] = append(db.providers[n], p)
			}
		}
	}
	if world != nil {
		ds, err := parseDeps(string(world))
		if err != nil {
			return nil, fmt.Errorf("reading world: %w", err)
		}
		db.world, db.hasWorld = ds, true
	}
	return db, nil
}

// Installed returns the names of the installed packages, sorted.
func (db *DB) Installed() []string {
	var out []string
	for _, p := range db.pkgs {
		out = append(out, p.name)
	}
	slices.Sort(out)
	return out
}

// Result is what `apk del` does.
type Result struct {
	// Removed are the packages that go, sorted.
	Removed []string
	// Kept maps each asked-for installed package that stays to why:
	// "needed by python3", "install_if of py3-foo".
	Kept map[string]string
	// Installed is the new /lib/apk/db/installed: the old one without the
	// removed packages' blocks, byte for byte otherwise.
	Installed []byte
	// World is the new /etc/apk/world: the old entries less those naming an
	// asked-for package, one a line. Nil if the input was nil.
	World []byte

	db      *DB
	removed map[*pkg]bool
}

// Purge works out what `apk del PKGS` removes, PKGS being the installed
// packages whose name match accepts. As apk does ("World updated, but the
// following packages are not removed due to"), an asked-for package that a
// staying package needs stays, and its world entry goes all the same.
func (db *DB) Purge(match func(name string) bool) *Result {
	asked := map[*pkg]bool{}
	for _, p := range db.pkgs {
		if match(p.name) {
			asked[p] = true
		}
	}
	from := map[*pkg]string{} // where apk starts: what the world names
	var world []dep
	if db.hasWorld {
		for _, d := range db.world {
			if p := db.byName[d.name]; p != nil && asked[p] {
				continue
			}
			world = append(world, d)
			if !d.conflict {
				for _, p := range db.providers[d.name] {
					if _, ok := from[p]; !ok {
						from[p] = "in world as " + d.raw
					}
				}
			}
		}
	} else {
		for _, p := range db.pkgs {
			if !asked[p] {
				from[p] = "no world file"
			}
		}
	}
	why := db.reach(from)

	r := &Result{Kept: map[string]string{}, db: db, removed: map[*pkg]bool{}}
	var out bytes.Buffer
	prev := 0
	for _, p := range db.pkgs {
		reason, ok := why[p]
		if ok {
			if asked[p] {
				r.Kept[p.name] = reason
			}
			continue
		}
		r.removed[p] = true
		r.Removed = append(r.Removed, p.name)
		out.Write(db.installed[prev:p.start])
		prev = p.end
	}
	out.Write(db.installed[prev:])
	r.Installed = out.Bytes()
	slices.Sort(r.Removed)
	if db.hasWorld {
		r.World = []byte{}
		for _, d := range world {
			r.World = append(r.World, d.raw+"\n"...)
		}
	}
	return r
}

// Files returns the paths apk deletes with the removed packages: their
// files (R:) and directories (F:), less those a staying package also has.
// Sorted. apk deletes a directory only when it is empty once the files are
// gone; callers must do the same.
func (r *Result) Files() []string {
	keep := map[string]bool{"/": true}
	for _, p := range r.db.pkgs {
		if !r.removed[p] {
			for _, f := range p.paths {
				keep[f] = true
			}
		}
	}
	var out []string
	for p := range r.removed {
		for _, f := range p.paths {
			if !keep[f] {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Triggers returns /lib/apk/db/triggers without the lines of the removed
// packages (a line is the package's checksum, C:, then its trigger paths).
func (r *Result) Triggers(triggers []byte) []byte {
	gone := map[string]bool{}
	for p := range r.removed {
		if p.checksum != "" {
			gone[p.checksum] = true
		}
	}
	var out []byte
	for _, line := range bytes.SplitAfter(triggers, []byte("\n")) {
		csum, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
		if !gone[string(csum)] {
			out = append(out, line...)
		}
	}
	return out
}

// Script reports whether an entry of /lib/apk/db/scripts.tar belongs to a
// removed package: its name is NAME-VERSION.CHECKSUM.ACTION.
func (r *Result) Script(entry string) bool {
	for p := range r.removed {
		rest, ok := strings.CutPrefix(entry, p.name+"-"+p.version+".")
		if ok && strings.Contains(rest, ".") {
			return true
		}
	}
	return false
}

// Scripts returns /lib/apk/db/scripts.tar without the removed packages'
// scripts; the other entries are copied with their headers.
func (r *Result) Scripts(scriptsTar []byte) ([]byte, error) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(scriptsTar))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading scripts.tar: %w", err)
		}
		if r.Script(hdr.Name) {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing scripts.tar: %w", err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, fmt.Errorf("copying scripts.tar entry %s: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing scripts.tar: %w", err)
	}
	return out.Bytes(), nil
}
