package slim

import (
	"fmt"
	"path"
	"strings"
)

// The built-in rule sets, in the order the report lists them.
const (
	SetCaches     = "caches"
	SetVCS        = "vcs"
	SetDevDeps    = "devdeps"
	SetSources    = "sources"
	SetDocs       = "docs"
	SetBuildTools = "buildtools"
	SetSecrets    = "secrets"
	// SetPackages purges the packages the program does not need; opt-in.
	SetPackages = "packages"
)

// AllSets lists every built-in set "all" stands for.
var AllSets = []string{SetCaches, SetVCS, SetDevDeps, SetSources, SetDocs, SetBuildTools, SetSecrets}

// OptInSets are the built-in sets "all" leaves out: they change what the
// image can do (no package a shell session would want stays), so a user
// asks for them by name.
var OptInSets = []string{SetPackages}

// ParseSets reads a comma-separated list of set names; "all" and "none"
// stand for every set and no set.
func ParseSets(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "":
		case "all":
			out = append(out, AllSets...)
		case "none":
		default:
			known := false
			for _, k := range append(AllSets[:len(AllSets):len(AllSets)], OptInSets...) {
				known = known || k == s
			}
			if !known {
				return nil, fmt.Errorf("unknown rule set %q (known: %s)", s, strings.Join(append(AllSets[:len(AllSets):len(AllSets)], OptInSets...), ", "))
			}
			out = append(out, s)
		}
	}
	return out, nil
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

// setRemoves reports whether an enabled set removes name, why, and the
// tree the set chose.
func (p *Plan) setRemoves(name string) (bool, string, string) {
	return setRemoves(p.setRules, p.setPaths, name)
}

// setRemoves reports whether a set's patterns (setRules) or the paths the
// sets chose (setPaths) remove name, why, and the tree chosen.
func setRemoves(setRules map[string]*Rules, setPaths map[string]setChoice, name string) (bool, string, string) {
	for _, set := range AllSets {
		if r := setRules[set]; r != nil {
			if rm, pat := r.Removes(name); rm {
				return true, set + ": " + pat, r.root(name)
			}
		}
	}
	for d := name; ; d = path.Dir(d) {
		if c, ok := setPaths[d]; ok && (!c.exact || d == name) {
			return true, c.set + ": " + c.why, d
		}
		if d == "/" {
			return false, "", ""
		}
	}
}
