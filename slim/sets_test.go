package slim

import (
	"archive/tar"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func exe(name, body string) file {
	f := reg(name, body)
	f.Mode = 0o755
	return f
}

func symlinkTo(name, target string) file {
	return file{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}}
}

const rsaKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"

// A node application built single-stage, in miniature.
func nodeApp(t testing.TB) v1.Image {
	base := gzLayer(t,
		reg("etc/passwd", passwd+"node:x:1000:1000::/home/node:/bin/sh\n"), reg("etc/group", group),
		exe("usr/bin/nodejs", "ELF node"), symlinkTo("usr/bin/node", "nodejs"),
		reg("usr/share/doc/bash/README", "docs"), reg("usr/share/doc/bash/copyright", "GPL"),
		reg("usr/share/man/man1/bash.1.gz", "man"), reg("usr/share/locale/de/LC_MESSAGES/x.mo", "de"),
		reg("usr/share/locale/fr/LC_MESSAGES/x.mo", "fr"), reg("usr/share/locale/locale.alias", "alias"),
		reg("var/cache/apt/archives/gcc.deb", strings.Repeat("d", 100)), reg("var/lib/apt/lists/main_Packages", "pk"),
		dir("tmp/"), reg("tmp/npm-123/x", "tmp"),
		reg("etc/ssl/certs/ca-certificates.crt", "CERTS"),
	)
	app := gzLayer(t,
		reg("root/.npm/_cacache/index", "cache"), reg("home/node/.npm/_cacache/x", "cache2"),
		reg("root/.cache/pip/wheels/x", "pip"), reg("usr/local/share/.cache/yarn/v6/x", "yarn"),
		reg("app/.git/HEAD", "ref"), reg("app/package.json", `{"main":"dist/server.js"}`),
		reg("app/tsconfig.json", "{\n // comment\n \"compilerOptions\": {\"outDir\": \"dist\",},\n}"),
		reg("app/src/server.ts", "ts"), reg("app/src/types.d.ts", "dts"), reg("app/dist/server.js", "js"),
		reg("app/node_modules/lib/index.ts", "dep ts"), reg("app/.env", "DB_PASSWORD=x"),
		reg("app/certs/server.key", rsaKey), reg("app/certs/server.crt", "-----BEGIN CERTIFICATE-----\n"),
		reg("root/.npmrc", "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789\n"),
		reg("home/node/.npmrc", "save-exact=true\n"),
	)
	return testImage(t, v1.Config{
		Cmd: []string{"node", "dist/server.js"}, WorkingDir: "/app",
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=de_DE.UTF-8", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "NODE_ENV=production"},
	}, base, app)
}

