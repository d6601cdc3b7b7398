package slim

import (
	"archive/tar"
	"fmt"
	"path"

	"github.com/imgslim/imgslim/layers"
)

// decideInput is everything decide reads: the scan's index of every
// layer, the source's overlay, the user's patterns, the sets' selections,
// the protections and the user flags. decide writes none of it.
type decideInput struct {
	layers []*layerPlan // the scan: entries, captured account files
	view   *view        // the source's visible filesystem
	rules  *Rules       // the user's patterns (--remove, --keep)
	// setRules and setPaths are what the enabled sets selected.
	setRules map[string]*Rules
	setPaths map[string]setChoice
	// protected and protTrees are what the program needs.
	protected map[string]string
	protTrees []string
	user      string   // --user, "" for the default
	current   string   // the source config's User
	chown     []string // --chown trees
	// For dropping waste (waste.go): --no-waste, whether rewritten layers
	// are compressed, and the paths imgslim's own layer writes on top.
	noWaste, compress bool
	top               []string
}

// mark is decide's verdict on one entry.
type mark struct {
	drop bool
	why  string // the pattern or set that removed it
	root string // the tree the pattern matched, for the report
}

// layerDecision is what decide makes of one layer: a verdict per entry
// and the edit that carries them out.
type layerDecision struct {
	marks   []mark
	edit    layers.Edit
	changed bool // the layer must be rewritten
	chowned int  // entries --chown hands to the user
}

// empty reports whether nothing is left of a layer that had entries.
func (d *layerDecision) empty() bool {
	if len(d.marks) == 0 {
		return false
	}
	for _, m := range d.marks {
		if !m.drop {
			return false
		}
	}
	return true
}

func (d *layerDecision) dropEntry(i int) {
	if d.edit.Drop == nil {
		d.edit.Drop = map[int]bool{}
	}
	d.edit.Drop[i] = true
}

// decisions is decide's result: per-layer edits, the visible filesystem
// they leave, the output user, and what the report says of them.
type decisions struct {
	layers   []layerDecision
	kept     *view    // the output's visible filesystem (before imgslim's layer)
	user     *account // nil: runs as root
	setUser  bool     // the config's User changes to user
	skipped  map[string]*Skip
	warnings []string
}

// dropped reports whether entry i of layer li goes.
func (d *decisions) dropped(li, i int) bool { return d.layers[li].marks[i].drop }

// owner returns the uid and gid the output runs as.
func (d *decisions) owner() (int, int) {
	if d.user != nil {
		return d.user.uid, d.user.gid
	}
	return 0, 0
}

// decide works out what each layer drops, from its inputs alone. Each
// verdict is reached once: the rules and selections, less what is
// protected or kept; then what must stay for the kept files' sake
// (hardlink targets, directories that hold kept files); then the
// whiteouts, judged on the same overlay model as everything else; then
// the user, and the edits.
func decide(in decideInput) (*decisions, error) {
	d := &decisions{layers: make([]layerDecision, len(in.layers)), skipped: map[string]*Skip{}}
	// 1. The rules and the sets, less what must stay.
	for li, lp := range in.layers {
		marks := make([]mark, len(lp.entries))
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout || e.name == "/" {
				continue
			}
			rm, why, root, skip := in.removes(e.name)
			marks[i] = mark{drop: rm, why: why, root: root}
			if _, seen := d.skipped[e.name]; skip != nil && !seen {
				d.skipped[e.name] = skip
			}
		}
		d.layers[li].marks = marks
	}

	// 1b. What a later layer replaces or deletes (waste.go).
	d.dropWaste(in)

	// 2. A kept hardlink needs its target.
	d.keepLinkTargets(in)

	// 3. A directory that holds a kept file stays, as a .dockerignore
	// exception keeps its parents.
	needed := map[string]bool{}
	for li, lp := range in.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if d.dropped(li, i) || e.wh != notWhiteout {
				continue
			}
			for dir := path.Dir(e.name); dir != "/" && !needed[dir]; dir = path.Dir(dir) {
				needed[dir] = true
			}
		}
	}
	for li, lp := range in.layers {
		for i := range lp.entries {
			if e := &lp.entries[i]; d.dropped(li, i) && e.typ == tar.TypeDir && needed[e.name] {
				d.layers[li].marks[i] = mark{}
			}
		}
	}

	// 4. A whiteout that hid something before and hides nothing now goes:
	// its target's bytes are gone, and so should the marker be.
	d.dropIdleWhiteouts(in)

	// A whiteout that goes may be what a (hostile) hardlink names.
	d.keepLinkTargets(in)

	// 5. The user, and with it the owner of --chown trees, from the files
	// the output keeps.
	d.kept = newViewOf(in.layers, func(li, i int) bool { return !d.dropped(li, i) })
	passwd := visibleFile(d.kept, in.layers, func(lp *layerPlan) *captured { return lp.passwd }, "/etc/passwd")
	group := visibleFile(d.kept, in.layers, func(lp *layerPlan) *captured { return lp.group }, "/etc/group")
	var err error
	var warn string
	if d.user, d.setUser, warn, err = decideUser(in.user, in.current, len(in.chown) > 0, passwd, group); err != nil {
		return nil, err
	}
	if warn != "" {
		d.warnings = append(d.warnings, warn)
	}
	d.edits(in)
	return d, nil
}

