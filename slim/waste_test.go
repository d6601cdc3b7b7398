package slim

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/fsdiff"
)

// names lists the entries of one layer of all, in Clean form.
func names(fs []file) []string {
	var out []string
	for _, f := range fs {
		out = append(out, layers.Clean(f.Name))
	}
	return out
}

func has(fs []file, name string) bool {
	for _, f := range fs {
		if layers.Clean(f.Name) == name {
			return true
		}
	}
	return false
}

// TestWaste checks that copies a later layer replaces or deletes leave the
// layers that are rewritten anyway, and every layer with WithNoWaste; that
// the container sees the same files either way (compared here apart from
// the engine's own check); and what the report says.
func TestWaste(t *testing.T) {
	big := strings.Repeat("x", 4000)
	tests := []struct {
		name    string
		layers  [][]file
		rules   []string
		noWaste bool
		// gone and stay are entries of layer 0 of the source; layers the
		// number of output layers whose blob is the source's.
		gone, stay []string
		sameBlobs  int
		wasteBytes int64
	}{{
		name: "a replaced file stays in a layer nothing else rewrites",
		layers: [][]file{
			{dir("usr/"), dir("usr/lib/"), reg("usr/lib/libz.so", big)},
			{dir("usr/lib/"), reg("usr/lib/libz.so", "new")},
		},
		stay: []string{"/usr/lib/libz.so"}, sameBlobs: 2,
	}, {
		name: "a replaced file goes from a layer the rules rewrite",
		layers: [][]file{
			{dir("usr/"), dir("usr/lib/"), reg("usr/lib/libz.so", big), reg("usr/share/doc/README", "doc")},
			{dir("usr/lib/"), reg("usr/lib/libz.so", "new")},
		},
		rules: []string{"usr/share/doc"},
		gone:  []string{"/usr/lib/libz.so"}, stay: []string{"/usr/lib"}, sameBlobs: 1, wasteBytes: 4000,
	}, {
		name: "--no-waste rewrites a layer for its waste alone",
		layers: [][]file{
			{dir("usr/"), dir("usr/lib/"), reg("usr/lib/libz.so", big), reg("var/lib/dpkg/status", "old")},
			{reg("var/lib/dpkg/status", "mid")},
			{dir("usr/lib/"), reg("usr/lib/libz.so", "new"), reg("var/lib/dpkg/status", "new")},
		},
		noWaste: true,
		gone:    []string{"/usr/lib/libz.so", "/var/lib/dpkg/status"}, stay: []string{"/usr/lib", "/usr"}, sameBlobs: 1, wasteBytes: 4006,
	}, {
		name: "a deleted file and its whiteout both go",
		layers: [][]file{
			{dir("app/"), reg("app/package-lock.json", big), reg("app/keep", "k")},
			{reg("app/.wh.package-lock.json", "")},
		},
		noWaste: true,
		gone:    []string{"/app/package-lock.json"}, stay: []string{"/app/keep"}, sameBlobs: 0, wasteBytes: 4000,
	}, {
		name: "an opaque directory hides the children below, not the directory",
		layers: [][]file{
			{dir("cache/"), reg("cache/a", big), dir("cache/sub/"), reg("cache/sub/b", "b")},
			{dir("cache/"), reg("cache/.wh..wh..opq", ""), reg("cache/c", "c")},
		},
		// The marker, left hiding nothing, goes too.
		noWaste: true,
		gone:    []string{"/cache/a", "/cache/sub", "/cache/sub/b"}, stay: []string{"/cache"}, sameBlobs: 0, wasteBytes: 4001,
	}, {
		name: "a directory replaced by a symlink takes its tree along",
		layers: [][]file{
			{dir("lib/"), dir("lib/x/"), reg("lib/x/libc.so", big), reg("other", "o")},
			{symlink("lib", "usr/lib")},
		},
		noWaste: true,
		gone:    []string{"/lib", "/lib/x", "/lib/x/libc.so"}, stay: []string{"/other"}, sameBlobs: 1, wasteBytes: 4000,
	}, {
		name: "a directory over a directory merges: nothing below goes",
		layers: [][]file{
			{dir("etc/"), reg("etc/hosts", "h"), dir("etc/ssl/"), reg("etc/ssl/cert.pem", big)},
			{dir("etc/"), dir("etc/ssl/"), reg("etc/ssl/other.pem", "o")},
		},
		noWaste: true,
		stay:    []string{"/etc", "/etc/hosts", "/etc/ssl", "/etc/ssl/cert.pem"}, sameBlobs: 2,
	}, {
		name: "a replaced file a kept hardlink names: its content moves to the link",
		layers: [][]file{
			{dir("usr/bin/"), reg("usr/bin/perl5.36", big), hardlink("usr/bin/perl", "usr/bin/perl5.36")},
			{reg("usr/bin/perl5.36", "new")},
		},
		noWaste: true,
		gone:    []string{"/usr/bin/perl5.36"}, stay: []string{"/usr/bin/perl"}, sameBlobs: 1,
	}, {
		name: "every layer the rules rewrite loses its waste",
		layers: [][]file{
			{reg("opt/tool", big), reg("usr/share/doc/x", "d"), reg("keep", "k")},
			{reg("opt/tool", "new"), reg("usr/share/doc/y", "d")},
		},
		rules: []string{"usr/share/doc"},
		gone:  []string{"/opt/tool"}, stay: []string{"/keep"}, sameBlobs: 0, wasteBytes: 4000,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls []v1.Layer
			for _, fs := range tt.layers {
				ls = append(ls, gzLayer(t, fs...))
			}
			src := testImage(t, v1.Config{Entrypoint: []string{"/bin/true"}}, ls...)
			opts := []Option{WithUser("root"), WithWorkDir(t.TempDir())}
			if len(tt.rules) > 0 {
				opts = append(opts, WithRules(mustRules(t, tt.rules...)))
			}
			if tt.noWaste {
				opts = append(opts, WithNoWaste())
			}
			out, r, err := Image(src, opts...)
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if err := validate.Image(out); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			all := layerFiles(t, out)
			checkLinks(t, all)
			for _, n := range tt.gone {
				if has(all[0], n) {
					t.Errorf("layer 1 still holds %s: got %q", n, names(all[0]))
				}
			}
			for _, n := range tt.stay {
				if !has(all[0], n) {
					t.Errorf("layer 1 lost %s: got %q", n, names(all[0]))
				}
			}
			outLs, _ := out.Layers()
			same := 0
			for _, l := range outLs {
				for _, s := range ls {
					if mustDigest(t, l) == mustDigest(t, s) {
						same++
					}
				}
			}
			if same != tt.sameBlobs {
				t.Errorf("got %d layers kept byte for byte, want %d", same, tt.sameBlobs)
			}

			// What a container sees: the source's, less the rules' trees.
			before, err := fsdiff.Read(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			after, err := fsdiff.Read(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			d := fsdiff.Compare(before, after)
			for _, c := range d.Changed {
				t.Errorf("changed: %s %q", c.Path, c.Fields)
			}
			for _, c := range d.Added {
				t.Errorf("added: %s", c.Path)
			}
			for _, c := range d.Removed {
				if !layers.Within(c.Path, "/usr/share/doc") {
					t.Errorf("removed: %s", c.Path)
				}
			}

			var got int64
			if r.Waste != nil {
				got = r.Waste.Bytes
				if r.Waste.All != tt.noWaste {
					t.Errorf("report: all %v, want %v", r.Waste.All, tt.noWaste)
				}
			}
			if got != tt.wasteBytes {
				t.Errorf("report: waste %d bytes, want %d (%+v)", got, tt.wasteBytes, r.Waste)
			}
			for _, pr := range r.Removed {
				if strings.HasPrefix(pr.Pattern, "waste") {
					t.Errorf("report: waste listed as a rule's removal: %+v", pr)
				}
			}
			var text strings.Builder
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if wantLine := got > 0; strings.Contains(text.String(), "waste dropped") != wantLine {
				t.Errorf("text report: waste line present %v, want %v:\n%s", !wantLine, wantLine, text.String())
			}

			t.Run("deterministic", func(t *testing.T) {
				again, _, err := Image(src, append(opts[:len(opts):len(opts)], WithWorkDir(t.TempDir()))...)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := mustImageDigest(t, out), mustImageDigest(t, again); a != b {
					t.Errorf("two runs: got %s and %s", a, b)
				}
			})
		})
	}
}

// TestWasteForced checks the report tells a layer rewritten for its waste
// alone from one rewritten anyway.
func TestWasteForced(t *testing.T) {
	src := testImage(t, v1.Config{},
		gzLayer(t, reg("a", "aaaa"), reg("doc/x", "d")),
		gzLayer(t, reg("b", "bbbb")),
		gzLayer(t, reg("a", "A"), reg("b", "B")))
	_, r, err := Image(src, WithUser("root"), WithRules(mustRules(t, "doc")), WithNoWaste(), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Waste == nil || len(r.Waste.Layers) != 2 {
		t.Fatalf("report: got %+v, want waste in two layers", r.Waste)
	}
	if l := r.Waste.Layers[0]; l.Index != 0 || l.Forced || l.Files != 1 || l.Bytes != 4 {
		t.Errorf("layer 1: got %+v, want index 0, not forced (the rules rewrite it), 1 file, 4 bytes", l)
	}
	if l := r.Waste.Layers[1]; l.Index != 1 || !l.Forced || l.Files != 1 || l.Bytes != 4 {
		t.Errorf("layer 2: got %+v, want index 1, forced, 1 file, 4 bytes", l)
	}
}

// FuzzWaste checks dropping waste against the engine without it, on the
// fuzzer's layer stacks (genImage): with WithNoWaste the container sees
// exactly what it sees without, no hardlink dangles, and an output made
// without it is never refused with it.
func FuzzWaste(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 3, 6, 7, 0, 3, 3}, uint8(1))
	f.Add([]byte{2, 0, 0, 1, 3, 3, 7, 0, 6, 1, 0, 2}, uint8(0b11))
	f.Add([]byte{0, 4, 3, 0, 7, 0, 3, 3, 5, 4, 0, 4}, uint8(0b100))
	f.Add([]byte{0, 1, 11, 2, 7, 0, 0, 1, 14, 1, 0, 4, 3, 5}, uint8(0b1011))
	f.Fuzz(func(t *testing.T, data []byte, mask uint8) {
		in, ok := fuzzSource(t, data, mask)
		if !ok {
			return
		}
		ls, patterns, src, rules := in.files, in.patterns, in.src, in.rules
		plain, _, err := Image(src, WithRules(rules), WithWorkDir(t.TempDir()))
		if err != nil {
			return // FuzzImage judges the engine without WithNoWaste
		}
		out, _, err := Image(src, WithRules(rules), WithNoWaste(), WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatalf("Image with WithNoWaste: %v (without it: ok)\nlayers %v", err, ls)
		}
		want, got := layerFiles(t, plain), layerFiles(t, out)
		checkLinks(t, got)
		a, b := visibleOf(want), visibleOf(got)
		for n, v := range b {
			if w, ok := a[n]; !ok || w != v {
				t.Errorf("%s: got %+v with WithNoWaste, want %+v (present %v)", n, v, w, ok)
			}
		}
		for n := range a {
			if _, ok := b[n]; !ok {
				t.Errorf("%s: gone with WithNoWaste", n)
			}
		}
		if t.Failed() {
			t.Logf("source layers: %v\nrules %q\nwithout: %v\nwith: %v", ls, patterns, want, got)
		}
	})
}
