package slim

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Report says what a slimming did, or will do under --dry-run.
type Report struct {
	Source   string `json:"source,omitempty"`
	Target   string `json:"target,omitempty"`
	Platform string `json:"platform,omitempty"`
	DryRun   bool   `json:"dryRun"`
	// Estimated is set when After.Compressed is a projection (dry run).
	Estimated bool   `json:"estimated"`
	Digest    string `json:"digest,omitempty"`

	Before Totals `json:"before"`
	After  Totals `json:"after"`

	LayersRewritten  int `json:"layersRewritten"`
	LayersDropped    int `json:"layersDropped"`
	WhiteoutsDropped int `json:"whiteoutsDropped"`

	Removed []PatternReport `json:"removed"`
	// Sets sums Removed by built-in rule set; the user's patterns are
	// under "patterns".
	Sets []SetReport `json:"sets,omitempty"`
	// Protected lists paths a rule matched but the program needs.
	Protected []Skip `json:"protected,omitempty"`
	// Secrets were in the source image: removed from the output, but
	// published with the source, so they must be rotated.
	Secrets []Secret `json:"secrets,omitempty"`
	// Packages the buildtools set removed, and those it left, with why.
	Packages     []string          `json:"packages,omitempty"`
	PackagesKept map[string]string `json:"packagesKept,omitempty"`

	User     string   `json:"user"`
	Warnings []string `json:"warnings,omitempty"`
}

// Totals describe an image.
type Totals struct {
	Layers       int   `json:"layers"`
	Compressed   int64 `json:"compressedBytes"`
	Uncompressed int64 `json:"uncompressedBytes"`
	Files        int   `json:"files"`
}

// PatternReport is what one removal pattern took.
type PatternReport struct {
	Pattern string      `json:"pattern"`
	Files   int         `json:"files"`
	Bytes   int64       `json:"bytes"`
	Largest []PathBytes `json:"largest"`
}

