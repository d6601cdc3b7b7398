package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/locations"
)

const analyzeUsage = `Usage: imgslim analyze [flags] IMAGE

Prints, writing nothing, what the image's bytes are: your application,
sources, build tools, dev dependencies, caches, VCS history, docs, secrets
and the rest, the bytes later layers waste, and what imgslim with the
default rule sets would save. IMAGE is any location imgslim reads.

Flags:
`

// analyzeConfig holds the flags of the analyze command.
type analyzeConfig struct {
	asJSON, insecure, quiet bool
	platform                string
	// Gates, as dive --ci has them.
	ci                      bool
	maxWasted               string
	maxWastedPct, maxSaving string
	failOn                  []string
	reg                     registryFlags
}

func analyzeFlags(a *analyzeConfig) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet("imgslim analyze", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), analyzeUsage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&a.asJSON, "json", false, "print JSON, for CI")
	fs.BoolVar(&a.insecure, "insecure", false, "allow plain-HTTP registries")
	fs.StringVar(&a.platform, "platform", "", "the `OS/ARCH[/VARIANT]` image of a multi-platform index (default: the first)")
	fs.BoolVarP(&a.quiet, "quiet", "q", false, "print no progress on stderr")
	a.reg.add(fs)
	fs.BoolVar(&a.ci, "ci", false, "check the gates and exit 3 when one fails; the default gate is --max-wasted-percent 10 (as dive --ci)")
	fs.StringVar(&a.maxWasted, "max-wasted", "", "gate: fail when later layers waste more than `SIZE` (bytes of files they delete or overwrite)")
	fs.StringVar(&a.maxWastedPct, "max-wasted-percent", "", "gate: fail when later layers waste more than `PERCENT` of the image's bytes")
	fs.StringVar(&a.maxSaving, "max-saving", "", "gate: fail when imgslim with the default sets would remove more than `PERCENT` of the image's bytes")
	fs.StringArrayVar(&a.failOn, "fail-on", nil, "gate: fail on `CONDITION`: secrets (the image holds one)")
	return fs, fs.BoolP("help", "h", false, "show this help")
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var a analyzeConfig
	fs, help := analyzeFlags(&a)
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, args, help, 1, "one IMAGE", stdout, stderr, nil); done {
		return code
	}
	ag, err := newAnalyzeGates(a)
	if err != nil {
		return exitCode(ctx, "imgslim analyze", err, stderr)
	}
	return exitCode(ctx, "imgslim analyze", analyze(ctx, fs.Arg(0), a.platform, a.insecure, a.asJSON, a.quiet, ag, &a.reg, stdout, stderr), stderr)
}

// analyzeGates are analyze's thresholds; a negative one is off.
type analyzeGates struct {
	maxWasted                  int64
	maxWastedPct, maxSavingPct float64
	failSecrets                bool
}

func newAnalyzeGates(a analyzeConfig) (*analyzeGates, error) {
	g := &analyzeGates{maxWasted: -1, maxWastedPct: -1, maxSavingPct: -1}
	var err error
	if a.ci {
		g.maxWastedPct = 10
	}
	if a.maxWasted != "" {
		if g.maxWasted, err = parseSize(a.maxWasted); err != nil {
			return nil, usagef("bad --max-wasted %q: %w", a.maxWasted, err)
		}
	}
	if a.maxWastedPct != "" {
		if g.maxWastedPct, err = parsePercent("--max-wasted-percent", a.maxWastedPct); err != nil {
			return nil, err
		}
	}
	if a.maxSaving != "" {
		if g.maxSavingPct, err = parsePercent("--max-saving", a.maxSaving); err != nil {
			return nil, err
		}
	}
	fail, err := parseFailOn(a.failOn, []string{failSecrets})
	if err != nil {
		return nil, err
	}
	g.failSecrets = fail[failSecrets]
	return g, nil
}

