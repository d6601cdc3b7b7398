package slim

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// wasteWhy marks an entry dropped because a later layer replaces or
// deletes it: the container never sees it, so dropping it changes no path
// of the output, only the bytes every pull downloads. The report counts
// these apart from the rules' removals.
const wasteWhy = "waste: replaced or deleted by a later layer"

// WithNoWaste rewrites every layer that holds an entry a later layer
// replaces or deletes, to drop it. Without it those entries are dropped
// only from layers that are rewritten anyway: a layer that loses nothing
// else keeps its blob, which other images may share.
func WithNoWaste() Option { return slimOnly(func(o *options) error { o.noWaste = true; return nil }) }

// slimOnly is an option of the entry points that rewrite the source's
// layers, and of no other: Scratch writes one layer of its own.
type slimOnly func(*options) error

func (f slimOnly) apply(o *options) error { return f(o) }

// cover records what the layers above the one being looked at hide from
// it, as an overlay mount would: exact names a kept entry replaces, and
// trees a non-directory, a whiteout or an opaque marker hides.
type cover struct {
	// exact maps a name to whether the entry above is a directory: a
	// directory over a directory only merges with it.
	exact map[string]bool
	// tree holds names whose lower children are hidden.
	tree map[string]bool
}

// hides reports whether the layers above hide entry e of a lower layer.
func (c *cover) hides(e *entry) bool {
	if dir, ok := c.exact[e.name]; ok && !(dir && e.typ == tar.TypeDir) {
		return true
	}
	for d := path.Dir(e.name); ; d = path.Dir(d) {
		if c.tree[d] {
			return true
		}
		if d == "/" {
			return false
		}
	}
}

// add records what entry e, kept in a layer above, hides below it. A
// non-directory hides the tree under its name only where it replaces a
// directory (replacesDir): over a name that was nothing, or a directory
// only implied by its children's names, the engine's overlay (view,
// fsdiff) leaves the children, and dropping them would change the output.
func (c *cover) add(e *entry, replacesDir bool) {
	switch {
	case e.wh == plainWhiteout:
		c.exact[e.target] = false
		c.tree[e.target] = true
	case e.wh == opaqueWhiteout:
		c.tree[e.target] = true
	case e.typ == tar.TypeDir:
		if _, ok := c.exact[e.name]; !ok {
			c.exact[e.name] = true
		}
	default:
		c.exact[e.name] = false
		if replacesDir {
			c.tree[e.name] = true
		}
	}
}

// dropWaste marks the entries a later layer replaces or deletes, in the
// layers that are rewritten anyway, or in every layer with --no-waste. It
// runs after the rules and before the hardlink and whiteout passes of
// decide: a dropped copy that a kept hardlink names is kept again (or its
// content moves to the link's name), and a whiteout left hiding nothing
// goes. Only kept entries hide: a later copy the rules remove hides
// nothing, and the lower one must stay visible.
func (d *decisions) dropWaste(in decideInput) {
	c := &cover{exact: map[string]bool{}, tree: map[string]bool{}}
	// imgslim's own layer, on top of all, replaces what the sets edited.
	for _, name := range in.top {
		c.add(&entry{name: name, typ: tar.TypeReg}, false)
	}
	overDir := replacesDirs(in.layers)
	for li := len(in.layers) - 1; li >= 0; li-- {
		lp, marks := in.layers[li], d.layers[li].marks
		if in.noWaste || rewrittenAnyway(in, li, marks) {
			for i := range lp.entries {
				e := &lp.entries[i]
				if marks[i].drop || e.wh != notWhiteout || e.name == "/" || !c.hides(e) {
					continue
				}
				marks[i] = mark{drop: true, why: wasteWhy, root: e.name}
			}
		}
		// What this layer hides from the ones below: its whiteouts and
		// its kept entries, the ones just dropped excepted (they were
		// hidden themselves, and so is what they would hide).
		for i := range lp.entries {
			if e := &lp.entries[i]; !marks[i].drop && e.name != "/" {
				c.add(e, overDir[e])
			}
		}
	}
}

