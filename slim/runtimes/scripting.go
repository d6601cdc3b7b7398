package runtimes

import (
	"path"
	"regexp"
	"strings"
)

// Perl, PHP, Python and Node: the interpreter's module trees, found from
// its own files, and the script its command line names.

var perlConfigExp = regexp.MustCompile(`(?m)^\s*(privlibexp|archlibexp|sitelibexp|sitearchexp|vendorlibexp|vendorarchexp)\s*=>\s*'([^']*)'`)
var perlOtherLibs = regexp.MustCompile(`(?m)^otherlibdirs='([^']*)'`)
var perlHeavyExp = regexp.MustCompile(`(?m)^(privlibexp|archlibexp|sitelibexp|sitearchexp|vendorlibexp|vendorarchexp)='([^']*)'`)

// perl keeps @INC's trees, as Config.pm and Config_heavy.pl give them.
func (a *analyzer) perl(real string, argv []string, dir string) {
	prefix := path.Dir(path.Dir(real))
	why := "Perl's modules"
	found := false
	for _, c := range find(a.fsys, path.Join(prefix, "lib"), "Config.pm", 4) {
		b, err := readFile(a.fsys, c, maxRead)
		if err != nil {
			continue
		}
		ms := perlConfigExp.FindAllStringSubmatch(string(b), -1)
		if len(ms) == 0 {
			continue
		}
		found = true
		a.tree(path.Dir(c), why+" ("+c+")")
		for _, m := range ms {
			if strings.HasPrefix(m[2], "/") {
				a.tree(m[2], why+": "+m[1])
			}
		}
		if h, err := readFile(a.fsys, path.Join(path.Dir(c), "Config_heavy.pl"), maxRead); err == nil {
			for _, m := range perlHeavyExp.FindAllStringSubmatch(string(h), -1) {
				if strings.HasPrefix(m[2], "/") {
					a.tree(m[2], why+": "+m[1])
				}
			}
			for _, m := range perlOtherLibs.FindAllStringSubmatch(string(h), -1) {
				for _, d := range strings.Split(m[1], ":") {
					if strings.HasPrefix(d, "/") {
						a.tree(d, why+": otherlibdirs")
					}
				}
			}
		}
	}
	if !found {
		a.unresolvedf("%s: no Config.pm under %s, so where its modules are is unknown; copy them with --add PATH", real, path.Join(prefix, "lib"))
		return
	}
	if v, ok := a.getenv("PERL5LIB"); ok {
		for _, d := range strings.Split(v, ":") {
			if strings.HasPrefix(d, "/") && !systemDirs[d] {
				a.tree(d, "PERL5LIB")
			}
		}
	}
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-e" || w == "-E":
			return
		case w == "-I" && i+1 < len(argv):
			a.pathArg(argv[i+1], dir, "perl -I")
			i++
		case w == "--":
			if i+1 < len(argv) {
				a.script(argv[i+1], dir, "perl")
			}
			return
		case strings.HasPrefix(w, "-"):
		default:
			a.script(w, dir, "perl")
			return
		}
	}
}

// php keeps PHP's extension and library trees and its configuration.
func (a *analyzer) php(real string, argv []string, dir string) {
	prefix := path.Dir(path.Dir(real))
	why := "PHP's modules"
	if !a.tree(path.Join(prefix, "lib/php"), why) {
		a.unresolvedf("%s: no %s, so where its extensions are is unknown; copy them with --add PATH", real, path.Join(prefix, "lib/php"))
		return
	}
	a.tree(path.Join(prefix, "share/php"), why)
	// php.ini and conf.d: /etc/php for /usr, PREFIX/etc/php otherwise.
	for _, d := range []string{path.Join(prefix, "etc/php"), "/etc/php", path.Join(prefix, "etc")} {
		if len(find(a.fsys, d, "php.ini", 4)) > 0 || len(find(a.fsys, d, "php.ini-production", 2)) > 0 {
			a.tree(d, "PHP's configuration")
			break
		}
	}
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-r":
			return
		case w == "-S" || w == "-c" || w == "-d" || w == "-z":
			if w == "-c" && i+1 < len(argv) {
				a.pathArg(argv[i+1], dir, "php -c")
			}
			i++
		case w == "-t" && i+1 < len(argv):
			a.pathArg(argv[i+1], dir, "php -t (the document root)")
			i++
		case w == "-f" && i+1 < len(argv):
			a.script(argv[i+1], dir, "php")
			return
		case strings.HasPrefix(w, "-"):
		default:
			a.script(w, dir, "php")
			return
		}
	}
}

// node keeps the module trees of Debian's nodejs and NODE_PATH, and the
// script.
func (a *analyzer) node(real string, argv []string, dir string) {
	prefix := path.Dir(path.Dir(real))
	for _, d := range []string{path.Join(prefix, "share/nodejs"), path.Join(prefix, "lib/nodejs")} {
		a.tree(d, "Node's modules")
	}
	if v, ok := a.getenv("NODE_PATH"); ok {
		for _, d := range strings.Split(v, ":") {
			if strings.HasPrefix(d, "/") && !systemDirs[d] {
				a.tree(d, "NODE_PATH")
			}
		}
	}
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-e" || w == "-p" || w == "--eval" || w == "--print":
			return
		case w == "-r" || w == "--require" || w == "--import" || w == "--loader":
			i++
		case strings.HasPrefix(w, "-"):
		default:
			a.nodeMain(w, dir)
			return
		}
	}
}

// nodeMain keeps the module node is given as require would find it: the
// file, NAME.js/.mjs/.cjs/.json, or a directory (its package.json's main,
// index.js).
func (a *analyzer) nodeMain(name, dir string) {
	p := name
	if !strings.HasPrefix(p, "/") {
		p = path.Join(dir, p)
	}
	if isFile(a.fsys, p) {
		a.need(Need{Path: p, Why: "the script node runs"})
		return
	}
	for _, ext := range []string{".js", ".mjs", ".cjs", ".json", ".node"} {
		if isFile(a.fsys, p+ext) {
			a.need(Need{Path: p + ext, Why: "the script node runs"})
			return
		}
	}
	if isDir(a.fsys, p) && !systemDirs[p] {
		a.need(Need{Path: p, Why: "the package node runs", Tree: true})
		return
	}
	a.script(name, dir, "node") // names it unresolved
}
