package slim

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1"
)

// Dropped is an entry of a source index that the output index leaves out,
// and why: the report lists each one, so a script (even under -q) sees
// what the output no longer carries.
type Dropped struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType,omitempty"`
	Platform  string `json:"platform,omitempty"`
	// Kind is "attestation", "index" (a nested index with no platform
	// image) or "artifact" (neither an image nor an index).
	Kind string `json:"kind"`
	// Subject is the digest of the source image an attestation describes,
	// when its annotations name it.
	Subject string `json:"subject,omitempty"`
	Reason  string `json:"reason"`
}

// Kinds of dropped entries.
const (
	DroppedAttestation = "attestation"
	DroppedIndex       = "index"
	DroppedArtifact    = "artifact"
)

// WithDropped calls f for every entry of an index (or of the indexes it
// nests) that Index and PlanIndex leave out.
func WithDropped(f func(Dropped)) SlimOption {
	return func(o *options) error { o.dropped = f; return nil }
}

// drop logs d and hands it to the WithDropped callback.
func (o *options) drop(d v1.Descriptor, kind, reason string) {
	dr := Dropped{Digest: d.Digest.String(), MediaType: string(d.MediaType), Kind: kind, Reason: reason,
		Subject: d.Annotations["vnd.docker.reference.digest"]}
	if d.Platform != nil {
		dr.Platform = d.Platform.String()
	}
	o.logf("dropping %s %s: %s", kind, d.Digest, reason)
	if o.dropped != nil {
		o.dropped(dr)
	}
}

// attestationReason is why an attestation does not follow the slimmed
// image: its subject, the source image, is not in the output.
func attestationReason(d v1.Descriptor) string {
	if s := d.Annotations["vnd.docker.reference.digest"]; s != "" {
		return fmt.Sprintf("it attests the source image %s, which the output does not hold (the slimmed image has another digest)", s)
	}
	return "it attests a source image, which the output does not hold (the slimmed image has another digest)"
}

// Reasons of the other drops.
const (
	reasonEmptyIndex = "a nested index holding no platform image (attestations only)"
	reasonArtifact   = "neither an image nor an index: nothing to slim, and it would describe the source"
)
