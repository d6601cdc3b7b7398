package runtimes

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// A static reading of POSIX shell scripts: the commands they run, the
// files they source, and what those run in turn. It does not evaluate
// anything; a command whose name is built at run time is unresolved
// unless the script or the image's environment assigns the variable a
// literal value.

// shellBuiltins run inside the shell: they need no file.
var shellBuiltins = map[string]bool{
	":": true, "true": true, "false": true, "echo": true, "printf": true, "read": true, "set": true, "unset": true,
	"export": true, "readonly": true, "local": true, "cd": true, "pwd": true, "test": true, "[": true, "[[": true,
	"shift": true, "return": true, "exit": true, "break": true, "continue": true, "wait": true, "trap": true,
	"umask": true, "ulimit": true, "alias": true, "unalias": true, "type": true, "hash": true, "getopts": true,
	"times": true, "kill": true, "jobs": true, "fg": true, "bg": true, "declare": true, "typeset": true,
	"let": true, "shopt": true, "pushd": true, "popd": true, "dirs": true, "mapfile": true, "readarray": true,
	"builtin": true, "enable": true, "caller": true, "disown": true, "suspend": true, "logout": true,
	"history": true, "fc": true, "help": true, "compgen": true, "complete": true, "bind": true,
}

// shellKeywords open or close compound commands; the word after some is a
// command.
var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true, "done": true,
	"while": true, "until": true, "for": true, "in": true, "case": true, "esac": true, "{": true, "}": true,
	"!": true, "time": true, "function": true, "select": true, "]]": true,
}

// shWord is one word of a command: its literal text, and whether part of
// it is expanded at run time.
type shWord struct {
	text    string
	dynamic bool
}

// shCmd is a simple command.
type shCmd struct {
	words   []shWord
	line    int
	end     string // the operator that ended it
	assigns map[string]string
}

// shParse splits src into simple commands, the commands of $(…) and `…`
// among them.
type shParse struct {
	src   string
	i     int
	line  int
	cmds  []shCmd
	subs  []shSub // command substitutions, parsed after
	heres []hereDoc
}

// shSub is the text of a command substitution and the line it starts on.
type shSub struct {
	text string
	line int
}

type hereDoc struct {
	delim string
	strip bool
}

func parseShell(src string) []shCmd { return parseShellAt(src, 1, 0) }

func parseShellAt(src string, line, depth int) []shCmd {
	p := &shParse{src: src, line: line}
	p.run()
	out := p.cmds
	if depth > 32 {
		return out
	}
	for i := 0; i < len(p.subs) && i < 1000; i++ {
		out = append(out, parseShellAt(p.subs[i].text, p.subs[i].line, depth+1)...)
	}
	return out
}

func (p *shParse) run() {
	cur := shCmd{line: p.line}
	var w strings.Builder
	inWord, dyn := false, false
	redirect := false // the next word is a redirection's target
	endWord := func() {
		if !inWord {
			return
		}
		text := w.String()
		w.Reset()
		inWord = false
		if redirect {
			redirect = false
			dyn = false
			return
		}
		cur.words = append(cur.words, shWord{text: text, dynamic: dyn})
		dyn = false
	}
	endCmd := func(op string) {
		endWord()
		cur.end = op
		if len(cur.words) > 0 || op == ")" {
			p.cmds = append(p.cmds, cur)
		}
		cur = shCmd{line: p.line}
	}
	s := p.src
	for p.i < len(s) {
		c := s[p.i]
		switch {
		case c == '\\':
			if p.i+1 < len(s) {
				if s[p.i+1] == '\n' {
					p.i += 2
					p.line++
					continue
				}
				w.WriteByte(s[p.i+1])
				inWord = true
			}
			p.i += 2
		case c == '#' && !inWord:
			for p.i < len(s) && s[p.i] != '\n' {
				p.i++
			}
		case c == ' ' || c == '\t' || c == '\r':
			endWord()
			p.i++
		case c == '\n':
			endCmd("\n")
			p.i++
			p.line++
			p.skipHeredocs()
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			op := string(c)
			if p.i+1 < len(s) && (s[p.i+1] == c) && c != '(' && c != ')' {
				op += string(c)
			}
			if c == '&' && inWord && strings.HasSuffix(w.String(), ">") {
				w.WriteByte(c) // >&2
				p.i++
				continue
			}
			endCmd(op)
			p.i += len(op)
		case c == '<' || c == '>':
			endWord()
			j := p.i
			for j < len(s) && (s[j] == '<' || s[j] == '>' || s[j] == '&' || s[j] == '|' || s[j] == '-') {
				j++
			}
			op := s[p.i:j]
			p.i = j
			if strings.HasPrefix(op, "<<") && !strings.HasPrefix(op, "<<<") {
				p.readHeredocDelim(strings.HasSuffix(op, "-"))
				continue
			}
			// "2>&1", ">&-": a descriptor, not a file.
			if strings.HasSuffix(op, "&") {
				for p.i < len(s) && (s[p.i] >= '0' && s[p.i] <= '9' || s[p.i] == '-') {
					p.i++
				}
				continue
			}
			redirect = true
			// A descriptor number before it ("2>") is not a word.
			if n := len(cur.words); n > 0 {
				_ = n
			}
		case c == '\'':
			j := strings.IndexByte(s[p.i+1:], '\'')
			if j < 0 {
				j = len(s) - p.i - 1
			}
			w.WriteString(s[p.i+1 : p.i+1+j])
			p.line += strings.Count(s[p.i+1:p.i+1+j], "\n")
			p.i += j + 2
			inWord = true
		case c == '"':
			p.i++
			inWord = true
			for p.i < len(s) && s[p.i] != '"' {
				switch s[p.i] {
				case '\\':
					if p.i+1 < len(s) {
						w.WriteByte(s[p.i+1])
					}
					p.i += 2
				case '$':
					dyn = true
					w.WriteString(p.dollar())
				case '`':
					dyn = true
					p.backtick()
				default:
					if s[p.i] == '\n' {
						p.line++
					}
					w.WriteByte(s[p.i])
					p.i++
				}
			}
			p.i++
		case c == '$':
			inWord = true
			dyn = true
			w.WriteString(p.dollar())
		case c == '`':
			inWord = true
			dyn = true
			p.backtick()
		default:
			// A descriptor number right before a redirection.
			if c >= '0' && c <= '9' && !inWord && p.i+1 < len(s) && (s[p.i+1] == '>' || s[p.i+1] == '<') {
				p.i++
				continue
			}
			w.WriteByte(c)
			inWord = true
			p.i++
		}
	}
	endCmd("")
}

