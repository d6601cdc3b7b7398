package runtimes

import (
	"path"
	"regexp"
	"sort"
	"strings"
)

// Ruby: rbconfig.rb says where the interpreter's libraries are (rubylibdir,
// archdir, the vendor and site dirs); RubyGems finds gems in its gem
// directories (the default one, GEM_PATH, and the ones a distribution's
// rubygems/defaults/operating_system.rb adds); bundler, when the program
// starts through `bundle exec`, loads the Gemfile, checks every gem of
// Gemfile.lock, of every group, is installed, and activates them.

var (
	rbConfigLine = regexp.MustCompile(`(?m)^\s*CONFIG\["([A-Za-z0-9_]+)"\]\s*=\s*(.*)$`)
	rbQuoted     = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	rbRef        = regexp.MustCompile(`\$\(([A-Za-z0-9_]+)\)`)
	rbLockSpec   = regexp.MustCompile(`^    ([A-Za-z0-9_.-]+) \(([^)]+)\)$`)
	rbOSPath     = regexp.MustCompile(`["'](/[^"'\s]*)["']`)
	rbInterp     = regexp.MustCompile(`#\{[^}]*\}`)
)

// rbConfig reads the CONFIG of rbconfig.rb, "$(name)" references expanded.
func rbConfig(src string) map[string]string {
	raw := map[string]string{}
	for _, m := range rbConfigLine.FindAllStringSubmatch(src, -1) {
		qs := rbQuoted.FindAllStringSubmatch(m[2], -1)
		if len(qs) == 0 {
			continue
		}
		// `(TOPDIR || DESTDIR + "/usr")`: the last literal is the value
		// when Ruby runs where it was installed.
		raw[m[1]] = qs[len(qs)-1][1]
	}
	out := map[string]string{}
	var expand func(k string, depth int) string
	expand = func(k string, depth int) string {
		if v, ok := out[k]; ok {
			return v
		}
		v := raw[k]
		if depth > 20 {
			return v
		}
		v = rbRef.ReplaceAllStringFunc(v, func(ref string) string {
			return expand(rbRef.FindStringSubmatch(ref)[1], depth+1)
		})
		out[k] = v
		return v
	}
	for k := range raw {
		expand(k, 0)
	}
	return out
}

func (a *analyzer) ruby(real string, argv []string, dir string, depth int) {
	prefix := path.Dir(path.Dir(real))
	ver := strings.TrimPrefix(path.Base(real), "ruby") // "3.1", or ""
	var cfg map[string]string
	cfgPath := ""
	for _, c := range find(a.fsys, path.Join(prefix, "lib"), "rbconfig.rb", 5) {
		b, err := readFile(a.fsys, c, maxRead)
		if err != nil {
			continue
		}
		m := rbConfig(string(b))
		if m["rubylibdir"] == "" {
			continue
		}
		if cfg == nil || ver != "" && m["MAJOR"]+"."+m["MINOR"] == ver {
			cfg, cfgPath = m, c
		}
	}
	if cfg == nil {
		a.unresolvedf("%s: no rbconfig.rb under %s, so where its libraries are is unknown; copy them with --add PATH", real, path.Join(prefix, "lib"))
		return
	}
	why := "Ruby's libraries (" + cfgPath + ")"
	a.file(cfgPath, why)
	for _, k := range []string{"rubylibdir", "rubyarchdir", "archdir", "vendordir", "vendorlibdir", "vendorarchdir", "sitedir", "sitelibdir", "sitearchdir"} {
		if d := cfg[k]; strings.HasPrefix(d, "/") {
			a.tree(d, why+": "+k)
		}
	}
	gemDirs := a.gemDirs(cfg)
	// Every gem directory's specifications: RubyGems reads them all to
	// activate a gem, and they are small.
	for _, g := range gemDirs {
		a.tree(path.Join(g, "specifications"), "RubyGems' specifications")
		// A default gem's library is in rubylibdir; its executables (bundler's
		// libexec/bundle, which /usr/bin/bundle loads) in its gem directory.
		for _, s := range list(a.fsys, path.Join(g, "specifications/default")) {
			if name, ok := strings.CutSuffix(s, ".gemspec"); ok {
				a.tree(path.Join(g, "gems", name), "default gem "+name)
			}
		}
	}

	// ruby's options, then the script and its arguments.
	var script string
	var rest []string
	for i := 1; i < len(argv); i++ {
		w := argv[i]
		switch {
		case w == "-e" || w == "-E":
			return // a program on the command line: the gems are unknown
		case w == "-I" || w == "-r" || w == "-C":
			if i+1 < len(argv) {
				if w == "-I" {
					a.pathArg(argv[i+1], dir, "ruby -I")
				}
				i++
			}
		case w == "--":
			if i+1 < len(argv) {
				script, rest = argv[i+1], argv[i+2:]
			}
			i = len(argv)
		case strings.HasPrefix(w, "-"):
		default:
			script, rest = w, argv[i+1:]
			i = len(argv)
		}
	}
	if script == "" {
		return
	}
	p, ok := a.script(script, dir, "ruby")
	if !ok {
		return
	}
	base := path.Base(p)
	if base != "bundle" && base != "bundler" {
		if a.bundled {
			return // bundle exec activated the lockfile's gems
		}
		// Without bundler any installed gem may be required.
		for _, g := range gemDirs {
			a.need(Need{Path: g, Why: "RubyGems' gems", Tree: true, Except: []string{"cache", "doc", "build_info"}})
		}
		return
	}
	a.bundler(cfg, gemDirs, rest, dir, depth)
}

