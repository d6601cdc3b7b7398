//go:build e2e

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/testdata/dockertest"
)

// The end-to-end test of the built-in rule sets: the realistic fixture
// apps of testdata/dockertest (a TypeScript Express app on a node:18-like
// image, a Go service built with Debian's Go in the image), slimmed daemon
// to daemon with the default sets, then run, and looked inside: the
// removed things are gone, every file a kept Debian package owns is still
// there, and dpkg and apt still agree with the file system.

// setsSlimTimeout bounds one run on a fixture app: a read of 1.5 GB and a
// rewrite of most of it, beside the other parallel tests (make e2e runs
// several at once, -parallel) on a machine others may load too: 6 minutes
// ran out at a load average of 30 on 2 cores. It is there to stop a hang,
// not to time the run.
const setsSlimTimeout = 30 * time.Minute

// setsToolchain are the build-toolchain packages the buildtools set
// purges: none may be installed in an output.
var setsToolchain = []string{"gcc", "g++", "make", "build-essential", "git", "binutils", "golang-go"}

// setsApp is one fixture app and what the test expects of it.
type setsApp struct {
	name  string
	image func(testing.TB) (tag string, port int)
	// sets must each remove more than 0 bytes.
	sets []string
	// tools are the toolchain packages the source must have, so that
	// their absence from the output means something.
	tools []string
	// gone are shell globs that match something in the source and
	// nothing in the output; kept are paths both must hold.
	gone, kept []string
	// secret is a path the report must list under "secrets" ("" for none).
	secret string
	// maxRatio bounds docker's size of the output over the source's; 0
	// only logs it.
	maxRatio float64
	analyze  bool // also run `imgslim analyze` on the source
	// dive, when set, holds the thresholds `dive --ci` must pass on the
	// output (issue 12's waste goals for a default slim), as ratios.
	dive *diveThresholds
}

// diveThresholds are dive's --lowestEfficiency and
// --highestUserWastedPercent, as ratios.
type diveThresholds struct{ lowestEfficiency, highestUserWasted float64 }

var setsApps = []setsApp{
	{
		name:  "node-ts-app",
		image: dockertest.NodeTSApp,
		sets:  []string{"caches", "vcs", "devdeps", "sources", "docs", "buildtools", "secrets"},
		tools: []string{"gcc", "g++", "make", "build-essential", "git", "binutils"},
		gone: []string{
			"/app/.git", "/root/.npm", "/var/cache/apt/archives/*.deb", "/usr/share/doc/*/README*",
			"/app/src/*.ts", "/app/test/*.ts", "/app/.env",
			"/app/node_modules/typescript", "/app/node_modules/.bin/tsc", "/app/node_modules/jest",
			"/usr/bin/gcc", "/usr/bin/git",
		},
		kept: []string{
			"/app/dist/server.js", "/app/package.json", "/app/node_modules/express/package.json",
			"/usr/share/doc/libc6/copyright", "/usr/share/doc/nodejs/copyright", "/usr/bin/node",
		},
		secret:   "/app/.env",
		maxRatio: 0.35,
		analyze:  true,
		// The default output wastes no more than 2% by dive's measure:
		// checked on this slim rather than on another of the same image
		// (TestWasteDiveEndToEnd checks --no-waste).
		dive: &diveThresholds{0.9, 0.02},
	},
	{
		name:  "go-service",
		image: dockertest.GoService,
		// The service has no secret of its own: the test keys Go and
		// Debian ship are theirs, not leaks to rotate.
		sets:  []string{"caches", "vcs", "sources", "docs", "buildtools"},
		tools: []string{"gcc", "g++", "git", "binutils", "golang-go"},
		gone: []string{
			"/app/.git", "/var/cache/apt/archives/*.deb", "/usr/share/doc/*/README*",
			"/root/go/pkg/mod", "/root/.cache/go-build", "/app/*.go", "/app/go.mod", "/app/go.sum",
			"/usr/lib/go-1.19/bin/go", "/usr/bin/go", "/usr/bin/gcc",
		},
		kept: []string{"/app/server", "/usr/share/doc/libc6/copyright", "/etc/ssl/certs/ca-certificates.crt"},
	},
}

// setsFigures are the numbers a run gives, for the summary.
type setsFigures struct {
	app                       string
	reportBefore, reportAfter int64 // uncompressed, from the JSON report
	dockerBefore, dockerAfter int64 // docker image inspect's Size
	sets                      []setsSetBytes
	pkgsBefore, pkgsAfter     int
	slimTime, total           time.Duration
}

