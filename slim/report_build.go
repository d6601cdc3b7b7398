package slim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
)

const (
	largestPerPattern = 5
	maxListed         = 20
)

// Report returns the plan's report: after Apply, the one built from the
// decisions and the written layers; before, the projection the decisions
// give (Estimated), as a dry run reports.
func (p *Plan) Report() *Report {
	if p.report == nil {
		p.report, _ = p.newReport(nil) // without a build, nothing fails
	}
	return p.report
}

// built is what Apply wrote: the output layer of each source layer (nil
// when dropped) and its tar size, imgslim's own layer, and the assembled
// image's totals and digest.
type built struct {
	out            []v1.Layer
	tarSizes       []int64
	added          v1.Layer
	addedTar       int64
	addedFiles     int
	layers         int
	compressed     int64
	uncompressed   int64
	digest         string
	rewriteSeconds float64
}

// beforeTotals describes the source image.
func (p *Plan) beforeTotals() Totals {
	var t Totals
	for _, lp := range p.layers {
		t.Layers++
		t.Compressed += lp.size
		t.Uncompressed += lp.tarSize
		for i := range lp.entries {
			if lp.entries[i].isFile() {
				t.Files++
			}
		}
	}
	return t
}

// newReport builds the report of the decisions and, when Apply ran, of
// what it built (b): the real sizes and digests of every layer, else their
// projection.
func (p *Plan) newReport(b *built) (*Report, error) {
	// Warnings come from walks over maps: sort them, so the same input
	// gives the same report.
	var warnings []string
	for _, ws := range [][]string{p.warnings, p.protectWarnings, p.setWarnings, p.d.warnings} {
		warnings = append(warnings, ws...)
	}
	sort.Strings(warnings)
	r := &Report{Estimated: b == nil, Warnings: warnings, SourceDigest: p.sourceDigest}
	r.Timings.Plan = p.planSeconds
	r.Before = p.beforeTotals()
	byPattern := map[string]*PatternReport{}
	roots := map[string]map[string]int64{}
	for li, lp := range p.layers {
		lr := LayerReport{Index: li, Digest: lp.digest.String(), DiffID: lp.diffID.String(),
			CompressedBefore: lp.size, UncompressedBefore: lp.tarSize}
		ld := &p.d.layers[li]
		var droppedTar int64
		for i := range lp.entries {
			e, m := &lp.entries[i], ld.marks[i]
			if !m.drop {
				continue
			}
			_, promoted := ld.edit.Rename[i]
			if !promoted {
				// A promoted target's content stays, under a kept
				// hardlink's name: the path goes, the bytes do not.
				droppedTar += e.tarBytes()
			}
			if e.wh != notWhiteout {
				r.WhiteoutsDropped++
				continue
			}
			if m.why == wasteWhy {
				continue // no path goes: Report.Waste counts it
			}
			pr := byPattern[m.why]
			if pr == nil {
				pr = &PatternReport{Pattern: m.why}
				byPattern[m.why] = pr
				roots[m.why] = map[string]int64{}
			}
			if e.isFile() {
				pr.Files++
				lr.FilesRemoved++
			}
			if !promoted {
				pr.Bytes += e.size
				lr.BytesRemoved += e.size
			}
			// Every removed tree is listed, even one whose bytes live on
			// under a promoted link's name.
			roots[m.why][m.root] += 0
			if !promoted {
				roots[m.why][m.root] += e.size
			}
		}
		switch {
		case ld.empty():
			r.LayersDropped++
			lr.Action = LayerDropped
		case ld.changed:
			r.LayersRewritten++
			r.After.Layers++
			lr.Action = LayerRewritten
			lr.UncompressedAfter = lp.tarSize - droppedTar
			if lp.tarSize > 0 {
				lr.CompressedAfter = int64(float64(lp.size) * float64(lp.tarSize-droppedTar) / float64(lp.tarSize))
			}
		default:
			r.After.Layers++
			lr.Action = LayerKept
			lr.UncompressedAfter, lr.CompressedAfter = lp.tarSize, lp.size
		}
		r.After.Uncompressed += lr.UncompressedAfter
		r.After.Compressed += lr.CompressedAfter
		r.Layers = append(r.Layers, lr)
		for i := range lp.entries {
			if e := &lp.entries[i]; e.isFile() && !ld.marks[i].drop {
				r.After.Files++
			}
		}
	}
	r.byRule(byPattern, roots)
	for _, k := range sortedKeys(p.d.skipped) {
		r.Protected = append(r.Protected, *p.d.skipped[k])
	}
	r.Secrets = p.secretStatus()
	r.Waste = p.wasteReport()
	r.Written = p.written()
	r.Packages = p.sortedPackages()
	r.PackagesKept = p.packagesKept
	r.User, r.RunsAs = p.d.userReport(p.cfg.Config.User)
	if b != nil {
		if err := r.fromBuild(b); err != nil {
			return nil, err
		}
	}
	r.normalize()
	return r, nil
}

