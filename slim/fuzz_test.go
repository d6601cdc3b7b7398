package slim

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/layers"
)

// fuzzNames are the paths generated images are made of: few, so that
// entries collide, nest, link and white each other out.
var fuzzNames = []string{"a", "a/x", "a/y", "b", "b/z", "d", "d/e/f", "a/x/q"}

// fuzzRules are the removal patterns a mask picks from.
var fuzzRules = []string{"a/x", "b", "**/f", "d/e", "a/y", "*/z"}

// genImage turns bytes into up to three layers of entries, every hardlink
// naming an entry before it in its layer or a regular file visible below.
func genImage(data []byte) [][]file {
	var ls [][]file
	var cur []file
	below := visibleOf(nil)
	for i := 0; i+1 < len(data) && len(ls) < 3; i += 2 {
		op, arg := data[i], data[i+1]
		name := fuzzNames[int(arg)%len(fuzzNames)]
		body := fmt.Sprintf("%s#%d", name, i)
		switch op % 8 {
		case 0, 1:
			cur = append(cur, reg(name, body))
		case 2:
			cur = append(cur, dir(name+"/"))
		case 3:
			// A hardlink to some regular file before it.
			var targets []string
			for _, f := range cur {
				if _, _, wh := layers.Whiteout(&f.Header); f.Typeflag == tar.TypeReg && !wh {
					targets = append(targets, layers.Clean(f.Name)[1:])
				}
			}
			for n, v := range below {
				if v.typ == tar.TypeReg {
					targets = append(targets, n[1:])
				}
			}
			if len(targets) > 0 {
				sortStrings(targets)
				if t := targets[int(op/8)%len(targets)]; t != name {
					cur = append(cur, hardlink(name, t))
				}
			}
		case 4:
			cur = append(cur, symlinkTo(name, "/"+fuzzNames[int(op/8)%len(fuzzNames)]))
		case 5:
			if len(ls) > 0 || len(cur) > 0 {
				d, b := path.Split(name)
				cur = append(cur, reg(d+layers.WhiteoutPrefix+b, ""))
			}
		case 6:
			if d := path.Dir(name); d != "." {
				cur = append(cur, reg(d+"/"+layers.OpaqueWhiteout, ""))
			}
		case 7:
			if len(cur) > 0 {
				ls = append(ls, cur)
				below = visibleOf(ls)
				cur = nil
			}
		}
	}
	if len(cur) > 0 {
		ls = append(ls, cur)
	}
	return ls
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// vnode is what a container sees at a path.
type vnode struct {
	typ  byte
	body string // a regular file's content, a symlink's target
	mode int64
}

// visibleOf overlays layers as the OCI image spec says: a layer's
// whiteouts and opaque markers hide lower layers' paths, wherever they
// stand in it; a hardlink is the file it names, before it in its layer or
// visible below.
func visibleOf(ls [][]file) map[string]vnode {
	vis := map[string]vnode{}
	for _, fs := range ls {
		for _, f := range fs {
			if target, opaque, ok := layers.Whiteout(&f.Header); ok {
				for n := range vis {
					if layers.Within(n, target) && !(opaque && n == target) {
						delete(vis, n)
					}
				}
			}
		}
		lower := map[string]vnode{}
		for n, v := range vis {
			lower[n] = v
		}
		here := map[string]vnode{}
		for _, f := range fs {
			if _, _, ok := layers.Whiteout(&f.Header); ok {
				continue
			}
			n := layers.Clean(f.Name)
			var v vnode
			switch f.Typeflag {
			case tar.TypeLink:
				t := layers.Clean(f.Linkname)
				var ok bool
				if v, ok = here[t]; !ok {
					if v, ok = lower[t]; !ok {
						v = vnode{typ: 'X', body: "dangling " + t}
					}
				}
			case tar.TypeSymlink:
				v = vnode{typ: tar.TypeSymlink, body: f.Linkname}
			case tar.TypeDir:
				v = vnode{typ: tar.TypeDir, mode: f.Mode}
			default:
				v = vnode{typ: f.Typeflag, body: f.body, mode: f.Mode}
			}
			if old, ok := vis[n]; ok && old.typ == tar.TypeDir && v.typ != tar.TypeDir {
				for m := range vis {
					if layers.Within(m, n) {
						delete(vis, m)
					}
				}
			}
			here[n] = v
			vis[n] = v
		}
	}
	return vis
}

// fuzzInput is what a fuzz input describes: the layer stacks of
// genImage, the fuzzRules the mask's bits pick, and the image and rules
// made of them.
type fuzzInput struct {
	files    [][]file
	patterns []string
	src      v1.Image
	rules    *Rules
}

// fuzzSource makes the fuzzInput of data and mask; inputs over 64 bytes
// or of no layer are not tried.
func fuzzSource(t *testing.T, data []byte, mask uint8) (fuzzInput, bool) {
	if len(data) > 64 {
		return fuzzInput{}, false
	}
	ls := genImage(data)
	if len(ls) == 0 {
		return fuzzInput{}, false
	}
	var patterns []string
	for i, p := range fuzzRules {
		if mask&(1<<i) != 0 {
			patterns = append(patterns, p)
		}
	}
	rules, err := NewRules(patterns, nil)
	if err != nil {
		t.Fatal(err)
	}
	var vls []v1.Layer
	for _, fs := range ls {
		vls = append(vls, gzLayer(t, fs...))
	}
	return fuzzInput{ls, patterns, testImage(t, v1.Config{User: "1000"}, vls...), rules}, true
}

// FuzzImage slims generated multi-layer images with generated rules and
// checks an oracle: what the output shows is what the source showed,
// minus what the rules remove. Every path the output presents was in the
// source with the same type and content; every path of the source the
// rules do not remove is still there; a removed path stays only when the
// report says why (a hardlink needs it) or it is a directory that holds a
// kept path; no hardlink dangles.
func FuzzImage(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 3, 6, 7, 0, 3, 3}, uint8(1))                    // a, a/x, a/y=link to a/x
	f.Add([]byte{2, 0, 0, 1, 3, 3, 7, 0, 6, 1, 0, 2}, uint8(0b11))           // opaque after files
	f.Add([]byte{0, 4, 3, 0, 7, 0, 3, 3, 5, 4, 0, 4}, uint8(0b100))          // links across layers, whiteouts
	f.Add([]byte{0, 1, 11, 2, 7, 0, 0, 1, 14, 1, 0, 4, 3, 5}, uint8(0b1011)) // duplicates, links, opaque
	f.Fuzz(func(t *testing.T, data []byte, mask uint8) {
		in, ok := fuzzSource(t, data, mask)
		if !ok {
			return
		}
		ls, patterns, src, rules := in.files, in.patterns, in.src, in.rules
		out, r, err := Image(src, WithRules(rules), WithWorkDir(t.TempDir()))
		if errors.Is(err, ErrUnverified) {
			// The output check refused what the plan made, and wrote
			// nothing: the outcome the brief asks for when imgslim
			// cannot prove its output (a hardlink that replaces the
			// directory holding its own target, for one).
			return
		}
		if err != nil {
			t.Fatalf("Image: %v\nlayers %v", err, ls)
		}
		all := layerFiles(t, out)
		checkLinks(t, all)
		before, after := visibleOf(ls), visibleOf(all)
		warned := strings.Join(r.Warnings, "\n")
		for n, v := range after {
			if b, ok := before[n]; !ok || b != v {
				t.Errorf("%s: got %+v in the output, want %+v (present %v) as in the source", n, v, b, ok)
			}
		}
		for n, v := range before {
			rm, _ := rules.Removes(n)
			_, kept := after[n]
			switch {
			case !rm && !kept:
				t.Errorf("%s (%c) was not to be removed but is gone", n, v.typ)
			case rm && kept && v.typ != tar.TypeDir && !strings.Contains(warned, "kept "+n+":"):
				t.Errorf("%s was to be removed, is still there, and no warning says why", n)
			}
		}
		if t.Failed() {
			t.Logf("source layers: %v\nrules %q\noutput layers: %v\nwarnings %q", ls, patterns, all, r.Warnings)
		}
	})
}
