package slim

import (
	"archive/tar"
	"fmt"
	"path"

	"github.com/imgslim/imgslim/layers"
)

// decide marks what each layer drops. The order matters: rules first, then
// what must stay for the kept files' sake (hardlink targets in lower
// layers, directories that hold kept files), then whiteouts, which depend
// on what is left below them.
func (p *Plan) decide() error {
	rules := p.o.rules
	// 1. The rules.
	for _, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout || e.name == "/" {
				continue
			}
			e.drop, e.why, e.root = p.removes(e.name, rules)
		}
	}

	// 2. A kept hardlink needs its target.
	p.keepLinkTargets()

	// 3. A directory that holds a kept file stays, as a .dockerignore
	// exception keeps its parents.
	needed := map[string]bool{}
	for _, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.drop || e.wh != notWhiteout {
				continue
			}
			for d := path.Dir(e.name); d != "/" && !needed[d]; d = path.Dir(d) {
				needed[d] = true
			}
		}
	}
	for _, lp := range p.layers {
		for i := range lp.entries {
			if e := &lp.entries[i]; e.drop && e.typ == tar.TypeDir && needed[e.name] {
				e.drop, e.why, e.root = false, "", ""
			}
		}
	}

	// 4. A whiteout that hid something before and hides nothing now goes:
	// its target's bytes are gone, and so should the marker be.
	before, after := lowest{}, lowest{}
	for li, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh == notWhiteout {
				continue
			}
			if before.hides(e, li) && !after.hides(e, li) {
				e.drop, e.why, e.root = true, "", e.name
			}
		}
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout {
				continue
			}
			before.add(e.name, li)
			if !e.drop {
				after.add(e.name, li)
			}
		}
	}

	// A whiteout that goes may be what a (hostile) hardlink names.
	p.keepLinkTargets()

	// 5. The user, and with it the owner of --chown trees, from the files
	// the output keeps.
	p.kept = newViewOf(p.layers, func(e *entry) bool { return !e.drop })
	if err := p.decideUser(); err != nil {
		return err
	}
	var chown []string
	for _, c := range p.o.chown {
		chown = append(chown, layers.Clean(c))
	}
	uid, gid := p.owner()
	for _, lp := range p.layers {
		chowned := false
		for i := range lp.entries {
			e := &lp.entries[i]
			// Ownership goes by the name the entry is written under.
			name := e.name
			if to, ok := lp.edit.Rename[i]; ok {
				name = to
				lp.changed = true
			} else if e.drop {
				if lp.edit.Drop == nil {
					lp.edit.Drop = map[int]bool{}
				}
				lp.edit.Drop[i] = true
				lp.changed = true
				continue
			} else if lp.edit.Drop[i] {
				continue // a promoted link: its target is written in its place
			}
			for _, c := range chown {
				if layers.Within(name, c) {
					chowned = true
					lp.chowned++
					break
				}
			}
		}
		if chowned {
			lp.changed = true
			lp.edit.Owner = func(name string) (int, int, bool) {
				for _, c := range chown {
					if layers.Within(name, c) {
						return uid, gid, true
					}
				}
				return 0, 0, false
			}
		}
	}
	return nil
}

// linkRef is a hardlink and the entry it names: the latest entry of that
// name before it in its layer (same), or else the topmost one below.
type linkRef struct {
	lp    *layerPlan
	link  int // ordinal of the hardlink in lp
	same  int // ordinal of the target in lp, or -1
	lower *entry
}

