package layers

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzRewrite feeds arbitrary bytes to the rewriter as a layer, with
// arbitrary entries dropped. Whatever they are, it must not panic; when the
// input is a readable tar, the output must be one too, and its visible
// filesystem must be the input's minus what was dropped: every kept path
// with the same type, mode, owner, link and content, a kept hardlink
// holding what its target held even when the target went.
func FuzzRewrite(f *testing.F) {
	f.Add(tarBytes(f, reg("a", "1"), hardlink("b", "a"), dir("d/"), reg("d/.wh.x", "")), uint8(1))
	f.Add(tarBytes(f, reg("./x/y", "hello"), symlink("z", "../../etc"), hardlink("w", "x/y")), uint8(3))
	f.Add(tarBytes(f, reg("a", "1"), hardlink("b", "a"), reg("a", "2"), hardlink("c", "a"), hardlink("d", "b")), uint8(0b101))
	f.Add(tarBytes(f, reg("a", "1"), reg("n", "x"), hardlink("n", "a"), hardlink("m", "n")), uint8(0b11))
	f.Add([]byte("not a tar"), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, mask uint8) {
		ctx := context.Background()
		in := static.NewLayer(raw, types.OCIUncompressedLayer)
		var all []file
		var size int64
		if _, err := Scan(ctx, in, func(h *tar.Header, r io.Reader) error {
			size += h.Size
			if size > 1<<20 {
				// A sparse entry of a few bytes can declare gigabytes
				// of holes: correct, but too slow for a fuzzing loop.
				return errSkip
			}
			b, err := io.ReadAll(r)
			all = append(all, file{Header: *h, body: string(b)})
			return err
		}); err == errSkip {
			t.Skip()
		} else if err != nil {
			if _, _, err := Rewrite(ctx, in, Edit{}, t.TempDir(), Format{}); err == nil {
				t.Fatalf("Scan failed but Rewrite did not")
			}
			return
		}
		drop := map[int]bool{}
		for i := range all {
			if mask&(1<<(i%8)) != 0 {
				drop[i] = true
			}
		}
		e := plan(all, drop)
		// Uncompressed: gzip is tested elsewhere, and each exec counts
		// when the fuzzer minimizes an input of a few kilobytes.
		out, _, err := Rewrite(ctx, in, e, t.TempDir(), Format{})
		if err != nil {
			if strings.Contains(err.Error(), "writing header") {
				return // a header Go reads but cannot write back, refused whole
			}
			t.Fatalf("Rewrite: %v", err)
		}
		got := visible(entries(t, out), nil)
		want := visible(all, drop)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("visible filesystem after the rewrite:\n got %v\nwant %v\n(edit %+v)", got, want, e)
		}
	})
}

var errSkip = fmt.Errorf("skip")

// plan turns the entries a caller wants gone into an Edit, as the slim
// planner does: a kept hardlink whose target goes gets the target, renamed
// to the link's name, or keeps the target where a rename would disturb the
// entries between them. drop loses the targets kept.
func plan(all []file, drop map[int]bool) Edit {
	target := map[int]int{} // hardlink -> the entry it names
	latest := map[string]int{}
	for j, f := range all {
		if f.Typeflag == tar.TypeLink {
			if i, ok := latest[Clean(f.Linkname)]; ok {
				target[j] = i
			}
		}
		latest[Clean(f.Name)] = j
	}
	rename := map[int]string{}
	promoted := map[int]bool{} // links whose target took their place
	for changed := true; changed; {
		changed = false
		for j := range all {
			i, ok := target[j]
			if !ok || drop[j] || promoted[j] || !drop[i] || rename[i] != "" {
				continue
			}
			n := Clean(all[j].Name)
			if all[i].Typeflag == tar.TypeReg && n != Clean(all[i].Name) && !disturbs(all[i+1:j], n) {
				rename[i], promoted[j] = n, true
			} else {
				delete(drop, i)
			}
			changed = true
		}
	}
	d := map[int]bool{}
	for i := range drop {
		if rename[i] == "" {
			d[i] = true
		}
	}
	for j := range promoted {
		d[j] = true
	}
	return Edit{Drop: d, Rename: rename}
}

// disturbs reports whether an entry of between touches name n: the path
// itself, a parent or a child, or a hardlink to it.
func disturbs(between []file, n string) bool {
	for _, f := range between {
		m := Clean(f.Name)
		if Within(m, n) || Within(n, m) || f.Typeflag == tar.TypeLink && Clean(f.Linkname) == n {
			return true
		}
	}
	return false
}

// node is what extraction makes of a path.
type node struct {
	Type     byte
	Mode     int64
	Uid, Gid int
	Link     string // symlink target; for a hardlink to a lower layer, the path
	Body     string
}

func (n node) String() string {
	return fmt.Sprintf("{%c %o %d:%d %q %d bytes}", n.Type, n.Mode, n.Uid, n.Gid, n.Link, len(n.Body))
}

// visible returns the paths extracting files gives, leaving out the
// entries in drop. A hardlink is the node it names, from any entry before
// it, dropped or not; one to a path the layer lacks names that path.
func visible(files []file, drop map[int]bool) map[string]node {
	inode := map[string]node{} // every entry so far, dropped or not
	out := map[string]node{}
	for i, f := range files {
		var n node
		switch f.Typeflag {
		case tar.TypeLink:
			t, ok := inode[Clean(f.Linkname)]
			if !ok {
				t = node{Type: tar.TypeLink, Link: Clean(f.Linkname)}
			}
			n = t
		case tar.TypeGNUSparse:
			n = node{Type: tar.TypeReg, Mode: f.Mode, Uid: f.Uid, Gid: f.Gid, Body: f.body}
		default:
			n = node{Type: f.Typeflag, Mode: f.Mode, Uid: f.Uid, Gid: f.Gid, Body: f.body}
			if f.Typeflag == tar.TypeSymlink {
				n.Link = f.Linkname
			}
		}
		name := Clean(f.Name)
		inode[name] = n
		if !drop[i] {
			out[name] = n
		}
	}
	return out
}
