package slim

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/fsdiff"
)

// WrittenPath is a path imgslim writes in its own layer (a file it
// replaces, a symlink it resets, the user's accounts and home), or a tree
// whose owner --chown changes.
type WrittenPath struct {
	Path string `json:"path"`
	Why  string `json:"why"`
	// OwnerOnly says only the owner of the tree's paths changes.
	OwnerOnly bool `json:"ownerOnly,omitempty"`
}

// ErrUnverified is the refusal of an output whose visible filesystem is not
// the source's minus the report's removals plus what imgslim writes.
var ErrUnverified = errors.New("its filesystem is not the source's minus the report's removals")

// ErrScratchUnverified is the refusal of a scratch image whose filesystem
// is not the tree of files it was to copy.
var ErrScratchUnverified = errors.New("its filesystem is not the tree it was to copy")

// CorruptForTest, when set, is applied to every slimmed image before it is
// verified. It exists for tests only: they corrupt the output on purpose
// to prove the verification catches it and nothing is published.
var CorruptForTest func(v1.Image) (v1.Image, error)

// maxListedDiffs bounds the differences a failed verification names.
const maxListedDiffs = 20

// written returns what imgslim writes besides the source's layers.
func (p *Plan) written() []WrittenPath {
	var w []WrittenPath
	for _, name := range sortedKeys(p.replace) {
		w = append(w, WrittenPath{Path: name, Why: "replaced: the package sets edited it"})
	}
	for _, name := range sortedKeys(p.symlinks) {
		w = append(w, WrittenPath{Path: name, Why: "symlink reset, as update-alternatives would"})
	}
	if a := p.d.user; a != nil && a.passwd != nil {
		w = append(w, WrittenPath{Path: "/etc/passwd", Why: "the output user " + a.name},
			WrittenPath{Path: "/etc/group", Why: "the output user's group"},
			WrittenPath{Path: a.home, Why: "the output user's home"})
	}
	for _, c := range p.o.chown {
		w = append(w, WrittenPath{Path: layers.Clean(c), Why: "--chown", OwnerOnly: true})
	}
	return w
}

// verified checks the output of Apply before anyone sees it: its visible
// filesystem must be the source's, minus exactly the trees the report
// lists as removed, plus what imgslim writes and names (Report.Written).
// Any other difference is a bug, and the output is refused with the list.
func (p *Plan) verified(src, out v1.Image) (v1.Image, error) {
	start := time.Now()
	if CorruptForTest != nil {
		var err error
		if out, err = CorruptForTest(out); err != nil {
			return nil, err
		}
	}
	rd := fsdiff.NewReader()
	for _, lp := range p.layers {
		if lp.fs != nil {
			rd.Prime(lp.digest, lp.fs)
			lp.fs = nil // held once, by the reader
		}
	}
	before, err := rd.Read(p.o.ctx, src)
	if err != nil {
		return nil, fmt.Errorf("verifying the output: reading the source: %w", err)
	}
	after, err := rd.Read(p.o.ctx, out)
	if err != nil {
		return nil, fmt.Errorf("verifying the output: reading it: %w", err)
	}
	if problems := p.unexplained(fsdiff.Compare(before, after), after); len(problems) > 0 {
		n := len(problems)
		if n > maxListedDiffs {
			problems = append(problems[:maxListedDiffs], fmt.Sprintf("and %d more", n-maxListedDiffs))
		}
		return nil, fmt.Errorf("verifying the output: %w (%d differences, nothing written): %s",
			ErrUnverified, n, strings.Join(problems, "; "))
	}
	p.report.Timings.Verify = time.Since(start).Seconds()
	return out, nil
}

// unexplained lists the differences the report does not account for.
func (p *Plan) unexplained(d *fsdiff.Result, after fsdiff.FS) []string {
	var roots []string
	for _, pr := range p.report.Removed {
		for _, pb := range pr.Paths {
			roots = append(roots, pb.Path)
		}
	}
	// A set, and the path's ancestors looked up in it: the node image
	// removes tens of thousands of paths under thousands of roots.
	rootSet := map[string]bool{}
	for _, r := range roots {
		rootSet[r] = true
	}
	removed := func(name string) bool {
		if rootSet["/"] {
			return true
		}
		for p := name; p != "/" && p != "." && p != ""; p = path.Dir(p) {
			if rootSet[p] {
				return true
			}
		}
		return false
	}
	written := p.report.Written
	writes := func(name string, fields []string) bool {
		for _, w := range written {
			switch {
			case !w.OwnerOnly && name == w.Path:
				return true
			case w.OwnerOnly && layers.Within(name, w.Path) && len(fields) == 1 && fields[0] == "owner":
				return true
			}
		}
		return false
	}
	var out []string
	for _, c := range d.Removed {
		if !removed(c.Path) {
			out = append(out, "removed but not in the report: "+c.Path)
		}
	}
	for _, c := range d.Added {
		if !writes(c.Path, nil) {
			out = append(out, "added: "+c.Path)
		}
	}
	for _, c := range d.Changed {
		if !writes(c.Path, c.Fields) {
			out = append(out, fmt.Sprintf("changed (%s): %s", strings.Join(c.Fields, ", "), c.Path))
		}
	}
	// A removed tree the report lists must be gone, but a directory stays
	// when it holds something kept.
	for _, r := range roots {
		if e, ok := after[r]; ok && e.Type != "dir" {
			out = append(out, "listed as removed but still there: "+r)
		}
	}
	return out
}
