package main

import (
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/locations"
)

// runReport is what one invocation produced, for its JSON report.
type runReport struct {
	mode     string
	dryRun   bool
	quiet    bool // -q: nothing on stderr but errors
	start    time.Time
	source   locations.Location
	contents *locations.Contents
	target   string // empty when nothing was written
	digest   string // of what was written
	gates    []slim.Gate
	reports  []*slim.Report
	dropped  []slim.Dropped // index entries left out
	written  time.Duration
	jsonOut  io.Writer // where --report - writes
}

// contentsDigest is the digest of the source image or index.
func contentsDigest(c *locations.Contents) string {
	var (
		d   v1.Hash
		err error
	)
	switch {
	case c == nil:
		return ""
	case c.Image != nil:
		d, err = c.Image.Digest()
	case c.Index != nil:
		d, err = c.Index.Digest()
	default:
		return ""
	}
	if err != nil {
		return ""
	}
	return d.String()
}

// document assembles the JSON report; failure, when set, is why the run
// stopped (a gate failed).
func (rr *runReport) document(failure error) *slim.Document {
	doc := slim.NewDocument(rr.mode, rr.reports...)
	doc.DryRun = rr.dryRun
	doc.Dropped = append(doc.Dropped, rr.dropped...)
	doc.Source = slim.Ref{Ref: rr.source.String(), Digest: contentsDigest(rr.contents)}
	if rr.target != "" && failure == nil {
		doc.Target = &slim.Ref{Ref: rr.target, Digest: rr.digest}
	}
	if rr.gates != nil {
		doc.Gates = rr.gates
	}
	if failure != nil {
		doc.Failure = oneLine(failure)
	}
	doc.Timings.Total = time.Since(rr.start).Seconds()
	doc.Timings.Write = rr.written.Seconds()
	return doc
}

// finish writes the warnings to stderr and the JSON report to path (when
// set), also when the run failed a gate, and returns failure.
func (rr *runReport) finish(path string, failure error, stderr io.Writer) error {
	doc := rr.document(failure)
	if !rr.quiet {
		doc.WriteWarnings(stderr)
	}
	if path == "-" && rr.jsonOut != nil {
		if err := doc.WriteJSON(rr.jsonOut); err != nil && failure == nil {
			return fmt.Errorf("writing --report to stdout: %w", err)
		}
	} else if path != "" {
		if err := locations.WriteFile(path, func(f io.Writer) error { return doc.WriteJSON(f) }); err != nil {
			if failure != nil {
				return failure
			}
			return fmt.Errorf("writing --report %s: %w", path, err)
		}
	}
	return failure
}

// sizeGates checks --max-size against each output.
func sizeGates(maxSize int64, reports []*slim.Report) []slim.Gate {
	if maxSize <= 0 {
		return nil
	}
	var gs []slim.Gate
	for _, r := range reports {
		gs = append(gs, slim.Gate{Name: "max-size", Platform: r.Platform, Unit: "bytes",
			Threshold: float64(maxSize), Value: float64(r.After.Uncompressed), Passed: r.After.Uncompressed <= maxSize})
	}
	return gs
}

// writeDropped lists, after the text reports, the index entries the output
// leaves out and why.
func writeDropped(w io.Writer, dropped []slim.Dropped) error {
	for _, d := range dropped {
		what := d.Kind + " " + d.Digest
		if d.Platform != "" {
			what += " (" + d.Platform + ")"
		}
		if _, err := fmt.Fprintf(w, "dropped %s: %s\n", slim.Sanitize(what), slim.Sanitize(d.Reason)); err != nil {
			return err
		}
	}
	return nil
}
