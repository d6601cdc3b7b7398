//go:build e2e

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestDigestFileServices: against the test registry (with credentials) and
// the daemon, --digest-file holds what they serve for the target: the
// manifest or index digest the registry answers for the tag, the image ID
// docker inspect gives.
func TestDigestFileServices(t *testing.T) {
	host, user, pass := dockertest.Registry(t)
	dockerConfig(t, host, user, pass)
	auth := &authn.Basic{Username: user, Password: pass}
	repo := host + "/imgslim-cli/digest-" + uniq()
	pushImage(t, repo+":src", fixture(t, false), auth)
	idx, _ := multiFixture(t)
	r, err := name.ParseReference(repo + ":multi")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, src, dst string }{
		{"image", "docker://" + repo + ":src", repo + ":slim"},
		{"index", "docker://" + repo + ":multi", repo + ":slim-multi"},
	} {
		t.Run("registry "+tc.name, func(t *testing.T) {
			df := filepath.Join(t.TempDir(), "digest")
			res := mustSlim(t, append(append([]string{"-q", "--digest-file", df}, fixRemove...), tc.src, "docker://"+tc.dst)...)
			got := readDigestFile(t, df)
			if served := remoteDigest(t, tc.dst, auth); got != served {
				t.Errorf("--digest-file: got %q, want %q, what the registry serves for %s", got, served, tc.dst)
			}
			if res.stdout != tc.dst+"@"+got+"\n" {
				t.Errorf("stdout: got %q, want %q", res.stdout, tc.dst+"@"+got)
			}
		})
	}

	t.Run("daemon", func(t *testing.T) {
		dockertest.Require(t)
		dst := "imgslim-test/cli-digest:" + uniq()
		rmiOnCleanup(t, dst)
		df := filepath.Join(t.TempDir(), "digest")
		res := mustSlim(t, append(append([]string{"-q", "--digest-file", df}, fixRemove...), "docker://"+repo+":src", "docker-daemon:"+dst)...)
		got := readDigestFile(t, df)
		if id := daemonID(dst); got != id || !strings.HasPrefix(got, "sha256:") {
			t.Errorf("--digest-file: got %q, want the image ID %q", got, id)
		}
		if res.stdout != "docker-daemon:"+dst+"@"+got+"\n" {
			t.Errorf("stdout: got %q", res.stdout)
		}
	})
}
