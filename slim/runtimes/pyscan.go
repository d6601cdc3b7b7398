package runtimes

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A reader of Python source for what it imports, statement by statement:
// the logical lines (brackets, backslashes and string literals, which may
// hold "import" in a docstring, taken into account), the blocks they sit
// in (a function body, a try whose handlers catch ImportError, an
// `if TYPE_CHECKING:` that never runs), and the calls of
// importlib.import_module and __import__. It parses no expressions: what
// it cannot read as a constant is reported as dynamic.

// pyImportStmt is one module an import statement names.
type pyImportStmt struct {
	Module string   // dotted, with leading dots for a relative import
	Names  []string // from MODULE import NAMES ("*" for a star import); nil for "import MODULE"
	// Guarded: in the body of a try whose handlers catch ImportError (or
	// every exception): the code runs without the module.
	Guarded bool
	// Lazy: in a function body, so it runs when the function is called.
	Lazy bool
	// Main: under `if __name__ == "__main__":`, which runs only when the
	// file is the program, not when it is imported.
	Main bool
	// FallbackFor: in an except handler, the modules the try's body
	// imports; the handler runs when one of them is missing. A module
	// the body imports names from is prefixed with fromNamesMark: the
	// handler runs too when a name is missing.
	FallbackFor []string
}

// fromNamesMark prefixes a FallbackFor module the try imports names from.
const fromNamesMark = "from:"

// pySource is what a Python file imports.
type pySource struct {
	Imports []pyImportStmt
	// Dynamic holds the first argument of each import_module/__import__
	// call that is not a string constant: what it imports is decided at
	// run time.
	Dynamic []string
}

// pyLine is one logical line: its indentation and text, each string
// literal replaced by "\x01N\x02" (N its index in strs).
type pyLine struct {
	indent int
	text   string
}

type pyLiteral struct {
	value    string
	constant bool // not an f-string
}

// pyLines splits src into logical lines, string literals taken out.
func pyLines(src string) ([]pyLine, []pyLiteral) {
	var lines []pyLine
	var lits []pyLiteral
	var cur strings.Builder
	depth, indent := 0, 0
	atStart := true // no text yet on this logical line: count indentation
	col := 0
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			lines = append(lines, pyLine{indent: indent, text: t})
		}
		cur.Reset()
		depth, atStart, col = 0, true, 0
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if atStart {
			switch c {
			case ' ':
				col++
				continue
			case '\t':
				col = col/8*8 + 8
				continue
			case '\f':
				col = 0
				continue
			case '\r', '\n':
				col = 0
				continue
			}
			atStart, indent = false, col
		}
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i++
			if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			cur.WriteByte(' ')
		case c == '\n' || c == '\r':
			if depth > 0 {
				cur.WriteByte(' ')
			} else {
				flush()
			}
		case c == '(' || c == '[' || c == '{':
			depth++
			cur.WriteByte(c)
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			// The prefix letters just written (r, b, f, u, rb…) say
			// whether it is an f-string.
			s := cur.String()
			j := len(s)
			for j > 0 && j > len(s)-2 && strings.IndexByte("rRbBuUfF", s[j-1]) >= 0 {
				j--
			}
			prefix := s[j:]
			if j > 0 && isIdentByte(s[j-1]) {
				prefix = ""
			}
			q := string(c)
			if i+2 < len(src) && src[i+1] == c && src[i+2] == c {
				q = strings.Repeat(q, 3)
			}
			start := i + len(q)
			end := start
			for end < len(src) {
				if src[end] == '\\' {
					end += 2
					continue
				}
				if strings.HasPrefix(src[end:], q) {
					break
				}
				if len(q) == 1 && src[end] == '\n' {
					break // an unterminated string ends with its line
				}
				end++
			}
			if end > len(src) {
				end = len(src)
			}
			lits = append(lits, pyLiteral{value: src[start:end], constant: !strings.ContainsAny(prefix, "fF")})
			cur.WriteString("\x01" + strconv.Itoa(len(lits)-1) + "\x02")
			i = end + len(q) - 1
			if end >= len(src) {
				i = len(src)
			}
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return lines, lits
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

