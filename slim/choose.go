package slim

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// Skip is a protected path that a rule matched and that stayed.
type Skip struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
	Why  string `json:"why"`
}

// wantContent says which files the scan keeps in memory for the rule sets.
func (p *Plan) wantContent(name string, size int64) bool {
	if size > 64<<20 {
		return false
	}
	base := path.Base(name)
	inModules := strings.Contains(name, "/node_modules/")
	switch {
	case name == "/var/lib/dpkg/status", name == "/var/lib/apt/extended_states",
		strings.HasPrefix(name, "/var/lib/dpkg/info/") && strings.HasSuffix(name, ".list"),
		strings.HasPrefix(name, "/var/lib/dpkg/alternatives/"), strings.HasPrefix(name, "/var/lib/dpkg/triggers/"),
		name == "/lib/apk/db/installed", name == "/etc/apk/world", name == "/lib/apk/db/triggers", name == "/lib/apk/db/scripts.tar",
		name == "/etc/ld.so.conf", strings.HasPrefix(name, "/etc/ld.so.conf.d/"), name == "/etc/nsswitch.conf":
		return true
	case !inModules && (base == "package-lock.json" || base == "npm-shrinkwrap.json" || base == "package.json" || base == "tsconfig.json"):
		return true
	case base == ".npmrc" || base == ".pypirc" || base == ".netrc" || base == ".git-credentials" ||
		strings.HasSuffix(name, "/.docker/config.json") || strings.HasSuffix(name, "/.aws/credentials"):
		return true
	}
	return false
}

func (p *Plan) enabled(set string) bool {
	for _, s := range p.o.sets {
		if s == set {
			return true
		}
	}
	return false
}

// chooseSets works out what each enabled set removes and what must stay.
func (p *Plan) chooseSets() error {
	p.setRules = map[string]*Rules{}
	p.setPaths = map[string]setChoice{}
	p.skipped = map[string]*Skip{}
	a := p.app
	if p.enabled(SetCaches) || p.enabled(SetSources) || p.enabled(SetBuildTools) {
		a.goBin = p.programIsGo()
	}
	// What the program needs is known first: the package sets must not
	// take a package that holds it.
	if err := p.protect(); err != nil {
		return err
	}
	for _, set := range AllSets {
		if !p.enabled(set) {
			continue
		}
		if pats := p.setPatterns(set, a); len(pats) > 0 {
			r, err := NewRules(pats, nil)
			if err != nil {
				return fmt.Errorf("rule set %s: %w", set, err)
			}
			p.setRules[set] = r
		}
		switch set {
		case SetSources:
			for name, why := range p.sourcePaths(a) {
				p.setPaths[name] = setChoice{set: SetSources, why: why}
			}
		case SetSecrets:
			p.findSecrets()
		case SetDevDeps:
			if err := p.chooseDevDeps(); err != nil {
				return err
			}
		case SetBuildTools, SetDocs:
			// One purge serves both: documentation packages go with
			// the docs set, the toolchain with buildtools.
			if err := p.chooseBuildTools(); err != nil {
				return err
			}
		}
	}
	if !p.enabled(SetSecrets) {
		// Secrets are reported even when the set does not remove them.
		p.findSecrets()
	}
	if p.enabled(SetPackages) {
		return p.chooseBuildTools() // the same purge, with more asked for
	}
	return nil
}

// programIsGo reports whether the entrypoint's program is a Go binary.
func (p *Plan) programIsGo() bool {
	if p.app.program == "" {
		return false
	}
	files, err := p.fetch([]string{p.app.program})
	if err != nil {
		return false
	}
	f, ok := files[p.app.program]
	return ok && isGoBinary(f)
}

// removes reports whether the user's rules or an enabled set remove name,
// and which, unless name must stay.
func (p *Plan) removes(name string, rules *Rules) (rm bool, why, root string) {
	if rm, why = rules.Removes(name); rm {
		root = rules.root(name)
	} else {
		rm, why, root = p.setRemoves(name)
	}
	if !rm || rules.Keeps(name) {
		// --keep beats every removal, the built-in sets' included.
		return false, "", ""
	}
	if reason, ok := p.isProtected(name); ok {
		if _, seen := p.skipped[name]; !seen {
			p.skipped[name] = &Skip{Path: name, Rule: why, Why: reason}
		}
		return false, "", ""
	}
	return true, why, root
}

