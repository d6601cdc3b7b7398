package dpkg

import (
	"fmt"
	"strings"
)

// atom is one alternative of a dependency: "name[:arch] [(op version)]".
type atom struct {
	name    string
	arch    string // "" (none), "any", or an architecture
	op, ver string // "" when unversioned
}

func (a atom) String() string {
	s := a.name
	if a.arch != "" {
		s += ":" + a.arch
	}
	if a.op != "" {
		s += " (" + a.op + " " + a.ver + ")"
	}
	return s
}

// parseDeps parses a Depends-style field: groups separated by ",", each a
// list of alternatives separated by "|". Architecture restrictions
// ("[amd64]") and build profiles ("<!nocheck>"), which only source packages
// carry, are ignored.
func parseDeps(field string) ([][]atom, error) {
	var out [][]atom
	for _, group := range strings.Split(field, ",") {
		if strings.TrimSpace(group) == "" {
			continue
		}
		var alts []atom
		for _, alt := range strings.Split(group, "|") {
			a, err := parseAtom(alt)
			if err != nil {
				return nil, err
			}
			alts = append(alts, a)
		}
		out = append(out, alts)
	}
	return out, nil
}

func parseAtom(s string) (atom, error) {
	orig := s
	// Drop "[arch ...]" and "<profile ...>" outside the parentheses, where
	// "<" is part of a relation.
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && (c == '[' || c == '<'):
			end := byte(']')
			if c == '<' {
				end = '>'
			}
			j := strings.IndexByte(s[i:], end)
			if j < 0 {
				return atom{}, fmt.Errorf("bad dependency %q: unclosed %c", orig, c)
			}
			i += j
			continue
		}
		b.WriteByte(c)
	}
	s = strings.Join(strings.Fields(b.String()), " ") // newlines of continuation lines too
	var a atom
	name := s
	if i := strings.IndexByte(s, '('); i >= 0 {
		j := strings.IndexByte(s, ')')
		if j < i {
			return atom{}, fmt.Errorf("bad dependency %q: unclosed (", orig)
		}
		rel := strings.TrimSpace(s[i+1 : j])
		name = strings.TrimSpace(s[:i])
		n := 0
		for n < len(rel) && !isAlnum(rel[n]) && rel[n] != ' ' {
			n++
		}
		a.op, a.ver = rel[:n], strings.TrimSpace(rel[n:])
		switch a.op {
		case "<<", "<=", "=", ">=", ">>", "<", ">":
		default:
			return atom{}, fmt.Errorf("bad dependency %q: unknown relation %q", orig, a.op)
		}
		if a.ver == "" {
			return atom{}, fmt.Errorf("bad dependency %q: relation without a version", orig)
		}
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name, a.arch = name[:i], name[i+1:]
	}
	a.name = name
	if a.name == "" || strings.ContainsAny(a.name, " ()") {
		return atom{}, fmt.Errorf("bad dependency %q: no package name", orig)
	}
	return a, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
