package slim

import (
	"archive/tar"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imgslim/imgslim/slim/secrets"
)

// Secrets shaped as real ones are, made up for the tests; none is in a file
// whose name says it holds a secret.
const (
	testAWSKeyID  = "AKIAZ3MSJV4WWNKWW5FG"
	testAWSSecret = "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"
	testGitHubPAT = "ghp_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX"
	testGitLabPAT = "glpat-a1B2c3D4e5F6g7H8i9J0"
	testStripeKey = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
	testSlackHook = "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/abcdefghijklmnopqrstuvwx"
)

// contentSecretsApp is a node application whose secrets are recognisable
// only by their content.
func contentSecretsApp(t testing.TB) v1.Image {
	base := gzLayer(t,
		reg("etc/passwd", passwd), reg("etc/group", group),
		exe("usr/bin/node", "ELF node"),
		reg("usr/share/doc/app/README", "Set the password with passwd. The token comes from the environment.\n"),
	)
	app := gzLayer(t,
		reg("app/package.json", `{"main":"dist/server.js"}`),
		// The program itself holds a key: it stays, reported as remaining.
		reg("app/dist/server.js", "const stripe = require('stripe')('"+testStripeKey+"');\n"),
		reg("app/dist/util.js", "module.exports = {};\n"),
		reg("srv/deploy/credentials", "[default]\naws_access_key_id = "+testAWSKeyID+"\naws_secret_access_key = "+testAWSSecret+"\n"),
		reg("srv/deploy/identity", "# deploy key\n"+rsaKey),
		reg("srv/deploy/db.txt", "primary: postgres://admin:Xk9vQ2mN7pL4@db.internal:5432/app\n"),
		reg("app/Dockerfile", "FROM node:18\nENV PASSWORD=Sup3rS3cretPassw0rd\nCOPY . /app\n"),
		reg("app/config/settings.yaml", "name: app\ngithub:\n  token: "+testGitHubPAT+"\n"),
		reg("opt/notify.conf", "url = "+testSlackHook+"\n"),
		reg("tmp/build/ci.txt", "GITLAB="+testGitLabPAT+"\n"),
		// Look-alikes that are no secret.
		reg("app/config/example.yaml", "database: postgres://user:${DB_PASSWORD}@db/app\n"),
	)
	// A later layer deletes the CI file: the container never sees it, but
	// the layer's blob holds it.
	clean := gzLayer(t, file{Header: tar.Header{Typeflag: tar.TypeReg, Name: "tmp/build/.wh.ci.txt"}})
	img := testImage(t, v1.Config{
		Cmd: []string{"node", "dist/server.js"}, WorkingDir: "/app",
		Env: []string{"PATH=/usr/bin:/bin", "NODE_ENV=production", "DEPLOY_KEY_ID=" + testAWSKeyID},
	}, base, app, clean)
	return img
}

