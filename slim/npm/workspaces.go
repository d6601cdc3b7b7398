package npm

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// workspaceGlobs are the "workspaces" patterns of a root package.json (and
// of the root entry of a lockfile), split as @npmcli/map-workspaces splits
// them.
type workspaceGlobs struct {
	include, exclude []string
}

// parseWorkspaces reads a "workspaces" field: an array of globs, or an object
// whose "packages" field is one. A "!" prefix (an odd number of them)
// excludes; a later pattern that an earlier exclusion matches cancels it.
func parseWorkspaces(raw json.RawMessage) (workspaceGlobs, error) {
	var w workspaceGlobs
	if raw == nil || isNull(raw) {
		return w, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var obj struct {
			Packages []string `json:"packages"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.Packages == nil {
			return w, fmt.Errorf(`got %s, want an array of globs or {"packages": [...]}`, raw)
		}
		list = obj.Packages
	}
	for _, p := range list {
		excl := len(p) - len(strings.TrimLeft(p, "!"))
		p = strings.TrimLeft(p, "!")
		if strings.HasPrefix(p, "./") || strings.HasPrefix(p, "/") {
			p = strings.TrimLeft(p[1:], "/")
		}
		if p = strings.TrimRight(p, "/"); p == "" {
			continue
		}
		if excl%2 == 1 {
			w.exclude = append(w.exclude, p)
			continue
		}
		kept := w.exclude[:0]
		for _, ex := range w.exclude {
			if !globMatch(ex, p) {
				kept = append(kept, ex)
			}
		}
		w.exclude = kept
		w.include = append(w.include, p)
	}
	return w, nil
}

// match reports whether the directory dir (relative to the root) is a
// workspace by these globs.
func (w workspaceGlobs) match(dir string) bool {
	if _, inNodeModules := topOf(dir); inNodeModules || !isLocal(dir) || dir == "" {
		return false
	}
	for _, ex := range w.exclude {
		if globMatch(ex, dir) {
			return false
		}
	}
	for _, in := range w.include {
		if globMatch(in, dir) {
			return true
		}
	}
	return false
}

// workspaceTargets returns the link targets that are workspaces: those the
// globs match and that the root reaches through a link in its own
// node_modules, as npm's workspace edges do.
func workspaceTargets(links map[string]string, w workspaceGlobs) map[string]bool {
	out := map[string]bool{}
	for loc, target := range links {
		name, ok := strings.CutPrefix(loc, "node_modules/")
		if !ok || !validName(name) {
			continue
		}
		if w.match(target) {
			out[target] = true
		}
	}
	return out
}

// validName reports whether name is a package folder name: "a" or
// "@scope/a", without "." or ".." elements.
func validName(name string) bool {
	scope, base, scoped := strings.Cut(name, "/")
	if !scoped {
		base, scope = name, ""
	} else if !strings.HasPrefix(scope, "@") || scope == "@" || strings.Contains(base, "/") {
		return false
	}
	return base != "" && base != "." && base != ".." && !strings.ContainsRune(base, 0)
}

// globMatch matches a slash-separated path against a minimatch-style glob:
// "*", "?" and "[...]" within an element, "**" for any number of elements,
// "{a,b}" alternatives. As minimatch does by default, wildcards do not
// match a leading "." of an element.
func globMatch(pattern, name string) bool {
	budget := maxExpansions
	for _, p := range expandBraces(pattern, &budget) {
		if matchElems(strings.Split(p, "/"), strings.Split(name, "/")) {
			return true
		}
	}
	return false
}

func matchElems(pat, elems []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(elems); i++ {
				if matchElems(pat[1:], elems[i:]) {
					return true
				}
				if i < len(elems) && strings.HasPrefix(elems[i], ".") {
					return false
				}
			}
			return false
		}
		if len(elems) == 0 || !matchElem(pat[0], elems[0]) {
			return false
		}
		pat, elems = pat[1:], elems[1:]
	}
	return len(elems) == 0
}

func matchElem(pat, elem string) bool {
	if strings.HasPrefix(elem, ".") && !strings.HasPrefix(pat, ".") {
		return false
	}
	ok, err := path.Match(pat, elem)
	if err != nil {
		return pat == elem // minimatch takes a malformed class literally
	}
	return ok
}

// maxExpansions bounds the patterns one glob expands to, so that a hostile
// package.json cannot make "{a,b}{a,b}..." take exponential time.
const maxExpansions = 1024

// expandBraces expands "{a,b}" alternatives, nested ones included, into at
// most *budget patterns; past that, the rest is taken literally.
func expandBraces(p string, budget *int) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 || *budget <= 0 {
		*budget--
		return []string{p}
	}
	depth, start := 0, open+1
	var alts []string
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth++
		case ',':
			if depth == 1 {
				alts = append(alts, p[start:i])
				start = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				alts = append(alts, p[start:i])
				if len(alts) < 2 {
					// "{a}" is literal in minimatch; keep it and expand later braces.
					var out []string
					for _, rest := range expandBraces(p[i+1:], budget) {
						out = append(out, p[:i+1]+rest)
					}
					return out
				}
				var out []string
				for _, alt := range alts {
					out = append(out, expandBraces(p[:open]+alt+p[i+1:], budget)...)
				}
				return out
			}
		}
	}
	*budget--
	return []string{p} // unbalanced: literal
}