// SetReport is what one rule set took.
type SetReport struct {
	Set   string `json:"set"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// PathBytes is a removed tree and the bytes it held, in every layer.
type PathBytes struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

const (
	largestPerPattern = 5
	maxListed         = 20
)

// Report returns the plan's report; after Apply it holds the real figures.
func (p *Plan) Report() *Report { return p.report }

func (p *Plan) newReport() *Report {
	// Warnings come from walks over maps: sort them, so the same input
	// gives the same report.
	warnings := append([]string(nil), p.warnings...)
	sort.Strings(warnings)
	r := &Report{Estimated: true, Warnings: warnings}
	byPattern := map[string]*PatternReport{}
	roots := map[string]map[string]int64{}
	for _, lp := range p.layers {
		r.Before.Layers++
		r.Before.Compressed += lp.size
		r.Before.Uncompressed += lp.tarSize
		var droppedTar int64
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.isFile() {
				r.Before.Files++
			}
			if !e.drop {
				continue
			}
			_, promoted := lp.edit.Rename[i]
			if !promoted {
				// A promoted target's content stays, under a kept
				// hardlink's name: the path goes, the bytes do not.
				droppedTar += e.tarBytes()
			}
			if e.wh != notWhiteout {
				r.WhiteoutsDropped++
				continue
			}
			pr := byPattern[e.why]
			if pr == nil {
				pr = &PatternReport{Pattern: e.why}
				byPattern[e.why] = pr
				roots[e.why] = map[string]int64{}
			}
			if e.isFile() {
				pr.Files++
			}
			if !promoted {
				pr.Bytes += e.size
				roots[e.why][e.root] += e.size
			}
		}
		switch {
		case lp.empty():
			r.LayersDropped++
		case lp.changed:
			r.LayersRewritten++
			r.After.Layers++
			r.After.Uncompressed += lp.tarSize - droppedTar
			if lp.tarSize > 0 {
				r.After.Compressed += int64(float64(lp.size) * float64(lp.tarSize-droppedTar) / float64(lp.tarSize))
			}
		default:
			r.After.Layers++
			r.After.Uncompressed += lp.tarSize
			r.After.Compressed += lp.size
		}
		for i := range lp.entries {
			if e := &lp.entries[i]; e.isFile() && !e.drop {
				r.After.Files++
			}
		}
	}
	for _, k := range sortedKeys(byPattern) {
		pr := byPattern[k]
		for path, n := range roots[k] {
			pr.Largest = append(pr.Largest, PathBytes{Path: path, Bytes: n})
		}
		sort.Slice(pr.Largest, func(i, j int) bool {
			a, b := pr.Largest[i], pr.Largest[j]
			return a.Bytes > b.Bytes || a.Bytes == b.Bytes && a.Path < b.Path
		})
		if len(pr.Largest) > largestPerPattern {
			pr.Largest = pr.Largest[:largestPerPattern]
		}
		r.Removed = append(r.Removed, *pr)
	}
	sort.SliceStable(r.Removed, func(i, j int) bool { return r.Removed[i].Bytes > r.Removed[j].Bytes })
	bySet := map[string]*SetReport{}
	for _, pr := range r.Removed {
		set := "patterns"
		if s, _, ok := strings.Cut(pr.Pattern, ": "); ok {
			set = s
		}
		sr := bySet[set]
		if sr == nil {
			sr = &SetReport{Set: set}
			bySet[set] = sr
		}
		sr.Files += pr.Files
		sr.Bytes += pr.Bytes
	}
	for _, set := range append(append(AllSets[:len(AllSets):len(AllSets)], OptInSets...), "patterns") {
		if sr := bySet[set]; sr != nil {
			r.Sets = append(r.Sets, *sr)
		}
	}
	for _, k := range sortedKeys(p.skipped) {
		r.Protected = append(r.Protected, *p.skipped[k])
	}
	r.Secrets = p.secrets
	r.Packages = p.sortedPackages()
	r.PackagesKept = p.packagesKept
	switch {
	case p.user == nil:
		r.User = "root"
	case p.setUser:
		r.User = fmt.Sprintf("%s (%d:%d)", p.user.name, p.user.uid, p.user.gid)
	default:
		r.User = p.cfg.Config.User + " (unchanged)"
	}
	return r
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

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if r.DryRun {
		b.WriteString("dry run: nothing was written\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tlayers\tcompressed\tuncompressed\tfiles\t")
	fmt.Fprintf(tw, "before\t%d\t%s\t%s\t%d\t\n", r.Before.Layers, Bytes(r.Before.Compressed), Bytes(r.Before.Uncompressed), r.Before.Files)
	approx := ""
	if r.Estimated {
		approx = "~"
	}
	fmt.Fprintf(tw, "after\t%d\t%s%s\t%s\t%d\t\n", r.After.Layers, approx, Bytes(r.After.Compressed), Bytes(r.After.Uncompressed), r.After.Files)
	fmt.Fprintf(tw, "saved\t%d\t%s\t%s\t%d\t\n", r.Before.Layers-r.After.Layers,
		percent(r.Before.Compressed, r.After.Compressed), percent(r.Before.Uncompressed, r.After.Uncompressed), r.Before.Files-r.After.Files)
	tw.Flush()

	if len(r.Sets) > 0 {
		b.WriteString("\nremoved by rule set:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, sr := range r.Sets {
			fmt.Fprintf(tw, "  %s\t%d files\t%s\n", Sanitize(sr.Set), sr.Files, Bytes(sr.Bytes))
		}
		tw.Flush()
	}
	if len(r.Removed) > 0 {
		b.WriteString("\nremoved by rule:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, pr := range r.Removed {
			fmt.Fprintf(tw, "  %s\t%d files\t%s\n", Sanitize(pr.Pattern), pr.Files, Bytes(pr.Bytes))
			for _, l := range pr.Largest {
				fmt.Fprintf(tw, "    %s\t\t%s\n", Quote(l.Path), Bytes(l.Bytes))
			}
		}
		tw.Flush()
	} else {
		b.WriteString("\nno path matched the removal patterns\n")
	}
	if len(r.Packages) > 0 {
		names := make([]string, len(r.Packages))
		for i, n := range r.Packages {
			names[i] = Quote(n)
		}
		fmt.Fprintf(&b, "\npackages removed (%d): %s\n", len(r.Packages), strings.Join(names, " "))
	}
	for _, k := range sortedKeys(r.PackagesKept) {
		fmt.Fprintf(&b, "package kept: %s (%s)\n", Quote(k), Sanitize(r.PackagesKept[k]))
	}
	if len(r.Protected) > 0 {
		fmt.Fprintf(&b, "\nkept, needed at run time (%d paths a rule matched):\n", len(r.Protected))
		for i, s := range r.Protected {
			if i == maxListed {
				fmt.Fprintf(&b, "  … and %d more (see --report)\n", len(r.Protected)-maxListed)
				break
			}
			fmt.Fprintf(&b, "  %s  (%s; %s)\n", Quote(s.Path), Sanitize(s.Rule), Sanitize(s.Why))
		}
	}
	if len(r.Secrets) > 0 {
		fmt.Fprintf(&b, "\n!!! %d SECRETS FOUND IN THE SOURCE IMAGE: they were published with it, ROTATE THEM !!!\n", len(r.Secrets))
		for _, s := range r.Secrets {
			fmt.Fprintf(&b, "  %s: %s\n", Sanitize(s.Where), Sanitize(s.What))
		}
	}
	fmt.Fprintf(&b, "\nlayers rewritten: %d, dropped (left empty): %d, whiteouts dropped: %d\n", r.LayersRewritten, r.LayersDropped, r.WhiteoutsDropped)
	fmt.Fprintf(&b, "runs as: %s\n", Sanitize(r.User))
	if r.Digest != "" {
		fmt.Fprintf(&b, "digest: %s\n", r.Digest)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", Sanitize(warn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func percent(before, after int64) string {
	if before == 0 {
		return "0%"
	}
	return fmt.Sprintf("%s %.1f%%", Bytes(before-after), 100*float64(before-after)/float64(before))
}

// Bytes formats n in decimal units, as docker images does.
func Bytes(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%s%d B", neg, n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%s%.1f %cB", neg, float64(n)/float64(div), "kMGTPE"[exp])
}

// IndexReport gathers the reports of a multi-platform index.
type IndexReport struct {
	Images []*Report `json:"images"`
}

// WriteJSON writes the reports as indented JSON.
func (r *IndexReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
