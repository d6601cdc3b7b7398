package runtimes

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Need is one path a program needs.
type Need struct {
	Path string // absolute, as the program names it (symlinks are the caller's to follow)
	Why  string
	// Tree: the directory with everything below it, as COPY would take it.
	Tree bool
	// Exec: run as a program; the caller adds its ELF closure and the
	// interpreter of its "#!" line.
	Exec bool
	// Except names what a Tree leaves out, relative to it ("ext",
	// "test/"): build trees and test suites the program never loads.
	Except []string
	// Optional: what the program runs without (a library's optional
	// import). A copy leaves it out; slimming in place keeps it.
	Optional bool
}

// Result is what a command needs, as far as the runtimes' own files tell.
type Result struct {
	Needs []Need
	// Unresolved names what the command may need that cannot be worked out
	// from the files (a command built at run time, an interpreter imgslim
	// knows nothing of, an argument naming no file), one line each with a
	// hint. A copy of the program alone cannot be trusted while it is not
	// empty.
	Unresolved []string
	// Warnings are what the source image lacks as well: a command a
	// script runs that no directory of PATH holds.
	Warnings []string
	// Runtimes lists the runtimes recognised, by kind ("jvm", "ruby"…).
	Runtimes []string
}

// Command is a program as exec is given it.
type Command struct {
	Argv []string // argv[0] may be a bare name, looked up in PATH
	Env  []string // NAME=VALUE, the image's
	Dir  string   // the working directory
	// Covered reports paths the user vouches for (--add): an unknown
	// interpreter's script under one is not unresolved.
	Covered func(name string) bool
}

// maxDepth bounds how deep commands that run commands are followed.
const maxDepth = 12

// analyzer accumulates one Analyze call's findings.
type analyzer struct {
	fsys       FS
	env        []string
	covered    func(string) bool
	needs      map[string]Need
	unresolved map[string]bool
	warnings   map[string]bool
	runtimes   map[string]bool
	seen       map[string]bool // commands and scripts followed
	bundled    bool            // under bundle exec: the gems are the lockfile's
}