var (
	pyHeader     = regexp.MustCompile(`^(?:async\s+)?(def|class|if|elif|else|try|except|finally|while|for|with|match|case)\b`)
	pyImportRe   = regexp.MustCompile(`^import\s+(.+)$`)
	pyFromRe     = regexp.MustCompile(`^from\s+(\.*[\w.]*)\s+import\s+(.+)$`)
	pyDynamicRe  = regexp.MustCompile(`(\bdef\s+)?\b(?:import_module|__import__)\s*\(`)
	pyCatchesImp = regexp.MustCompile(`\b(ImportError|ModuleNotFoundError|Exception|BaseException)\b`)
	pyLiteralRe  = regexp.MustCompile(`^\x01(\d+)\x02$`)
	pyWord       = regexp.MustCompile(`[A-Za-z_]\w*`)
	pyMainCheck  = regexp.MustCompile(`^if\s+__name__\s*==\s*\x01(\d+)\x02\s*:`)
	pyLiteralAny = regexp.MustCompile(`\x01(\d+)\x02`)
)

type pyBlock struct {
	name   string // a def's name
	indent int
	kind   string // def, try, handler, never, main, other
	try    int    // the try's index, for kinds try and handler
}

// scanPython returns what src imports, on an interpreter of unknown
// version.
func scanPython(src string) pySource { return pyTarget{}.scan(src) }