// setRemoves reports whether an enabled set removes name, why, and the
// tree the set chose.
func (p *Plan) setRemoves(name string) (bool, string, string) {
	for _, set := range AllSets {
		if r := p.setRules[set]; r != nil {
			if rm, pat := r.Removes(name); rm {
				return true, set + ": " + pat, r.root(name)
			}
		}
	}
	for d := name; ; d = path.Dir(d) {
		if c, ok := p.setPaths[d]; ok && (!c.exact || d == name) {
			return true, c.set + ": " + c.why, d
		}
		if d == "/" {
			return false, "", ""
		}
	}
}

func (p *Plan) isProtected(name string) (string, bool) {
	if why, ok := p.protected[name]; ok {
		return why, true
	}
	for _, t := range p.protTrees {
		if layers.Within(name, t) {
			return "needed at run time (" + t + ")", true
		}
	}
	return "", false
}

// protect marks what the program needs: never removed, by a set or by the
// user's patterns.
func (p *Plan) protect() error {
	p.protected = map[string]string{}
	a := p.app
	add := func(name, why string) {
		if _, ok := p.protected[name]; !ok {
			p.protected[name] = why
		}
	}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ca-certificates.conf", "/etc/ssl/cert.pem"} {
		add(f, "needed by every program")
	}
	p.protTrees = []string{"/etc/ssl/certs", "/usr/share/ca-certificates", "/etc/pki", "/usr/local/share/ca-certificates"}
	if a.program != "" {
		// The name the entrypoint uses and every link on the way.
		for _, c := range p.linkChain(a.argv[0], a.path) {
			add(c, "the entrypoint "+a.argv[0])
		}
		if err := p.protectClosure(a.program); err != nil {
			return err
		}
	}
	if a.script != "" {
		add(a.script, "the file the entrypoint runs")
	}
	if a.appDir != "" {
		add(path.Join(a.appDir, "package.json"), "the application's package.json")
		if b, ok := p.content(path.Join(a.appDir, "package.json")); ok {
			if main := packageMain(b); main != "" {
				m := path.Join(a.appDir, main)
				for _, c := range []string{m, m + ".js", path.Join(m, "index.js")} {
					if p.view.exists(c) {
						add(c, "package.json main")
					}
				}
			}
		}
	}
	return nil
}

// linkChain returns the paths exec goes through to reach argv0: the name
// found in PATH and each symlink it leads to.
func (p *Plan) linkChain(argv0 string, dirs []string) []string {
	var start []string
	if strings.Contains(argv0, "/") {
		start = []string{layers.Clean(argv0)}
	} else {
		for _, d := range dirs {
			start = append(start, path.Join(d, argv0))
		}
	}
	for _, s := range start {
		var chain []string
		cur := s
		for range 40 {
			n, ok := p.view.lookup(cur)
			if !ok {
				break
			}
			chain = append(chain, cur)
			if n.typ != tar.TypeSymlink {
				return chain
			}
			t := n.link
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(cur), t)
			}
			r, _ := p.view.resolve(path.Dir(layers.Clean(t)))
			cur = path.Join(r, path.Base(t))
		}
	}
	return nil
}

func packageMain(b []byte) string {
	var pkg struct {
		Main string `json:"main"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return ""
	}
	return pkg.Main
}

// packagedFiles returns the paths dpkg's file lists name: a key a Debian
// package ships (an example, a test vector) was published by Debian, not
// leaked by the image's authors.
func (p *Plan) packagedFiles() map[string]bool {
	out := map[string]bool{}
	for _, name := range p.view.list("/var/lib/dpkg/info") {
		if !strings.HasSuffix(name, ".list") {
			continue
		}
		b, _ := p.dpkgList(name)
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" {
				out[p.realPath(line)] = true
			}
		}
	}
	return out
}

// dpkgList returns the paths a dpkg file list names, read on demand and
// line by line: memory follows the paths, not the file's size.
func (p *Plan) dpkgList(name string) ([]byte, bool) {
	rc, ok := p.openContent(name)
	if !ok {
		return nil, false
	}
	defer rc.Close()
	return pathLines(rc), true
}

// fixture reports whether a key lies where libraries keep test keys and
// examples: dependency trees and toolchains ship them by the hundred.
func fixture(name string) bool {
	for _, part := range []string{"/node_modules/", "/pkg/mod/", "/site-packages/", "/dist-packages/", "/testdata/", "/test/", "/tests/", "/fixtures/", "/examples/"} {
		if strings.Contains(name, part) {
			return true
		}
	}
	return strings.HasPrefix(name, "/usr/share/") || strings.HasPrefix(name, "/usr/lib/") || strings.HasPrefix(name, "/usr/local/go/")
}
