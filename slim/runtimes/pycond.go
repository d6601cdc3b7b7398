package runtimes

import (
	"regexp"
	"strconv"
	"strings"
)

// The conditions an `if` tests that the image decides before the program
// runs: which platform the interpreter is built for (an image's Python
// is a Linux one: sys.platform "linux", os.name "posix"), which version it
// is, and typing.TYPE_CHECKING (false when the program runs). A branch such
// a condition rules out never runs, so what it imports is not followed:
// asyncio's windows_events, ctypes' wintypes, the backport a library
// imports on Python 3.7. Anything else is unknown and both branches count.

// pyTarget is what is known of the interpreter the code runs on.
type pyTarget struct {
	major, minor int // 0, 0: unknown
}

var (
	pyPlatformAttr = regexp.MustCompile(`^_?sys\.platform(\.lower\(\))?$`)
	pyOSName       = regexp.MustCompile(`^_?os\.name$`)
	pyStartswith   = regexp.MustCompile(`^(_?sys\.platform(?:\.lower\(\))?)\.startswith\((.*)\)$`)
	pySliceAttr    = regexp.MustCompile(`^(_?sys\.platform)\[:(\d+)\]$`)
	pyCompare      = regexp.MustCompile(`^(.+?)\s*(==|!=|>=|<=|>|<|\bnot\s+in\b|\bin\b)\s*(.+)$`)
	pyVersionAttr  = regexp.MustCompile(`^_?sys\.version_info(?:\[:(\d)\])?$`)
	pyVersionItem  = regexp.MustCompile(`^_?sys\.version_info(?:\[(0|1)\]|\.(major|minor))$`)
	pyTypeChecking = regexp.MustCompile(`^(?:[\w.]+\.)?TYPE_CHECKING$`)
)

// pyCondValue is a condition's value: known, and if so which.
type pyCondValue struct{ known, value bool }

// evalCond evaluates an if's condition, literals taken out (lits), with
// three-valued logic: `and` is false when one side is known false, `or`
// true when one side is known true.
func (t pyTarget) evalCond(cond string, lits []pyLiteral) pyCondValue {
	cond = strings.TrimSpace(cond)
	for len(cond) >= 2 && cond[0] == '(' && cond[len(cond)-1] == ')' && balanced(cond[1:len(cond)-1]) {
		cond = strings.TrimSpace(cond[1 : len(cond)-1])
	}
	if parts := topLevelSplit(cond, " or "); len(parts) > 1 {
		out := pyCondValue{known: true}
		for _, p := range parts {
			v := t.evalCond(p, lits)
			if v.known && v.value {
				return v
			}
			if !v.known {
				out.known = false
			}
		}
		return out
	}
	if parts := topLevelSplit(cond, " and "); len(parts) > 1 {
		out := pyCondValue{known: true, value: true}
		for _, p := range parts {
			v := t.evalCond(p, lits)
			if v.known && !v.value {
				return v
			}
			if !v.known {
				out.known = false
			}
		}
		return out
	}
	if rest, ok := strings.CutPrefix(cond, "not "); ok {
		v := t.evalCond(rest, lits)
		v.value = !v.value
		return v
	}
	if pyTypeChecking.MatchString(cond) {
		return pyCondValue{known: true, value: false}
	}
	if m := pyStartswith.FindStringSubmatch(cond); m != nil {
		prefixes, _, ok := strLits(m[2], lits) // a string or a tuple of them
		if !ok {
			return pyCondValue{}
		}
		for _, p := range prefixes {
			if strings.HasPrefix("linux", p) {
				return pyCondValue{known: true, value: true}
			}
		}
		return pyCondValue{known: true, value: false}
	}
	m := pyCompare.FindStringSubmatch(cond)
	if m == nil {
		return pyCondValue{}
	}
	left, op, right := strings.TrimSpace(m[1]), strings.Join(strings.Fields(m[2]), " "), strings.TrimSpace(m[3])
	// A string attribute compared with literals.
	var have string
	switch {
	case pyPlatformAttr.MatchString(left):
		have = "linux"
	case pyOSName.MatchString(left):
		have = "posix"
	default:
		if s := pySliceAttr.FindStringSubmatch(left); s != nil {
			n, _ := strconv.Atoi(s[2])
			have = "linux"[:min(n, len("linux"))]
		}
	}
	if have != "" {
		vals, coll, ok := strLits(right, lits)
		// == compares with one string, in looks in a collection:
		// anything else ("in" a string is a substring test, "==" a
		// tuple is never true) is left unknown.
		if !ok || coll != (op == "in" || op == "not in") || !coll && len(vals) != 1 {
			return pyCondValue{}
		}
		in := false
		for _, v := range vals {
			in = in || v == have
		}
		switch op {
		case "==", "in":
			return pyCondValue{known: true, value: in}
		case "!=", "not in":
			return pyCondValue{known: true, value: !in}
		}
		return pyCondValue{}
	}
	if t.major == 0 {
		return pyCondValue{}
	}
	// The version: sys.version_info is (major, minor, micro, level,
	// serial), compared with a tuple of ints as Python compares tuples.
	if s := pyVersionItem.FindStringSubmatch(left); s != nil {
		n, err := strconv.Atoi(right)
		if err != nil {
			return pyCondValue{}
		}
		have := t.major
		if s[1] == "1" || s[2] == "minor" {
			have = t.minor
		}
		return cmpResult(have-n, op)
	}
	s := pyVersionAttr.FindStringSubmatch(left)
	if s == nil {
		return pyCondValue{}
	}
	want, ok := intTuple(right)
	if !ok {
		return pyCondValue{}
	}
	ver := []int{t.major, t.minor}
	longer := true // sys.version_info has more items than the tuple
	if s[1] != "" {
		// [:1] and [:2] are what is known; [:3] and longer end in
		// the micro version, which is not.
		if n, _ := strconv.Atoi(s[1]); n <= 2 {
			ver, longer = ver[:n], false
		}
	}
	for i, w := range want {
		if i >= len(ver) {
			if i >= 2 && longer {
				return pyCondValue{} // the micro version: not known
			}
			return cmpResult(-1, op) // ver is a prefix of want: less
		}
		if ver[i] != w {
			return cmpResult(ver[i]-w, op)
		}
	}
	if len(ver) > len(want) || longer {
		return cmpResult(1, op)
	}
	return cmpResult(0, op)
}

