package main

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestDeterministic: the same input and flags give the same output digest,
// whatever the target, the number of jobs, or the run; and the same report.
func TestDeterministic(t *testing.T) {
	img := fixture(t, true)
	src := srcLayout(t)
	host := memRegistry(t)
	flags := append([]string{"-q"}, fixRemove...)

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
		{"registry source", func(t *testing.T) result {
			ref := host + "/det/src:v1"
			pushImage(t, ref, img, nil)
			dir := filepath.Join(t.TempDir(), "f")
			r := mustSlim(t, append(flags, "docker://"+ref, "oci:"+dir+":slim")...)
			return result{layoutDesc(t, dir, "slim").Digest.String(), withoutPinned(t, r.stdout)}
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
