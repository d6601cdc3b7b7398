package slim

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// maxIndexDepth bounds how deep indexes may nest: a deeper (or cyclic)
// tree is refused rather than followed.
const maxIndexDepth = 8

// Index slims every platform image of idx, and of the indexes it nests,
// and returns a new index of the results, with a report for each.
// Attestation manifests (platform unknown/unknown) are dropped since they
// describe the source images, not the slimmed ones.
func Index(idx v1.ImageIndex, opts ...Option) (v1.ImageIndex, []*Report, error) {
	out, reports, err := index(idx, 0, opts)
	if err == nil && len(reports) == 0 {
		err = fmt.Errorf("index holds no platform image")
	}
	return out, reports, err
}

func index(idx v1.ImageIndex, depth int, opts []Option) (v1.ImageIndex, []*Report, error) {
	if depth > maxIndexDepth {
		return nil, nil, fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index: %w", err)
	}
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, nil, err
	}
	out := mutate.IndexMediaType(empty.Index, im.MediaType)
	var reports []*Report
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			slimmed, rs, err := index(child, depth+1, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if len(rs) == 0 {
				// Nothing of it is slimmed (attestations only): it
				// would describe the source.
				o.drop(d, DroppedIndex, reasonEmptyIndex)
				continue
			}
			reports = append(reports, rs...)
			out = mutate.AppendManifests(out, mutate.IndexAddendum{
				Add:        slimmed,
				Descriptor: v1.Descriptor{MediaType: d.MediaType, Platform: d.Platform, Annotations: d.Annotations},
			})
		case d.Platform != nil && d.Platform.OS == "unknown":
			o.drop(d, DroppedAttestation, attestationReason(d))
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			platform := ""
			if d.Platform != nil {
				platform = d.Platform.String()
			}
			o.logf("slimming %s", platform)
			slimmed, r, err := Image(img, opts...)
			if be := (*BudgetError)(nil); errors.As(err, &be) {
				be.Report.Platform = platform
			}
			if err != nil {
				return nil, nil, fmt.Errorf("slimming %s (%s): %w", platform, d.Digest, err)
			}
			r.Platform = platform
			reports = append(reports, r)
			out = mutate.AppendManifests(out, mutate.IndexAddendum{
				Add: slimmed,
				Descriptor: v1.Descriptor{
					MediaType:   d.MediaType,
					Platform:    d.Platform,
					Annotations: d.Annotations,
				},
			})
		default:
			o.drop(d, DroppedArtifact, reasonArtifact)
		}
	}
	return out, reports, nil
}

// PlanIndex plans every platform image of idx, and of the indexes it
// nests, without writing anything.
func PlanIndex(idx v1.ImageIndex, opts ...Option) ([]*Report, error) {
	return planIndex(idx, 0, opts)
}

func planIndex(idx v1.ImageIndex, depth int, opts []Option) ([]*Report, error) {
	if depth > maxIndexDepth {
		return nil, fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	var reports []*Report
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			rs, err := planIndex(child, depth+1, opts)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if len(rs) == 0 {
				o.drop(d, DroppedIndex, reasonEmptyIndex)
			}
			reports = append(reports, rs...)
			continue
		}
		if d.Platform != nil && d.Platform.OS == "unknown" {
			o.drop(d, DroppedAttestation, attestationReason(d))
			continue
		}
		if !d.MediaType.IsImage() {
			o.drop(d, DroppedArtifact, reasonArtifact)
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
		}
		p, err := NewPlan(img, append(opts[:len(opts):len(opts)], withSpool())...)
		if err != nil {
			return nil, err
		}
		r := p.Report()
		p.Close()
		if d.Platform != nil {
			r.Platform = d.Platform.String()
		}
		reports = append(reports, r)
	}
	return reports, nil
}
