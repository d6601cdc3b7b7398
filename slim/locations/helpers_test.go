package locations

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// randomImage is a linux/amd64 image of n random layers, each a gzip
// blob.
func randomImage(t testing.TB, n int) v1.Image {
	t.Helper()
	img, err := random.Image(512, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// member is one file of a tar built by tarBytes.
type tarMember struct {
	name string
	body []byte
	// link, when set, makes the member a symlink to it (a hard link
	// when hard is set too) instead of a file holding body.
	link string
	hard bool
}

func tarBytes(t testing.TB, members ...tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.body))}
		if m.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, m.link, 0
			if m.hard {
				h.Typeflag = tar.TypeLink
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dockerSave gives img as `docker save` writes it with the classic image
// store: manifest.json, the config and one plain tar per layer, tagged ref.
func dockerSave(t testing.TB, ref string, img v1.Image) []byte {
	t.Helper()
	config, layers := saveParts(t, img)
	members := []tarMember{config}
	var names []string
	for _, l := range layers {
		names = append(names, l.name)
		members = append(members, l)
	}
	var tags []string
	if ref != "" {
		tags = []string{ref}
	}
	m, err := json.Marshal(tarball.Manifest{{Config: config.name, RepoTags: tags, Layers: names}})
	if err != nil {
		t.Fatal(err)
	}
	members = append(members, tarMember{name: "manifest.json", body: m})
	return tarBytes(t, members...)
}

// saveParts gives img's config as `docker save` names it (HEX.json) and
// each layer's plain tar as DIFFID/layer.tar.
func saveParts(t testing.TB, img v1.Image) (config tarMember, layers []tarMember) {
	t.Helper()
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tarMember{name: d.Hex + "/layer.tar", body: b})
	}
	return tarMember{name: cfgName.Hex + ".json", body: raw}, layers
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := fmt.Sprintf("%s/%s", t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