// edits turns the verdicts into each layer's edit: what it drops, and
// whose the --chown trees are.
func (d *decisions) edits(in decideInput) {
	var chown []string
	for _, c := range in.chown {
		chown = append(chown, layers.Clean(c))
	}
	uid, gid := d.owner()
	for li, lp := range in.layers {
		ld := &d.layers[li]
		chowned := false
		for i := range lp.entries {
			e := &lp.entries[i]
			// Ownership goes by the name the entry is written under.
			name := e.name
			if to, ok := ld.edit.Rename[i]; ok {
				name = to
				ld.changed = true
			} else if ld.marks[i].drop {
				ld.dropEntry(i)
				ld.changed = true
				continue
			} else if ld.edit.Drop[i] {
				continue // a promoted link: its target is written in its place
			}
			for _, c := range chown {
				if layers.Within(name, c) {
					chowned = true
					ld.chowned++
					break
				}
			}
		}
		if chowned {
			ld.changed = true
			ld.edit.Owner = func(name string) (int, int, bool) {
				for _, c := range chown {
					if layers.Within(name, c) {
						return uid, gid, true
					}
				}
				return 0, 0, false
			}
		}
	}
}

// dropIdleWhiteouts drops the whiteouts (and opaque markers) that hid
// something in the source and hide nothing in the output: both judged on
// the overlay of the layers below, built one layer at a time, the
// source's with every entry and the output's with what is kept.
func (d *decisions) dropIdleWhiteouts(in decideInput) {
	src, out := emptyView(), emptyView()
	for li, lp := range in.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh == notWhiteout {
				continue
			}
			if src.hides(e) && !out.hides(e) {
				d.layers[li].marks[i] = mark{drop: true, root: e.name}
			}
		}
		src.overlay(li, lp, nil)
		out.overlay(li, lp, func(li, i int) bool { return !d.dropped(li, i) })
	}
}

// removes reports whether the user's rules or a selection remove name,
// and which, unless name must stay: then skip says which rule matched a
// protected path, for the report.
func (in *decideInput) removes(name string) (rm bool, why, root string, skip *Skip) {
	rules := in.rules
	if rm, why = rules.Removes(name); rm {
		root = rules.root(name)
	} else {
		rm, why, root = setRemoves(in.setRules, in.setPaths, name)
	}
	if !rm || rules.Keeps(name) {
		// --keep beats every removal, the built-in sets' included.
		return false, "", "", nil
	}
	if reason, ok := protectedWhy(in.protected, in.protTrees, name); ok {
		return false, "", "", &Skip{Path: name, Rule: why, Why: reason}
	}
	return true, why, root, nil
}

// linkRef is a hardlink and the entry it names: the latest entry of that
// name before it in its layer (same), or else the topmost one below.
type linkRef struct {
	li    int // the layer of the link
	link  int // ordinal of the hardlink in its layer
	same  int // ordinal of the target in the link's layer, or -1
	lower entryRef
}

// entryRef names entry i of layer li.
type entryRef struct{ li, i int }