// The parts of the JSON report and of analyze --json the test reads,
// spelled out here so that the test pins the JSON names CI scripts read.
type (
	setsSetBytes struct {
		Set   string `json:"set"`
		Files int    `json:"files"`
		Bytes int64  `json:"bytes"`
	}
	setsTotals struct {
		Uncompressed int64 `json:"uncompressedBytes"`
		Files        int   `json:"files"`
	}
	setsSecret struct {
		Where string `json:"where"`
		What  string `json:"what"`
	}
	setsReport struct {
		Before   setsTotals     `json:"before"`
		After    setsTotals     `json:"after"`
		Sets     []setsSetBytes `json:"sets"`
		Secrets  []setsSecret   `json:"secrets"`
		Packages struct {
			Removed []string `json:"removed"`
		} `json:"packages"`
		User struct {
			UID int `json:"uid"`
			GID int `json:"gid"`
		} `json:"user"`
	}
	setsAnalysis struct {
		Before   setsTotals `json:"before"`
		Analysis struct {
			Categories []struct {
				Category string `json:"category"`
				Files    int    `json:"files"`
				Bytes    int64  `json:"bytes"`
			} `json:"categories"`
			Saving setsTotals `json:"saving"`
		} `json:"analysis"`
		Secrets []setsSecret `json:"secrets"`
	}
)

// setsCategories are the categories analyze must find in the node app,
// each with bytes.
var setsCategories = []string{
	"application", slim.SetSources, slim.SetBuildTools, slim.SetDevDeps, slim.SetCaches,
	slim.SetVCS, slim.SetDocs, slim.SetSecrets, "other",
}

// setsRun runs the command with a timeout of its own.
func setsRun(timeout time.Duration, args ...string) result {
	return runCommand(timeout, args...)
}

func TestSetsEndToEnd(t *testing.T) {
	dockertest.Require(t)
	t.Parallel()
	start := time.Now()
	var (
		mu   sync.Mutex
		figs []setsFigures
	)
	// Registered before the subtests, so it runs once they are all done.
	t.Cleanup(func() {
		slices.SortFunc(figs, func(a, b setsFigures) int { return strings.Compare(a.app, b.app) })
		var parts []string
		for _, f := range figs {
			sets := make([]string, 0, len(f.sets))
			for _, s := range f.sets {
				sets = append(sets, fmt.Sprintf("%s %s", s.Set, setsMB(s.Bytes)))
			}
			parts = append(parts, fmt.Sprintf("%s: %s -> %s uncompressed (report), docker %s -> %s (%.1f%%), packages %d -> %d, slimmed in %v, subtest %v; %s",
				f.app, setsMB(f.reportBefore), setsMB(f.reportAfter), setsMB(f.dockerBefore), setsMB(f.dockerAfter),
				100*float64(f.dockerAfter)/float64(f.dockerBefore), f.pkgsBefore, f.pkgsAfter,
				f.slimTime.Round(time.Second), f.total.Round(time.Second), strings.Join(sets, ", ")))
		}
		t.Logf("SUMMARY (%v): %s", time.Since(start).Round(time.Second), strings.Join(parts, " | "))
	})
	for _, app := range setsApps {
		t.Run(app.name, func(t *testing.T) {
			t.Parallel()
			begin := time.Now()
			f := setsTestApp(t, app)
			f.total = time.Since(begin)
			mu.Lock()
			figs = append(figs, f)
			mu.Unlock()
		})
	}
}