// replacesDirs returns the non-directory entries that replace a directory
// entry as the overlay stands when they are laid, bottom up in the order
// view and fsdiff apply them: a layer's whiteouts, then its entries in
// archive order. A name is there when it was set after the last removal
// of itself or of a parent.
func replacesDirs(ls []*layerPlan) map[*entry]bool {
	var seq int
	setAt := map[string]int{} // name -> when an explicit directory was laid
	gone := map[string]int{}  // name -> when it was removed (self)
	below := map[string]int{} // name -> when what is under it was removed
	isDir := func(name string) bool {
		at, ok := setAt[name]
		if !ok || gone[name] > at {
			return false
		}
		for d := path.Dir(name); ; d = path.Dir(d) {
			if below[d] > at {
				return false
			}
			if d == "/" {
				return true
			}
		}
	}
	out := map[*entry]bool{}
	for _, lp := range ls {
		for i := range lp.entries {
			e := &lp.entries[i]
			seq++
			switch e.wh {
			case plainWhiteout:
				gone[e.target], below[e.target] = seq, seq
			case opaqueWhiteout:
				below[e.target] = seq
			}
		}
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout || e.name == "/" {
				continue
			}
			seq++
			if e.typ == tar.TypeDir {
				setAt[e.name] = seq
				continue
			}
			if isDir(e.name) {
				out[e] = true
				below[e.name] = seq
			}
			gone[e.name] = seq // no directory now
		}
	}
	return out
}

// rewrittenAnyway reports whether layer li will be written again whatever
// its waste: the rules drop something from it (not counting what dropWaste
// dropped), --chown edits it, or its plain tar is compressed for the
// target.
func rewrittenAnyway(in decideInput, li int, marks []mark) bool {
	lp := in.layers[li]
	if in.compress && uncompressed(lp.mediaType) {
		return true
	}
	for i := range lp.entries {
		if marks[i].drop && marks[i].why != wasteWhy {
			return true
		}
		for _, c := range in.chown {
			if layers.Within(lp.entries[i].name, layers.Clean(c)) {
				return true
			}
		}
	}
	return false
}

// WasteReport says what the dropping of replaced and deleted entries
// saved, layer by layer.
type WasteReport struct {
	// All is set by --no-waste: layers were rewritten for their waste
	// alone.
	All    bool         `json:"all"`
	Files  int          `json:"files"`
	Bytes  int64        `json:"bytes"`
	Layers []WasteLayer `json:"layers"`
}

// WasteLayer is the waste dropped from one layer.
type WasteLayer struct {
	Index int   `json:"index"`
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Forced says the layer was rewritten for its waste alone (--no-waste):
	// its blob is no longer the source's.
	Forced bool `json:"forced"`
}

// wasteReport sums what dropWaste dropped; nil when it dropped nothing.
func (p *Plan) wasteReport() *WasteReport {
	w := &WasteReport{All: p.o.noWaste}
	in := p.decideInput()
	for li, lp := range p.layers {
		ld := &p.d.layers[li]
		wl := WasteLayer{Index: li, Forced: !rewrittenAnyway(in, li, ld.marks)}
		for i := range lp.entries {
			e := &lp.entries[i]
			if m := ld.marks[i]; !m.drop || m.why != wasteWhy {
				continue
			}
			if _, promoted := ld.edit.Rename[i]; promoted {
				continue // its content lives on under a link's name
			}
			if e.isFile() {
				wl.Files++
			}
			wl.Bytes += e.size
		}
		if wl.Files == 0 && wl.Bytes == 0 {
			continue
		}
		w.Files += wl.Files
		w.Bytes += wl.Bytes
		w.Layers = append(w.Layers, wl)
	}
	if len(w.Layers) == 0 {
		return nil
	}
	return w
}

// text is the report's line on waste, naming the layers it touched.
func (w *WasteReport) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "waste dropped (copies later layers replace or delete): %d files, %s, from layers", w.Files, Bytes(w.Bytes))
	for i, l := range w.Layers {
		sep := ","
		if i == 0 {
			sep = ""
		}
		forced := ""
		if l.Forced {
			forced = " (rewritten for it alone)"
		}
		fmt.Fprintf(&b, "%s %d%s: %s", sep, l.Index+1, forced, Bytes(l.Bytes))
	}
	return b.String()
}

// topPaths returns the paths imgslim's own layer writes over the source's
// whatever the plan decides: the files the package sets edit and the
// symlinks they reset.
func (p *Plan) topPaths() []string {
	return append(sortedKeys(p.replace), sortedKeys(p.symlinks)...)
}
