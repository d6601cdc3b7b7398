package main

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestDeterministic: the same input and flags give the same output digest,
// whatever the target, the number of jobs, or the run; and the same report.
func TestDeterministic(t *testing.T) {
	// The output's creation time is now unless SOURCE_DATE_EPOCH says.
	t.Setenv("SOURCE_DATE_EPOCH", epoch)
	img := fixture(t, true)
	src := srcLayout(t)
	host := memRegistry(t)
	// Not -q: the text report is compared too.
	flags := fixRemove

	// Each run writes to a place of its own and returns the digest there.
	type result struct{ digest, stdout string }
	runs := []struct {
		name string
		run  func(t *testing.T) result
	}{
		{"oci, first", func(t *testing.T) result {
			dir := filepath.Join(t.TempDir(), "a")
			r := mustSlim(t, append(flags, "oci:"+src+":src", "oci:"+dir+":slim")...)
			return result{layoutDesc(t, dir, "slim").Digest.String(), withoutPinned(t, r.stdout)}
		}},
		{"oci, second", func(t *testing.T) result {
			dir := filepath.Join(t.TempDir(), "b")
			r := mustSlim(t, append(flags, "oci:"+src+":src", "oci:"+dir+":slim")...)
			return result{layoutDesc(t, dir, "slim").Digest.String(), withoutPinned(t, r.stdout)}
		}},
		{"oci, --jobs 1", func(t *testing.T) result {
			dir := filepath.Join(t.TempDir(), "c")
			r := mustSlim(t, append(append([]string{"--jobs", "1"}, flags...), "oci:"+src+":src", "oci:"+dir+":slim")...)
			return result{layoutDesc(t, dir, "slim").Digest.String(), withoutPinned(t, r.stdout)}
		}},
		{"oci, --jobs 16", func(t *testing.T) result {
			dir := filepath.Join(t.TempDir(), "d")
			r := mustSlim(t, append(append([]string{"--jobs", "16"}, flags...), "oci:"+src+":src", "oci:"+dir+":slim")...)
			return result{layoutDesc(t, dir, "slim").Digest.String(), withoutPinned(t, r.stdout)}
		}},
		{"oci-archive, another tag", func(t *testing.T) result {
			p := filepath.Join(t.TempDir(), "e.tar")
			r := mustSlim(t, append(flags, "oci:"+src+":src", "oci-archive:"+p+":other")...)
			return result{layoutDesc(t, untarFile(t, p), "other").Digest.String(), withoutPinned(t, r.stdout)}
		}},
		{"registry", func(t *testing.T) result {
			ref := host + "/det/slim:v1"
			r := mustSlim(t, append(flags, "oci:"+src+":src", "docker://"+ref)...)
			return result{remoteDigest(t, ref, nil), withoutPinned(t, r.stdout)}
		}},
	}
	var first result
	for i, tc := range runs {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run(t)
			if got.digest == "" {
				t.Fatalf("got no digest")
			}
			if i == 0 {
				first = got
				return
			}
			if got.digest != first.digest {
				t.Errorf("digest: got %s, want %s as in %q", got.digest, first.digest, runs[0].name)
			}
			if got.stdout != first.stdout {
				t.Errorf("report: got\n%s\nwant\n%s\nas in %q", got.stdout, first.stdout, runs[0].name)
			}
		})
	}

	// The same image read from a registry gives the same config and the
	// same manifest but for the annotation naming the source
	// (org.opencontainers.image.base.name).
	t.Run("registry source", func(t *testing.T) {
		ref := host + "/det/src:v1"
		pushImage(t, ref, img, nil)
		a, b := filepath.Join(t.TempDir(), "f"), filepath.Join(t.TempDir(), "g")
		mustSlim(t, append(flags, "docker://"+ref, "oci:"+a+":slim")...)
		mustSlim(t, append(flags, "oci:"+src+":src", "oci:"+b+":slim")...)
		ia, ib := readLayout(t, a, "slim"), readLayout(t, b, "slim")
		ca, _ := ia.ConfigName()
		cb, _ := ib.ConfigName()
		if ca != cb {
			t.Errorf("config: got %s from the registry, %s from the layout; want the same", ca, cb)
		}
		ma, _ := ia.Manifest()
		mb, _ := ib.Manifest()
		if ma.Annotations[annotationBaseName] != ref || mb.Annotations[annotationBaseName] != "oci:"+src+":src" {
			t.Errorf("base.name: got %q and %q, want each source", ma.Annotations[annotationBaseName], mb.Annotations[annotationBaseName])
		}
		ma.Annotations[annotationBaseName], mb.Annotations[annotationBaseName] = "", ""
		if !reflect.DeepEqual(ma, mb) {
			t.Errorf("manifests differ beyond base.name:\n%+v\n%+v", ma, mb)
		}
	})

	t.Run("multi-platform index", func(t *testing.T) {
		idx, _ := multiFixture(t)
		dir := filepath.Join(t.TempDir(), "src")
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
		var digests []string
		for _, out := range []string{"x", "y"} {
			o := filepath.Join(t.TempDir(), out)
			mustSlim(t, append(flags, "oci:"+dir, "oci:"+o)...)
			digests = append(digests, layoutDesc(t, o, "").Digest.String())
		}
		if digests[0] != digests[1] {
			t.Errorf("index digest: got %s, then %s; want the same", digests[0], digests[1])
		}
	})
}
