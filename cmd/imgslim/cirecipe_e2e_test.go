//go:build e2e

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// TestCIRecipe runs testdata/ci-recipe.sh, the commands of docs/ci.md's
// jobs, with the built binary against the test registry: it passes, the
// digest file is what the registry serves for the target, the report is
// there, and the script's lines are the docs' lines.
func TestCIRecipe(t *testing.T) {
	t.Parallel()
	host, user, pass := dockertest.Registry(t)
	config := dockerConfigDir(t, host, user, pass)
	bin := builtImgslim(t)
	auth := &authn.Basic{Username: user, Password: pass}
	repo := host + "/imgslim-cli/ci-" + uniq()
	pushImage(t, repo+":src", fixture(t, false), auth)

	dir := t.TempDir()
	script, err := filepath.Abs("../../testdata/ci-recipe.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config, "IMGSLIM="+bin, "SRC="+repo+":src", "DST="+repo+":slim")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ci-recipe.sh: %v\n%s", err, out)
	}
	digest := readDigestFile(t, filepath.Join(dir, "imgslim.digest"))
	if served := remoteDigest(t, repo+":slim", auth); digest != served {
		t.Errorf("imgslim.digest: got %q, want %q, what the registry serves", digest, served)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "slimmed: "+repo+":slim@"+digest) {
		t.Errorf("output: got\n%s\nwant it to end with the pinned target", out)
	}
	readGateDoc(t, filepath.Join(dir, "imgslim-report.json"))

	// The docs show the recipe's lines: they cannot drift apart.
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	recipe := string(b)
	recipe = recipe[strings.Index(recipe, "word for word ---\n")+len("word for word ---\n") : strings.Index(recipe, "# --- end of recipe")]
	docs, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(recipe, `"$IMGSLIM"`, "imgslim")
	if !strings.Contains(string(docs), want) {
		t.Errorf("docs/ci.md does not hold the recipe's lines:\n%s", want)
	}
}
