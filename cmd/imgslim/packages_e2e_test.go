//go:build e2e

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// The end-to-end test of the opt-in packages set: the Node and Flask
// fixture apps slimmed with --sets all,packages serve as nonroot; dpkg's
// database matches the files (every kept package's files are there, none
// of a purged package's is); apt-get install still works inside; and the
// output is compared with the multi-stage build of the same app.

// packagesApp is one fixture app of the test.
type packagesApp struct {
	name       string
	image      func(testing.TB) (string, int)
	multiStage func(t *testing.T) string // the same app, built multi-stage
	// runtime are packages the output must keep; purged, packages the
	// source has that it must not.
	runtime, purged []string
	maxRatio        float64 // of docker's size over the multi-stage image's
}

var packagesApps = []packagesApp{{
	name:  "node-ts-app",
	image: dockertest.NodeTSApp,
	multiStage: func(t *testing.T) string {
		tag, _ := dockertest.NodeTSMultiStage(t)
		return tag
	},
	runtime: []string{"nodejs", "libnode108", "libuv1", "apt", "dpkg", "ca-certificates"},
	// npm and node-gyp stay: the runtime keeps /usr/share/nodejs whole
	// (node's global modules), and python3 for node-gyp's gyp.
	purged:   []string{"gcc", "perl", "git", "libc6-dev"},
	maxRatio: 1.2,
}, {
	name:       "python-flask-app",
	image:      dockertest.FlaskApp,
	multiStage: flaskMultiStage,
	runtime:    []string{"python3", "python3-flask", "python3-werkzeug", "libpython3.11-stdlib", "apt", "dpkg"},
	// Recommends of Flask and its dependencies, which neither the app
	// nor what it imports imports.
	purged:   []string{"python3-babel", "python3-tz", "python3-simplejson"},
	maxRatio: 1.2,
}}

// flaskMultiStage builds the Flask app as a careful team would ship it:
// the base image, python3 and python3-flask without recommends, and the
// app's two modules. The image is kept in the daemon for later runs while
// its recipe holds (dockertest.CachedImage): the recipe names the app
// image's ID, so a rebuilt app rebuilds it too.
func flaskMultiStage(t *testing.T) string {
	src, _ := dockertest.FlaskApp(t)
	base := dockertest.BaseImage(t)
	return dockertest.CachedImage(t, "imgslim-test/packages-flask-multistage:1", base, nil, `FROM `+base+`
# app: `+daemonID(src)+`
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-flask \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY --from=`+src+` /app/app.py /app/greetings.py /app/
WORKDIR /app
ENV PORT=`+fmt.Sprint(dockertest.FlaskAppPort)+`
CMD ["python3", "/app/app.py"]
`)
}

func TestPackagesSetEndToEnd(t *testing.T) {
	t.Parallel()
	dockertest.Require(t)
	for _, app := range packagesApps {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			packagesTestApp(t, app)
		})
	}
}