func TestSets(t *testing.T) {
	src := nodeApp(t)
	out, r, err := Image(src, WithSets(AllSets...), WithRules(mustRules(t, "usr/bin", "app/dist")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(out); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	all := layerFiles(t, out)
	for name, want := range map[string]bool{
		// caches, for every user's home
		"/root/.npm/_cacache/index": false, "/home/node/.npm/_cacache/x": false, "/root/.cache/pip/wheels/x": false,
		"/usr/local/share/.cache/yarn/v6/x": false, "/var/cache/apt/archives/gcc.deb": false, "/var/lib/apt/lists/main_Packages": false,
		"/tmp/npm-123/x": false, "/tmp": true,
		// vcs
		"/app/.git/HEAD": false,
		// docs: licences and the environment's locale stay
		"/usr/share/doc/bash/README": false, "/usr/share/doc/bash/copyright": true, "/usr/share/man/man1/bash.1.gz": false,
		"/usr/share/locale/de/LC_MESSAGES/x.mo": true, "/usr/share/locale/fr/LC_MESSAGES/x.mo": false, "/usr/share/locale/locale.alias": true,
		// sources: TypeScript whose output is in dist, not the dependencies'
		"/app/src/server.ts": false, "/app/src/types.d.ts": true, "/app/node_modules/lib/index.ts": true,
		// secrets, by name and by content
		"/app/.env": false, "/app/certs/server.key": false, "/app/certs/server.crt": true, "/root/.npmrc": false, "/home/node/.npmrc": true,
		// protected from the user's own patterns: the program, its link, the script
		"/usr/bin/node": true, "/usr/bin/nodejs": true, "/app/dist/server.js": true, "/app/package.json": true,
		"/etc/ssl/certs/ca-certificates.crt": true,
	} {
		if _, got := find(all, name); got != want {
			t.Errorf("%s present: got %v, want %v", name, got, want)
		}
	}
	protected := map[string]bool{}
	for _, s := range r.Protected {
		protected[s.Path] = true
	}
	for _, name := range []string{"/usr/bin/node", "/usr/bin/nodejs", "/app/dist/server.js"} {
		if !protected[name] {
			t.Errorf("report: %s not listed as protected (got %v)", name, r.Protected)
		}
	}
	secrets := map[string]bool{}
	for _, s := range r.Secrets {
		secrets[s.Where] = true
	}
	for _, w := range []string{"/app/.env", "/app/certs/server.key", "/root/.npmrc", "env GITHUB_TOKEN"} {
		if !secrets[w] {
			t.Errorf("secret %s not reported (got %v)", w, r.Secrets)
		}
	}
	if secrets["env NODE_ENV"] || secrets["/home/node/.npmrc"] {
		t.Errorf("false positives in %v", r.Secrets)
	}
	sets := map[string]int64{}
	for _, s := range r.Sets {
		sets[s.Set] = s.Bytes
	}
	if sets[SetCaches] < 100 || sets[SetVCS] != 3 || sets[SetSources] != 2 || sets[SetDocs] == 0 || sets[SetSecrets] == 0 {
		t.Errorf("got per-set bytes %v", sets)
	}
	// Without the sets, only the user's patterns apply.
	_, r, err = Image(src, WithRules(mustRules(t, "app/.git")), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sets) != 1 || r.Sets[0].Set != "patterns" || r.Sets[0].Bytes != 3 {
		t.Errorf("no sets: got %+v", r.Sets)
	}
}

func TestScrubHistory(t *testing.T) {
	out, _, err := Image(nodeApp(t), WithScrubHistory(), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := out.ConfigFile()
	for i, h := range cf.History[:len(cf.History)-1] {
		if h.CreatedBy != "" {
			t.Errorf("history %d: got created_by %q, want it scrubbed", i, h.CreatedBy)
		}
	}
}

func TestParseSets(t *testing.T) {
	if got, err := ParseSets("caches, vcs"); err != nil || strings.Join(got, ",") != "caches,vcs" {
		t.Errorf("got %v, %v", got, err)
	}
	if got, _ := ParseSets("all"); len(got) != len(AllSets) {
		t.Errorf("all: got %v", got)
	}
	if _, err := ParseSets("caches,bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("got %v, want an error naming bogus", err)
	}
}

func TestAnalyze(t *testing.T) {
	// A later layer overwrites a file and deletes another: both are waste.
	src := nodeApp(t)
	img := testImage(t, v1.Config{Cmd: []string{"node", "dist/server.js"}, WorkingDir: "/app"},
		mustLayers(t, src)[0], mustLayers(t, src)[1],
		gzLayer(t, reg("app/dist/server.js", "js v2"), reg("usr/share/doc/bash/.wh.README", "")))
	a, err := Analyze(img, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Wasted != int64(len("js")+len("docs")) {
		t.Errorf("got wasted %d, want %d", a.Wasted, len("js")+len("docs"))
	}
	got := map[string]int64{}
	var share float64
	for _, c := range a.Categories {
		got[c.Name] = c.Bytes
		share += c.Share
	}
	if got["your application"] == 0 || got["caches"] == 0 || got["VCS history"] != 3 || got["sources"] != 2 || got["secrets"] == 0 {
		t.Errorf("got categories %v", got)
	}
	if share < 0.999 || share > 1.001 {
		t.Errorf("shares add up to %f, want 1", share)
	}
	if a.Saving.Uncompressed <= 0 || a.Saving.Files <= 0 {
		t.Errorf("got saving %+v", a.Saving)
	}
}

func mustLayers(t testing.TB, img v1.Image) []v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}
