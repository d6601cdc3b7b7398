package slim

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"
)

// SchemaVersion is the version of the JSON report's schema
// (docs/report.schema.json). It changes when a key is removed or changes
// meaning; added keys keep it.
const SchemaVersion = 1

// Report says what a slimming did to one image, or will do under
// --dry-run. Its JSON form is one element of Document.Images; every key is
// a machine key, described in docs/report.schema.json.
type Report struct {
	// Source and Target are the locations, shown in the text report; the
	// JSON has them once, in the Document.
	Source string `json:"-"`
	Target string `json:"-"`

	Platform string `json:"platform,omitempty"`
	DryRun   bool   `json:"dryRun"`
	// Estimated is set when After.Compressed is a projection (dry run).
	Estimated bool `json:"estimated"`
	// SourceDigest is the source image's manifest digest, Digest the
	// output's (empty for a dry run).
	SourceDigest string `json:"sourceDigest,omitempty"`
	Digest       string `json:"targetDigest,omitempty"`

	Before Totals `json:"before"`
	After  Totals `json:"after"`

	// Layers says, for each layer of the source and then for each layer
	// imgslim adds, what became of it.
	Layers           []LayerReport `json:"layers"`
	LayersRewritten  int           `json:"layersRewritten"`
	LayersDropped    int           `json:"layersDropped"`
	WhiteoutsDropped int           `json:"whiteoutsDropped"`

	// Removed is what each rule took: a user pattern, or "SET: reason"
	// for a built-in set.
	Removed []PatternReport `json:"rules"`
	// Sets sums Removed by built-in rule set; the user's patterns are
	// under "patterns".
	Sets []SetReport `json:"sets"`
	// Protected lists paths a rule matched but the program needs.
	Protected []Skip `json:"kept"`
	// Secrets found in the source image, each with where it was and
	// whether it remains in the output.
	Secrets []Secret `json:"secrets"`
	// Packages the package sets removed, and those they left, with why.
	Packages     []string          `json:"-"`
	PackagesKept map[string]string `json:"-"`
	PackageList  PackageReport     `json:"packages"`

	// User is the user the output runs as, for the text report; RunsAs
	// the same for machines.
	User   string     `json:"-"`
	RunsAs UserReport `json:"user"`

	// Written lists what imgslim writes besides the source's layers: the
	// output's verification allows these changes and no others.
	Written []WrittenPath `json:"written"`

	Warnings []string `json:"warnings"`
	Timings  Timings  `json:"timings"`

	// Waste is what dropping the entries later layers replace or delete
	// saved (waste.go); nil when nothing was.
	Waste *WasteReport `json:"waste,omitempty"`

	// DebugTwin is set by --debug-target: the twin written beside the
	// output.
	DebugTwin *DebugReport `json:"debugTwin,omitempty"`

	// Onto is set by --scratch --onto (onto.go).
	Onto *OntoSection `json:"onto,omitempty"`

	// Scratch is set by --scratch, Analysis by analyze.
	Scratch  *ScratchSection  `json:"scratch,omitempty"`
	Analysis *AnalysisSection `json:"analysis,omitempty"`
}

// Totals describe an image.
type Totals struct {
	Layers       int   `json:"layers"`
	Compressed   int64 `json:"compressedBytes"`
	Uncompressed int64 `json:"uncompressedBytes"`
	Files        int   `json:"files"`
}

// Layer actions.
const (
	LayerKept      = "kept"      // the source's blob, unchanged
	LayerRewritten = "rewritten" // rewritten without what the rules removed
	LayerDropped   = "dropped"   // left empty, so left out
	// LayerRecompressed is a plain tar compressed for its target: same
	// files, new blob.
	LayerRecompressed = "recompressed"
	LayerAdded        = "added" // imgslim's own (the user's accounts and home)
)

