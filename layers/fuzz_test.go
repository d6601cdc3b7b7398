package layers

import (
	"archive/tar"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzRewrite feeds arbitrary bytes to the rewriter as a layer. Whatever
// they are, it must not panic; when the input is a readable tar, the
// output must be one too, holding exactly the entries not dropped, and no
// hardlink in it may point at an entry that is not there.
func FuzzRewrite(f *testing.F) {
	f.Add(tarBytes(f, reg("a", "1"), hardlink("b", "a"), dir("d/"), reg("d/.wh.x", "")), uint8(1))
	f.Add(tarBytes(f, reg("./x/y", "hello"), symlink("z", "../../etc"), hardlink("w", "x/y")), uint8(3))
	f.Add([]byte("not a tar"), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, mask uint8) {
		in := static.NewLayer(raw, types.OCIUncompressedLayer)
		var all []*tar.Header
		var size int64
		if _, err := Scan(in, func(h *tar.Header, _ io.Reader) error {
			all = append(all, h)
			size += h.Size
			return nil
		}); err != nil {
			if _, _, err := Rewrite(in, Edit{}, t.TempDir(), Format{}); err == nil {
				t.Fatalf("Scan failed but Rewrite did not")
			}
			return
		}
		if size > 1<<20 {
			// A sparse entry of a few bytes can declare gigabytes of
			// holes, which a rewrite writes out as zeros, as docker would
			// on extraction: correct, but too slow for a fuzzing loop.
			t.Skip()
		}
		// Drop the entries picked by the mask bits; promote the target of
		// the first kept hardlink to a dropped target, as the planner does.
		e := Edit{Drop: map[string]bool{}, Promote: map[string]string{}}
		for i, h := range all {
			if mask&(1<<(i%8)) != 0 {
				e.Drop[Clean(h.Name)] = true
			}
		}
		seen := map[string]bool{}
		for _, h := range all {
			n := Clean(h.Name)
			if h.Typeflag == tar.TypeLink && !e.Drop[n] && e.Drop[Clean(h.Linkname)] && seen[Clean(h.Linkname)] {
				if _, ok := e.Promote[Clean(h.Linkname)]; !ok {
					e.Promote[Clean(h.Linkname)] = n
				}
			}
			seen[n] = true
		}
		out, _, err := Rewrite(in, e, t.TempDir(), Format{Compress: true, Level: 1})
		if err != nil {
			// Headers Go can read but not write back are refused whole.
			return
		}
		present := map[string]bool{}
		if _, err := Scan(out, func(h *tar.Header, _ io.Reader) error {
			n := Clean(h.Name)
			if _, promoted := promotedName(e, n); e.Drop[n] && !promoted {
				t.Errorf("dropped entry %s is in the output", n)
			}
			if h.Typeflag == tar.TypeLink && seen[Clean(h.Linkname)] && !present[Clean(h.Linkname)] {
				t.Errorf("hardlink %s points at %s, which is not before it", n, h.Linkname)
			}
			present[n] = true
			return nil
		}); err != nil {
			t.Fatalf("output is not a readable layer: %v", err)
		}
	})
}

// promotedName reports whether n is the new name of a promoted target.
func promotedName(e Edit, n string) (string, bool) {
	for target, link := range e.Promote {
		if link == n {
			return target, true
		}
	}
	return "", false
}
