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

// ruleSet is one built-in rule set: from what the scan, the overlay and
// protect found (read through the plan), it selects what it removes.
type ruleSet interface {
	choose(p *Plan) (*selection, error)
}

// builtinSets are the sets by name, one file each (set_NAME.go). The
// package database purge (set_purge.go) serves docs, buildtools and
// packages, and runs once.
var builtinSets = map[string]ruleSet{
	SetCaches:     cachesSet{},
	SetVCS:        vcsSet{},
	SetDevDeps:    devDepsSet{},
	SetSources:    sourcesSet{},
	SetDocs:       docsSet{},
	SetBuildTools: buildToolsSet{},
	SetSecrets:    secretsSet{},
	SetPackages:   packageDBSet{},
}

// selection is what a set chose: patterns matched against every path,
// paths chosen from the image's contents (a directory with its tree,
// unless exact), and for the package database purge the files imgslim
// rewrites, the packages removed and kept, with its warnings.
type selection struct {
	set          string
	rules        *Rules
	paths        map[string]setChoice
	replace      map[string][]byte
	symlinks     map[string]string
	packages     []string
	packagesKept map[string]string
	warnings     []string
}

func newSelection(set string) *selection {
	return &selection{set: set, paths: map[string]setChoice{}, replace: map[string][]byte{}, symlinks: map[string]string{}}
}

// patternSelection is the selection of a set made of patterns alone.
func patternSelection(set string, pats []string) (*selection, error) {
	sel := newSelection(set)
	if len(pats) > 0 {
		r, err := NewRules(pats, nil)
		if err != nil {
			return nil, fmt.Errorf("rule set %s: %w", set, err)
		}
		sel.rules = r
	}
	return sel, nil
}

// add merges sel into what the plan's sets chose: a later choice of a path
// replaces an earlier one, as the sets run in AllSets order.
func (p *Plan) add(sel *selection) {
	if sel.rules != nil {
		p.setRules[sel.set] = sel.rules
	}
	for k, v := range sel.paths {
		p.setPaths[k] = v
	}
	for k, v := range sel.replace {
		p.replace[k] = v
	}
	for k, v := range sel.symlinks {
		p.symlinks[k] = v
	}
	if sel.packagesKept != nil {
		p.packages, p.packagesKept = sel.packages, sel.packagesKept
	}
	p.setWarnings = append(p.setWarnings, sel.warnings...)
}

// setOrder lists the steps chooseSets runs: the enabled sets in AllSets
// order, the package database purge after the first set that asks for it
// (docs or buildtools), or at the end for the packages set alone.
func (p *Plan) setOrder() []ruleSet {
	var steps []ruleSet
	purge := false
	for _, set := range append(AllSets[:len(AllSets):len(AllSets)], OptInSets...) {
		switch {
		case !p.enabled(set):
		case set == SetPackages:
			if !purge {
				steps, purge = append(steps, builtinSets[set]), true
			}
		default:
			steps = append(steps, builtinSets[set])
			if (set == SetDocs || set == SetBuildTools) && !purge {
				steps, purge = append(steps, packageDBSet{}), true
			}
		}
	}
	return steps
}

// chooseSets works out what must stay, then what each enabled set
// removes.
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
	for _, s := range p.setOrder() {
		sel, err := s.choose(p)
		if err != nil {
			return err
		}
		p.add(sel)
	}
	if !p.enabled(SetSecrets) {
		// Secrets are reported even when the set does not remove them.
		return p.findSecrets(nil, nil)
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