// gemDirs returns the gem directories RubyGems searches: GEM_HOME,
// GEM_PATH, the default one, and the ones operating_system.rb names.
func (a *analyzer) gemDirs(cfg map[string]string) []string {
	ver := cfg["ruby_version"]
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if d != "" && !seen[d] && isDir(a.fsys, d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, k := range []string{"GEM_HOME", "GEM_PATH"} {
		if v, ok := a.getenv(k); ok {
			for _, d := range strings.Split(v, ":") {
				add(d)
			}
		}
	}
	if p := cfg["rubylibprefix"]; p != "" {
		add(path.Join(p, "gems", ver))
	}
	// A distribution's rubygems/defaults/operating_system.rb (in any
	// library directory) adds its own, written as Ruby strings with the
	// version and the architecture interpolated.
	for _, k := range []string{"rubylibdir", "vendordir", "vendorlibdir", "sitedir", "sitelibdir"} {
		os := path.Join(cfg[k], "rubygems/defaults/operating_system.rb")
		b, err := readFile(a.fsys, os, maxRead)
		if err != nil || cfg[k] == "" {
			continue
		}
		src := rbInterp.ReplaceAllStringFunc(string(b), func(m string) string {
			switch inner := strings.ToLower(m); {
			case strings.Contains(inner, "version"):
				return ver
			case strings.Contains(inner, "arch"):
				return cfg["arch"]
			}
			return m
		})
		for _, m := range rbOSPath.FindAllStringSubmatch(src, -1) {
			d := m[1]
			if strings.Contains(d, "#{") {
				continue
			}
			if isDir(a.fsys, path.Join(d, "specifications")) {
				add(d)
			}
			// A root of versioned gem directories ("/usr/share/rubygems-integration").
			for _, sub := range []string{ver, "all"} {
				if isDir(a.fsys, path.Join(d, sub, "specifications")) {
					add(path.Join(d, sub))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// lockedGem is a gem of Gemfile.lock.
type lockedGem struct{ name, version string }

// parseGemfileLock returns the specs of every source section (GEM, PATH,
// GIT) and the version of bundler it was written with.
func parseGemfileLock(s string) (gems []lockedGem, bundled string) {
	section := ""
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, "\r")
		if line != "" && line[0] != ' ' {
			section = line
			if section == "BUNDLED WITH" && i+1 < len(lines) {
				bundled = strings.TrimSpace(lines[i+1])
			}
			continue
		}
		if section != "GEM" && section != "PATH" && section != "GIT" {
			continue
		}
		if m := rbLockSpec.FindStringSubmatch(line); m != nil {
			gems = append(gems, lockedGem{m[1], m[2]})
		}
	}
	return gems, bundled
}

// bundler keeps the Gemfile, its lockfile and every gem the lockfile
// lists, then follows what `bundle exec` runs.
func (a *analyzer) bundler(cfg map[string]string, gemDirs, args []string, dir string, depth int) {
	gemfile := ""
	if v, ok := a.getenv("BUNDLE_GEMFILE"); ok && v != "" {
		gemfile = v
		if !strings.HasPrefix(gemfile, "/") {
			gemfile = path.Join(dir, gemfile)
		}
	} else {
		for d := dir; ; d = path.Dir(d) {
			for _, n := range []string{"Gemfile", "gems.rb"} {
				if isFile(a.fsys, path.Join(d, n)) {
					gemfile = path.Join(d, n)
					break
				}
			}
			if gemfile != "" || d == "/" {
				break
			}
		}
	}
	if gemfile == "" {
		a.unresolvedf("bundle in %s: no Gemfile there or above, so its gems are unknown", dir)
		return
	}
	a.need(Need{Path: gemfile, Why: "bundler's Gemfile"})
	lock := gemfile + ".lock"
	if path.Base(gemfile) == "gems.rb" {
		lock = path.Join(path.Dir(gemfile), "gems.locked")
	}
	b, err := readFile(a.fsys, lock, maxRead)
	if err != nil {
		a.unresolvedf("%s: no lockfile beside it, so which gems bundler loads is unknown; run bundle lock in the image", gemfile)
		return
	}
	a.need(Need{Path: lock, Why: "bundler's lockfile"})
	a.tree(path.Join(path.Dir(gemfile), ".bundle"), "bundler's configuration")
	gems, bundled := parseGemfileLock(string(b))
	if bundled != "" {
		gems = append(gems, lockedGem{"bundler", bundled})
	}
	for _, g := range gems {
		a.gem(gemDirs, g, lock)
	}
	// bundle exec CMD…
	for i, w := range args {
		if w == "exec" || w == "ex" {
			if i+1 < len(args) {
				a.bundled = true
				a.command(args[i+1:], dir, "run by bundle exec", depth+1)
				a.bundled = false
			}
			return
		}
		if !strings.HasPrefix(w, "-") {
			return
		}
	}
}

// gem keeps one installed gem: its specification, its directory (not the
// ext/ build tree) and its built extensions.
func (a *analyzer) gem(gemDirs []string, g lockedGem, lock string) {
	full := g.name + "-" + g.version
	why := "gem " + full + " of " + lock
	found := false
	for _, d := range gemDirs {
		specs := path.Join(d, "specifications")
		for _, s := range list(a.fsys, specs) {
			// name-version.gemspec, or name-version-PLATFORM.gemspec for
			// a platform the lockfile left out.
			if s != full+".gemspec" && !(strings.HasPrefix(s, full+"-") && strings.HasSuffix(s, ".gemspec") && !strings.ContainsAny(strings.TrimPrefix(s, full+"-"), "0123456789")) {
				continue
			}
			found = true
			dirName := strings.TrimSuffix(s, ".gemspec")
			a.need(Need{Path: path.Join(specs, s), Why: why})
			if gd := path.Join(d, "gems", dirName); isDir(a.fsys, gd) {
				a.need(Need{Path: gd, Why: why, Tree: true, Except: []string{"ext", "test", "spec", "tests"}})
			}
			// extensions/PLATFORM/ABI/NAME-VERSION: where RubyGems loads
			// a compiled extension from.
			ext := path.Join(d, "extensions")
			for _, plat := range list(a.fsys, ext) {
				for _, abi := range list(a.fsys, path.Join(ext, plat)) {
					a.tree(path.Join(ext, plat, abi, dirName), why+": its compiled extension")
				}
			}
		}
	}
	if !found {
		a.warnings[why+": not installed in any gem directory ("+strings.Join(gemDirs, ", ")+"); bundle exec fails in the source image too"] = true
	}
}
