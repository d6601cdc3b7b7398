//go:build e2e

package main

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestPackagedSecrets: on a real Debian image, files a package installed
// are exempt from the secrets report only while dpkg's sums vouch for
// them. A token appended to a conffile (/etc/bash.bashrc, recorded in the
// status file's Conffiles) and to a packaged script (/usr/sbin/add-shell,
// in debianutils.md5sums) is reported and removed; no other file of the
// base's packages is reported.
func TestPackagedSecrets(t *testing.T) {
	t.Parallel()
	base := dockertest.BaseImage(t)
	src := "imgslim-test/packaged-secrets-src:" + uniq()
	// The token goes in base64, so the history's RUN line holds none.
	line := base64.StdEncoding.EncodeToString([]byte("\nexport GITHUB_TOKEN=ghp_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX\n"))
	dockertest.BuildImage(t, src, nil, "FROM "+base+"\n"+
		"RUN echo "+line+" | base64 -d >> /etc/bash.bashrc && echo "+line+" | base64 -d >> /usr/sbin/add-shell\n"+
		"CMD [\"/bin/sh\", \"-c\", \"echo served\"]\n")
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	mustSlim(t, "-q", "--report", report, "docker-daemon:"+src, "oci:"+filepath.Join(dir, "out")+":slim")
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("the report: %v", err)
	}
	var doc struct {
		Images []struct {
			Secrets []struct{ Where, Location, Status string } `json:"secrets"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Images) != 1 {
		t.Fatalf("the report: %v, %d images; want one", err, len(doc.Images))
	}
	got := map[string]string{}
	for _, s := range doc.Images[0].Secrets {
		got[s.Where] = s.Location + " " + s.Status
	}
	want := map[string]string{"/etc/bash.bashrc": "file removed", "/usr/sbin/add-shell": "file removed"}
	if !maps.Equal(got, want) {
		t.Errorf("secrets: got %v, want %v", got, want)
	}
	// What the container sees, and what every layer's blob holds.
	out := readLayout(t, filepath.Join(dir, "out"), "slim")
	files := map[string]bool{}
	tr := tar.NewReader(mutate.Extract(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the output's filesystem: %v", err)
		}
		files[layers.Clean(h.Name)] = true
	}
	ls, err := out.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		for _, e := range layerEntries(t, l) {
			if bytes.Contains(e.body, []byte("ghp_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX")) {
				t.Errorf("layer %d's %s holds the token", i+1, e.name)
			}
		}
	}
	for name := range want {
		if files[name] {
			t.Errorf("%s is in the output, want it removed", name)
		}
	}
	if !files["/etc/debian_version"] {
		t.Errorf("/etc/debian_version (a conffile nobody edited) is not in the output")
	}
}
