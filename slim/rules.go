package slim

import (
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Rules decide which paths of an image go. Patterns use the exact syntax of
// .dockerignore (moby/patternmatcher, the code docker build itself runs):
// "*", "?", "**", "!exception", later lines win, "#" comments. They are
// matched against absolute paths in the image with the leading "/"
// optional, as .dockerignore patterns are matched against context paths.
type Rules struct {
	remove *matcher
	keep   *matcher
}

// ParsePatterns reads patterns one per line in .dockerignore syntax.
func ParsePatterns(r io.Reader) ([]string, error) {
	return ignorefile.ReadAll(r)
}

// NewRules compiles remove and keep patterns. A path matched by keep is
// never removed. Patterns are normalised as .dockerignore lines are.
func NewRules(remove, keep []string) (*Rules, error) {
	rm, err := newMatcher(remove)
	if err != nil {
		return nil, err
	}
	kp, err := newMatcher(keep)
	if err != nil {
		return nil, err
	}
	return &Rules{remove: rm, keep: kp}, nil
}

// Removes reports whether the rules remove p (an absolute path), and the
// pattern that decided it.
func (r *Rules) Removes(p string) (bool, string) {
	if r == nil || r.remove.empty() {
		return false, ""
	}
	rm, pat := r.remove.match(p)
	if !rm {
		return false, ""
	}
	if kp, _ := r.keep.match(p); kp {
		return false, ""
	}
	return true, pat
}

// Keeps reports whether a keep pattern matches p: nothing removes p then,
// neither the removal patterns nor a built-in set.
func (r *Rules) Keeps(p string) bool {
	if r == nil || r.keep.empty() {
		return false
	}
	kp, _ := r.keep.match(p)
	return kp
}

// Patterns returns the removal patterns in order.
func (r *Rules) Patterns() []string {
	if r == nil {
		return nil
	}
	return r.remove.patterns
}

// matcher wraps a PatternMatcher with a cache of per-directory results, so
// each path costs one evaluation of its own name whatever its depth, the
// way docker build walks a context.
type matcher struct {
	pm       *patternmatcher.PatternMatcher
	patterns []string
	dirs     map[string]patternmatcher.MatchInfo
	// singles holds one matcher per inclusion pattern, to say which line
	// removed a path; nil inside a single.
	singles []*matcher
}

func newMatcher(patterns []string) (*matcher, error) {
	var clean []string
	for _, p := range patterns {
		lines, err := ignorefile.ReadAll(strings.NewReader(p))
		if err != nil {
			return nil, err
		}
		clean = append(clean, lines...)
	}
	// Compile each pattern alone first, to name the bad one.
	var singles []*matcher
	for _, p := range clean {
		single, err := patternmatcher.New([]string{p})
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", p, err)
		}
		if !strings.HasPrefix(p, "!") {
			singles = append(singles, &matcher{pm: single, patterns: []string{p}, dirs: map[string]patternmatcher.MatchInfo{}})
		}
	}
	pm, err := patternmatcher.New(clean)
	if err != nil {
		return nil, fmt.Errorf("bad patterns %q: %w", clean, err)
	}
	m := &matcher{pm: pm, patterns: clean, dirs: map[string]patternmatcher.MatchInfo{}, singles: singles}
	return m, nil
}

func (m *matcher) empty() bool { return m == nil || len(m.patterns) == 0 }

// match reports whether absolute path p matches, and the last inclusion
// pattern that matched it. It is not safe for concurrent use.
func (m *matcher) match(p string) (bool, string) {
	if m.empty() || p == "/" {
		return false, ""
	}
	if ok, _ := m.eval(p); !ok {
		return false, ""
	}
	// Attribute the path to the last inclusion pattern that matches it or
	// one of its parents: with "later lines win", that line decided it.
	for i := len(m.singles) - 1; i >= 0; i-- {
		if ok, _ := m.singles[i].eval(p); ok {
			return true, m.singles[i].patterns[0]
		}
	}
	return true, ""
}

func (m *matcher) eval(p string) (bool, patternmatcher.MatchInfo) {
	parent := path.Dir(p)
	var pinfo patternmatcher.MatchInfo
	if parent != "/" {
		var ok bool
		if pinfo, ok = m.dirs[parent]; !ok {
			_, pinfo = m.eval(parent)
			m.dirs[parent] = pinfo
		}
	}
	// Patterns were compiled once and validated above, so matching
	// cannot fail.
	ok, info, _ := m.pm.MatchesUsingParentResults(strings.TrimPrefix(p, "/"), pinfo)
	return ok, info
}