// LayerReport is what became of one layer.
type LayerReport struct {
	// Index is the layer's position in the source (-1 for an added one).
	Index  int    `json:"index"`
	Action string `json:"action"`
	// Digest and DiffID are the source layer's; OutputDigest the layer in
	// the output, when it differs from Digest.
	Digest       string `json:"digest,omitempty"`
	DiffID       string `json:"diffID,omitempty"`
	OutputDigest string `json:"outputDigest,omitempty"`
	// Bytes before and after, as blob (compressed) and tar sizes.
	CompressedBefore   int64 `json:"compressedBytesBefore"`
	CompressedAfter    int64 `json:"compressedBytesAfter"`
	UncompressedBefore int64 `json:"uncompressedBytesBefore"`
	UncompressedAfter  int64 `json:"uncompressedBytesAfter"`
	// FilesRemoved and BytesRemoved count the rules' removals in this
	// layer (logical file sizes).
	FilesRemoved int   `json:"filesRemoved"`
	BytesRemoved int64 `json:"bytesRemoved"`
}

// PatternReport is what one removal rule took.
type PatternReport struct {
	Pattern string `json:"rule"`
	// Set is the built-in set the rule belongs to, or "patterns".
	Set   string `json:"set"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
	// Paths lists every removed tree, largest first: removing a path
	// removes everything under it.
	Paths []PathBytes `json:"paths"`
	// Largest are the first Paths, for the text report.
	Largest []PathBytes `json:"-"`
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

// PackageReport lists the packages the package sets purged, and the ones
// asked for that stay.
type PackageReport struct {
	Removed []string      `json:"removed"`
	Kept    []PackageKept `json:"kept"`
}

// PackageKept is a package that stays, and why.
type PackageKept struct {
	Name string `json:"name"`
	Why  string `json:"why"`
}

// UserReport is who the output runs as.
type UserReport struct {
	Name string `json:"name"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Changed says imgslim set the config's User; Added that it added the
	// account to /etc/passwd.
	Changed bool `json:"changed"`
	Added   bool `json:"added"`
}

// Timings are the seconds each stage of one image took.
type Timings struct {
	Plan    float64 `json:"planSeconds"`
	Rewrite float64 `json:"rewriteSeconds"`
	Verify  float64 `json:"verifySeconds"`
}

// ScratchSection is what --scratch copied, and why.
type ScratchSection struct {
	Program string         `json:"program"`
	Files   []ScratchEntry `json:"files"`
}

// AnalysisSection is analyze's breakdown of the visible bytes.
type AnalysisSection struct {
	Categories []Category `json:"categories"`
	// Wasted counts bytes of files that a later layer deletes or
	// overwrites: shipped, never seen.
	Wasted int64 `json:"wastedBytes"`
	// Saving is what `imgslim IN OUT` with the default sets would remove.
	Saving Totals `json:"saving"`
}

// Modes of a Document.
const (
	ModeSlim    = "slim"
	ModeIndex   = "index"
	ModeScratch = "scratch"
	ModeAnalyze = "analyze"
)

// Document is the JSON report of every mode (slim, index, scratch,
// analyze): one schema, docs/report.schema.json, that scripts can rely on.
type Document struct {
	SchemaVersion int    `json:"schemaVersion"`
	Tool          Tool   `json:"tool"`
	Mode          string `json:"mode"`
	DryRun        bool   `json:"dryRun"`
	Source        Ref    `json:"source"`
	// Target is absent for a dry run and for analyze.
	Target *Ref `json:"target,omitempty"`
	// Images holds one report per platform image: one, except for a
	// multi-platform index.
	Images []*Report `json:"images"`
	// Dropped lists the entries of a source index the output leaves out
	// (attestations, artifacts), each with why.
	Dropped []Dropped `json:"dropped"`
	// Warnings are every image's, and the run's own.
	Warnings []string `json:"warnings"`
	// Gates are the checks the run was asked to pass; Failure says why
	// it stopped when it did (a gate failed: the output was not written).
	Gates   []Gate     `json:"gates"`
	Failure string     `json:"failure,omitempty"`
	Timings RunTimings `json:"timings"`
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Ref is an image location and the digest it had or was given.
type Ref struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest,omitempty"`
}

// Gate is one check the output had to pass: Value against Threshold,
// both in Unit (bytes, percent, count).
type Gate struct {
	Name      string  `json:"name"`
	Platform  string  `json:"platform,omitempty"`
	Unit      string  `json:"unit"`
	Threshold float64 `json:"threshold"`
	Value     float64 `json:"value"`
	Passed    bool    `json:"passed"`
}

