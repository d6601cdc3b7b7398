package slim

import (
	"archive/tar"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Fixtures for decide are scanned layers built in code: no image, no tar.

func fileE(name string, size int64) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o644, size: size}
}

func dirE(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }

func linkE(name, target string) entry {
	return entry{name: name, typ: tar.TypeLink, link: target}
}

func whE(dir, target string) entry {
	return entry{name: dir + "/.wh." + target[strings.LastIndex(target, "/")+1:], typ: tar.TypeReg, wh: plainWhiteout, target: target}
}

func opqE(dir string) entry {
	return entry{name: dir + "/.wh..wh..opq", typ: tar.TypeReg, wh: opaqueWhiteout, target: dir}
}

func scanned(layers ...[]entry) []*layerPlan {
	var out []*layerPlan
	for _, es := range layers {
		out = append(out, &layerPlan{entries: es})
	}
	return out
}

// dropped lists "LAYER:NAME" of every dropped entry, and "LAYER:NAME>TO"
// of every renamed one, sorted.
func droppedOf(ls []*layerPlan, d *decisions) []string {
	var out []string
	for li, lp := range ls {
		for i, e := range lp.entries {
			if to, ok := d.layers[li].edit.Rename[i]; ok {
				out = append(out, string(rune('0'+li))+":"+e.name+">"+to)
			} else if d.layers[li].edit.Drop[i] || d.dropped(li, i) {
				out = append(out, string(rune('0'+li))+":"+e.name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestDecide(t *testing.T) {
	rules := func(remove, keep []string) *Rules {
		r, err := NewRules(remove, keep)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	passwdE := entry{name: "/etc/passwd", typ: tar.TypeReg, size: int64(len(passwd))}
	for _, tc := range []struct {
		name      string
		layers    [][]entry
		in        decideInput // layers and view are filled in
		wantDrop  []string
		wantWarn  []string
		wantSkip  []string
		wantUser  string // name (uid:gid), "" for root
		wantSet   bool
		wantOwner map[string]bool // names --chown hands over, by layer 0
		wantErr   string
	}{{
		name:     "a rule drops a tree, a directory that holds a kept file stays",
		layers:   [][]entry{{dirE("/a"), fileE("/a/x", 1), dirE("/a/y"), fileE("/a/y/z", 2), fileE("/b", 3)}},
		in:       decideInput{rules: rules([]string{"a"}, []string{"a/y/z"})},
		wantDrop: []string{"0:/a/x"},
	}, {
		name:     "a protected path stays and is reported",
		layers:   [][]entry{{fileE("/etc/passwd", 10), fileE("/etc/motd", 3)}},
		in:       decideInput{rules: rules([]string{"etc"}, nil), protected: map[string]string{"/etc/passwd": "needed by every program"}},
		wantDrop: []string{"0:/etc/motd"},
		wantSkip: []string{"/etc/passwd: etc (needed by every program)"},
	}, {
		name:   "--keep beats a set's choice; an exact choice takes a directory only when empty",
		layers: [][]entry{{dirE("/d"), fileE("/d/f", 1), fileE("/d/g", 1), dirE("/e"), fileE("/c/x", 1)}},
		in: decideInput{rules: rules(nil, []string{"c/x"}),
			setPaths: map[string]setChoice{"/d": {set: SetDocs, why: "dpkg", exact: true}, "/d/f": {set: SetDocs, why: "dpkg", exact: true}, "/e": {set: SetDocs, why: "x", exact: true}, "/c": {set: SetCaches, why: "c"}}},
		wantDrop: []string{"0:/d/f", "0:/e"},
	}, {
		name:     "a hardlink to a dropped target of its layer takes the target's place",
		layers:   [][]entry{{fileE("/junk/lib", 5), linkE("/app/lib", "/junk/lib")}},
		in:       decideInput{rules: rules([]string{"junk"}, nil)},
		wantDrop: []string{"0:/app/lib", "0:/junk/lib>/app/lib"},
	}, {
		name:     "a hardlink to a dropped target below keeps it, with a warning",
		layers:   [][]entry{{fileE("/junk/lib", 5)}, {linkE("/app/lib", "/junk/lib")}},
		in:       decideInput{rules: rules([]string{"junk"}, nil)},
		wantWarn: []string{"kept /junk/lib: a hardlink (/app/lib) needs it"},
	}, {
		// /t/b's layer loses nothing else, so its blob (and the waste
		// in it) stays: see waste.go.
		name:     "a whiteout whose target goes goes; one whose target stays stays",
		layers:   [][]entry{{fileE("/t/a", 1)}, {fileE("/t/b", 1)}, {whE("/t", "/t/a"), whE("/t", "/t/b")}},
		in:       decideInput{rules: rules([]string{"t/a"}, nil)},
		wantDrop: []string{"0:/t/a", "2:/t/.wh.a"},
	}, {
		name:     "a deleted copy in a layer rewritten anyway goes, and its whiteout with it",
		layers:   [][]entry{{fileE("/t/a", 1), fileE("/t/b", 1)}, {whE("/t", "/t/b")}},
		in:       decideInput{rules: rules([]string{"t/a"}, nil)},
		wantDrop: []string{"0:/t/a", "0:/t/b", "1:/t/.wh.b"},
	}, {
		name:     "an opaque marker over a directory emptied below goes",
		layers:   [][]entry{{dirE("/o"), fileE("/o/x", 1)}, {opqE("/o"), fileE("/o/new", 1)}},
		in:       decideInput{rules: rules([]string{"o/x"}, nil)},
		wantDrop: []string{"0:/o/x", "1:/o/.wh..wh..opq"},
	}, {
		name:     "a whiteout that hid nothing in the source is left alone",
		layers:   [][]entry{{fileE("/k", 1)}, {whE("/", "/gone")}},
		in:       decideInput{rules: rules([]string{"k"}, nil)},
		wantDrop: []string{"0:/k"},
	}, {
		name:     "a root image gets nonroot",
		layers:   [][]entry{{passwdE}},
		wantUser: "nonroot (65532:65532)", wantSet: true,
	}, {
		name:     "--user root keeps root, with a warning",
		layers:   [][]entry{{passwdE}},
		in:       decideInput{user: "root", current: "1000"},
		wantUser: "root (0:0)", wantSet: true, wantWarn: []string{"the output runs as root (--user root)"},
	}, {
		name:    "a user with no name is refused",
		layers:  [][]entry{{passwdE}},
		in:      decideInput{user: ":5"},
		wantErr: `bad user ":5": empty name`,
	}, {
		name:     "--chown hands a tree to the user",
		layers:   [][]entry{{passwdE, dirE("/app"), fileE("/app/x", 1), fileE("/srv/y", 1)}},
		in:       decideInput{user: "nobody", chown: []string{"/app"}},
		wantUser: "nobody (65534:65534)", wantSet: true,
		wantOwner: map[string]bool{"/app": true, "/app/x": true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ls := scanned(tc.layers...)
			for _, lp := range ls {
				for _, e := range lp.entries {
					if e.name == "/etc/passwd" {
						lp.passwd = &captured{data: []byte(passwd)}
						lp.group = &captured{data: []byte(group)}
					}
				}
			}
			in := tc.in
			in.layers, in.view = ls, newView(ls)
			if tc.wantUser == "" && tc.wantErr == "" && in.current == "" {
				in.current = "1000" // non-root already: the user stays
			}
			var before [][]entry
			for _, lp := range ls {
				before = append(before, append([]entry(nil), lp.entries...))
			}
			d, err := decide(in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := droppedOf(ls, d); !reflect.DeepEqual(got, tc.wantDrop) && len(got)+len(tc.wantDrop) > 0 {
				t.Errorf("dropped:\n got  %q\n want %q", got, tc.wantDrop)
			}
			if !reflect.DeepEqual(d.warnings, tc.wantWarn) && len(d.warnings)+len(tc.wantWarn) > 0 {
				t.Errorf("warnings: got %q, want %q", d.warnings, tc.wantWarn)
			}
			var skips []string
			for _, k := range sortedKeys(d.skipped) {
				s := d.skipped[k]
				skips = append(skips, s.Path+": "+s.Rule+" ("+s.Why+")")
			}
			if !reflect.DeepEqual(skips, tc.wantSkip) {
				t.Errorf("kept for the program: got %q, want %q", skips, tc.wantSkip)
			}
			user := ""
			if d.user != nil {
				user = d.user.name + " (" + strconv.Itoa(d.user.uid) + ":" + strconv.Itoa(d.user.gid) + ")"
			}
			if tc.wantUser != "" && user != tc.wantUser || d.setUser != tc.wantSet {
				t.Errorf("user: got %q (set %v), want %q (set %v)", user, d.setUser, tc.wantUser, tc.wantSet)
			}
			if tc.wantOwner != nil {
				own := d.layers[0].edit.Owner
				if own == nil {
					t.Fatalf("no owner edit")
				}
				for _, e := range ls[0].entries {
					_, _, got := own(e.name)
					if got != tc.wantOwner[e.name] {
						t.Errorf("%s: chowned %v, want %v", e.name, got, tc.wantOwner[e.name])
					}
				}
			}
			// decide is pure: the scan's entries are as they were, and a
			// second run decides the same.
			var after [][]entry
			for _, lp := range ls {
				after = append(after, lp.entries)
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("decide changed its input")
			}
			d2, err := decide(in)
			if err != nil || !reflect.DeepEqual(droppedOf(ls, d2), droppedOf(ls, d)) || !reflect.DeepEqual(d2.warnings, d.warnings) {
				t.Errorf("a second run decided otherwise: %v", err)
			}
		})
	}
}
