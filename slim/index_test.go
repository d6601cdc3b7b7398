package slim

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// A nested index is descended and its images slimmed, not copied beside
// the slimmed ones as they were.
func TestIndexNested(t *testing.T) {
	amd := testImage(t, v1.Config{}, gzLayer(t, reg("app/.git/HEAD", "x"), reg("app/main", "amd64")))
	inner := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})

	out, reports, err := Index(outer, WithRules(mustRules(t, "**/.git")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(out); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	if len(reports) != 1 || reports[0].Platform != "linux/amd64" {
		t.Fatalf("reports: got %d (%+v), want one for linux/amd64", len(reports), reports)
	}
	im, _ := out.IndexManifest()
	if len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("output: got %+v, want one nested index", im.Manifests)
	}
	child, err := out.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cm, _ := child.IndexManifest()
	if len(cm.Manifests) != 1 {
		t.Fatalf("nested output: got %d manifests, want 1", len(cm.Manifests))
	}
	img, _ := child.Image(cm.Manifests[0].Digest)
	if _, ok := find(layerFiles(t, img), "/app/.git/HEAD"); ok {
		t.Errorf("nested image: .git still there: it was not slimmed")
	}
	srcDigest, _ := amd.Digest()
	if cm.Manifests[0].Digest == srcDigest {
		t.Errorf("nested image: got the source's own digest, want a slimmed image")
	}

	plans, err := PlanIndex(outer, WithRules(mustRules(t, "**/.git")), WithWorkDir(t.TempDir()))
	if err != nil || len(plans) != 1 {
		t.Errorf("PlanIndex: got %d reports, %v, want 1", len(plans), err)
	}
}

// An index nested deeper than any real image is refused, not followed.
func TestIndexTooDeep(t *testing.T) {
	amd := testImage(t, v1.Config{}, gzLayer(t, reg("app/main", "amd64")))
	var idx v1.ImageIndex = mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	for range maxIndexDepth + 1 {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	if _, _, err := Index(idx, WithWorkDir(t.TempDir())); err == nil {
		t.Errorf("Index: got nil, want an error")
	}
	if _, err := PlanIndex(idx, WithWorkDir(t.TempDir())); err == nil {
		t.Errorf("PlanIndex: got nil, want an error")
	}
}