// RunTimings are the seconds the whole run, and the write, took.
type RunTimings struct {
	Total float64 `json:"totalSeconds"`
	Write float64 `json:"writeSeconds"`
}

// NewDocument gathers the reports of one run.
func NewDocument(mode string, reports ...*Report) *Document {
	d := &Document{SchemaVersion: SchemaVersion, Tool: Tool{Name: "imgslim", Version: toolVersion()}, Mode: mode,
		Images: reports, Dropped: []Dropped{}, Warnings: []string{}, Gates: []Gate{}}
	seen := map[string]bool{}
	for _, r := range reports {
		r.normalize()
		d.DryRun = d.DryRun || r.DryRun
		for _, w := range r.Warnings {
			if !seen[w] {
				seen[w] = true
				d.Warnings = append(d.Warnings, w)
			}
		}
	}
	if d.Images == nil {
		d.Images = []*Report{}
	}
	return d
}

// toolVersion is imgslim's module version and VCS revision, from the
// build info.
func toolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// normalize gives every list of the JSON form a value, so a script reads
// [] rather than null.
func (r *Report) normalize() {
	if r.Layers == nil {
		r.Layers = []LayerReport{}
	}
	if r.Removed == nil {
		r.Removed = []PatternReport{}
	}
	for i := range r.Removed {
		if r.Removed[i].Paths == nil {
			r.Removed[i].Paths = []PathBytes{}
		}
	}
	if r.Sets == nil {
		r.Sets = []SetReport{}
	}
	if r.Protected == nil {
		r.Protected = []Skip{}
	}
	if r.Secrets == nil {
		r.Secrets = []Secret{}
	}
	r.PackageList = PackageReport{Removed: append([]string{}, r.Packages...), Kept: []PackageKept{}}
	for _, k := range sortedKeys(r.PackagesKept) {
		r.PackageList.Kept = append(r.PackageList.Kept, PackageKept{Name: k, Why: r.PackagesKept[k]})
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if r.Written == nil {
		r.Written = []WrittenPath{}
	}
	if r.Analysis != nil && r.Analysis.Categories == nil {
		r.Analysis.Categories = []Category{}
	}
	if r.Scratch != nil && r.Scratch.Files == nil {
		r.Scratch.Files = []ScratchEntry{}
	}
}

// WriteWarnings writes the warnings for people, one escaped line each:
// they go to stderr, not into the report on stdout.
func (d *Document) WriteWarnings(w io.Writer) error {
	var b strings.Builder
	for _, warn := range d.Warnings {
		fmt.Fprintf(&b, "imgslim: warning: %s\n", Sanitize(warn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ScratchAsReport returns a --scratch report in the form every mode's
// JSON report shares.
func ScratchAsReport(sr *ScratchReport, dryRun bool) *Report {
	r := &Report{DryRun: dryRun, Digest: sr.Digest, Before: sr.Before, After: sr.After,
		Warnings: sr.Warnings, Scratch: &ScratchSection{Program: sr.Program, Files: sr.Files},
		RunsAs: UserReport{Name: "nonroot", UID: 65532, GID: 65532, Changed: true, Added: true}, Secrets: sr.Secrets}
	r.Timings = Timings{Plan: sr.planTime.Seconds(), Rewrite: sr.rewriteTime.Seconds(), Verify: sr.verifyTime.Seconds()}
	r.normalize()
	return r
}

// WriteJSON writes the document as indented JSON.
func (d *Document) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
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
			status := "removed"
			if s.Status == SecretRemaining {
				status = "REMAINS IN THE OUTPUT"
			}
			fmt.Fprintf(&b, "  %s: %s (%s)\n", Sanitize(s.Where), Sanitize(s.What), status)
		}
	}
	if wr := r.Waste; wr != nil {
		fmt.Fprintf(&b, "\n%s\n", wr.text())
	}
	fmt.Fprintf(&b, "\nlayers rewritten: %d, dropped (left empty): %d, whiteouts dropped: %d\n", r.LayersRewritten, r.LayersDropped, r.WhiteoutsDropped)
	fmt.Fprintf(&b, "runs as: %s\n", Sanitize(r.User))
	if r.Digest != "" {
		fmt.Fprintf(&b, "digest: %s\n", r.Digest)
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
