package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
	return fs, fs.BoolP("help", "h", false, "show this help")
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var a analyzeConfig
	fs, help := analyzeFlags(&a)
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, args, help, 1, "one IMAGE", stdout, stderr, nil); done {
		return code
	}
	return exitCode(ctx, "imgslim analyze", analyze(ctx, fs.Arg(0), a.platform, a.insecure, a.asJSON, a.quiet, stdout, stderr), stderr)
}

func analyze(ctx context.Context, arg, platformFlag string, insecure, asJSON, quiet bool, stdout, stderr io.Writer) error {
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
	source, err := locations.NewSource(ctx, loc, locationOptions(insecure, platform, workDir, 0, 0)...)
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
		im, err := s.Index.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown") {
				if img, err = s.Index.Image(d.Digest); err != nil {
					return err
				}
				break
			}
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
	if !quiet {
		doc.WriteWarnings(stderr)
	}
	if asJSON {
		return doc.WriteJSON(stdout)
	}
	return a.WriteText(stdout)
}