// scan returns what src imports when t runs it: a branch whose condition
// t decides against (see evalCond) never runs.
func (t pyTarget) scan(src string) pySource {
	lines, lits := pyLines(src)
	var out pySource
	var stack []pyBlock
	var catches []bool       // by try index: a handler catches ImportError
	lastTry := map[int]int{} // indent -> the latest try at it
	// indent -> the if statement there: whether one of its branches so
	// far is known to run, which leaves the elif and else after it dead.
	ifTaken := map[int]bool{}
	var tries [][]int      // by import: the tries whose bodies hold it
	var fallback []int     // by import: the try whose handler holds it, or -1
	var tryBody [][]string // by try: the modules its body imports
	var inDef []string     // by import: the module-level function holding it
	var imports []pyImportStmt
	// Where each module-level function's name is used, outside its own
	// body and the __main__ block.
	used := map[string]int{}
	topDef := func() string {
		if len(stack) > 0 && stack[0].kind == "def" {
			return stack[0].name
		}
		return ""
	}
	inMain := func() bool {
		for _, b := range stack {
			if b.kind == "main" {
				return true
			}
		}
		return false
	}
	record := func(stmt string) {
		lazy, skip, main := false, false, false
		var in []int
		inner := -1 // the innermost try body or handler
		for i, b := range stack {
			switch b.kind {
			case "def":
				lazy = true
			case "never":
				skip = true
			case "main":
				main = true
			case "try", "handler":
				if b.kind == "try" {
					in = append(in, b.try)
				}
				inner = i
			}
		}
		if skip {
			return // only type checkers, or another platform or version, run it
		}
		add := func(s pyImportStmt) {
			s.Lazy, s.Main = lazy, main
			imports = append(imports, s)
			tries = append(tries, in)
			inDef = append(inDef, topDef())
			fb := -1
			if inner >= 0 {
				if b := stack[inner]; b.kind == "try" {
					mod := s.Module
					if len(s.Names) > 0 && !slices.Equal(s.Names, []string{"*"}) {
						// from M import NAME fails when M lacks NAME
						// (collections.Mapping since 3.10): not only
						// when M is missing. Marked so that the
						// handler is not taken for one that never runs.
						mod = fromNamesMark + mod
					}
					tryBody[b.try] = append(tryBody[b.try], mod)
				} else {
					fb = b.try
				}
			}
			fallback = append(fallback, fb)
		}
		if m := pyFromRe.FindStringSubmatch(stmt); m != nil {
			names := strings.Trim(strings.TrimSpace(m[2]), "()")
			var ns []string
			for _, part := range strings.Split(names, ",") {
				if f := strings.Fields(part); len(f) > 0 {
					ns = append(ns, f[0])
				}
			}
			add(pyImportStmt{Module: m[1], Names: ns})
		} else if m := pyImportRe.FindStringSubmatch(stmt); m != nil {
			for _, part := range strings.Split(m[1], ",") {
				if f := strings.Fields(part); len(f) > 0 && validDotted(f[0]) {
					add(pyImportStmt{Module: f[0]})
				}
			}
		}
		for _, loc := range pyDynamicRe.FindAllStringSubmatchIndex(stmt, -1) {
			if loc[2] >= 0 {
				continue // the definition of one
			}
			arg := firstArg(stmt[loc[1]:])
			if m := pyLiteralRe.FindStringSubmatch(arg); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n < len(lits) && lits[n].constant && validDotted(strings.TrimLeft(lits[n].value, ".")) {
					add(pyImportStmt{Module: lits[n].value})
					continue
				}
			}
			out.Dynamic = append(out.Dynamic, pyLiteralAny.ReplaceAllStringFunc(arg, func(m string) string {
				n, _ := strconv.Atoi(m[1 : len(m)-1])
				if n >= len(lits) || len(lits[n].value) > 40 {
					return `"…"`
				}
				return strconv.Quote(lits[n].value)
			}))
		}
	}
	for _, l := range lines {
		for len(stack) > 0 && stack[len(stack)-1].indent >= l.indent {
			stack = stack[:len(stack)-1]
		}
		if !inMain() {
			own := topDef()
			for _, w := range pyWord.FindAllString(l.text, -1) {
				if w != own {
					used[w]++
				}
			}
		}
		stmts := []string{l.text}
		indent := l.indent
		for len(stmts) > 0 {
			s := strings.TrimSpace(stmts[0])
			stmts = stmts[1:]
			if s == "" {
				continue
			}
			m := pyHeader.FindStringSubmatch(s)
			colon := -1
			if m != nil {
				colon = headerColon(s)
			}
			taken, inChain := ifTaken[indent]
			if m == nil || colon < 0 || m[1] != "elif" && m[1] != "else" {
				delete(ifTaken, indent) // whatever if was there has ended
			}
			if m == nil || colon < 0 {
				// Simple statements, ";"-separated.
				parts := strings.Split(s, ";")
				for _, p := range parts {
					record(strings.TrimSpace(p))
				}
				continue
			}
			b := pyBlock{indent: indent, kind: "other"}
			switch m[1] {
			case "def":
				b.kind = "def"
				if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(s[:colon]), "async")); len(f) > 1 {
					b.name, _, _ = strings.Cut(f[1], "(")
				}
			case "try":
				b.kind, b.try = "try", len(catches)
				catches = append(catches, false)
				tryBody = append(tryBody, nil)
				lastTry[indent] = b.try
			case "except":
				if t, ok := lastTry[indent]; ok {
					clause := strings.TrimSpace(s[len("except"):colon])
					if clause == "" || pyCatchesImp.MatchString(clause) {
						catches[t] = true
					}
					b.kind, b.try = "handler", t
				}
			case "if", "elif":
				if m[1] == "if" {
					// A new chain: what an earlier if at this
					// indent took says nothing of this one.
					taken, inChain = false, false
				}
				if m[1] == "elif" && !inChain {
					break // not after an if this reading followed
				}
				if taken {
					b.kind = "never" // an earlier branch runs
					break
				}
				v := t.evalCond(s[len(m[1]):colon], lits)
				ifTaken[indent] = v.known && v.value
				if v.known && !v.value {
					b.kind = "never"
				}
				if m := pyMainCheck.FindStringSubmatch(s); m != nil {
					if n, _ := strconv.Atoi(m[1]); n < len(lits) && lits[n].value == "__main__" {
						b.kind = "main"
					}
				}
			case "else":
				if inChain && taken {
					b.kind = "never"
				}
				delete(ifTaken, indent)
			}
			stack = append(stack, b)
			if rest := strings.TrimSpace(s[colon+1:]); rest != "" {
				// A body on the header's line: one level deeper.
				stmts = append([]string{rest}, stmts...)
				indent++
			}
		}
		// A body written on the header's line ends with it.
		for len(stack) > 0 && stack[len(stack)-1].indent > l.indent {
			stack = stack[:len(stack)-1]
		}
	}
	for i, s := range imports {
		for _, t := range tries[i] {
			if catches[t] {
				s.Guarded = true
			}
		}
		if t := fallback[i]; t >= 0 {
			s.FallbackFor = tryBody[t]
		}
		// A private function only the __main__ block calls (pickle's
		// _test) runs when the file is the program.
		if d := inDef[i]; strings.HasPrefix(d, "_") && !strings.HasPrefix(d, "__") && used[d] <= 1 {
			s.Main = true
		}
		out.Imports = append(out.Imports, s)
	}
	return out
}

// headerColon returns the index of the colon ending a compound statement's
// header: the first at bracket depth 0 that is not ":=".
func headerColon(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ':':
			if depth == 0 && (i+1 >= len(s) || s[i+1] != '=') {
				return i
			}
		}
	}
	return -1
}

// firstArg returns the text of a call's first argument, s starting after
// the opening parenthesis.
func firstArg(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth == 0 {
				return strings.TrimSpace(s[:i])
			}
			depth--
		case ',':
			if depth == 0 {
				return strings.TrimSpace(s[:i])
			}
		}
	}
	return strings.TrimSpace(s)
}

// validDotted reports whether s is a dotted module name.
func validDotted(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isIdentByte(part[i]) {
				return false
			}
		}
	}
	return true
}
