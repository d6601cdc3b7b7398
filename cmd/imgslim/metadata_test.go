package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

const epoch = "1700000000" // 2023-11-14T22:13:20Z

// metaFlags set every kind of metadata the output can get.
var metaFlags = []string{
	"--label", "org.example.team=infra", "--label", "org.example.fixture=slim",
	"--annotation", "org.example.note=slimmed in CI",
	"--env", "APP_MODE=debug", "--env", "NEW_VAR=a=b",
	"--unset-env", "GITHUB_TOKEN",
}

// checkMeta checks the config and annotations metaFlags give, on an
// output made from a source with the annotation org.example.src=kept.
func checkMeta(t *testing.T, cf *v1.ConfigFile, anns map[string]string, srcName, srcDigest string) {
	t.Helper()
	if got := cf.Created.Time.UTC().Format(time.RFC3339); got != "2023-11-14T22:13:20Z" {
		t.Errorf("config created: got %s, want SOURCE_DATE_EPOCH's", got)
	}
	if cf.Config.Labels["org.example.team"] != "infra" || cf.Config.Labels["org.example.fixture"] != "slim" {
		t.Errorf("labels: got %v, want the --label values", cf.Config.Labels)
	}
	for _, e := range cf.Config.Env {
		if strings.HasPrefix(e, "GITHUB_TOKEN=") {
			t.Errorf("env: %q is still there after --unset-env", e)
		}
	}
	if !slices.Contains(cf.Config.Env, "APP_MODE=debug") || !slices.Contains(cf.Config.Env, "NEW_VAR=a=b") || slices.Contains(cf.Config.Env, "APP_MODE=prod") {
		t.Errorf("env: got %v, want APP_MODE replaced and NEW_VAR added", cf.Config.Env)
	}
	var history string
	for _, h := range cf.History {
		history += h.CreatedBy + "\n"
	}
	if !strings.Contains(history, "imgslim "+buildVersion().String()) {
		t.Errorf("history: got\n%s\nwant an entry naming imgslim %s", history, buildVersion())
	}
	for k, want := range map[string]string{
		"org.example.src":                      "kept",
		"org.example.note":                     "slimmed in CI",
		"org.opencontainers.image.created":     "2023-11-14T22:13:20Z",
		"org.opencontainers.image.base.name":   srcName,
		"org.opencontainers.image.base.digest": srcDigest,
	} {
		if anns[k] != want {
			t.Errorf("annotation %s: got %q, want %q", k, anns[k], want)
		}
	}
	if a := anns["dev.imgslim.slimmed"]; !strings.HasPrefix(a, "imgslim "+buildVersion().String()) || !strings.Contains(a, "--unset-env GITHUB_TOKEN") || !strings.Contains(a, "--env APP_MODE=...") {
		t.Errorf("annotation dev.imgslim.slimmed: got %q, want the version and the flags (env values left out)", a)
	}
}