// byRule lists what each rule removed (byPattern, with the trees it took
// in roots), largest first, and sums it by set.
func (r *Report) byRule(byPattern map[string]*PatternReport, roots map[string]map[string]int64) {
	for _, k := range sortedKeys(byPattern) {
		pr := byPattern[k]
		pr.Set = "patterns"
		if s, _, ok := strings.Cut(pr.Pattern, ": "); ok {
			pr.Set = s
		}
		for path, n := range roots[k] {
			pr.Paths = append(pr.Paths, PathBytes{Path: path, Bytes: n})
		}
		sort.Slice(pr.Paths, func(i, j int) bool {
			a, b := pr.Paths[i], pr.Paths[j]
			return a.Bytes > b.Bytes || a.Bytes == b.Bytes && a.Path < b.Path
		})
		pr.Largest = pr.Paths[:min(len(pr.Paths), largestPerPattern)]
		r.Removed = append(r.Removed, *pr)
	}
	sort.SliceStable(r.Removed, func(i, j int) bool { return r.Removed[i].Bytes > r.Removed[j].Bytes })
	bySet := map[string]*SetReport{}
	for _, pr := range r.Removed {
		sr := bySet[pr.Set]
		if sr == nil {
			sr = &SetReport{Set: pr.Set}
			bySet[pr.Set] = sr
		}
		sr.Files += pr.Files
		sr.Bytes += pr.Bytes
	}
	for _, set := range append(append(AllSets[:len(AllSets):len(AllSets)], OptInSets...), "patterns") {
		if sr := bySet[set]; sr != nil {
			r.Sets = append(r.Sets, *sr)
		}
	}
}

// userReport says whom the output runs as, for people and for machines;
// current is the source's User.
func (d *decisions) userReport(current string) (who string, as UserReport) {
	switch {
	case d.user == nil:
		who = "root"
		as = UserReport{Name: "root"}
	case d.setUser:
		u := d.user
		who = fmt.Sprintf("%s (%d:%d)", u.name, u.uid, u.gid)
		as = UserReport{Name: u.name, UID: u.uid, GID: u.gid, Changed: true, Added: u.passwd != nil}
	default:
		who = current + " (unchanged)"
		as = UserReport{Name: d.user.name, UID: d.user.uid, GID: d.user.gid}
	}
	return who, as
}

// fromBuild gives the report the figures of what Apply wrote: each
// layer's real sizes and digest, imgslim's own layer, the totals.
func (r *Report) fromBuild(b *built) error {
	r.After.Layers = b.layers
	r.After.Compressed, r.After.Uncompressed = b.compressed, b.uncompressed
	r.After.Files += b.addedFiles
	r.Digest = b.digest
	r.Timings.Rewrite = b.rewriteSeconds
	sizes, added, addedSize := b.tarSizes, b.added, b.addedTar
	for i, l := range b.out {
		lr := &r.Layers[i]
		if l == nil {
			lr.CompressedAfter, lr.UncompressedAfter = 0, 0
			continue
		}
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("reading layer %d digest: %w", i+1, err)
		}
		n, err := l.Size()
		if err != nil {
			return fmt.Errorf("reading layer %d size: %w", i+1, err)
		}
		lr.CompressedAfter, lr.UncompressedAfter = n, sizes[i]
		if d.String() != lr.Digest {
			lr.OutputDigest = d.String()
			if lr.Action == LayerKept {
				// A plain tar compressed for its target.
				lr.Action = LayerRecompressed
			}
		}
	}
	if added != nil {
		d, err := added.Digest()
		if err != nil {
			return err
		}
		n, err := added.Size()
		if err != nil {
			return err
		}
		r.Layers = append(r.Layers, LayerReport{Index: -1, Action: LayerAdded, OutputDigest: d.String(),
			CompressedAfter: n, UncompressedAfter: addedSize})
	}
	return nil
}

// root returns the outermost path at or above p that the removal patterns
// match: the tree the report names.
func (r *Rules) root(p string) string {
	if r == nil || r.remove.empty() {
		return p
	}
	for i := 1; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		if ok, _ := r.remove.eval(p[:i]); ok {
			return p[:i]
		}
	}
	return p
}

// sortedPackages returns the removed packages, for the report.
func (p *Plan) sortedPackages() []string {
	out := append([]string(nil), p.packages...)
	sort.Strings(out)
	return out
}
