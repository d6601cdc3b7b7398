package slim

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// --compression zstd: the rewritten layers are OCI tar+zstd; a Docker
// schema 2 source becomes an OCI image (schema 2 has no zstd type) whose
// kept layers are the same blobs under OCI types; an OCI source stays OCI.
// The output is valid, reads back to what a gzip run gives, and is the
// same at any --jobs.
func TestImageZstd(t *testing.T) {
	base := gzLayer(t, dir("etc/"), reg("etc/passwd", passwd), reg("etc/group", group),
		dir("app/"), reg("app/main", "#!/bin/sh\necho hi"), dir("app/.git/"), reg("app/.git/HEAD", strings.Repeat("ref ", 5000)))
	kept := gzLayer(t, reg("app/config.json", "{}"))
	oci := testImage(t, v1.Config{Entrypoint: []string{"/app/main"}}, base, kept)
	docker := viaLayout(t, mutate.ConfigMediaType(mutate.MediaType(oci, types.DockerManifestSchema2), types.DockerConfigJSON))
	for _, tc := range []struct {
		name string
		src  v1.Image
	}{{"OCI source", oci}, {"Docker source", docker}} {
		t.Run(tc.name, func(t *testing.T) {
			var digests []v1.Hash
			var out v1.Image
			for _, jobs := range []int{1, 4} {
				var err error
				out, _, err = Image(tc.src, WithRules(mustRules(t, "**/.git")), WithWorkDir(t.TempDir()), WithZstd(), WithJobs(jobs))
				if err != nil {
					t.Fatalf("Image: %v", err)
				}
				digests = append(digests, mustImageDigest(t, out))
			}
			if digests[0] != digests[1] {
				t.Errorf("got digest %s at --jobs 1 and %s at 4, want the same", digests[0], digests[1])
			}
			// validate.Image reads layers as gzip only: it checks the
			// manifest and config (Fast), and each blob is checked here
			// against its descriptor and diff ID through zstd.
			if err := validate.Image(out, validate.Fast); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			checkBlobs(t, out)
			m, err := out.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("got manifest %s, config %s; want OCI ones", m.MediaType, m.Config.MediaType)
			}
			ls, _ := out.Layers()
			if len(m.Layers) != 3 || len(ls) != 3 {
				t.Fatalf("got %d layers, want 3 (base, kept, imgslim's)", len(m.Layers))
			}
			for i, want := range []types.MediaType{types.OCILayerZStd, types.OCILayer, types.OCILayerZStd} {
				if got := m.Layers[i].MediaType; got != want {
					t.Errorf("layer %d: got media type %s, want %s", i, got, want)
				}
				if got, _ := ls[i].MediaType(); got != want {
					t.Errorf("layer %d: the layer says %s, want %s", i, got, want)
				}
			}
			if d := mustDigest(t, ls[1]); d != mustDigest(t, kept) {
				t.Errorf("kept layer: got blob %s, want the source's %s", d, mustDigest(t, kept))
			}
			all := layerFiles(t, out)
			if _, ok := find(all, "/app/.git/HEAD"); ok {
				t.Errorf("/app/.git/HEAD is still in the output")
			}
			if f, ok := find(all, "/app/main"); !ok || f.body != "#!/bin/sh\necho hi" {
				t.Errorf("/app/main: got %q, %v; want it kept whole", f.body, ok)
			}
		})
	}
}

// checkBlobs reads every layer blob of img as its media type says, and
// checks its digest and size against the manifest and its diff ID against
// the config.
func checkBlobs(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		blob, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := sha256.Sum256(blob); "sha256:"+hex.EncodeToString(d[:]) != m.Layers[i].Digest.String() || int64(len(blob)) != m.Layers[i].Size {
			t.Errorf("layer %d: blob does not match its descriptor", i)
			continue
		}
		var r io.Reader
		switch m.Layers[i].MediaType {
		case types.OCILayerZStd:
			zr, err := zstd.NewReader(strings.NewReader(string(blob)))
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			r = zr
		default:
			zr, err := gzip.NewReader(strings.NewReader(string(blob)))
			if err != nil {
				t.Fatalf("layer %d (%s): %v", i, m.Layers[i].MediaType, err)
			}
			r = zr
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatalf("layer %d (%s): %v", i, m.Layers[i].MediaType, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d: got diff ID %s, the config says %s", i, got, cf.RootFS.DiffIDs[i])
		}
	}
}