// Analyze works out what cmd needs beyond its ELF closure: the files its
// arguments name, and what the runtime it starts reads.
func Analyze(fsys FS, cmd Command) (*Result, error) {
	a := &analyzer{fsys: fsys, env: cmd.Env, covered: cmd.Covered, needs: map[string]Need{},
		unresolved: map[string]bool{}, warnings: map[string]bool{}, runtimes: map[string]bool{}, seen: map[string]bool{}}
	if a.covered == nil {
		a.covered = func(string) bool { return false }
	}
	dir := cmd.Dir
	if dir == "" {
		dir = "/"
	}
	if len(cmd.Argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	a.command(cmd.Argv, dir, "the entrypoint", 0)
	r := &Result{}
	for _, k := range sortedKeys(a.needs) {
		r.Needs = append(r.Needs, a.needs[k])
	}
	r.Unresolved = sortedKeys(a.unresolved)
	r.Warnings = sortedKeys(a.warnings)
	r.Runtimes = sortedKeys(a.runtimes)
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (a *analyzer) need(n Need) {
	old, ok := a.needs[n.Path]
	if ok {
		n.Tree = n.Tree || old.Tree
		n.Exec = n.Exec || old.Exec
		n.Optional = n.Optional && old.Optional
		n.Why = old.Why
	}
	a.needs[n.Path] = n
}

func (a *analyzer) unresolvedf(format string, args ...any) {
	a.unresolved[fmt.Sprintf(format, args...)] = true
}

func (a *analyzer) getenv(k string) (string, bool) {
	for i := len(a.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(a.env[i], k+"="); ok {
			return v, true
		}
	}
	return "", false
}

// lookPath finds file as exec does, through PATH unless it holds a slash.
func (a *analyzer) lookPath(file, dir string) (string, bool) {
	if strings.Contains(file, "/") {
		if !strings.HasPrefix(file, "/") {
			file = path.Join(dir, file)
		}
		return file, isFile(a.fsys, file)
	}
	p, ok := a.getenv("PATH")
	if !ok {
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, d := range strings.Split(p, ":") {
		if d == "" {
			d = dir
		}
		c := path.Join(d, file)
		if _, fi, ok := stat(a.fsys, c); ok && fi != nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return c, true
		}
	}
	return "", false
}

// kind names the runtime a program is, by its real name.
func kind(base string) string {
	trim := strings.TrimRight(base, "0123456789.")
	switch {
	case trim == "sh" || trim == "dash" || trim == "bash" || trim == "ash" || trim == "busybox" || trim == "mksh":
		return "shell"
	case trim == "java":
		return "jvm"
	case trim == "ruby":
		return "ruby"
	case trim == "perl":
		return "perl"
	case trim == "php" || trim == "php-cgi" || trim == "php-fpm":
		return "php"
	case trim == "python" || strings.HasPrefix(base, "python3") || strings.HasPrefix(base, "python2"):
		return "python"
	case trim == "node" || trim == "nodejs":
		return "node"
	case trim == "env":
		return "env"
	}
	return ""
}

// command follows argv: its program, the "#!" chain, the runtime it ends
// in and what that runtime is given.
func (a *analyzer) command(argv []string, dir, why string, depth int) {
	if depth > maxDepth || len(argv) == 0 {
		return
	}
	key := dir + "\x00" + strings.Join(argv, "\x00")
	if a.seen[key] {
		return
	}
	a.seen[key] = true
	prog, ok := a.lookPath(argv[0], dir)
	if !ok {
		if strings.Contains(argv[0], "/") {
			a.unresolvedf("%s (%s): not in the image; copy it with --add PATH or name the program with --binary", argv[0], why)
		} else {
			a.warnings[fmt.Sprintf("%s (%s): no directory of PATH holds it, in the source image either", argv[0], why)] = true
		}
		return
	}
	a.need(Need{Path: prog, Why: why, Exec: true})
	real, _, _ := Realpath(a.fsys, prog)
	// A "#!" script: its interpreter runs it, with the script as argument.
	if b := head(a.fsys, real, 256); bytes.HasPrefix(b, []byte("#!")) {
		line := string(b[2:])
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			a.unresolvedf("%s: its #! line names no interpreter", prog)
			return
		}
		interp := []string{f[0]}
		if len(f) > 1 {
			interp = append(interp, strings.Join(f[1:], " "))
		}
		if kind(path.Base(f[0])) == "env" && len(f) > 1 {
			interp = envArgs(f[1:])
			if len(interp) == 0 {
				a.unresolvedf("%s: #!%s runs no command", prog, line)
				return
			}
		}
		ireal := interp[0]
		if p, ok := a.lookPath(interp[0], dir); ok {
			ireal, _, _ = Realpath(a.fsys, p)
		}
		if kind(path.Base(ireal)) == "" && kind(path.Base(interp[0])) == "" {
			if !a.covered(real) {
				a.unresolvedf("%s: its interpreter %s is one imgslim knows nothing of, so what the script needs is unknown; copy what it reads with --add PATH", prog, interp[0])
			}
			a.need(Need{Path: interp[0], Why: "interpreter of " + prog, Exec: true})
			return
		}
		a.command(append(append(interp, prog), argv[1:]...), dir, "interpreter of "+prog, depth+1)
		return
	}
	switch kind(path.Base(real)) {
	case "shell":
		a.runtimes["shell"] = true
		a.shell(prog, argv, dir, depth)
	case "jvm":
		a.runtimes["jvm"] = true
		a.jvm(real, argv, dir)
	case "ruby":
		a.runtimes["ruby"] = true
		a.ruby(real, argv, dir, depth)
	case "perl":
		a.runtimes["perl"] = true
		a.perl(real, argv, dir)
	case "php":
		a.runtimes["php"] = true
		a.php(real, argv, dir)
	case "python":
		a.runtimes["python"] = true
		a.python(prog, real, argv, dir)
	case "node":
		a.runtimes["node"] = true
		a.node(real, argv, dir)
	case "env":
		if rest := envArgs(argv[1:]); len(rest) > 0 {
			a.command(rest, dir, "run by env", depth+1)
		}
	default:
		a.wrapper(prog, argv, dir, depth)
	}
	a.argPaths(argv[1:], dir, "named by the command line of "+prog)
}

// envArgs returns the command env runs given args: options, NAME=VALUE
// and -S's splitting handled.
func envArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch {
		case len(out) > 0:
			out = append(out, w)
		case w == "-S" || w == "--split-string":
			if i+1 < len(args) {
				return append(strings.Fields(strings.Join(args[i+1:], " ")), out...)
			}
		case strings.HasPrefix(w, "-S"):
			return strings.Fields(strings.TrimPrefix(w, "-S") + " " + strings.Join(args[i+1:], " "))
		case w == "-u" || w == "--unset" || w == "-C" || w == "--chdir":
			i++
		case w == "--":
		case strings.HasPrefix(w, "-"):
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "/"):
		default:
			out = append(out, w)
		}
	}
	return out
}

// wrappers are programs whose arguments hold a command they run, with
// the options of theirs that take a value.
var wrappers = map[string]map[string]bool{
	"nohup":     {},
	"setsid":    {},
	"nice":      {"-n": true, "--adjustment": true},
	"timeout":   {"-s": true, "--signal": true, "-k": true, "--kill-after": true},
	"xargs":     {"-I": true, "-n": true, "-P": true, "-d": true, "-L": true, "-s": true, "-a": true, "-E": true, "--max-args": true, "--max-procs": true, "--delimiter": true, "--arg-file": true},
	"stdbuf":    {},
	"tini":      {"-s": false},
	"dumb-init": {},
	"su-exec":   {},
	"gosu":      {},
	"chpst":     {"-u": true, "-U": true, "-e": true, "-n": true},
	"flock":     {"-w": true, "-E": true},
	"ionice":    {"-c": true, "-n": true},
	"taskset":   {},
	"watch":     {"-n": true},
	"socat":     {},
}

