//go:build e2e

package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// --creds, --src-creds, --dest-creds and --authfile against the test
// registry, with no Docker config to fall back on.
func TestRegistryCredentialFlags(t *testing.T) {
	host, user, pass := dockertest.Registry(t)
	auth := &authn.Basic{Username: user, Password: pass}
	repo := host + "/imgslim-cli/creds-" + uniq()
	pushImage(t, repo+":src", fixture(t, false), auth)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", "")

	authfile := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(authfile, []byte(`{"auths":{"`+host+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(user+":"+pass))+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	good, bad := user+":"+pass, user+":"+pass+"-wrong"

	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		msg  string
	}{
		{"--creds", []string{"--creds", good}, true, ""},
		{"--src-creds and --dest-creds", []string{"--src-creds", good, "--dest-creds", good}, true, ""},
		{"--authfile", []string{"--authfile", authfile}, true, ""},
		{"--dest-creds beats --creds", []string{"--creds", bad, "--src-creds", good, "--dest-creds", good}, true, ""},
		{"wrong --dest-creds", []string{"--creds", good, "--dest-creds", bad}, false, "registry refused the credentials"},
		{"no credentials", nil, false, "no credentials found"},
		{"--creds without a password", []string{"--creds", user}, false, "USER:PASSWORD"},
		{"missing --authfile", []string{"--authfile", authfile + ".nope"}, false, "--authfile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := repo + ":" + "out-" + uniq()
			args := append(append([]string{"-q", "--sets", "none"}, tc.args...), "docker://"+repo+":src", "docker://"+dst)
			res := imgslim(t, args...)
			if tc.ok {
				if res.code != exitOK {
					t.Fatalf("exit %d: %s", res.code, res.stderr)
				}
				if remoteDigest(t, dst, auth) == "" {
					t.Errorf("%s: nothing pushed", dst)
				}
				return
			}
			if res.code == exitOK {
				t.Fatalf("exit 0, want a failure saying %q", tc.msg)
			}
			if l := res.stderrLines(); len(l) != 1 || !strings.Contains(l[0], tc.msg) {
				t.Errorf("stderr: got %q, want one line saying %q", res.stderr, tc.msg)
			}
			if remoteDigest(t, dst, auth) != "" {
				t.Errorf("%s: pushed after a failure", dst)
			}
		})
	}
}