func packagesTestApp(t *testing.T, app packagesApp) {
	src, port := app.image(t)
	out := "imgslim-test/packages-e2e-" + app.name + ":" + uniq()
	rmiOnCleanup(t, out)

	reportPath := filepath.Join(t.TempDir(), "R.json")
	begin := time.Now()
	// Read from the archive docker save wrote once for every test and run.
	res := setsRun(setsSlimTimeout, "-q", "--sets", "all,packages", "--report", reportPath, "docker-archive:"+dockertest.Saved(t, src), "docker-daemon:"+out)
	if res.code != exitOK {
		t.Fatalf("imgslim --sets all,packages %s: exit %d\nstderr:\n%s\nstdout:\n%s", src, res.code, res.stderr, res.stdout)
	}
	t.Logf("slimmed %s in %v", src, time.Since(begin).Round(time.Millisecond))
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	validReport(t, b)
	var doc struct {
		Images []struct {
			Packages struct {
				Removed []string `json:"removed"`
				Kept    []struct {
					Name string `json:"name"`
					Why  string `json:"why"`
				} `json:"kept"`
			} `json:"packages"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Images) != 1 {
		t.Fatalf("--report: %v\n%s", err, b)
	}
	var rep struct {
		Packages     []string
		PackagesKept map[string]string
	}
	rep.Packages, rep.PackagesKept = doc.Images[0].Packages.Removed, map[string]string{}
	for _, k := range doc.Images[0].Packages.Kept {
		rep.PackagesKept[k.Name] = k.Why
	}

	// 1. It serves, as nonroot.
	if got := dockertest.Docker(t, "image", "inspect", "--format", "{{.Config.User}}", out); got != "65532:65532" {
		t.Errorf("User of %s: got %q, want 65532:65532", out, got)
	}
	dockertest.RunApp(t, out, port)
	health := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, dockertest.HealthPath), time.Minute)
	if got := strings.TrimSpace(string(health)); got != "ok" {
		t.Errorf("GET %s: got %q, want ok", dockertest.HealthPath, got)
	}
	body := dockertest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
	var root struct {
		UID *int `json:"uid"`
	}
	if err := json.Unmarshal(body, &root); err != nil || root.UID == nil || *root.UID != 65532 {
		t.Errorf("GET /: got %s, want JSON with uid 65532 (err %v)", body, err)
	}

	// 2. The report: what went, and why each package that stays does.
	installedOut := packagesInstalled(t, out)
	installedSrc := packagesInstalled(t, src)
	for _, p := range app.runtime {
		if !slices.Contains(installedOut, p) {
			t.Errorf("output: %s is not installed, want it kept", p)
		}
	}
	for _, p := range app.purged {
		if !slices.Contains(installedSrc, p) {
			t.Errorf("source: %s is not installed, so the test cannot see it go", p)
		}
		if slices.Contains(installedOut, p) {
			t.Errorf("output: %s is installed, want it purged (kept: %q)", p, rep.PackagesKept[p])
		}
	}
	for _, p := range installedOut {
		if rep.PackagesKept[p] == "" && rep.PackagesKept[p+":amd64"] == "" {
			t.Errorf("report: %s stays without a why", p)
		}
	}
	var gone []string
	for _, p := range installedSrc {
		if !slices.Contains(installedOut, p) {
			gone = append(gone, p)
		}
	}
	var reported []string
	for _, p := range rep.Packages {
		reported = append(reported, setsPkgName(p))
	}
	slices.Sort(reported)
	if !slices.Equal(gone, reported) {
		t.Errorf("report: packages removed differ from dpkg's:\nonly in the report %q\nonly in dpkg %q", setMinus(reported, gone), setMinus(gone, reported))
	}
	t.Logf("packages: %d installed -> %d; purged %d", len(installedSrc), len(installedOut), len(rep.Packages))

	// 3. dpkg matches the files: every path a kept package lists is there
	// (the docs set's trees aside), no file of a purged package is.
	// setsCheckDpkg checks the first half (directories the sets emptied
	// and removed aside) and that the purged packages were there.
	setsCheckDpkg(t, setsApp{name: app.name, tools: app.purged}, src, out)
	leftovers := packagesLeftovers(t, src, out, gone)
	if len(leftovers) > 0 {
		t.Errorf("output: %d files of purged packages remain, e.g. %q", len(leftovers), leftovers[:min(10, len(leftovers))])
	}
	if v := dockertest.Docker(t, "run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", out, "-c", "dpkg --audit && echo audit-ok"); !strings.HasSuffix(v, "audit-ok") {
		t.Errorf("dpkg --audit in the output: %s", v)
	}

	// 4. apt-get install of a small package works inside.
	inst := dockertest.Docker(t, "run", "--rm", "--network", "host", "-u", "0", "--entrypoint", "sh", out, "-c",
		"export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends less >/dev/null && less --version | head -1 && dpkg -s less | grep '^Status'")
	if !strings.Contains(inst, "Status: install ok installed") {
		t.Errorf("apt-get install less in the output: got %q", inst)
	}

	// 5. Size beside the multi-stage build.
	ms := app.multiStage(t)
	srcSize, outSize, msSize := imageSize(t, src), imageSize(t, out), imageSize(t, ms)
	ratio := float64(outSize) / float64(msSize)
	t.Logf("SIZES %s: source %s, --sets all,packages %s, multi-stage %s: %.2fx the multi-stage image", app.name, setsMB(srcSize), setsMB(outSize), setsMB(msSize), ratio)
	if ratio > app.maxRatio {
		t.Errorf("output is %.2fx the multi-stage image (%s vs %s), want at most %.1fx", ratio, setsMB(outSize), setsMB(msSize), app.maxRatio)
	}
}

// packagesInstalled returns the names of the packages dpkg says are
// installed in image, sorted.
func packagesInstalled(t *testing.T, image string) []string {
	t.Helper()
	var out []string
	for _, l := range setsDockerLines(t, "run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", image, "-c",
		`dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n'`) {
		if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "ii") {
			out = append(out, f[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// packagesLeftovers returns the files (not directories) that the purged
// packages' lists name in src, that no package kept in out lists, and
// that out still has.
func packagesLeftovers(t *testing.T, src, out string, purged []string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// In the source: the purged packages' files that are files.
	script := `cd /var/lib/dpkg/info
for p in "$@"; do for l in "$p.list" "$p:"*.list; do [ -f "$l" ] && cat "$l"; done; done | sort -u | while IFS= read -r f; do
	[ -d "$f" ] || echo "$f"
done`
	cand := dockertest.Docker(t, append([]string{"run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", src, "-c", script, "sh"}, purged...)...)
	if err := os.WriteFile(filepath.Join(dir, "cand"), []byte(cand+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// In the output: those still there that no kept package lists.
	check := `cat /var/lib/dpkg/info/*.list | sort -u > /tmp/kept
sort -u /check/cand | comm -23 - /tmp/kept | while IFS= read -r f; do
	[ -n "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; } && echo "$f"
done; true`
	return setsDockerLines(t, "run", "--rm", "--network", "none", "-u", "0", "-v", dir+":/check:ro", "--entrypoint", "sh", out, "-c", check)
}

// setMinus returns the elements of a not in b.
func setMinus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
