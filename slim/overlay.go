package slim

import (
	"archive/tar"
	"path"
	"sort"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// node is a path as the container sees it: the topmost entry for it after
// whiteouts, the layer it comes from and its ordinal there.
type node struct {
	*entry
	layer int
	idx   int
}

// view is the filesystem the image presents, built from the scanned
// headers: what a container would see, without extracting anything. It is
// the one overlay model: of the source, of the output (the entries the
// decisions keep), and of the layers below a whiteout.
type view struct {
	nodes    map[string]node
	children map[string]map[string]bool
}

func emptyView() *view {
	return &view{nodes: map[string]node{}, children: map[string]map[string]bool{}}
}

// newView overlays the layers in order, applying whiteouts as the OCI spec
// says: a whiteout hides lower entries only, an opaque marker hides the
// directory's lower children.
func newView(ls []*layerPlan) *view { return newViewOf(ls, nil) }

// newViewOf is newView of the entries keep accepts (all when keep is nil),
// keep being given the layer and the entry's ordinal in it.
func newViewOf(ls []*layerPlan, keep func(li, i int) bool) *view {
	n := 0
	for _, lp := range ls {
		n += len(lp.entries)
	}
	// Sized for every entry: growing a map of a few hundred thousand
	// paths rehashes it a dozen times.
	v := &view{nodes: make(map[string]node, n), children: map[string]map[string]bool{}}
	for li, lp := range ls {
		v.overlay(li, lp, keep)
	}
	return v
}

// overlay puts layer li over v: its whiteouts first, then its entries.
func (v *view) overlay(li int, lp *layerPlan, keep func(li, i int) bool) {
	for i := range lp.entries {
		e := &lp.entries[i]
		if keep != nil && !keep(li, i) {
			continue
		}
		switch e.wh {
		case plainWhiteout:
			v.remove(e.target)
		case opaqueWhiteout:
			for c := range v.children[e.target] {
				v.remove(c)
			}
		}
	}
	for i := range lp.entries {
		e := &lp.entries[i]
		if e.wh != notWhiteout || e.name == "/" || keep != nil && !keep(li, i) {
			continue
		}
		if old, ok := v.nodes[e.name]; ok && old.typ == tar.TypeDir && e.typ != tar.TypeDir {
			v.remove(e.name) // a file over a directory replaces the tree
		}
		v.add(e.name, node{entry: e, layer: li, idx: i})
	}
}

// hides reports whether whiteout e, put over v, would hide anything: its
// target, or for an opaque marker what the directory holds.
func (v *view) hides(e *entry) bool {
	if e.wh == opaqueWhiteout {
		return len(v.children[e.target]) > 0
	}
	return v.exists(e.target)
}

func (v *view) add(name string, n node) {
	v.nodes[name] = n
	for p := name; p != "/"; {
		d := path.Dir(p)
		c := v.children[d]
		if c == nil {
			c = map[string]bool{}
			v.children[d] = c
		}
		if c[p] {
			break
		}
		c[p] = true
		p = d
	}
}

func (v *view) remove(name string) {
	for c := range v.children[name] {
		v.remove(c)
	}
	delete(v.children, name)
	delete(v.nodes, name)
	if c := v.children[path.Dir(name)]; c != nil {
		delete(c, name)
	}
}

// lookup returns the node at name.
func (v *view) lookup(name string) (node, bool) {
	n, ok := v.nodes[name]
	return n, ok
}

// exists reports whether name is present, as a file or as a directory that
// holds something even without an entry of its own.
func (v *view) exists(name string) bool {
	if _, ok := v.nodes[name]; ok {
		return true
	}
	return len(v.children[name]) > 0
}

// list returns the children of dir, sorted.
func (v *view) list(dir string) []string {
	var out []string
	for c := range v.children[dir] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// walk calls fn for every path at or below root, in sorted order.
func (v *view) walk(root string, fn func(name string, n node, ok bool)) {
	n, ok := v.nodes[root]
	fn(root, n, ok)
	for _, c := range v.list(root) {
		v.walk(c, fn)
	}
}

// size returns the bytes of the regular files at or below root.
func (v *view) size(root string) int64 {
	var total int64
	v.walk(root, func(_ string, n node, ok bool) {
		if ok && n.typ == tar.TypeReg {
			total += n.size
		}
	})
	return total
}

// resolve follows symlinks in name inside the image: an absolute target
// starts again at the image's root, and ".." never climbs above it. It
// returns the resolved path and whether it exists.
func (v *view) resolve(name string) (string, bool) {
	const maxLinks = 40 // as the kernel's MAXSYMLINKS
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(layers.Clean(name), "/"), "/")
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		n, ok := v.nodes[next]
		if ok && n.typ == tar.TypeSymlink {
			if hops++; hops > maxLinks {
				return next, false
			}
			target := n.link
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			rest = append(strings.Split(strings.Trim(target, "/"), "/"), rest...)
			continue
		}
		cur = next
		if !v.exists(cur) {
			return cur, false
		}
	}
	return cur, true
}