// setsMB renders n bytes in decimal units, as docker does.
func setsMB(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func setsTestApp(t *testing.T, app setsApp) setsFigures {
	src, port := app.image(t)
	out := "imgslim-test/sets-e2e-" + app.name + ":" + uniq()
	rmiOnCleanup(t, out)
	fig := setsFigures{app: app.name}

	// The source as docker save wrote it once for every test and run
	// (dockertest.Saved): reading 1.4 GB out of the daemon again is no part
	// of what this test checks (TestEndToEnd and TestRoundTrip read the
	// daemon).
	from := "docker-archive:" + dockertest.Saved(t, src)

	// analyze reads the source while the slimming does.
	var analyzed chan result
	if app.analyze {
		analyzed = make(chan result, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			analyzed <- setsRun(setsSlimTimeout, "analyze", "-q", "--json", from)
		}()
		t.Cleanup(func() { <-done })
	}

	// 1. Slim with the default sets.
	reportPath := filepath.Join(t.TempDir(), "R.json")
	begin := time.Now()
	res := setsRun(setsSlimTimeout, "-q", "--report", reportPath, from, "docker-daemon:"+out)
	fig.slimTime = time.Since(begin)
	if res.code != exitOK {
		t.Fatalf("imgslim -q --report R.json %s docker-daemon:%s: got exit %d, want 0\nstderr:\n%s\nstdout:\n%s",
			from, out, res.code, res.stderr, res.stdout)
	}
	t.Logf("slimmed %s in %v", src, fig.slimTime.Round(time.Millisecond))
	if res.stderr != "" {
		t.Errorf("imgslim -q: got stderr %q, want none", res.stderr)
	}

	// 2. It serves, as nonroot.
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
	if err := json.Unmarshal(body, &root); err != nil || root.UID == nil {
		t.Errorf("GET /: got %q, want JSON with a uid (err %v)", body, err)
	} else if *root.UID != 65532 {
		t.Errorf("GET /: got uid %d, want 65532 (not root); body %s", *root.UID, body)
	}

	// 3. dpkg: what the kept packages own is there, the toolchain is not
	// installed, dpkg and apt still work.
	fig.pkgsBefore, fig.pkgsAfter = setsCheckDpkg(t, app, src, out)

	// 4. The report.
	rep := setsReadReport(t, reportPath)
	fig.reportBefore, fig.reportAfter, fig.sets = rep.Before.Uncompressed, rep.After.Uncompressed, rep.Sets
	bySet := map[string]int64{}
	for _, s := range rep.Sets {
		bySet[s.Set] = s.Bytes
		t.Logf("set %-10s removed %6d files, %12d bytes (%s)", s.Set, s.Files, s.Bytes, setsMB(s.Bytes))
	}
	for _, s := range app.sets {
		if bySet[s] <= 0 {
			t.Errorf("report: set %s removed %d bytes, want more than 0 (sets %+v)", s, bySet[s], rep.Sets)
		}
	}
	t.Logf("report: %d -> %d bytes uncompressed (%s -> %s), %d -> %d files",
		rep.Before.Uncompressed, rep.After.Uncompressed, setsMB(rep.Before.Uncompressed), setsMB(rep.After.Uncompressed),
		rep.Before.Files, rep.After.Files)
	if rep.After.Uncompressed <= 0 || rep.After.Uncompressed >= rep.Before.Uncompressed {
		t.Errorf("report: got %d -> %d bytes, want a smaller, non-empty output", rep.Before.Uncompressed, rep.After.Uncompressed)
	}
	if app.secret != "" && !slices.ContainsFunc(rep.Secrets, func(s setsSecret) bool { return s.Where == app.secret }) {
		t.Errorf("report: secrets %+v lack %s", rep.Secrets, app.secret)
	}
	for _, tool := range app.tools {
		if !slices.ContainsFunc(rep.Packages.Removed, func(p string) bool { return setsPkgName(p) == tool }) {
			t.Errorf("report: packages removed lack %s: %v", tool, rep.Packages.Removed)
		}
	}
	if rep.User.UID != 65532 || rep.User.GID != 65532 {
		t.Errorf("report: user %+v, want nonroot 65532", rep.User)
	}

	// 5. Sizes, as docker shows them.
	fig.dockerBefore, fig.dockerAfter = imageSize(t, src), imageSize(t, out)
	ratio := float64(fig.dockerAfter) / float64(fig.dockerBefore)
	t.Logf("docker size: %s %d bytes -> %d bytes (%s -> %s), %.1f%% of the source",
		app.name, fig.dockerBefore, fig.dockerAfter, setsMB(fig.dockerBefore), setsMB(fig.dockerAfter), 100*ratio)
	if app.maxRatio > 0 && ratio > app.maxRatio {
		t.Errorf("docker size: output is %.1f%% of the source, want at most %.0f%%", 100*ratio, 100*app.maxRatio)
	}
	if ratio >= 1 {
		t.Errorf("docker size: output %d bytes, source %d: not smaller", fig.dockerAfter, fig.dockerBefore)
	}

	// 5b. Waste, by dive's measure and the report's.
	if app.dive != nil {
		checkDive(t, out, reportPath, false, *app.dive)
	}

	// 6. The removed things are gone, in the output; they were there in
	// the source, so that their absence means something.
	script := setsPresentScript(append(append([]string(nil), app.gone...), app.kept...))
	srcPresent := setsDockerLines(t, "run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", src, "-c", script)
	outPresent := setsDockerLines(t, "run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", out, "-c", script)
	for _, g := range app.gone {
		if len(setsMatching(srcPresent, g)) == 0 {
			t.Errorf("source %s: nothing matches %s, so the test cannot see it go", src, g)
		}
		if m := setsMatching(outPresent, g); len(m) > 0 {
			t.Errorf("output: %s still matches %d paths, e.g. %v", g, len(m), m[:min(3, len(m))])
		}
	}
	for _, k := range app.kept {
		if len(setsMatching(outPresent, k)) == 0 {
			t.Errorf("output: %s is gone, want it kept (in the source: %v)", k, len(setsMatching(srcPresent, k)) > 0)
		}
	}

	// 7. analyze, on the source.
	if analyzed != nil {
		setsCheckAnalyze(t, <-analyzed, app, rep)
	}
	return fig
}

// setsPresentScript prints "P PATH" for each path the globs match.
func setsPresentScript(globs []string) string {
	return `for p in ` + strings.Join(globs, " ") + `; do
	if [ -e "$p" ] || [ -L "$p" ]; then echo "P $p"; fi
done`
}

// setsMatching returns the paths of the "P PATH" lines that glob matches, as
// the shell would have.
func setsMatching(lines []string, glob string) []string {
	var out []string
	for _, l := range lines {
		p, ok := strings.CutPrefix(l, "P ")
		if ok {
			if m, _ := path.Match(glob, p); m {
				out = append(out, p)
			}
		}
	}
	return out
}

// setsDockerLines runs docker and returns the lines of its stdout.
func setsDockerLines(t *testing.T, args ...string) []string {
	t.Helper()
	out := dockertest.Docker(t, args...)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// setsPkgName drops the architecture from a dpkg package name.
func setsPkgName(p string) string {
	name, _, _ := strings.Cut(p, ":")
	return name
}

// setsDpkgOutScript lists, in the output, the installed packages ("PKG NAME")
// and the paths their file lists name, outside the documentation trees the
// docs set removes (but with the copyright files it keeps), that are
// missing ("MISSING PKG PATH") or dangling symlinks ("DANGLING PKG PATH"),
// and the packages without a list ("NOLIST PKG").
const setsDpkgOutScript = `arch=$(dpkg --print-architecture) || exit 1
dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' > /tmp/installed || exit 1
while read -r st pkg; do
	case "$st" in ?i*) ;; *) continue ;; esac
	echo "PKG $pkg"
	list=/var/lib/dpkg/info/$pkg.list
	[ -f "$list" ] || list=/var/lib/dpkg/info/${pkg%%:*}.list
	[ -f "$list" ] || list=/var/lib/dpkg/info/${pkg%%:*}:$arch.list
	if [ ! -f "$list" ]; then echo "NOLIST $pkg"; continue; fi
	while IFS= read -r p; do
		case "$p" in
		/usr/share/doc/*/*/*) continue ;;
		/usr/share/doc/*/copyright) ;;
		/usr/share/doc|/usr/share/doc/*|/usr/share/man|/usr/share/man/*|/usr/share/info|/usr/share/info/*) continue ;;
		/usr/share/locale|/usr/share/locale/*|/usr/share/lintian|/usr/share/lintian/*) continue ;;
		esac
		if [ -L "$p" ] && [ ! -e "$p" ]; then
			echo "DANGLING $pkg $p"
		elif [ ! -e "$p" ] && [ ! -L "$p" ]; then
			echo "MISSING $pkg $p"
		fi
	done < "$list"
done < /tmp/installed
`

// setsDpkgSrcScript lists, in the source, the installed packages ("PKG NAME"),
// and says of each path it is given whether it is a directory ("DIR
// PATH"), a dangling symlink ("DANGLING PATH") or absent ("ABSENT PATH").
const setsDpkgSrcScript = `dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' > /tmp/installed || exit 1
while read -r st pkg; do
	case "$st" in ?i*) echo "PKG $pkg" ;; esac
done < /tmp/installed
for p; do
	if [ -d "$p" ] && [ ! -L "$p" ]; then
		echo "DIR $p"
	elif [ -L "$p" ] && [ ! -e "$p" ]; then
		echo "DANGLING $p"
	elif [ ! -e "$p" ] && [ ! -L "$p" ]; then
		echo "ABSENT $p"
	fi
done
`

// setsCheckDpkg checks the output's dpkg database against its files and the
// source's, and returns the number of packages installed in each.
func setsCheckDpkg(t *testing.T, app setsApp, src, out string) (before, after int) {
	t.Helper()
	runIn := func(image, script string, args ...string) []string {
		return setsDockerLines(t, append([]string{"run", "--rm", "--network", "none", "-u", "0", "--entrypoint", "sh", image, "-c", script, "sh"}, args...)...)
	}
	type gap struct{ pkg, path, kind string }
	var outPkgs []string
	var gaps []gap
	for _, l := range runIn(out, setsDpkgOutScript) {
		f := strings.SplitN(l, " ", 3)
		switch {
		case f[0] == "PKG" && len(f) == 2:
			outPkgs = append(outPkgs, f[1])
		case f[0] == "NOLIST" && len(f) == 2:
			t.Errorf("output: package %s is installed but has no file list in /var/lib/dpkg/info", f[1])
		case (f[0] == "MISSING" || f[0] == "DANGLING") && len(f) == 3:
			gaps = append(gaps, gap{pkg: f[1], path: f[2], kind: f[0]})
		default:
			t.Errorf("output: dpkg check printed %q", l)
		}
	}
	if !slices.ContainsFunc(outPkgs, func(p string) bool { return setsPkgName(p) == "libc6" }) {
		t.Fatalf("output: dpkg-query lists %d packages without libc6: %v", len(outPkgs), outPkgs)
	}
	// Only what the source had as a file, a symlink that resolved or a
	// device counts: directories the sets empty and remove are fine.
	const maxArgs = 5000
	var args []string
	for _, g := range gaps[:min(len(gaps), maxArgs)] {
		args = append(args, g.path)
	}
	if len(gaps) > maxArgs {
		t.Errorf("output: %d paths owned by kept packages are missing or dangling; checking the first %d against the source", len(gaps), maxArgs)
	}
	var srcPkgs []string
	srcKind := map[string]string{}
	for _, l := range runIn(src, setsDpkgSrcScript, args...) {
		kind, rest, _ := strings.Cut(l, " ")
		if kind == "PKG" {
			srcPkgs = append(srcPkgs, rest)
		} else {
			srcKind[rest] = kind
		}
	}
	var bad []string
	excused := 0
	for _, g := range gaps {
		switch k := srcKind[g.path]; {
		case k == "DIR" && g.kind == "MISSING", k == "DANGLING" && g.kind == "DANGLING", k == "ABSENT":
			excused++
		default:
			bad = append(bad, fmt.Sprintf("%s (%s, %s)", g.path, g.pkg, strings.ToLower(g.kind)))
		}
	}
	t.Logf("dpkg: %d packages installed in the source, %d in the output; %d paths of kept packages missing but directories (or already absent) in the source",
		len(srcPkgs), len(outPkgs), excused)
	if len(bad) > 0 {
		t.Errorf("output: %d paths owned by kept packages are missing or dangling, though the source had them; the first: %v",
			len(bad), bad[:min(10, len(bad))])
	}

	// The toolchain: installed in the source, not in the output.
	for _, tool := range app.tools {
		if !slices.ContainsFunc(srcPkgs, func(p string) bool { return setsPkgName(p) == tool }) {
			t.Errorf("source %s: package %s not installed, so the test cannot see it go", src, tool)
		}
	}
	for _, p := range outPkgs {
		if slices.Contains(setsToolchain, setsPkgName(p)) {
			t.Errorf("output: toolchain package %s still installed", p)
		}
	}

	// dpkg -l lists the same packages; dpkg --audit and apt-get check find
	// nothing wrong.
	listing := runIn(out, `dpkg -l && dpkg --audit && apt-get check -qq`)
	var listed []string
	for _, l := range listing {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "ii" {
			listed = append(listed, f[1])
		} else if len(f) > 0 && !strings.HasPrefix(l, "Desired=") && !strings.HasPrefix(l, "|") && !strings.HasPrefix(l, "+++-") {
			t.Errorf("output: dpkg -l && dpkg --audit && apt-get check printed %q", l)
		}
	}
	slices.Sort(listed)
	sortedOut := slices.Sorted(slices.Values(outPkgs))
	if !slices.Equal(listed, sortedOut) {
		t.Errorf("output: dpkg -l lists %d installed packages, dpkg-query %d", len(listed), len(sortedOut))
	}
	return len(srcPkgs), len(outPkgs)
}

func setsReadReport(t *testing.T, p string) setsReport {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("--report: %v", err)
	}
	validReport(t, b)
	var doc struct {
		Images []setsReport `json:"images"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Images) != 1 {
		t.Fatalf("--report %s: %v\n%s", p, err, b)
	}
	return doc.Images[0]
}

// setsCheckAnalyze checks `imgslim analyze --json` on the source against what
// the slimming did.
func setsCheckAnalyze(t *testing.T, res result, app setsApp, rep setsReport) {
	t.Helper()
	if res.code != exitOK {
		t.Fatalf("imgslim analyze -q --json: got exit %d, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	validReport(t, []byte(res.stdout))
	var doc struct {
		Images []setsAnalysis `json:"images"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &doc); err != nil || len(doc.Images) != 1 {
		t.Fatalf("imgslim analyze --json: %v\n%s", err, res.stdout)
	}
	a := doc.Images[0]
	cats := map[string]int64{}
	for _, c := range a.Analysis.Categories {
		cats[c.Category] = c.Bytes
		t.Logf("analyze: %-30s %6d files %12d bytes (%s)", c.Category, c.Files, c.Bytes, setsMB(c.Bytes))
	}
	for _, c := range setsCategories {
		if cats[c] <= 0 {
			t.Errorf("analyze: category %q has %d bytes, want more than 0 (categories %v)", c, cats[c], cats)
		}
	}
	if a.Analysis.Saving.Uncompressed <= 0 || a.Analysis.Saving.Uncompressed >= a.Before.Uncompressed {
		t.Errorf("analyze: saving %d of %d bytes, want more than 0 and less than the image", a.Analysis.Saving.Uncompressed, a.Before.Uncompressed)
	}
	// What analyze says the default sets would save is what they saved,
	// but for the small layer the user is added in.
	saved := rep.Before.Uncompressed - rep.After.Uncompressed
	t.Logf("analyze: would save %d bytes (%s) of %d; the slimming saved %d", a.Analysis.Saving.Uncompressed, setsMB(a.Analysis.Saving.Uncompressed), a.Before.Uncompressed, saved)
	if d := a.Analysis.Saving.Uncompressed - saved; d > rep.Before.Uncompressed/100 || -d > rep.Before.Uncompressed/100 {
		t.Errorf("analyze: would save %d bytes, the slimming saved %d: more than 1%% apart", a.Analysis.Saving.Uncompressed, saved)
	}
	if app.secret != "" && !slices.ContainsFunc(a.Secrets, func(s setsSecret) bool { return s.Where == app.secret }) {
		t.Errorf("analyze: secrets %+v lack %s", a.Secrets, app.secret)
	}
}

// --max-size on a real app: exit 3, one line, no image.
func TestMaxSizeEndToEnd(t *testing.T) {
	dockertest.Require(t)
	t.Parallel()
	// The budget is checked from the decisions, whatever the image: the
	// Flask app (390 MB) proves it as the 1.5 GB Node app did.
	src, _ := dockertest.FlaskApp(t)
	out := "imgslim-test/sets-e2e-maxsize:" + uniq()
	rmiOnCleanup(t, out)
	start := time.Now()
	r := setsRun(setsSlimTimeout, "-q", "--max-size", "50MB", "docker-archive:"+dockertest.Saved(t, src), "docker-daemon:"+out)
	t.Logf("refused in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code != exitGate {
		t.Errorf("got exit %d, want 3\nstderr:\n%s", r.code, r.stderr)
	}
	if lines := r.stderrLines(); len(lines) != 1 || !strings.HasPrefix(lines[0], "imgslim: ") || !strings.Contains(lines[0], "--max-size 50MB") {
		t.Errorf("got stderr %q, want one line naming --max-size 50MB", lines)
	}
	if r.stdout != "" {
		t.Errorf("got stdout %q, want none", r.stdout)
	}
	if daemonHas(out) {
		t.Errorf("%s exists in the daemon, though the output was over budget", out)
	}
}
