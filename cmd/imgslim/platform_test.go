package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// multiFixture returns an OCI index of the fixture for linux/amd64 and
// linux/arm64, and a BuildKit-style attestation manifest (platform
// unknown/unknown), with the two images by architecture.
func multiFixture(t testing.TB) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	imgs := map[string]v1.Image{"amd64": fixture(t, true, "amd64"), "arm64": fixture(t, true, "arm64")}
	att, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[arch],
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
		Add: att,
		Descriptor: v1.Descriptor{
			MediaType:   types.DockerManifestSchema2,
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		},
	})
	return idx, imgs
}

// checkSlimmedIndex checks that idx holds the slimmed amd64 and arm64
// images, and nothing else.
func checkSlimmedIndex(t *testing.T, idx v1.ImageIndex, src map[string]v1.Image) {
	t.Helper()
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index: got %v, want nil", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Errorf("manifest %s: got no platform, want one", d.Digest)
			continue
		}
		got = append(got, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := src[d.Platform.Architecture]; ok {
			t.Run(d.Platform.String(), func(t *testing.T) {
				checkSlimmed(t, s, img, checkOpts{arch: d.Platform.Architecture})
			})
		}
	}
	sort.Strings(got)
	if want := []string{"linux/amd64", "linux/arm64"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("index platforms: got %q, want %q (the attestation dropped)", got, want)
	}
}

func TestMultiPlatform(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	idx, imgs := multiFixture(t)
	srcRef := host + "/multi/src:v1"
	pushIndex(t, srcRef, idx)
	layoutDir := filepath.Join(t.TempDir(), "src")
	p, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{refNameAnnotation: "multi"})); err != nil {
		t.Fatal(err)
	}

	getRemote := func(t *testing.T, ref string) *remote.Descriptor {
		t.Helper()
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Get(r)
		if err != nil {
			t.Fatalf("reading %s: %v", ref, err)
		}
		return d
	}

	t.Run("every platform, registry", func(t *testing.T) {
		dst := host + "/multi/slim:all"
		res := mustSlim(t, append(append([]string{}, fixRemove...), "docker://"+srcRef, "docker://"+dst)...)
		for _, pl := range []string{"platform linux/amd64", "platform linux/arm64"} {
			if !strings.Contains(res.stdout, pl) {
				t.Errorf("report: got %q, want a section %q", res.stdout, pl)
			}
		}
		d := getRemote(t, dst)
		// The last line pins the index, not one of its images.
		if got, want := lastLine(res.stdout), dst+"@"+d.Digest.String(); got != want {
			t.Errorf("last stdout line: got %q, want %q", got, want)
		}
		if d.MediaType != types.OCIImageIndex {
			t.Fatalf("%s: got media type %s, want %s", dst, d.MediaType, types.OCIImageIndex)
		}
		out, err := d.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		checkSlimmedIndex(t, out, imgs)
	})

	t.Run("every platform, oci layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		mustSlim(t, append(append([]string{"-q"}, fixRemove...), "oci:"+layoutDir+":multi", "oci:"+dir+":slim")...)
		d := layoutDesc(t, dir, "slim")
		if !d.MediaType.IsIndex() {
			t.Fatalf("oci:%s:slim: got media type %s, want an index", dir, d.MediaType)
		}
		lp, err := layout.FromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		out, err := lp.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		child, err := out.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkSlimmedIndex(t, child, imgs)
	})

	for _, tc := range []struct {
		name, src string
		dst       func(t *testing.T) (string, func() v1.Image)
		plain     bool // an archive: plain layers, Docker media types
	}{
		{"registry", "docker://" + srcRef, func(t *testing.T) (string, func() v1.Image) {
			dst := host + "/multi/slim:arm64"
			return "docker://" + dst, func() v1.Image {
				d := getRemote(t, dst)
				if !d.MediaType.IsImage() {
					t.Fatalf("%s: got media type %s, want one image", dst, d.MediaType)
				}
				img, err := d.Image()
				if err != nil {
					t.Fatal(err)
				}
				return img
			}
		}, false},
		{"oci layout", "oci:" + layoutDir + ":multi", func(t *testing.T) (string, func() v1.Image) {
			dir := filepath.Join(t.TempDir(), "out")
			return "oci:" + dir + ":arm64", func() v1.Image {
				if d := layoutDesc(t, dir, "arm64"); !d.MediaType.IsImage() {
					t.Fatalf("oci:%s:arm64: got media type %s, want one image", dir, d.MediaType)
				}
				return readLayout(t, dir, "arm64")
			}
		}, false},
		{"docker-archive", "oci:" + layoutDir + ":multi", func(t *testing.T) (string, func() v1.Image) {
			p := filepath.Join(t.TempDir(), "out.tar")
			return "docker-archive:" + p, func() v1.Image { return readArchiveGGCR(t, p, "") }
		}, true},
	} {
		t.Run("--platform linux/arm64, "+tc.name, func(t *testing.T) {
			dst, get := tc.dst(t)
			res := mustSlim(t, append(append([]string{"-q", "--platform", "linux/arm64"}, fixRemove...), tc.src, dst)...)
			if strings.Contains(res.stdout, "amd64") {
				t.Errorf("report: got %q, want nothing about amd64", res.stdout)
			}
			checkSlimmed(t, imgs["arm64"], get(), checkOpts{arch: "arm64", plain: tc.plain})
		})
	}

	// A place that holds one image refuses an index, before any work.
	t.Run("index to docker-archive without --platform", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "out.tar")
		res := imgslim(t, append(append([]string{"-q"}, fixRemove...), "docker://"+srcRef, "docker-archive:"+p)...)
		if res.code != exitUsage {
			t.Errorf("exit: got %d, want %d", res.code, exitUsage)
		}
		if l := res.stderrLines(); len(l) != 1 || !strings.Contains(l[0], "--platform") {
			t.Errorf("stderr: got %q, want one line pointing at --platform", res.stderr)
		}
		if exists(p) {
			t.Errorf("%s: got a file, want none", p)
		}
	})

	t.Run("--platform that the index lacks", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		for _, src := range []string{"docker://" + srcRef, "oci:" + layoutDir + ":multi"} {
			res := imgslim(t, "-q", "--platform", "linux/s390x", src, "oci:"+dir)
			if res.code != exitError {
				t.Errorf("%s: exit: got %d, want %d", src, res.code, exitError)
			}
			if l := res.stderrLines(); len(l) != 1 || !strings.Contains(l[0], "s390x") {
				t.Errorf("%s: stderr: got %q, want one line naming linux/s390x", src, res.stderr)
			}
			if exists(dir) {
				t.Errorf("%s: got a directory, want none", dir)
			}
		}
	})
}
