package slim

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/runtimes"
)

// treeMark ends the reason of a file copied as part of a whole tree: the
// text report sums those.
const treeMark = " (whole tree)"

// treeNeed is a directory copied whole, as COPY --from would.
type treeNeed struct {
	root, why string
	except    []string // relative to root
}

// addTrees adds every path of trees, after the enabled sets took what they
// take out, following symlinks: one to a directory brings that directory
// whole, as `cp -rL` would, one to a file brings the file. Every regular
// file added is passed to each.
func (p *Plan) addTrees(trees []treeNeed, add func(name, why string), each func(name string, n node)) {
	done := map[string]bool{}
	for len(trees) > 0 {
		t := trees[0]
		trees = trees[1:]
		root, ok := p.view.resolve(t.root)
		if !ok || done[root] {
			continue
		}
		done[root] = true
		for _, c := range p.pathChain(t.root) {
			add(c, t.why)
		}
		why := t.why + treeMark
		p.view.walk(root, func(name string, n node, ok bool) {
			if !ok || name == root {
				return
			}
			rel := strings.TrimPrefix(name, root+"/")
			for _, e := range t.except {
				if rel == e || strings.HasPrefix(rel, e+"/") || strings.HasSuffix(e, "/") && strings.Contains("/"+rel+"/", "/"+e) {
					return
				}
			}
			if name != t.root && p.droppedBySet(name) {
				return
			}
			add(name, why)
			switch n.typ {
			case tar.TypeReg, tar.TypeLink:
				each(name, n)
			case tar.TypeSymlink:
				target := n.link
				if !strings.HasPrefix(target, "/") {
					target = path.Join(path.Dir(name), target)
				}
				r, ok := p.view.resolve(target)
				if !ok {
					return // dangling in the source too
				}
				if tn, ok := p.view.lookup(r); ok && tn.typ != tar.TypeDir || !ok && !p.view.exists(r) {
					for _, c := range p.pathChain(target) {
						add(c, why)
					}
					if ok {
						each(r, tn)
					}
					return
				}
				// Not a system directory, nor one above the tree: a link to
				// "/" or "/usr" must not bring the whole image. The
				// self-check names such a link if it is left dangling.
				if !layers.Within(r, root) && !systemDirs[r] && !layers.Within(root, r) {
					trees = append(trees, treeNeed{root: target, why: t.why + " (through " + name + ")"})
				}
			}
		})
	}
}

// pathChain returns what resolving name crosses inside the image: each
// symlink, and the real path it ends at (when it exists).
func (p *Plan) pathChain(name string) []string {
	var out []string
	cur := "/"
	rest := strings.Split(strings.Trim(layers.Clean(name), "/"), "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		n, ok := p.view.lookup(next)
		if ok && n.typ == tar.TypeSymlink {
			if hops++; hops > 40 {
				return out
			}
			out = append(out, next)
			t := n.link
			if strings.HasPrefix(t, "/") {
				cur = "/"
			}
			rest = append(strings.Split(strings.Trim(t, "/"), "/"), rest...)
			continue
		}
		if !ok && !p.view.exists(next) {
			return out
		}
		cur = next
	}
	if cur != "/" {
		out = append(out, cur)
	}
	return out
}

// runtimeFS is the image as the runtimes package reads it: contents are
// fetched when asked for (in place from the spooled layers).
type runtimeFS struct{ p *Plan }

var _ runtimes.FS = runtimeFS{}

func (f runtimeFS) Lstat(name string) (fs.FileInfo, error)     { return imageFS(f).Lstat(name) }
func (f runtimeFS) Readlink(name string) (string, error)       { return imageFS(f).Readlink(name) }
func (f runtimeFS) ReadDir(name string) ([]fs.DirEntry, error) { return imageFS(f).ReadDir(name) }
func (f runtimeFS) Open(name string) (runtimes.File, error) {
	if _, ok := f.p.fetched[name]; !ok {
		if _, err := f.p.fetch([]string{name}); err != nil {
			return nil, err
		}
	}
	b, ok := f.p.fetched[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return b.open()
}

// UnresolvedError is a scratch image imgslim refuses to write: what the
// program may need that it cannot account for, one item a line.
type UnresolvedError struct {
	Program string
	Items   []string
}

func (e *UnresolvedError) Error() string {
	return itemList(fmt.Sprintf("cannot account for what %s needs, so no image is written (%d unresolved):", e.Program, len(e.Items)), e.Items)
}

// itemList is a refusal's message: its head line, then one indented line
// for every item, so that each unresolved item or conflict reads alone.
func itemList(head string, items []string) string {
	var b strings.Builder
	b.WriteString(head)
	for _, it := range items {
		b.WriteString("\n  ")
		b.WriteString(it)
	}
	return b.String()
}

// IsUnresolved reports whether err is a refusal for unresolved items.
func IsUnresolved(err error) bool {
	var u *UnresolvedError
	return errors.As(err, &u)
}

// protectRuntime feeds what the runtimes package reads of the entrypoint
// into the protected set, so that no rule set removes a file the runtime
// loads (a JVM's libjvm.so, a gem's extension, a script a script runs).
// Trees it would keep with exceptions (a standard library without its
// tests) are left to the sets. What it cannot account for is a warning:
// the image stays as it was, only smaller.
func (p *Plan) protectRuntime() {
	argv := append(append([]string(nil), p.cfg.Config.Entrypoint...), p.cfg.Config.Cmd...)
	if len(argv) == 0 {
		return
	}
	rt, err := runtimes.Analyze(runtimeFS{p}, runtimes.Command{Argv: argv, Env: p.cfg.Config.Env, Dir: layers.Clean(p.cfg.Config.WorkingDir)})
	if err != nil {
		p.protectWarnings = append(p.protectWarnings, fmt.Sprintf("cannot work out what the entrypoint's runtime needs: %v", err))
		return
	}
	protect := func(name, why string) {
		if _, ok := p.protected[name]; !ok {
			p.protected[name] = why
		}
	}
	for _, n := range rt.Needs {
		for _, c := range p.pathChain(n.Path) {
			protect(c, n.Why)
		}
		switch {
		case n.Tree && len(n.Except) == 0:
			// The application's own directory stays the sets' to clean
			// (.git, caches, tests): the runtime's trees are protected.
			if r, ok := p.view.resolve(n.Path); ok && (p.app.appDir == "" || !layers.Within(r, p.app.appDir) && !layers.Within(p.app.appDir, r)) {
				p.protTrees = append(p.protTrees, r)
			}
		case n.Exec:
			r, ok := p.view.resolve(n.Path)
			if !ok || r == p.app.program {
				continue
			}
			res, err := p.closure(r)
			if err != nil {
				continue // not a program imgslim can read: kept by name
			}
			for _, f := range res.Files {
				protect(f.Path, f.Why)
			}
		}
	}
}