// wrapper follows a command a wrapper runs (xargs, nohup, timeout…), and
// socat's EXEC: and SYSTEM: addresses.
func (a *analyzer) wrapper(prog string, argv []string, dir string, depth int) {
	base := path.Base(prog)
	opts, ok := wrappers[base]
	if !ok {
		return
	}
	why := "run by " + prog
	if base == "socat" {
		for _, arg := range argv[1:] {
			typ, val, ok := strings.Cut(arg, ":")
			if !ok {
				continue
			}
			switch strings.ToUpper(typ) {
			case "EXEC":
				cmd, _, _ := strings.Cut(val, ",")
				a.command(strings.Fields(cmd), dir, why, depth+1)
			case "SYSTEM":
				cmd, _, _ := strings.Cut(val, ",")
				a.shellText(cmd, "socat SYSTEM: address", nil, dir, depth+1)
			}
		}
		return
	}
	args := argv[1:]
	skip := 0
	if base == "timeout" {
		skip = 1 // the duration
	}
	if base == "su-exec" || base == "gosu" || base == "chpst" || base == "taskset" {
		skip = 1 // the user or the CPU list
	}
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "--" {
			args = args[i+1:]
			break
		}
		if strings.HasPrefix(w, "-") {
			if opts[w] {
				i++
			}
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		args = args[i:]
		break
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		a.command(args, dir, why, depth+1)
	}
}

// systemDirs are never kept whole because an argument names them.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/sbin": true, "/etc": true, "/lib": true, "/lib64": true, "/usr": true,
	"/usr/bin": true, "/usr/sbin": true, "/usr/lib": true, "/usr/local": true, "/usr/local/bin": true,
	"/usr/share": true, "/var": true, "/var/lib": true, "/root": true, "/home": true, "/tmp": true, "/opt": true,
	"/usr/local/lib": true, "/usr/include": true, "/srv": true, "/dev": true, "/proc": true, "/sys": true,
	"/run": true, "/var/run": true, "/var/tmp": true, "/var/log": true, "/usr/lib64": true,
}

// argPaths keeps what the arguments name: a word, or the value of
// "--opt=VALUE", or a part of a ":"-separated list, that is a path in the
// image (relative ones against dir). A directory is kept whole.
func (a *analyzer) argPaths(args []string, dir, why string) {
	for _, arg := range args {
		var cands []string
		if _, v, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(arg, "-") {
			arg = v
		}
		for _, c := range strings.Split(arg, ":") {
			if c == "" || strings.ContainsAny(c, "$`*?\n") || len(c) > 4096 {
				continue
			}
			cands = append(cands, c)
		}
		for _, c := range cands {
			p := c
			if !strings.HasPrefix(p, "/") {
				if !strings.Contains(p, "/") && !strings.Contains(p, ".") {
					continue // a word, not a file name
				}
				p = path.Join(dir, p)
			}
			p = path.Clean(p)
			real, fi, ok := stat(a.fsys, p)
			if !ok || systemDirs[real] || systemDirs[p] || strings.HasPrefix(real, "/proc/") || strings.HasPrefix(real, "/dev/") {
				continue
			}
			a.need(Need{Path: p, Why: why, Tree: fi != nil && fi.IsDir()})
		}
	}
}

// pathArg keeps what an option that takes a path names (php -t DIR,
// ruby -I DIR), relative to dir, when the image has it.
func (a *analyzer) pathArg(arg, dir, why string) {
	for _, c := range strings.Split(arg, ":") {
		if c == "" || strings.ContainsAny(c, "$`*?") {
			continue
		}
		p := c
		if !strings.HasPrefix(p, "/") {
			p = path.Join(dir, p)
		}
		p = path.Clean(p)
		if real, fi, ok := stat(a.fsys, p); ok && !systemDirs[real] && !systemDirs[p] {
			a.need(Need{Path: p, Why: why, Tree: fi != nil && fi.IsDir()})
		}
	}
}

// script keeps the file an interpreter is given to run: it must exist.
func (a *analyzer) script(name, dir, interp string) (string, bool) {
	p := name
	if !strings.HasPrefix(p, "/") {
		p = path.Join(dir, p)
	}
	if !isFile(a.fsys, p) {
		a.unresolvedf("%s: the file %s runs is not in the image; fix the command line, or copy it with --add PATH", p, interp)
		return p, false
	}
	a.need(Need{Path: p, Why: "the script " + interp + " runs"})
	return p, true
}

// tree keeps dir whole when the image has it.
func (a *analyzer) tree(dir, why string) bool {
	if !isDir(a.fsys, dir) {
		return false
	}
	a.need(Need{Path: dir, Why: why, Tree: true})
	return true
}

// file keeps name when the image has it.
func (a *analyzer) file(name, why string) bool {
	if _, _, ok := stat(a.fsys, name); !ok {
		return false
	}
	a.need(Need{Path: name, Why: why})
	return true
}
