package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"
)

// epoch is the modification time of every entry and the creation time of the
// image, so that the output is the same on every run.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// seed is the root of all the pseudo-random choices. Changing it changes
// every digest.
const seed = "imgslim bloated single-stage v1"

// entry is one tar entry of a layer. Regular files have either fixed data or
// Size bytes of generated content of the given kind.
type entry struct {
	hdr  tar.Header
	kind contentKind
	data []byte
}

// group is a family of generated files sharing a size budget: weight is its
// share of the image's bytes, mean its typical file size.
type group struct {
	weight float64
	mean   int64
	kind   contentKind
	mode   int64
	// name returns the path of a new file (no leading slash).
	name func(r *rand.Rand) string
	// names, when set, replaces name: one file each, the budget split evenly.
	names []string
	// extra returns entries to add next to a generated file (e.g. a soname
	// symlink next to a shared library). They do not count against the budget.
	extra func(name string) []entry
}

// layerSpec describes one layer: the Dockerfile step that made it, the
// generated file groups, and fixed entries that exercise a rewriter.
type layerSpec struct {
	createdBy string
	format    tar.Format // tar.FormatUnknown lets archive/tar choose per entry
	groups    []group
	// fixed returns the entries of the layer that are always there; total is
	// the image's size, for entries whose size scales with it.
	fixed func(r *rand.Rand, total int64) []entry
}

// planner builds the entry list of one layer.
type planner struct {
	r       *rand.Rand
	entries []entry
	seen    map[string]bool
	dirs    map[string]int64 // directory -> mode, for directories with a non-default mode
}

func file(name string, mode, size int64, kind contentKind) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size}, kind: kind}
}

func text(name string, mode int64, data string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: []byte(data)}
}

func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

// hardlink links name to target, an earlier entry of the same layer; mode
// is the target's.
func hardlink(name, target string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: mode}}
}

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "/") + "/", Mode: mode}}
}

// whiteout hides name of a lower layer.
func whiteout(name string) entry {
	d, b := path.Split(name)
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: d + ".wh." + b, Mode: 0o644}}
}

// opaque hides everything that lower layers have under the directory name.
func opaque(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimSuffix(name, "/") + "/.wh..wh..opq", Mode: 0o644}}
}

// tarSize is what an entry of size n takes in a tar stream.
func tarSize(n int64) int64 { return 512 + (n+511)/512*512 }

// sizeFor draws a file size around mean with a long tail, like real trees:
// many small files and a few big ones.
func sizeFor(r *rand.Rand, mean int64) int64 {
	const sigma = 1.0
	f := math.Exp(sigma*r.NormFloat64() - sigma*sigma/2)
	return int64(float64(mean) * min(f, 8))
}

func (p *planner) add(e entry) {
	name := strings.TrimSuffix(e.hdr.Name, "/")
	if p.seen[name] {
		panic("gen: duplicate entry " + name)
	}
	p.seen[name] = true
	if e.hdr.Typeflag == tar.TypeDir {
		p.dirs[name] = e.hdr.Mode
		return // added with the other directories at the end
	}
	p.entries = append(p.entries, e)
}

// unique returns name, or name with a numeric suffix if it is taken.
func (p *planner) unique(name string) string {
	if !p.seen[name] {
		return name
	}
	ext := path.Ext(name)
	if strings.HasSuffix(name, ".tar.gz") || len(ext) > 8 || strings.Contains(ext, "/") {
		ext = ""
	}
	base := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s-%d%s", base, i, ext); !p.seen[n] {
			return n
		}
	}
}

// kindOf returns the content kind of a file: compressed files are random
// whatever their group says.
func kindOf(name string, def contentKind) contentKind {
	for _, ext := range []string{".gz", ".deb", ".xz", ".zst", ".pack", ".tgz", ".bz2", ".png", ".woff2"} {
		if strings.HasSuffix(name, ext) {
			return kindRandom
		}
	}
	return def
}

