package dpkg

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Where update-alternatives keeps its state.
const (
	AltAdminDir = "/var/lib/dpkg/alternatives" // one file per link group
	AltDir      = "/etc/alternatives"          // the symlinks to the chosen paths
)

// AltChanges is what update-alternatives does to the file system when the
// removed packages' prerm scripts take their choices out of the link groups
// (update-alternatives --remove NAME PATH).
type AltChanges struct {
	// Remove are the paths to delete: the admin file, the links and the
	// AltDir entries of a group left without choices, and the links of
	// slaves the new choice does not have. Sorted.
	Remove []string
	// Write maps an admin file to its new content, for the groups that keep
	// some choices.
	Write map[string][]byte
	// Symlinks maps a symlink to its new target, for the groups whose
	// current choice went: AltDir/NAME -> the new choice, and the generic
	// link -> AltDir/NAME, for the master and each slave.
	Symlinks map[string]string
}

// altGroup is an update-alternatives admin file.
type altGroup struct {
	name    string
	manual  bool
	link    string
	slaves  []altSlave
	choices []altChoice
}

type altSlave struct{ name, link string }

type altChoice struct {
	path     string
	priority int
	slaves   []string // one per group slave, "" when the choice has none
}

// parseAltGroup reads an admin file: the mode, the master link, pairs of
// slave name and link up to an empty line, then for each choice its path,
// its priority and one line per slave, up to an empty line.
func parseAltGroup(name string, data []byte) (*altGroup, error) {
	lines := strings.Split(string(data), "\n")
	next := func(what string) (string, error) {
		if len(lines) < 2 { // the last element follows the final newline
			return "", fmt.Errorf("alternatives %s: unexpected end of file reading %s", name, what)
		}
		l := lines[0]
		lines = lines[1:]
		return l, nil
	}
	g := &altGroup{name: name}
	mode, err := next("the mode")
	if err != nil {
		return nil, err
	}
	if mode != "auto" && mode != "manual" {
		return nil, fmt.Errorf("alternatives %s: got mode %q, want auto or manual", name, mode)
	}
	g.manual = mode == "manual"
	if g.link, err = next("the link"); err != nil {
		return nil, err
	}
	for {
		sname, err := next("a slave name")
		if err != nil {
			return nil, err
		}
		if sname == "" {
			break
		}
		slink, err := next("a slave link")
		if err != nil {
			return nil, err
		}
		g.slaves = append(g.slaves, altSlave{sname, slink})
	}
	for {
		path, err := next("a choice")
		if err != nil {
			return nil, err
		}
		if path == "" {
			break
		}
		prio, err := next("a priority")
		if err != nil {
			return nil, err
		}
		c := altChoice{path: path}
		if c.priority, err = strconv.Atoi(prio); err != nil {
			return nil, fmt.Errorf("alternatives %s: priority of %s: got %q, want an integer", name, path, prio)
		}
		for range g.slaves {
			s, err := next("a slave path")
			if err != nil {
				return nil, err
			}
			c.slaves = append(c.slaves, s)
		}
		g.choices = append(g.choices, c)
	}
	// update-alternatives writes them so; best() depends on it.
	slices.SortStableFunc(g.choices, func(a, b altChoice) int { return strings.Compare(a.path, b.path) })
	return g, nil
}

// best is update-alternatives' alternative_get_best: the first choice of
// the highest priority, choices being sorted by path.
func (g *altGroup) best() *altChoice {
	var b *altChoice
	for i := range g.choices {
		if b == nil || g.choices[i].priority > b.priority {
			b = &g.choices[i]
		}
	}
	return b
}

func (g *altGroup) choice(path string) *altChoice {
	for i := range g.choices {
		if g.choices[i].path == path {
			return &g.choices[i]
		}
	}
	return nil
}

// marshal writes the admin file as alternative_save does: slaves no choice
// has are dropped, slaves sorted by name, choices by path.
func (g *altGroup) marshal() []byte {
	var keep []int
	for i := range g.slaves {
		if slices.ContainsFunc(g.choices, func(c altChoice) bool { return c.slaves[i] != "" }) {
			keep = append(keep, i)
		}
	}
	slices.SortFunc(keep, func(a, b int) int { return strings.Compare(g.slaves[a].name, g.slaves[b].name) })
	choices := slices.Clone(g.choices)
	slices.SortFunc(choices, func(a, b altChoice) int { return strings.Compare(a.path, b.path) })
	var b bytes.Buffer
	mode := "auto"
	if g.manual {
		mode = "manual"
	}
	fmt.Fprintf(&b, "%s\n%s\n", mode, g.link)
	for _, i := range keep {
		fmt.Fprintf(&b, "%s\n%s\n", g.slaves[i].name, g.slaves[i].link)
	}
	b.WriteString("\n")
	for _, c := range choices {
		fmt.Fprintf(&b, "%s\n%d\n", c.path, c.priority)
		for _, i := range keep {
			fmt.Fprintf(&b, "%s\n", c.slaves[i])
		}
	}
	b.WriteString("\n")
	return b.Bytes()
}

// Alternatives works out what update-alternatives --remove, run by the
// prerm scripts of the removed packages, does: a choice goes when its path
// is one of files (what Files returned). admin maps each link group name
// (a file of AltAdminDir) to its content; current maps a group name to the
// target of its AltDir symlink, the current choice (when absent, the best
// choice is taken as current, which it is in auto mode).
//
// A group left without choices loses its admin file and every link. A
// group whose current choice goes switches to auto mode and to its best
// remaining choice; its slaves follow, and a slave the new choice lacks,
// or whose path goes too, loses its links.
func (r *Result) Alternatives(files []string, admin map[string][]byte, current map[string]string) (*AltChanges, error) {
	gone := map[string]bool{}
	for _, f := range files {
		gone[f] = true
	}
	ch := &AltChanges{Write: map[string][]byte{}, Symlinks: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(admin)) {
		g, err := parseAltGroup(name, admin[name])
		if err != nil {
			return nil, err
		}
		cur, ok := current[name]
		if !ok {
			if b := g.best(); b != nil {
				cur = b.path
			}
		}
		n := len(g.choices)
		g.choices = slices.DeleteFunc(g.choices, func(c altChoice) bool { return gone[c.path] })
		if len(g.choices) == n {
			continue
		}
		adminFile := AltAdminDir + "/" + name
		if len(g.choices) == 0 {
			ch.Remove = append(ch.Remove, adminFile, g.link, AltDir+"/"+name)
			for _, s := range g.slaves {
				ch.Remove = append(ch.Remove, s.link, AltDir+"/"+s.name)
			}
			continue
		}
		if gone[cur] {
			g.manual = false
			b := g.best()
			ch.Symlinks[AltDir+"/"+name] = b.path
			ch.Symlinks[g.link] = AltDir + "/" + name
			for i, s := range g.slaves {
				if p := b.slaves[i]; p != "" && !gone[p] {
					ch.Symlinks[AltDir+"/"+s.name] = p
					ch.Symlinks[s.link] = AltDir + "/" + s.name
				} else {
					ch.Remove = append(ch.Remove, s.link, AltDir+"/"+s.name)
				}
			}
		}
		ch.Write[adminFile] = g.marshal()
	}
	slices.Sort(ch.Remove)
	ch.Remove = slices.Compact(ch.Remove)
	return ch, nil
}