// keepLinkTargets makes sure no kept hardlink dangles. A target in a lower
// layer cannot move, so it stays. A target in the link's own layer is
// renamed to the link's name (layers.Edit.Rename) and the link dropped,
// unless entries between them touch that name: then it stays too. What
// stays is settled first, to a fixed point (a kept target can be a link
// that needs its own target), so that no rename is decided for a target
// that stays after all.
func (d *decisions) keepLinkTargets(in decideInput) {
	var refs []linkRef
	latest := map[string]entryRef{}
	// A hardlink that a later entry of its layer replaces is never seen
	// and needs nothing, unless a link before that names it.
	dead := map[entryRef]bool{}
	for li, lp := range in.layers {
		// Where each name of the layer is last; sized up front, as
		// growing a map of a large layer's names rehashes it a dozen
		// times.
		here := make(map[string]int, len(lp.entries))
		for j := range lp.entries {
			e := &lp.entries[j]
			if e.typ == tar.TypeLink {
				if i, ok := here[e.link]; ok {
					refs = append(refs, linkRef{li: li, link: j, same: i})
				} else if t, ok := latest[e.link]; ok {
					refs = append(refs, linkRef{li: li, link: j, same: -1, lower: t})
				}
			}
			here[e.name] = j
		}
		for name, j := range here {
			latest[name] = entryRef{li, j}
		}
		for j := range lp.entries {
			if e := &lp.entries[j]; e.typ == tar.TypeLink && here[e.name] != j {
				dead[entryRef{li, j}] = true
			}
		}
	}
	entry := func(r entryRef) *entry { return &in.layers[r.li].entries[r.i] }
	drop := func(r entryRef) bool { return d.dropped(r.li, r.i) }
	for _, r := range refs {
		if r.same >= 0 {
			delete(dead, entryRef{r.li, r.same})
		}
	}
	var stale []string // names whose older copy a link keeps
	keep := func(t, e entryRef) {
		d.layers[t.li].marks[t.i] = mark{}
		d.warnings = append(d.warnings, fmt.Sprintf("kept %s: a hardlink (%s) needs it", entry(t).name, entry(e).name))
		stale = append(stale, entry(t).name)
	}
	// First what stays. A rename is planned only where the target could
	// move; whether it does is settled below.
	for changed := true; changed; {
		changed = false
		for _, r := range refs {
			e := entryRef{r.li, r.link}
			if drop(e) || dead[e] {
				continue
			}
			if r.same < 0 {
				if drop(r.lower) {
					keep(r.lower, e)
					changed = true
				}
				continue
			}
			t := entryRef{r.li, r.same}
			if drop(t) && !movable(in.view, in.layers[r.li], r.same, r.link) {
				keep(t, e)
				changed = true
			}
		}
		// A copy kept under its name must not show through where the
		// image had a newer one: the newest stays too.
		for _, name := range stale {
			if n, ok := in.view.lookup(name); ok && drop(entryRef{n.layer, n.idx}) {
				d.layers[n.layer].marks[n.idx] = mark{}
				d.warnings = append(d.warnings, fmt.Sprintf("kept %s: an older copy stays for a hardlink, so the image's own stays over it", name))
				changed = true
			}
		}
		stale = stale[:0]
	}
	// Then the renames: the first kept link to a dropped target takes it.
	for _, r := range refs {
		e := entryRef{r.li, r.link}
		if drop(e) || r.same < 0 || dead[e] {
			continue
		}
		if !drop(entryRef{r.li, r.same}) {
			continue
		}
		ld := &d.layers[r.li]
		if _, done := ld.edit.Rename[r.same]; done {
			continue // later links follow the rename
		}
		if ld.edit.Rename == nil {
			ld.edit.Rename = map[int]string{}
		}
		ld.edit.Rename[r.same] = entry(e).name
		ld.dropEntry(r.link)
	}
	// An unseen link whose target goes goes too: written, it would dangle.
	for _, r := range refs {
		e := entryRef{r.li, r.link}
		if !dead[e] || drop(e) {
			continue
		}
		t := r.lower
		if r.same >= 0 {
			t = entryRef{r.li, r.same}
			if _, renamed := d.layers[r.li].edit.Rename[r.same]; renamed {
				continue
			}
		}
		if drop(t) {
			d.layers[r.li].dropEntry(r.link)
			d.layers[r.li].changed = true
		}
	}
}

// movable reports whether entry i of lp, a hardlink target, can be renamed
// to the name of hardlink j, where it stands: it must be a regular file,
// and nothing between them may touch the link's name (the path, a child,
// another hardlink to it, or a parent that is not a directory of the
// image), which the move would reorder.
func movable(v *view, lp *layerPlan, i, j int) bool {
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
			if v, ok := v.lookup(m); es[k].typ != tar.TypeDir || ok && v.typ != tar.TypeDir {
				return false
			}
		}
	}
	return true
}