func (p *planner) fill(g group, budget int64) {
	mode := g.mode
	if mode == 0 {
		mode = 0o644
	}
	if g.names != nil {
		each := budget / int64(len(g.names))
		for _, n := range g.names {
			p.add(file(n, mode, max(each-512, 0), kindOf(n, g.kind)))
		}
		return
	}
	for first := true; first || budget > 1024; first = false {
		n := p.unique(g.name(p.r))
		size := min(sizeFor(p.r, g.mean), max(budget-512, 0))
		p.add(file(n, mode, size, kindOf(n, g.kind)))
		budget -= tarSize(size)
		if g.extra != nil {
			for _, e := range g.extra(n) {
				if !p.seen[strings.TrimSuffix(e.hdr.Name, "/")] {
					p.add(e)
				}
			}
		}
	}
}

// finish adds the parent directories of every entry, sets the fixed header
// fields, and sorts the entries by name, as a directory walk would.
func (p *planner) finish(format tar.Format) []entry {
	for _, e := range p.entries {
		for d := path.Dir(strings.TrimSuffix(e.hdr.Name, "/")); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := p.dirs[d]; !ok {
				p.dirs[d] = dirMode(d)
			}
		}
	}
	for d, mode := range p.dirs {
		p.entries = append(p.entries, entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}})
	}
	sort.Slice(p.entries, func(i, j int) bool { return p.entries[i].hdr.Name < p.entries[j].hdr.Name })
	for i := range p.entries {
		h := &p.entries[i].hdr
		h.ModTime = epoch
		h.Format = format
		if h.Typeflag == tar.TypeReg && p.entries[i].data == nil && h.Size == 0 {
			p.entries[i].data = []byte{}
		}
	}
	return p.entries
}

// dirMode is the mode of a directory that a layer holds only as the parent of
// its entries: the same in every layer.
func dirMode(d string) int64 {
	switch d {
	case "tmp", "var/tmp":
		return 0o1777
	case "root":
		return 0o700
	case "var/cache/apt/archives/partial", "var/lib/apt/lists/partial":
		return 0o700
	}
	return 0o755
}

// plan returns the entries of every layer, for layers of about total bytes
// in all (as tar streams). Fixed entries are laid first; the generated groups
// share the rest by weight.
func plan(specs []layerSpec, total int64) [][]entry {
	out := planWith(specs, total, total)
	// Correct once for what the first pass could not know in advance: fixed
	// entries, directories, the tar trailers.
	return planWith(specs, total, 2*total-tarTotal(out))
}

func planWith(specs []layerSpec, total, groupsTotal int64) [][]entry {
	var weights float64
	for _, s := range specs {
		for _, g := range s.groups {
			weights += g.weight
		}
	}
	out := make([][]entry, len(specs))
	for i, s := range specs {
		p := &planner{r: newRand(i, "plan"), seen: map[string]bool{}, dirs: map[string]int64{}}
		if s.fixed != nil {
			for _, e := range s.fixed(p.r, total) {
				p.add(e)
			}
		}
		for _, g := range s.groups {
			p.fill(g, int64(g.weight/weights*float64(max(groupsTotal, total/2))))
		}
		out[i] = p.finish(s.format)
	}
	return out
}

// tarTotal is about the size of the tar streams of the layers.
func tarTotal(layers [][]entry) int64 {
	var n int64
	for _, l := range layers {
		n += 1024 // end of archive
		for _, e := range l {
			n += tarSize(e.hdr.Size)
		}
	}
	return n
}

// newSeed derives a ChaCha8 seed for one purpose of one layer.
func newSeed(layer int, purpose string) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "%s/%d/%s", seed, layer, purpose))
}

func newRand(layer int, purpose string) *rand.Rand {
	return rand.New(rand.NewChaCha8(newSeed(layer, purpose)))
}

// pick returns a random element of list.
func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func hexString(r *rand.Rand, n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}