// dollar reads an expansion at p.i ('$'), records a command
// substitution's text, and returns the expansion's text as written.
func (p *shParse) dollar() string {
	s := p.src
	start := p.i
	p.i++
	if p.i >= len(s) {
		return "$"
	}
	switch c := s[p.i]; {
	case c == '(':
		arith := p.i+1 < len(s) && s[p.i+1] == '('
		end := matchParen(s, p.i)
		if !arith && end > p.i {
			p.subs = append(p.subs, shSub{s[p.i+1 : end], p.line})
		}
		p.line += strings.Count(s[start:min(end+1, len(s))], "\n")
		p.i = end + 1
	case c == '{':
		end := strings.IndexByte(s[p.i:], '}')
		if end < 0 {
			p.i = len(s)
		} else {
			inner := s[p.i+1 : p.i+end]
			// ${VAR:-$(cmd)} and the like.
			if k := strings.Index(inner, "$("); k >= 0 {
				p.subs = append(p.subs, shSub{strings.TrimSuffix(inner[k+2:], ")"), p.line})
			}
			p.i += end + 1
		}
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for p.i < len(s) && (s[p.i] == '_' || s[p.i] >= 'a' && s[p.i] <= 'z' || s[p.i] >= 'A' && s[p.i] <= 'Z' || s[p.i] >= '0' && s[p.i] <= '9') {
			p.i++
		}
	default:
		p.i++ // $1, $@, $?, $$…
	}
	p.i = min(p.i, len(s))
	return s[start:p.i]
}

// matchParen returns the index of the ')' closing the '(' at open,
// skipping quotes, or len(s)-1.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
				i += j + 1
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s) // unterminated: the rest of the text
}

func (p *shParse) backtick() {
	s := p.src
	end := strings.IndexByte(s[p.i+1:], '`')
	if end < 0 {
		p.subs = append(p.subs, shSub{s[p.i+1:], p.line})
		p.i = len(s)
		return
	}
	p.subs = append(p.subs, shSub{s[p.i+1 : p.i+1+end], p.line})
	p.line += strings.Count(s[p.i+1:p.i+1+end], "\n")
	p.i += end + 2
}

