package main

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// analyze of an index reads its first platform image, in a nested index
// too, skipping attestations.
func TestFirstImage(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	inner := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
	got, err := firstImage(outer)
	if err != nil || got == nil {
		t.Fatalf("firstImage: got %v, %v, want the nested linux/amd64 image", got, err)
	}
	gd, _ := got.Digest()
	wd, _ := img.Digest()
	if gd != wd {
		t.Errorf("firstImage: got %s, want %s", gd, wd)
	}
	if got, err := firstImage(empty.Index); got != nil || err != nil {
		t.Errorf("firstImage of an empty index: got %v, %v, want nil, nil", got, err)
	}
}
