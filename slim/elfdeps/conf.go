package elfdeps

import (
	"path"
	"sort"
	"strings"
)

// ldconf is what glibc's loader finds through /etc/ld.so.cache: the
// directories ldconfig put in it, read from /etc/ld.so.conf. The loader
// reads only the cache, so without one the configured directories are not
// searched, whatever ld.so.conf says.
type ldconf struct {
	cache     string // the real path of /etc/ld.so.cache, "" when the image has none
	cacheHops []hop
	dirs      []string
	complete  bool // false while some configuration file is not fetched
}

// maxInclude bounds the nesting of ld.so.conf includes.
const maxInclude = 16

func (r *resolver) ldsoConf() (*ldconf, error) {
	if r.conf != nil {
		return r.conf, nil
	}
	c := &ldconf{complete: true}
	real, hops, ok, err := r.regular("/etc/ld.so.cache")
	if err != nil {
		return nil, err
	}
	if ok {
		c.cache, c.cacheHops = real, hops
		if err := r.parseConf(c, "/etc/ld.so.conf", map[string]bool{}, 0); err != nil {
			return nil, err
		}
	}
	r.conf = c
	return c, nil
}

// parseConf reads an ld.so.conf file as ldconfig does: one directory a
// line ("DIR=TYPE" keeps DIR), "#" comments, "include GLOB..." lines
// (relative globs are relative to the including file's directory), old
// "hwcap" lines ignored.
func (r *resolver) parseConf(c *ldconf, name string, seen map[string]bool, depth int) error {
	if depth > maxInclude {
		return nil
	}
	real, _, ok, err := r.regular(name)
	if err != nil || !ok {
		return err
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	b, ok, err := r.readAll(real)
	if err != nil {
		return err
	}
	if !ok {
		c.complete = false
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if rest, ok := cutWord(line, "include"); ok {
			for _, pat := range strings.Fields(rest) {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Dir(name) + "/" + pat
				}
				matches, err := glob(r.fsys, pat)
				if err != nil {
					return err
				}
				for _, m := range matches {
					if err := r.parseConf(c, m, seen, depth+1); err != nil {
						return err
					}
				}
			}
			continue
		}
		if _, ok := cutWord(strings.ToLower(line), "hwcap"); ok {
			continue
		}
		dir, _, _ := strings.Cut(line, "=")
		dir = strings.TrimRight(strings.TrimSpace(dir), "/")
		if !strings.HasPrefix(dir, "/") {
			continue // blank, or relative: ldconfig ignores it
		}
		if !contains(c.dirs, dir) {
			c.dirs = append(c.dirs, dir)
		}
	}
	return nil
}

// cutWord returns what follows word and a space or tab at the start of
// line.
func cutWord(line, word string) (string, bool) {
	if len(line) > len(word) && strings.HasPrefix(line, word) && (line[len(word)] == ' ' || line[len(word)] == '\t') {
		return line[len(word)+1:], true
	}
	return "", false
}

// glob returns the paths in the image matching pattern, sorted, as
// glob(3) does: "*", "?" and "[...]" in any component, a leading "." only
// matched by a pattern starting with one.
func glob(fsys FS, pattern string) ([]string, error) {
	cur := []string{""}
	for _, comp := range strings.Split(pattern, "/") {
		if comp == "" {
			continue
		}
		var next []string
		if !strings.ContainsAny(comp, `*?[\`) {
			for _, c := range cur {
				next = append(next, c+"/"+comp)
			}
			cur = next
			continue
		}
		for _, c := range cur {
			dir := c
			if dir == "" {
				dir = "/"
			}
			real, _, fi, err := walk(fsys, dir)
			if err != nil {
				if isLookupFailure(err) {
					continue
				}
				return nil, err
			}
			if !fi.IsDir() {
				continue
			}
			ents, err := fsys.ReadDir(real)
			if err != nil {
				continue // glob(3) skips a directory it cannot read
			}
			for _, e := range ents {
				n := e.Name()
				if strings.HasPrefix(n, ".") && !strings.HasPrefix(comp, ".") {
					continue
				}
				if ok, _ := path.Match(comp, n); ok {
					next = append(next, c+"/"+n)
				}
			}
		}
		cur = next
	}
	var out []string
	for _, c := range cur {
		if c == "" {
			c = "/"
		}
		if _, _, _, err := walk(fsys, c); err == nil {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out, nil
}