func (p *shParse) readHeredocDelim(strip bool) {
	s := p.src
	for p.i < len(s) && (s[p.i] == ' ' || s[p.i] == '\t') {
		p.i++
	}
	start := p.i
	for p.i < len(s) && !strings.ContainsRune(" \t\n;&|<>()", rune(s[p.i])) {
		p.i++
	}
	d := strings.NewReplacer("'", "", `"`, "", `\`, "").Replace(s[start:p.i])
	p.heres = append(p.heres, hereDoc{delim: d, strip: strip})
}

// skipHeredocs skips the bodies of the here-documents of the line just
// ended.
func (p *shParse) skipHeredocs() {
	s := p.src
	for _, h := range p.heres {
		for p.i < len(s) {
			end := strings.IndexByte(s[p.i:], '\n')
			var line string
			if end < 0 {
				line, p.i = s[p.i:], len(s)
			} else {
				line = s[p.i : p.i+end]
				p.i += end + 1
			}
			p.line++
			if h.strip {
				line = strings.TrimLeft(line, "\t")
			}
			if line == h.delim {
				break
			}
		}
	}
	p.heres = nil
}

var (
	shFuncDef = regexp.MustCompile(`(?m)^[ \t]*(?:function[ \t]+)?([A-Za-z_][A-Za-z0-9_.:-]*)[ \t]*\([ \t]*\)`)
	shFuncKw  = regexp.MustCompile(`(?m)^[ \t]*function[ \t]+([A-Za-z_][A-Za-z0-9_.:-]*)`)
	shAssign  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	shDefault = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):?[=-]([^}$` + "`" + `]*)\}`)
)

// shellCtx is what a script run knows: its name, positional arguments,
// functions and the literal values its variables are given.
type shellCtx struct {
	name  string
	args  []string // $1…, nil when unknown
	funcs map[string]bool
	vars  map[string][]string
}

// shell follows a shell run as argv: "sh -c TEXT", "sh SCRIPT ARGS", or
// an interactive shell (nothing to read).
func (a *analyzer) shell(prog string, argv []string, dir string, depth int) {
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-c":
			if i+1 < len(argv) {
				var args []string
				if i+2 < len(argv) {
					args = argv[i+3:]
				}
				a.shellText(argv[i+1], prog+" -c", args, dir, depth)
			}
			return
		case w == "--":
			i++
			if i < len(argv) {
				a.shellScript(argv[i], argv[i+1:], dir, prog, depth)
			}
			return
		case w == "-o" || w == "+o":
			i++
		case strings.HasPrefix(w, "-") || strings.HasPrefix(w, "+"):
			if path.Base(prog) == "busybox" {
				return
			}
		case path.Base(prog) == "busybox" && i == 1:
			// busybox APPLET ARGS: only its shells read scripts.
			if w != "sh" && w != "ash" && w != "bash" {
				return
			}
		default:
			a.shellScript(w, argv[i+1:], dir, prog, depth)
			return
		}
	}
}

// shellScript reads a script file run or sourced by a shell.
func (a *analyzer) shellScript(name string, args []string, dir, shell string, depth int) {
	p, ok := a.script(name, dir, shell)
	if !ok {
		return
	}
	real, _, _ := Realpath(a.fsys, p)
	if a.seen["script\x00"+real] {
		return
	}
	a.seen["script\x00"+real] = true
	b, err := readFile(a.fsys, real, maxRead)
	if err != nil {
		a.unresolvedf("%s: %v", p, err)
		return
	}
	a.shellText(string(b), p, args, dir, depth)
}

// shellText follows the commands of a script's text.
func (a *analyzer) shellText(text, name string, args []string, dir string, depth int) {
	if depth > maxDepth {
		return
	}
	ctx := &shellCtx{name: name, args: args, funcs: map[string]bool{}, vars: map[string][]string{}}
	for _, m := range shFuncDef.FindAllStringSubmatch(text, -1) {
		ctx.funcs[m[1]] = true
	}
	for _, m := range shFuncKw.FindAllStringSubmatch(text, -1) {
		ctx.funcs[m[1]] = true
	}
	for _, m := range shDefault.FindAllStringSubmatch(text, -1) {
		ctx.vars[m[1]] = append(ctx.vars[m[1]], m[2])
	}
	cmds := parseShell(text)
	// Assignments first: a variable set anywhere may name a command
	// anywhere (set in a function, used after).
	for _, c := range cmds {
		for _, w := range c.words {
			if !shAssign.MatchString(w.text) {
				break
			}
			k, v, _ := strings.Cut(w.text, "=")
			if !w.dynamic {
				ctx.vars[k] = append(ctx.vars[k], v)
			} else if ctx.vars[k] == nil {
				ctx.vars[k] = nil
			}
		}
		// for VAR in a b c
		if len(c.words) >= 3 && c.words[0].text == "for" && c.words[2].text == "in" {
			k := c.words[1].text
			for _, w := range c.words[3:] {
				if !w.dynamic {
					ctx.vars[k] = append(ctx.vars[k], w.text)
				}
			}
		}
	}
	caseDepth, parenDepth := 0, 0
	for _, c := range cmds {
		words := c.words
		if c.end == "(" {
			parenDepth++
		}
		if c.end == ")" && caseDepth > 0 && parenDepth == 0 {
			continue // a case pattern
		}
		if c.end == ")" && parenDepth > 0 {
			parenDepth--
		}
		// A function definition "name ( )" ends with "(".
		if c.end == "(" && len(words) == 1 && ctx.funcs[words[0].text] {
			continue
		}
		for len(words) > 0 {
			t := words[0].text
			if shAssign.MatchString(t) {
				words = words[1:] // NAME=value, whatever the value
				continue
			}
			if words[0].dynamic {
				break
			}
			if t == "case" {
				caseDepth++
				words = nil
				break
			}
			if t == "esac" {
				caseDepth--
				words = words[1:]
				continue
			}
			if t == "for" || t == "select" {
				words = nil // for VAR in WORDS: no command
				break
			}
			if t == "function" {
				words = nil
				break
			}
			if shellKeywords[t] || shAssign.MatchString(t) {
				words = words[1:]
				continue
			}
			break
		}
		if len(words) == 0 {
			continue
		}
		a.shellCommand(ctx, words, c.line, dir, depth)
	}
}