// keepLinkTargets makes sure no kept hardlink dangles. A target in a lower
// layer cannot move, so it stays. A target in the link's own layer is
// renamed to the link's name (layers.Edit.Rename) and the link dropped,
// unless entries between them touch that name: then it stays too. What
// stays is settled first, to a fixed point (a kept target can be a link
// that needs its own target), so that no rename is decided for a target
// that stays after all.
func (p *Plan) keepLinkTargets() {
	var refs []linkRef
	latest := map[string]*entry{}
	for _, lp := range p.layers {
		here := map[string]int{}
		for j := range lp.entries {
			e := &lp.entries[j]
			if e.typ == tar.TypeLink {
				if i, ok := here[e.link]; ok {
					refs = append(refs, linkRef{lp: lp, link: j, same: i})
				} else if t, ok := latest[e.link]; ok {
					refs = append(refs, linkRef{lp: lp, link: j, same: -1, lower: t})
				}
			}
			here[e.name] = j
		}
		for name, j := range here {
			latest[name] = &lp.entries[j]
		}
	}
	// A hardlink that a later entry of its layer replaces is never seen
	// and needs nothing, unless a link before that names it.
	dead := map[*entry]bool{}
	for _, lp := range p.layers {
		last := map[string]int{}
		for j := range lp.entries {
			last[lp.entries[j].name] = j
		}
		for j := range lp.entries {
			if e := &lp.entries[j]; e.typ == tar.TypeLink && last[e.name] != j {
				dead[e] = true
			}
		}
	}
	for _, r := range refs {
		if r.lower == nil {
			delete(dead, &r.lp.entries[r.same])
		}
	}
	var stale []string // names whose older copy a link keeps
	keep := func(t *entry, e *entry) {
		t.drop, t.why, t.root = false, "", ""
		p.warnings = append(p.warnings, fmt.Sprintf("kept %s: a hardlink (%s) needs it", t.name, e.name))
		stale = append(stale, t.name)
	}
	// First what stays. A rename is planned only where the target could
	// move; whether it does is settled below.
	for changed := true; changed; {
		changed = false
		for _, r := range refs {
			e := &r.lp.entries[r.link]
			if e.drop || dead[e] {
				continue
			}
			if r.lower != nil {
				if r.lower.drop {
					keep(r.lower, e)
					changed = true
				}
				continue
			}
			t := &r.lp.entries[r.same]
			if t.drop && !p.movable(r.lp, r.same, r.link) {
				keep(t, e)
				changed = true
			}
		}
		// A copy kept under its name must not show through where the
		// image had a newer one: the newest stays too.
		for _, name := range stale {
			if n, ok := p.view.lookup(name); ok && n.drop {
				n.drop, n.why, n.root = false, "", ""
				p.warnings = append(p.warnings, fmt.Sprintf("kept %s: an older copy stays for a hardlink, so the image's own stays over it", name))
				changed = true
			}
		}
		stale = stale[:0]
	}
	// Then the renames: the first kept link to a dropped target takes it.
	for _, r := range refs {
		e := &r.lp.entries[r.link]
		if e.drop || r.lower != nil || dead[e] {
			continue
		}
		t := &r.lp.entries[r.same]
		if !t.drop {
			continue
		}
		if _, done := r.lp.edit.Rename[r.same]; done {
			continue // later links follow the rename
		}
		if r.lp.edit.Rename == nil {
			r.lp.edit.Rename = map[int]string{}
		}
		if r.lp.edit.Drop == nil {
			r.lp.edit.Drop = map[int]bool{}
		}
		r.lp.edit.Rename[r.same] = e.name
		r.lp.edit.Drop[r.link] = true
	}
	// An unseen link whose target goes goes too: written, it would dangle.
	for _, r := range refs {
		e := &r.lp.entries[r.link]
		if !dead[e] || e.drop {
			continue
		}
		t := r.lower
		if t == nil {
			t = &r.lp.entries[r.same]
			if _, renamed := r.lp.edit.Rename[r.same]; renamed {
				continue
			}
		}
		if t.drop {
			if r.lp.edit.Drop == nil {
				r.lp.edit.Drop = map[int]bool{}
			}
			r.lp.edit.Drop[r.link] = true
			r.lp.changed = true
		}
	}
}

// movable reports whether entry i of lp, a hardlink target, can be renamed
// to the name of hardlink j, where it stands: it must be a regular file,
// and nothing between them may touch the link's name (the path, a child,
// another hardlink to it, or a parent that is not a directory of the
// image), which the move would reorder.
func (p *Plan) movable(lp *layerPlan, i, j int) bool {
	es := lp.entries
	n := es[j].name
	if es[i].typ != tar.TypeReg || es[i].name == n {
		return false
	}
	for k := i + 1; k < j; k++ {
		m := es[k].name
		switch {
		case layers.Within(m, n), es[k].typ == tar.TypeLink && es[k].link == n:
			return false
		case layers.Within(n, m):
			// A parent's directory entry only sets its attributes: the
			// file written before it lands in the same directory.
			if v, ok := p.view.lookup(m); es[k].typ != tar.TypeDir || ok && v.typ != tar.TypeDir {
				return false
			}
		}
	}
	return true
}

// lowest records, for every path, the lowest layer holding it and the
// lowest layer holding something strictly below it.
type lowest struct {
	at, below map[string]int
}

func (l *lowest) add(name string, layer int) {
	if l.at == nil {
		l.at, l.below = map[string]int{}, map[string]int{}
	}
	if _, ok := l.at[name]; !ok {
		l.at[name] = layer
	}
	for d := path.Dir(name); ; d = path.Dir(d) {
		if _, ok := l.below[d]; ok {
			break // and so are all its parents, from a layer no higher
		}
		l.below[d] = layer
		if d == "/" {
			break
		}
	}
}

// hides reports whether whiteout e in layer li hides anything recorded.
func (l *lowest) hides(e *entry, li int) bool {
	if b, ok := l.below[e.target]; ok && b < li {
		return true
	}
	if e.wh == opaqueWhiteout {
		return false
	}
	a, ok := l.at[e.target]
	return ok && a < li
}