func percentOf(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// check evaluates the gates on an analysis.
func (g *analyzeGates) check(a *slim.Analysis) ([]slim.Gate, error) {
	var out []slim.Gate
	var failed []string
	add := func(name, unit string, threshold, value float64, passed bool, why string) {
		out = append(out, slim.Gate{Name: name, Unit: unit, Threshold: threshold, Value: value, Passed: passed})
		if !passed {
			failed = append(failed, why)
		}
	}
	if g.maxWasted >= 0 {
		add("max-wasted", "bytes", float64(g.maxWasted), float64(a.Wasted), a.Wasted <= g.maxWasted,
			fmt.Sprintf("later layers waste %s, over --max-wasted %s", slim.Bytes(a.Wasted), slim.Bytes(g.maxWasted)))
	}
	if g.maxWastedPct >= 0 {
		p := percentOf(a.Wasted, a.Uncompressed)
		add("max-wasted-percent", "percent", g.maxWastedPct, p, p <= g.maxWastedPct,
			fmt.Sprintf("later layers waste %.1f%% of the bytes, over %g%%", p, g.maxWastedPct))
	}
	if g.maxSavingPct >= 0 {
		p := percentOf(a.Saving.Uncompressed, a.Uncompressed)
		add("max-saving", "percent", g.maxSavingPct, p, p <= g.maxSavingPct,
			fmt.Sprintf("imgslim would remove %.1f%% of the bytes, over --max-saving %g%%", p, g.maxSavingPct))
	}
	if g.failSecrets {
		add("fail-on-secrets", "count", 0, float64(len(a.Secrets)), len(a.Secrets) == 0,
			fmt.Sprintf("%d secrets in the image", len(a.Secrets)))
	}
	if len(failed) > 0 {
		return out, gateError{fmt.Errorf("gate failed: %s", strings.Join(failed, "; "))}
	}
	return out, nil
}

func analyze(ctx context.Context, arg, platformFlag string, insecure, asJSON, quiet bool, g *analyzeGates, reg *registryFlags, stdout, stderr io.Writer) error {
	loc, err := locations.Parse(arg)
	if err != nil {
		return usageError{err}
	}
	var platform *v1.Platform
	if platformFlag != "" {
		if platform, err = v1.ParsePlatform(platformFlag); err != nil {
			return usagef("bad --platform %q: %w", platformFlag, err)
		}
	}
	workDir, err := os.MkdirTemp("", "imgslim-*")
	if err != nil {
		return err
	}
	addTemp(workDir)
	defer func() {
		os.RemoveAll(workDir)
		removeTemp(workDir)
	}()
	srcOpts, _, err := reg.options(locationOptions(insecure, platform, workDir, 0, 0))
	if err != nil {
		return err
	}
	source, err := locations.NewSource(ctx, loc, srcOpts...)
	if err != nil {
		return err
	}
	s, err := source.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	img := s.Image
	if img == nil {
		// An index without --platform: the first platform image, as
		// `docker pull` on that platform would get.
		if img, err = firstImage(s.Index); err != nil {
			return err
		}
		if img == nil {
			return fmt.Errorf("%s holds no platform image", source.Location())
		}
	}
	logf := func(format string, args ...any) {
		if !quiet {
			fmt.Fprintf(stderr, "imgslim: "+format+"\n", args...)
		}
	}
	a, err := slim.Analyze(img, slim.WithContext(ctx), slim.WithWorkDir(workDir), slim.WithLogf(logf))
	if err != nil {
		return err
	}
	a.Image = source.Location().String()
	doc := a.Document()
	gates, gateErr := g.check(a)
	if gates != nil {
		doc.Gates = gates
	}
	if gateErr != nil {
		doc.Failure = oneLine(gateErr)
	}
	if !quiet {
		doc.WriteWarnings(stderr)
	}
	if asJSON {
		if err := doc.WriteJSON(stdout); err != nil {
			return err
		}
		return gateErr
	}
	if err := a.WriteText(stdout); err != nil {
		return err
	}
	return gateErr
}

// firstImage gives the first platform image of idx or of the indexes it
// nests (their depth is bounded by the source), or nil.
func firstImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown"):
			return idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := firstImage(child); img != nil || err != nil {
				return img, err
			}
		}
	}
	return nil, nil
}