// shellCommand follows one simple command.
func (a *analyzer) shellCommand(ctx *shellCtx, words []shWord, line int, dir string, depth int) {
	where := fmt.Sprintf("%s: line %d", ctx.name, line)
	first := words[0]
	if first.dynamic {
		// "$@" / "$1": the script's arguments, when known.
		switch first.text {
		case `$@`, `$*`, `${@}`, `${*}`:
			if len(ctx.args) > 0 {
				a.command(ctx.args, dir, "run by "+where, depth+1)
				return
			}
		}
		if v, ok := shVarName(first.text); ok {
			vals, set := ctx.vars[v]
			if env, ok := a.getenv(v); ok && env != "" {
				vals, set = append(vals, env), true
			}
			if set && len(vals) > 0 && !containsEmpty(vals) {
				for _, val := range vals {
					argv := strings.Fields(val)
					if len(argv) > 0 {
						a.shellCommand(ctx, append([]shWord{{text: argv[0]}}, words[1:]...), line, dir, depth)
					}
				}
				return
			}
		}
		a.unresolvedf("%s runs %s, a command built at run time that imgslim cannot read; copy what it runs with --add PATH, or name the program with --binary", where, first.text)
		return
	}
	name := first.text
	args := literal(words[1:])
	switch {
	case ctx.funcs[name]:
		return
	case name == "." || name == "source":
		if len(words) > 1 {
			if words[1].dynamic {
				a.unresolvedf("%s sources %s, a file named at run time; copy it with --add PATH", where, words[1].text)
				return
			}
			a.shellScript(words[1].text, nil, dir, ctx.name, depth+1)
		}
		return
	case name == "exec" || name == "command" || name == "builtin" || name == "nohup" && false:
		rest := words[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0].text, "-") && !rest[0].dynamic {
			if name == "command" && (rest[0].text == "-v" || rest[0].text == "-V") {
				return // a lookup, not a run
			}
			if name == "exec" && rest[0].text == "-a" && len(rest) > 1 {
				rest = rest[1:]
			}
			rest = rest[1:]
		}
		if len(rest) > 0 {
			a.shellCommand(ctx, rest, line, dir, depth)
		}
		return
	case name == "eval":
		for _, w := range words[1:] {
			if w.dynamic {
				a.unresolvedf("%s evals %s, text built at run time; copy what it runs with --add PATH", where, w.text)
				return
			}
		}
		a.shellText(strings.Join(args, " "), ctx.name+" (eval)", ctx.args, dir, depth+1)
		return
	case name == "trap":
		if len(words) > 1 && !words[1].dynamic {
			a.shellText(words[1].text, ctx.name+" (trap)", ctx.args, dir, depth+1)
		}
		return
	case shellBuiltins[name] || shellKeywords[name]:
		if name == "[" || name == "test" || name == "cd" {
			return
		}
		return
	}
	// An external command: the literal words are its arguments; a dynamic
	// word is not a path imgslim can keep, but it names no command either.
	var argv []string
	argv = append(argv, name)
	for _, w := range words[1:] {
		if w.dynamic {
			argv = append(argv, "")
			continue
		}
		argv = append(argv, w.text)
	}
	a.command(compact(argv), dir, "run by "+where, depth+1)
}

func literal(ws []shWord) []string {
	var out []string
	for _, w := range ws {
		if !w.dynamic {
			out = append(out, w.text)
		}
	}
	return out
}

func compact(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func containsEmpty(ss []string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			return true
		}
	}
	return false
}

// shVarName returns VAR of "$VAR" or "${VAR}".
func shVarName(w string) (string, bool) {
	w = strings.TrimPrefix(w, "$")
	w = strings.TrimSuffix(strings.TrimPrefix(w, "{"), "}")
	if w == "" {
		return "", false
	}
	for i, c := range w {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return "", false
		}
	}
	return w, true
}