func TestSecretsByContent(t *testing.T) {
	src := contentSecretsApp(t)
	out, r, err := Image(src, WithSets(AllSets...), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(out); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	all := layerFiles(t, out)
	for name, want := range map[string]bool{
		"/srv/deploy/credentials": false, "/srv/deploy/identity": false, "/srv/deploy/db.txt": false,
		"/app/Dockerfile": false, "/app/config/settings.yaml": false, "/opt/notify.conf": false,
		"/tmp/build/ci.txt":   false,
		"/app/dist/server.js": true, "/app/dist/util.js": true, "/app/config/example.yaml": true,
	} {
		if _, got := find(all, name); got != want {
			t.Errorf("%s in the output's layers: got %v, want %v", name, got, want)
		}
	}
	type want struct{ location, rule, status string }
	wants := map[string]want{
		"/srv/deploy/credentials":   {SecretInFile, "aws-access-token", SecretRemoved},
		"/srv/deploy/identity":      {SecretInFile, "private-key", SecretRemoved},
		"/srv/deploy/db.txt":        {SecretInFile, "url-password", SecretRemoved},
		"/app/Dockerfile":           {SecretInFile, "dockerfile-secret", SecretRemoved},
		"/app/config/settings.yaml": {SecretInFile, "github-pat", SecretRemoved},
		"/opt/notify.conf":          {SecretInFile, "slack-webhook-url", SecretRemoved},
		"/tmp/build/ci.txt":         {SecretInLayer, "gitlab-pat", SecretRemoved},
		"/app/dist/server.js":       {SecretInFile, "stripe-access-token", SecretRemaining},
		"DEPLOY_KEY_ID":             {SecretInConfig, "aws-access-token", SecretRemaining},
	}
	for _, s := range r.Secrets {
		k := s.Path
		if s.Location == SecretInConfig {
			k = s.Key
		}
		w, ok := wants[k]
		if !ok {
			t.Errorf("unexpected secret %+v", s)
			continue
		}
		delete(wants, k)
		if s.Location != w.location || s.Rule != w.rule || s.Status != w.status {
			t.Errorf("secret %s: got location %s, rule %s, status %s; want %s, %s, %s", k, s.Location, s.Rule, s.Status, w.location, w.rule, w.status)
		}
		if (s.Location == SecretInFile || s.Location == SecretInLayer) && (s.Layer == nil || s.Line == 0) {
			t.Errorf("secret %s: no layer or line (%+v)", k, s)
		}
		for _, secret := range []string{testAWSKeyID, testAWSSecret, testGitHubPAT, testStripeKey, "Sup3r", "Xk9vQ2mN7pL4"} {
			if strings.Contains(s.What, secret) || strings.Contains(s.Where, secret) {
				t.Errorf("secret %s: the report holds the secret itself: %+v", k, s)
			}
		}
	}
	for k := range wants {
		t.Errorf("secret %s not reported (got %+v)", k, r.Secrets)
	}

	// Without the secrets set, every secret is still reported, as
	// remaining, and nothing is removed for it.
	out, r, err = Image(src, WithSets(SetVCS), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(layerFiles(t, out), "/srv/deploy/credentials"); !ok {
		t.Errorf("the credentials file went without the secrets set")
	}
	remaining := 0
	for _, s := range r.Secrets {
		if s.Status == SecretRemaining {
			remaining++
		}
	}
	if remaining != 9 {
		t.Errorf("without the set: got %d secrets remaining, want 9 (%+v)", remaining, r.Secrets)
	}
}

// A spooled plan scans contents after the layers (startSecrets), skipping
// what dpkg ships unchanged; an unspooled one scans them as it reads the layers. Both
// find the same secrets: in packaged files dpkg's sums vouch for and in
// library trees none, in packaged files edited after dpkg wrote them all, in a
// layer the last copy of a file, in a later layer's replacement or
// deletion what the earlier layer still holds.
func TestSecretsSpooledAsInline(t *testing.T) {
	token := func(s string) string { return "token: " + s + "\n" }
	toolConfig, toolConf := "#!/bin/sh\n"+token(testGitHubPAT), "url = "+testSlackHook+"\n"
	base := gzLayer(t,
		reg("etc/passwd", passwd), reg("etc/group", group),
		reg("var/lib/dpkg/info/tool.list", "/usr/bin\n/usr/bin/tool-config\n/usr/bin/tool-edited\n/etc/tool.conf\n/etc/tool-edited.conf\n"),
		reg("var/lib/dpkg/info/tool.md5sums", md5Hex([]byte(toolConfig))+"  usr/bin/tool-config\n"+md5Hex([]byte("#!/bin/sh\n"))+"  usr/bin/tool-edited\n"),
		reg("var/lib/dpkg/status", "Package: tool\nStatus: install ok installed\nConffiles:\n /etc/tool.conf "+md5Hex([]byte(toolConf))+"\n /etc/tool-edited.conf "+md5Hex([]byte("url = \n"))+"\n"),
		reg("usr/bin/tool-config", toolConfig),
		reg("etc/tool.conf", toolConf),
		// Packaged, but not what dpkg installed: the image's authors
		// put the secret there, so it is theirs to answer for.
		reg("usr/bin/tool-edited", "#!/bin/sh\n"+token(testGitHubPAT)),
		reg("etc/tool-edited.conf", "url = "+testSlackHook+"\n"),
		reg("usr/share/tool/example.yaml", token(testGitHubPAT)),
		reg("app/node_modules/lib/test.js", token(testGitHubPAT)),
		reg("etc/app.conf", "url = "+testSlackHook+"\n"),
	)
	app := gzLayer(t,
		reg("app/a.yaml", token(testGitHubPAT)),
		reg("app/b.yaml", token(testGitHubPAT)), reg("app/b.yaml", "clean\n"),
		reg("app/c.yaml", token(testGitHubPAT)), reg("app/c.yaml", "bin\x00ary "+testGitHubPAT),
		reg("app/d.yaml", "clean\n"), reg("app/d.yaml", "GITLAB="+testGitLabPAT+"\n"),
		reg("app/e.yaml", ""), reg("app/f.yaml", token(testGitHubPAT)), reg("app/g.yaml", token(testGitHubPAT)),
		// Past what one task of the scan reads.
		reg("app/big1.txt", strings.Repeat("x\n", secrets.MaxSize/2)), reg("app/big2.txt", strings.Repeat("x\n", secrets.MaxSize/2)),
		reg("app/big3.txt", strings.Repeat("x\n", secrets.MaxSize/2)), reg("app/big4.txt", strings.Repeat("x\n", secrets.MaxSize/2)),
		reg("app/big.txt", strings.Repeat("x", secrets.MaxSize-100)+"\n"+token(testGitHubPAT)),
	)
	later := gzLayer(t,
		reg("app/f.yaml", "replaced\n"),
		file{Header: tar.Header{Typeflag: tar.TypeReg, Name: "app/.wh.g.yaml"}},
		reg("etc/app.conf", "clean\n"),
	)
	img := testImage(t, v1.Config{Cmd: []string{"/bin/sh"}, WorkingDir: "/app"}, base, app, later)
	plan := func(opts ...Option) []Secret {
		p, err := NewPlan(img, append(opts, WithSets(AllSets...), WithWorkDir(t.TempDir()))...)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		return p.secretStatus()
	}
	inline, spooled := plan(), plan(withSpool())
	if !reflect.DeepEqual(spooled, inline) {
		t.Errorf("spooled plan: got secrets\n%v\nwant, as the inline scan finds them,\n%v", spooled, inline)
	}
	var got []string
	for _, s := range spooled {
		got = append(got, s.Path+" "+s.Rule+" "+s.Location)
	}
	want := []string{
		"/app/a.yaml github-pat file", "/app/big.txt github-pat file", "/app/d.yaml gitlab-pat file",
		"/app/f.yaml github-pat layer", "/app/g.yaml github-pat layer", "/etc/app.conf slack-webhook-url layer",
		"/etc/tool-edited.conf slack-webhook-url file", "/usr/bin/tool-edited github-pat file",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got secrets\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
