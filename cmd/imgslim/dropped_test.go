package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/slim"
)

// attestedIndex is an index as BuildKit pushes it with --provenance: two
// platform images, each with an attestation manifest (platform
// unknown/unknown, an in-toto layer) naming it by digest, and an SBOM
// artifact with a media type imgslim does not slim.
func attestedIndex(t testing.TB) (idx v1.ImageIndex, imgs map[string]v1.Image, atts map[string]string) {
	t.Helper()
	imgs = map[string]v1.Image{"amd64": fixture(t, true, "amd64"), "arm64": fixture(t, true, "arm64")}
	atts = map[string]string{} // attestation digest -> subject digest
	idx = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[arch],
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	for _, arch := range []string{"amd64", "arm64"} {
		subject, err := imgs[arch].Digest()
		if err != nil {
			t.Fatal(err)
		}
		stmt := static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"x","digest":{"sha256":"`+subject.Hex+`"}}]}`), "application/vnd.in-toto+json")
		att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: stmt,
			Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}})
		if err != nil {
			t.Fatal(err)
		}
		att = mutate.ConfigMediaType(att, types.OCIConfigJSON)
		d, err := att.Digest()
		if err != nil {
			t.Fatal(err)
		}
		atts[d.String()] = subject.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: att,
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: "unknown", Architecture: "unknown"},
				Annotations: map[string]string{
					"vnd.docker.reference.type":   "attestation-manifest",
					"vnd.docker.reference.digest": subject.String(),
				},
			},
		})
	}
	return idx, imgs, atts
}

// Dropped attestations are listed in the report with the reason: in the
// JSON (so a -q run shows them too) and in the text report.
func TestDroppedAttestationsReported(t *testing.T) {
	idx, _, atts := attestedIndex(t)
	src := filepath.Join(t.TempDir(), "src")
	p, err := layout.Write(src, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "multi"})); err != nil {
		t.Fatal(err)
	}

	checkDropped := func(t *testing.T, got []slim.Dropped) {
		t.Helper()
		if len(got) != len(atts) {
			t.Fatalf("dropped: got %d entries %+v, want the %d attestations", len(got), got, len(atts))
		}
		for _, d := range got {
			subject, ok := atts[d.Digest]
			if !ok {
				t.Errorf("dropped %s, which is no attestation of the source", d.Digest)
				continue
			}
			if d.Kind != slim.DroppedAttestation || d.Subject != subject || d.Platform != "unknown/unknown" {
				t.Errorf("dropped %s: got kind %q, subject %q, platform %q; want attestation of %s, unknown/unknown", d.Digest, d.Kind, d.Subject, d.Platform, subject)
			}
			if !strings.Contains(d.Reason, "attests the source image "+subject) {
				t.Errorf("dropped %s: got reason %q, want it to name the source image %s", d.Digest, d.Reason, subject)
			}
		}
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"written, -q", []string{"-q"}},
		{"dry run", []string{"--dry-run"}},
		{"written, text report", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			report := filepath.Join(dir, "report.json")
			args := append(append(append([]string{}, tc.args...), fixRemove...), "--report", report, "oci:"+src+":multi", "oci:"+filepath.Join(dir, "out")+":slim")
			res := mustSlim(t, args...)
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			doc := validReport(t, b)
			if doc.Mode != slim.ModeIndex || len(doc.Images) != 2 {
				t.Errorf("report: got mode %q with %d images, want index with 2", doc.Mode, len(doc.Images))
			}
			checkDropped(t, doc.Dropped)
			for d, subject := range atts {
				want := "dropped attestation " + d + " (unknown/unknown): it attests the source image " + subject
				switch {
				case tc.args == nil && !strings.Contains(res.stdout, want):
					t.Errorf("text report: got %q, want a line %q", res.stdout, want)
				case tc.args != nil && tc.args[0] == "-q" && strings.Contains(res.stdout+res.stderr, d):
					t.Errorf("-q: got %q on stdout, %q on stderr, want the attestation in the JSON report only", res.stdout, res.stderr)
				}
			}
			if tc.args != nil && tc.args[0] == "--dry-run" {
				return
			}
			// The output index holds the two slimmed images, no attestation.
			out := filepath.Join(dir, "out")
			lp, err := layout.FromPath(out)
			if err != nil {
				t.Fatal(err)
			}
			top, err := lp.ImageIndex()
			if err != nil {
				t.Fatal(err)
			}
			child, err := top.ImageIndex(layoutDesc(t, out, "slim").Digest)
			if err != nil {
				t.Fatal(err)
			}
			im, err := child.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range im.Manifests {
				if _, ok := atts[m.Digest.String()]; ok || m.Platform == nil || m.Platform.OS != "linux" {
					t.Errorf("output index holds %s (%v), want the linux images only", m.Digest, m.Platform)
				}
			}
		})
	}

	// Outside index mode the list is there, and empty.
	t.Run("single image", func(t *testing.T) {
		dir := t.TempDir()
		report := filepath.Join(dir, "report.json")
		mustSlim(t, append(append([]string{"-q", "--platform", "linux/arm64"}, fixRemove...), "--report", report, "oci:"+src+":multi", "oci:"+filepath.Join(dir, "out")+":slim")...)
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if doc := validReport(t, b); doc.Dropped == nil || len(doc.Dropped) != 0 {
			t.Errorf("dropped: got %#v, want an empty list", doc.Dropped)
		}
	})
}
