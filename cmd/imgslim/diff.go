package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/fsdiff"
	"github.com/imgslim/imgslim/slim/locations"
)

const diffUsage = `Usage: imgslim diff [flags] A B

Compares the filesystems images A and B present (what a container started
from each would see), path by path: type, mode, owner, size, content digest,
link target and extended attributes. Lists what B lacks (-), adds (+) and
changes (~, with the fields). A and B are any locations imgslim reads.

Flags:
`

// diffConfig holds the flags of the diff command.
type diffConfig struct {
	asJSON, insecure bool
	platform         string
}

func diffFlags(c *diffConfig) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet("imgslim diff", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), diffUsage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.asJSON, "json", false, "print JSON, for CI")
	fs.BoolVar(&c.insecure, "insecure", false, "allow plain-HTTP registries")
	fs.StringVar(&c.platform, "platform", "", "the `OS/ARCH[/VARIANT]` image of multi-platform indexes (default: the first)")
	return fs, fs.BoolP("help", "h", false, "show this help")
}

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c diffConfig
	fs, help := diffFlags(&c)
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, args, help, 2, "images A and B", stdout, stderr, nil); done {
		return code
	}
	return exitCode(ctx, "imgslim diff", diffImages(ctx, c, fs.Arg(0), fs.Arg(1), stdout), stderr)
}

// diffJSON is the JSON form of `imgslim diff --json`.
type diffJSON struct {
	SchemaVersion int             `json:"schemaVersion"`
	A             slim.Ref        `json:"a"`
	B             slim.Ref        `json:"b"`
	Removed       []fsdiff.Change `json:"removed"`
	Added         []fsdiff.Change `json:"added"`
	Changed       []fsdiff.Change `json:"changed"`
}

func diffImages(ctx context.Context, c diffConfig, argA, argB string, stdout io.Writer) error {
	var platform *v1.Platform
	if c.platform != "" {
		var err error
		if platform, err = v1.ParsePlatform(c.platform); err != nil {
			return usagef("bad --platform %q: %w", c.platform, err)
		}
	}
	locA, err := locations.Parse(argA)
	if err != nil {
		return usageError{err}
	}
	locB, err := locations.Parse(argB)
	if err != nil {
		return usageError{err}
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
	rd := fsdiff.NewReader()
	var refs [2]slim.Ref
	var fss [2]fsdiff.FS
	for i, loc := range []locations.Location{locA, locB} {
		img, where, closer, err := openPlatformImage(ctx, loc, platform, c.insecure, workDir)
		if err != nil {
			return err
		}
		refs[i].Ref = where
		if d, err := img.Digest(); err == nil {
			refs[i].Digest = d.String()
		}
		fss[i], err = rd.Read(ctx, img)
		closer()
		if err != nil {
			return fmt.Errorf("reading %s: %w", where, err)
		}
	}
	res := fsdiff.Compare(fss[0], fss[1])
	if c.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(diffJSON{SchemaVersion: 1, A: refs[0], B: refs[1], Removed: res.Removed, Added: res.Added, Changed: res.Changed})
	}
	return writeDiffText(stdout, refs, res)
}

// writeDiffText writes the differences for people, one path a line, each
// name quoted when it holds anything but printable characters.
func writeDiffText(w io.Writer, refs [2]slim.Ref, res *fsdiff.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s %s\n+++ %s %s\n", slim.Sanitize(refs[0].Ref), refs[0].Digest, slim.Sanitize(refs[1].Ref), refs[1].Digest)
	for _, c := range res.Removed {
		fmt.Fprintf(&b, "- %s\n", slim.Quote(c.Path))
	}
	for _, c := range res.Added {
		fmt.Fprintf(&b, "+ %s\n", slim.Quote(c.Path))
	}
	for _, c := range res.Changed {
		fmt.Fprintf(&b, "~ %s (%s)\n", slim.Quote(c.Path), strings.Join(c.Fields, ", "))
	}
	fmt.Fprintf(&b, "%d removed, %d added, %d changed\n", len(res.Removed), len(res.Added), len(res.Changed))
	_, err := io.WriteString(w, b.String())
	return err
}

// openPlatformImage opens the image at loc: the platform's of an index,
// or its first platform image.
func openPlatformImage(ctx context.Context, loc locations.Location, platform *v1.Platform, insecure bool, workDir string) (v1.Image, string, func(), error) {
	source, err := locations.NewSource(ctx, loc, locationOptions(insecure, platform, workDir, 0, 0)...)
	if err != nil {
		return nil, "", nil, err
	}
	s, err := source.Open(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	where := source.Location().String()
	closer := func() { s.Close() }
	if s.Image != nil {
		return s.Image, where, closer, nil
	}
	im, err := s.Index.IndexManifest()
	if err != nil {
		closer()
		return nil, "", nil, err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown") {
			img, err := s.Index.Image(d.Digest)
			if err != nil {
				closer()
				return nil, "", nil, err
			}
			return img, where, closer, nil
		}
	}
	closer()
	return nil, "", nil, fmt.Errorf("%s holds no platform image", where)
}
