package slim

import (
	"archive/tar"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Analysis is the breakdown of an image the textbook draws for a bloated
// one: what its bytes are, what later layers waste, and what slimming with
// every built-in set would save.
type Analysis struct {
	Image        string     `json:"image,omitempty"`
	Compressed   int64      `json:"compressedBytes"`
	Uncompressed int64      `json:"uncompressedBytes"`
	Layers       int        `json:"layers"`
	Categories   []Category `json:"categories"`
	// Wasted counts bytes of files that a later layer deletes or
	// overwrites: shipped, never seen.
	Wasted int64 `json:"wastedBytes"`
	// Saving is what `imgslim IN OUT` with the default sets would remove.
	Saving   Totals   `json:"saving"`
	Secrets  []Secret `json:"secrets,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	// report is the plan's, for the JSON document.
	report *Report
}

// Category is one share of the visible files.
type Category struct {
	// Key names the category for machines: application, one of AllSets,
	// or other; Name is for people.
	Key   string  `json:"category"`
	Name  string  `json:"-"`
	Files int     `json:"files"`
	Bytes int64   `json:"bytes"`
	Share float64 `json:"share"` // of the visible bytes
}

var categoryNames = []struct{ key, name string }{
	{"application", "your application"},
	{SetSources, "sources"},
	{SetBuildTools, "build tools"},
	{SetDevDeps, "dev dependencies"},
	{SetCaches, "caches"},
	{SetVCS, "VCS history"},
	{SetDocs, "docs"},
	{SetSecrets, "secrets"},
	{"other", "other (base system, runtime)"},
}

// Analyze plans img with every built-in set and reports its breakdown,
// writing nothing.
func Analyze(img v1.Image, opts ...AnalyzeOption) (*Analysis, error) {
	o, err := makeAnalyzeOptions(opts...)
	if err != nil {
		return nil, err
	}
	// The closure is read in rounds: from spooled tars, not from the
	// compressed layers again each round.
	p, err := NewPlan(img, preset(o), WithSets(AllSets...), withSpool())
	if err != nil {
		return nil, err
	}
	defer p.Close()
	r := p.Report()
	a := &Analysis{
		Compressed: r.Before.Compressed, Uncompressed: r.Before.Uncompressed, Layers: r.Before.Layers,
		Saving: Totals{
			Layers:       r.Before.Layers - r.After.Layers,
			Compressed:   r.Before.Compressed - r.After.Compressed,
			Uncompressed: r.Before.Uncompressed - r.After.Uncompressed,
			Files:        r.Before.Files - r.After.Files,
		},
		Secrets: r.Secrets, Warnings: r.Warnings, report: r,
	}
	cats := map[string]*Category{}
	var visible int64
	for li, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout || e.typ != tar.TypeReg {
				continue
			}
			if n, ok := p.view.lookup(e.name); !ok || n.entry != e || n.layer != li {
				a.Wasted += e.size
				continue
			}
			visible += e.size
			key := "other"
			switch {
			case p.d.dropped(li, i) && strings.Contains(p.d.layers[li].marks[i].why, ": "):
				key, _, _ = strings.Cut(p.d.layers[li].marks[i].why, ": ")
			case p.isApplication(e.name):
				key = "application"
			}
			c := cats[key]
			if c == nil {
				c = &Category{}
				cats[key] = c
			}
			c.Files++
			c.Bytes += e.size
		}
	}
	for _, cn := range categoryNames {
		c := cats[cn.key]
		if c == nil {
			c = &Category{}
		}
		c.Key, c.Name = cn.key, cn.name
		if visible > 0 {
			c.Share = float64(c.Bytes) / float64(visible)
		}
		a.Categories = append(a.Categories, *c)
	}
	r.DryRun = true
	r.Analysis = &AnalysisSection{Categories: a.Categories, Wasted: a.Wasted, Saving: a.Saving}
	return a, nil
}

// Document returns the analysis as the JSON report every mode shares.
func (a *Analysis) Document() *Document {
	d := NewDocument(ModeAnalyze, a.report)
	d.Source = Ref{Ref: a.Image, Digest: a.report.SourceDigest}
	return d
}

// isApplication reports whether name belongs to the program: the
// application directory, or what the entrypoint needs.
func (p *Plan) isApplication(name string) bool {
	if p.app.appDir != "" && strings.HasPrefix(name, p.app.appDir+"/") {
		return true
	}
	_, ok := p.protected[name]
	return ok && p.protected[name] != "needed by every program"
}

// WriteText writes the analysis as a table.
func (a *Analysis) WriteText(w io.Writer) error {
	var b strings.Builder
	if a.Image != "" {
		fmt.Fprintf(&b, "%s\n", Sanitize(a.Image))
	}
	fmt.Fprintf(&b, "total: %s uncompressed, %s compressed, %d layers\n\n", Bytes(a.Uncompressed), Bytes(a.Compressed), a.Layers)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tfiles\tbytes\tshare")
	for _, c := range a.Categories {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%.1f%%\n", c.Name, c.Files, Bytes(c.Bytes), 100*c.Share)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nwasted by later layers (deleted or overwritten files): %s\n", Bytes(a.Wasted))
	fmt.Fprintf(&b, "imgslim with the default sets would save: %s uncompressed (%s), ~%s compressed, %d files\n",
		Bytes(a.Saving.Uncompressed), pct(a.Saving.Uncompressed, a.Uncompressed), Bytes(a.Saving.Compressed), a.Saving.Files)
	if len(a.Secrets) > 0 {
		fmt.Fprintf(&b, "\n!!! %d SECRETS IN THIS IMAGE: rotate them !!!\n", len(a.Secrets))
		for _, s := range a.Secrets {
			fmt.Fprintf(&b, "  %s: %s\n", Sanitize(s.Where), Sanitize(s.What))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(part, whole int64) string {
	if whole == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}