// cmpResult is op applied to a comparison's sign.
func cmpResult(c int, op string) pyCondValue {
	var v bool
	switch op {
	case "==":
		v = c == 0
	case "!=":
		v = c != 0
	case ">=":
		v = c >= 0
	case "<=":
		v = c <= 0
	case ">":
		v = c > 0
	case "<":
		v = c < 0
	default:
		return pyCondValue{}
	}
	return pyCondValue{known: true, value: v}
}

// strLits returns the string constants s is (one, or a tuple, list or set
// of them), false when it is anything else.
func strLits(s string, lits []pyLiteral) (vals []string, coll, ok bool) {
	s = strings.TrimSpace(s)
	// A collection: [..], {..}, or a tuple, which has a comma (the
	// literals are placeholders here, so a comma is the syntax's).
	// "(x)" is x.
	coll = strings.Contains(s, ",")
	if len(s) >= 2 && strings.ContainsRune("([{", rune(s[0])) && strings.ContainsRune(")]}", rune(s[len(s)-1])) {
		coll = coll || s[0] != '('
		s = s[1 : len(s)-1]
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		m := pyLiteralRe.FindStringSubmatch(p)
		if m == nil {
			return nil, false, false
		}
		n, _ := strconv.Atoi(m[1])
		if n >= len(lits) || !lits[n].constant {
			return nil, false, false
		}
		out = append(out, lits[n].value)
	}
	return out, coll, len(out) > 0
}

// intTuple parses "(3, 8)" or "(3,)".
func intTuple(s string) ([]int, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return nil, false
	}
	var out []int
	for _, p := range strings.Split(s[1:len(s)-1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

// topLevelSplit splits s at sep outside brackets; nil when sep is not
// there.
func topLevelSplit(s, sep string) []string {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[i:], sep) {
			parts = append(parts, s[last:i])
			last = i + len(sep)
			i += len(sep) - 1
		}
	}
	if parts == nil {
		return nil
	}
	return append(parts, s[last:])
}

// balanced reports whether s's brackets never close more than they open.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
