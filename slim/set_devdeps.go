package slim

import (
	"fmt"
	"path"
	"strings"

	"github.com/imgslim/imgslim/slim/npm"
)

// devDepsSet removes the packages `npm prune --omit=dev` would, for
// every npm project in the image (a package-lock.json or
// npm-shrinkwrap.json outside node_modules, with node_modules beside it),
// and the node_modules/.bin links into them.
type devDepsSet struct{}

func (devDepsSet) choose(p *Plan) (*selection, error) {
	sel := newSelection(SetDevDeps)
	for name := range p.view.nodes {
		base := path.Base(name)
		if base != "package-lock.json" && base != "npm-shrinkwrap.json" || strings.Contains(name, "/node_modules/") {
			continue
		}
		root := path.Dir(name)
		if !p.view.exists(path.Join(root, "node_modules")) {
			continue
		}
		if base == "package-lock.json" && p.view.exists(path.Join(root, "npm-shrinkwrap.json")) {
			continue // npm reads the shrinkwrap first
		}
		// The visible copy, read back from the spool when the plan spooled
		// the layers (scan keeps no contents then).
		lock, ok := p.content(name)
		if !ok {
			continue
		}
		manifest, _ := p.content(path.Join(root, "package.json"))
		dirs, err := npm.DevOnly(lock, manifest)
		if err != nil {
			sel.warnings = append(sel.warnings, fmt.Sprintf("devdeps: skipping %s: %v", name, err))
			continue
		}
		removed := map[string]bool{}
		for _, d := range dirs {
			abs := path.Join(root, d)
			if p.view.exists(abs) {
				sel.paths[abs] = setChoice{set: SetDevDeps, why: "dev dependency in " + name}
				removed[abs] = true
			}
		}
		p.removeBinLinks(root, removed, name, sel)
	}
	return sel, nil
}

// removeBinLinks drops the .bin symlinks that point into removed packages,
// as npm prune does.
func (p *Plan) removeBinLinks(root string, removed map[string]bool, lock string, sel *selection) {
	if len(removed) == 0 {
		return
	}
	p.view.walk(path.Join(root, "node_modules"), func(name string, n node, ok bool) {
		if !ok || path.Base(path.Dir(name)) != ".bin" || n.link == "" {
			return
		}
		t := n.link
		if !strings.HasPrefix(t, "/") {
			t = path.Join(path.Dir(name), t)
		}
		for d := t; d != "/" && d != "."; d = path.Dir(d) {
			if removed[d] {
				sel.paths[name] = setChoice{set: SetDevDeps, why: "dev dependency in " + lock}
				return
			}
		}
	})
}