// TestMetadata: in every mode the source's annotations are kept, the
// output names its base and creation time, imgslim and its flags, and
// --label, --annotation, --env and --unset-env apply.
func TestMetadata(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", epoch)
	srcAnns := map[string]string{"org.example.src": "kept"}

	t.Run("image", func(t *testing.T) {
		img := mutate.Annotations(fixture(t, true), srcAnns).(v1.Image)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.Config.Env = append(cf.Config.Env, "GITHUB_TOKEN=ghp_secret")
		img, _ = mutate.ConfigFile(img, cf)
		src := filepath.Join(t.TempDir(), "src")
		writeLayout(t, src, "src", img)
		out := filepath.Join(t.TempDir(), "out")
		mustSlim(t, append(append(append([]string{"-q"}, fixRemove...), metaFlags...), "oci:"+src+":src", "oci:"+out+":slim")...)
		got := readLayout(t, out, "slim")
		ocf, err := got.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		m, err := got.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		checkMeta(t, ocf, m.Annotations, "oci:"+src+":src", mustDigest(t, img))
	})

	t.Run("index", func(t *testing.T) {
		idx, _ := multiFixture(t)
		idx = mutate.Annotations(idx, srcAnns).(v1.ImageIndex)
		dir := filepath.Join(t.TempDir(), "src")
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		mustSlim(t, append(append(append([]string{"-q"}, fixRemove...), metaFlags...), "oci:"+dir, "oci:"+out)...)
		lp, err := layout.FromPath(out)
		if err != nil {
			t.Fatal(err)
		}
		root, err := lp.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		d := layoutDesc(t, out, "")
		oidx, err := root.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		im, err := oidx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		srcDigest, _ := idx.Digest()
		images := 0
		for _, c := range im.Manifests {
			if !c.MediaType.IsImage() {
				continue
			}
			img, err := oidx.Image(c.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			// Each platform image gets the config edits; the
			// annotations are the index's.
			checkMeta(t, cf, im.Annotations, "oci:"+dir, srcDigest.String())
			images++
		}
		if images != 2 {
			t.Errorf("got %d images in the output index, want 2", images)
		}
	})

	t.Run("scratch", func(t *testing.T) {
		img := mutate.Annotations(staticFixture(t), srcAnns).(v1.Image)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.Config.Env = append(cf.Config.Env, "APP_MODE=prod")
		img, _ = mutate.ConfigFile(img, cf)
		src := filepath.Join(t.TempDir(), "src")
		writeLayout(t, src, "src", img)
		out := filepath.Join(t.TempDir(), "out")
		r := mustSlim(t, append(append([]string{"--scratch"}, metaFlags...), "oci:"+src+":src", "oci:"+out+":slim")...)
		got := readLayout(t, out, "slim")
		ocf, err := got.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		m, err := got.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		checkMeta(t, ocf, m.Annotations, "oci:"+src+":src", mustDigest(t, img))
		// The report names the image as written.
		if d := layoutDesc(t, out, "slim").Digest.String(); !strings.Contains(r.stdout, "digest: "+d) {
			t.Errorf("report: got\n%s\nwant digest %s", r.stdout, d)
		}
	})

	t.Run("created is now without SOURCE_DATE_EPOCH", func(t *testing.T) {
		t.Setenv("SOURCE_DATE_EPOCH", "")
		src := srcLayout(t)
		out := filepath.Join(t.TempDir(), "out")
		before := time.Now().UTC().Truncate(time.Second)
		mustSlim(t, append(append([]string{"-q"}, fixRemove...), "oci:"+src+":src", "oci:"+out)...)
		cf, err := readLayout(t, out, "").ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if c := cf.Created.Time; c.Before(before) || c.After(time.Now().Add(time.Second)) {
			t.Errorf("config created: got %s, want now (%s)", c, before)
		}
	})
}

func TestMetadataFlags(t *testing.T) {
	const src = "docker://127.0.0.1:1/imgslim-test/nothing:v1"
	for _, tc := range []struct {
		args []string
		env  string
		msg  string
	}{
		{args: []string{"--label", "noequals"}, msg: "KEY=VALUE"},
		{args: []string{"--label", "=v"}, msg: "empty key"},
		{args: []string{"--annotation", "a\nb=c"}, msg: "control character"},
		{args: []string{"--env", "1BAD=x"}, msg: "variable name"},
		{args: []string{"--env", "A B=x"}, msg: "variable name"},
		{args: []string{"--env", "A"}, msg: "KEY=VALUE"},
		{args: []string{"--unset-env", "A=B"}, msg: "variable name"},
		{args: []string{"--unset-env", ""}, msg: "empty key"},
		{env: "yesterday", msg: "SOURCE_DATE_EPOCH"},
		{env: "-5", msg: "SOURCE_DATE_EPOCH"},
	} {
		t.Run(strings.Join(tc.args, " ")+tc.env, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("SOURCE_DATE_EPOCH", tc.env)
			}
			out := filepath.Join(t.TempDir(), "out")
			r := imgslim(t, append(tc.args, src, "oci:"+out)...)
			if r.code != exitUsage || len(r.stderrLines()) != 1 || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("got exit %d, stderr %q; want 2 and one line naming %q", r.code, r.stderr, tc.msg)
			}
		})
	}
}
