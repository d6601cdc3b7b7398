package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/testdata/dockertest"
)

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		r := imgslim(t, arg)
		if r.code != exitOK {
			t.Errorf("%s: exit: got %d, want 0", arg, r.code)
		}
		if !strings.Contains(r.stdout, "Usage: imgslim") || !strings.Contains(r.stdout, "--remove") {
			t.Errorf("%s: stdout: got %q, want the usage with the flags", arg, r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("%s: stderr: got %q, want nothing", arg, r.stderr)
		}
	}
}

// TestSameLocation: a target that names the source's own place, however
// it is spelled, is refused without --overwrite, before any work.
func TestSameLocation(t *testing.T) {
	// Not parallel: a case changes the working directory (t.Chdir).
	host := memRegistry(t)
	ref := host + "/same/src:v1"
	pushImage(t, ref, fixture(t, false), nil)
	docker := func(t *testing.T) { dockertest.Require(t) }
	var cases []failCase
	add := func(name string, needs func(*testing.T), setup func(t *testing.T) ([]string, []spot)) {
		cases = append(cases, failCase{name: name, needs: needs, code: exitUsage, msg: []string{"--overwrite"}, setup: setup})
	}
	layoutCase := func(src, dst func(dir string) string) func(t *testing.T) ([]string, []spot) {
		return func(t *testing.T) ([]string, []spot) {
			dir := srcLayout(t)
			return []string{src(dir), dst(dir)}, []spot{fileSpot(t, dir)}
		}
	}
	add("oci layout", nil, layoutCase(
		func(d string) string { return "oci:" + d + ":src" },
		func(d string) string { return "oci:" + d + ":src" }))
	add("oci layout, no tag", nil, layoutCase(
		func(d string) string { return "oci:" + d },
		func(d string) string { return "oci:" + d }))
	add("oci layout, trailing slash", nil, layoutCase(
		func(d string) string { return "oci:" + d + ":src" },
		func(d string) string { return "oci:" + d + "/:src" }))
	add("oci layout, dot segments", nil, layoutCase(
		func(d string) string { return "oci:" + d + ":src" },
		func(d string) string { return "oci:" + filepath.Dir(d) + "/./" + filepath.Base(d) + ":src" }))
	add("oci layout, relative path", nil, func(t *testing.T) ([]string, []spot) {
		dir := srcLayout(t)
		t.Chdir(filepath.Dir(dir))
		return []string{"oci:" + dir + ":src", "oci:" + filepath.Base(dir) + ":src"}, []spot{fileSpot(t, dir)}
	})
	archive := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "src.tar")
		writeArchive(t, p, "example.com/fixture/src:v1", fixture(t, false))
		return p
	}
	add("docker-archive", nil, func(t *testing.T) ([]string, []spot) {
		p := archive(t)
		return []string{"docker-archive:" + p, "docker-archive:" + p}, []spot{fileSpot(t, p)}
	})
	// Writing the archive replaces the whole file, whatever image it names.
	add("docker-archive, another name in the same file", nil, func(t *testing.T) ([]string, []spot) {
		p := archive(t)
		return []string{"docker-archive:" + p, "docker-archive:" + p + ":example.com/fixture/other:v1"}, []spot{fileSpot(t, p)}
	})
	add("oci-archive", nil, func(t *testing.T) ([]string, []spot) {
		p := filepath.Join(t.TempDir(), "src.tar")
		tarDirFile(t, srcLayout(t), p)
		return []string{"oci-archive:" + p + ":src", "oci-archive:" + p + ":src"}, []spot{fileSpot(t, p)}
	})
	add("registry", nil, func(t *testing.T) ([]string, []spot) {
		return []string{"docker://" + ref, "docker://" + ref}, []spot{regSpot(t, ref, nil)}
	})
	add("registry, bare target", nil, func(t *testing.T) ([]string, []spot) {
		return []string{"docker://" + ref, ref}, []spot{regSpot(t, ref, nil)}
	})
	daemonSrc := func(t *testing.T) string {
		r := "imgslim-test/cli-same:" + uniq()
		loadIntoDaemon(t, r, fixture(t, false))
		return r
	}
	add("daemon", docker, func(t *testing.T) ([]string, []spot) {
		r := daemonSrc(t)
		return []string{"docker-daemon:" + r, "docker-daemon:" + r}, []spot{daemonSpot(r)}
	})
	add("daemon, bare source and target", docker, func(t *testing.T) ([]string, []spot) {
		r := daemonSrc(t)
		return []string{r, r}, []spot{daemonSpot(r)}
	})
	add("daemon, docker.io spelled out", docker, func(t *testing.T) ([]string, []spot) {
		r := daemonSrc(t)
		return []string{"docker-daemon:" + r, "docker-daemon:docker.io/" + r}, []spot{daemonSpot(r)}
	})
	runFailCases(t, cases)
}

// TestOverwrite replaces the source with the slimmed image when asked to.
func TestOverwrite(t *testing.T) {
	t.Parallel()
	img := fixture(t, true)
	t.Run("oci layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		writeLayout(t, dir, "src", img)
		mustSlim(t, append(append([]string{"-q", "--overwrite"}, fixRemove...), "oci:"+dir+":src", "oci:"+dir+":src")...)
		checkSlimmed(t, img, readLayout(t, dir, "src"), checkOpts{})
	})
	t.Run("registry", func(t *testing.T) {
		ref := memRegistry(t) + "/over/src:v1"
		pushImage(t, ref, img, nil)
		mustSlim(t, append(append([]string{"-q", "--overwrite"}, fixRemove...), "docker://"+ref, "docker://"+ref)...)
		checkSlimmed(t, img, pullImage(t, ref, nil), checkOpts{})
	})
	t.Run("docker-archive", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "src.tar")
		writeArchive(t, p, "example.com/fixture/src:v1", img)
		mustSlim(t, append(append([]string{"-q", "--overwrite"}, fixRemove...), "docker-archive:"+p, "docker-archive:"+p)...)
		checkSlimmed(t, img, readArchiveGGCR(t, p, ""), checkOpts{plain: true})
	})
	// Another tag in the same layout is another location: the source
	// image stays, tagged as before.
	t.Run("oci layout, another tag", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		writeLayout(t, dir, "src", img)
		mustSlim(t, append(append([]string{"-q"}, fixRemove...), "oci:"+dir+":src", "oci:"+dir+":slim")...)
		checkSlimmed(t, img, readLayout(t, dir, "slim"), checkOpts{})
		if got, want := mustDigest(t, readLayout(t, dir, "src")), mustDigest(t, img); got != want {
			t.Errorf("oci:%s:src: got %s, want the source %s untouched", dir, got, want)
		}
	})
}

// readReport parses a --report file, after checking it against the
// schema. into is a *slim.Document, or a *slim.Report for the one image
// of a single-image report.
func readReport(t testing.TB, p string, into any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	doc := validReport(t, b)
	switch v := into.(type) {
	case *slim.Document:
		*v = *doc
	case *slim.Report:
		if len(doc.Images) != 1 {
			t.Fatalf("report %s: got %d images, want 1", p, len(doc.Images))
		}
		*v = *doc.Images[0]
		v.Source = doc.Source.Ref
		if doc.Target != nil {
			v.Target = doc.Target.Ref
		}
	default:
		t.Fatalf("readReport into %T", into)
	}
}

func sizes(t testing.TB, img v1.Image) (compressed, uncompressed int64) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		m, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		uncompressed += m
	}
	return compressed, uncompressed
}

func TestReport(t *testing.T) {
	t.Parallel()
	img := fixture(t, true)
	src := srcLayout(t)
	out := filepath.Join(t.TempDir(), "out")
	rp := filepath.Join(t.TempDir(), "report.json")
	res := mustSlim(t, append(append([]string{"-q", "--report", rp}, fixRemove...), "oci:"+src+":src", "oci:"+out+":slim")...)
	var r slim.Report
	readReport(t, rp, &r)
	got := readLayout(t, out, "slim")

	bc, bu := sizes(t, img)
	ac, au := sizes(t, got)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"source", r.Source, "oci:" + src + ":src"},
		{"target", r.Target, "oci:" + out + ":slim"},
		{"dryRun", r.DryRun, false},
		{"estimated", r.Estimated, false},
		{"digest", r.Digest, mustDigest(t, got)},
		{"before.layers", r.Before.Layers, 6},
		{"before.compressedBytes", r.Before.Compressed, bc},
		{"before.uncompressedBytes", r.Before.Uncompressed, bu},
		{"before.files", r.Before.Files, 15},
		{"after.layers", r.After.Layers, fixOutLayers},
		{"after.compressedBytes", r.After.Compressed, ac},
		{"after.uncompressedBytes", r.After.Uncompressed, au},
		{"layersRewritten", r.LayersRewritten, 4},
		{"layersDropped", r.LayersDropped, 1},
		{"whiteoutsDropped", r.WhiteoutsDropped, 1},
		{"user", r.RunsAs, slim.UserReport{Name: "nonroot", UID: 65532, GID: 65532, Changed: true, Added: true}},
		{"layers", len(r.Layers), 6 + 1},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("report %s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	var pats []string
	files := 0
	for _, p := range r.Removed {
		pats = append(pats, p.Pattern)
		files += p.Files
	}
	sort.Strings(pats)
	if want := []string{"**/.git", "root/.npm", "tmp/cache", "usr/share/doc"}; !reflect.DeepEqual(pats, want) {
		t.Errorf("report removed patterns: got %q, want %q", pats, want)
	}
	if files != 6 {
		t.Errorf("report removed files: got %d, want 6 (HEAD, pack, lib/.git/config, the npm index, README, the cache blob)", files)
	}
	if !strings.Contains(res.stdout, r.Digest) {
		t.Errorf("stdout: got %q, want the digest %s", res.stdout, r.Digest)
	}

	t.Run("multi-platform", func(t *testing.T) {
		idx, _ := multiFixture(t)
		host := memRegistry(t)
		pushIndex(t, host+"/multi/src:v1", idx)
		rp := filepath.Join(t.TempDir(), "report.json")
		mustSlim(t, append(append([]string{"-q", "--report", rp}, fixRemove...), "docker://"+host+"/multi/src:v1", "docker://"+host+"/multi/out:v1")...)
		var ir slim.Document
		readReport(t, rp, &ir)
		var plats []string
		for _, r := range ir.Images {
			plats = append(plats, r.Platform)
			if r.Digest == "" || r.Before.Layers != 6 || r.After.Layers != fixOutLayers {
				t.Errorf("report of %s: got digest %q, layers %d -> %d; want a digest, 6 -> %d", r.Platform, r.Digest, r.Before.Layers, r.After.Layers, fixOutLayers)
			}
		}
		if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(plats, want) {
			t.Errorf("report platforms: got %q, want %q", plats, want)
		}
	})
}

// TestDryRun writes nothing anywhere, prints the report, and writes the
// JSON one when asked.
func TestDryRun(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	ref := host + "/dry/src:v1"
	img := fixture(t, false)
	pushImage(t, ref, img, nil)
	targets := []struct {
		name  string
		needs func(*testing.T)
		dst   func(t *testing.T) (string, spot)
	}{
		{"oci", nil, func(t *testing.T) (string, spot) { p, s := newPath(t, "out"); return "oci:" + p, s }},
		{"oci-archive", nil, func(t *testing.T) (string, spot) { p, s := newPath(t, "out.tar"); return "oci-archive:" + p, s }},
		{"docker-archive", nil, func(t *testing.T) (string, spot) {
			p, s := newPath(t, "out.tar")
			return "docker-archive:" + p, s
		}},
		{"registry", nil, func(t *testing.T) (string, spot) {
			r := host + "/dry/out:v1"
			return "docker://" + r, regSpot(t, r, nil)
		}},
		{"the source itself", nil, func(t *testing.T) (string, spot) { return "docker://" + ref, regSpot(t, ref, nil) }},
		{"daemon", func(t *testing.T) { dockertest.Require(t) }, func(t *testing.T) (string, spot) {
			r := "imgslim-test/cli-dry:" + uniq()
			rmiOnCleanup(t, r)
			return "docker-daemon:" + r, daemonSpot(r)
		}},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != nil {
				tc.needs(t)
			}
			dst, s := tc.dst(t)
			srcSpot := regSpot(t, ref, nil)
			before, srcBefore := s.state(), srcSpot.state()
			rp := filepath.Join(t.TempDir(), "report.json")
			res := mustSlim(t, append(append([]string{"--dry-run", "--report", rp}, fixRemove...), "docker://"+ref, dst)...)
			if after := s.state(); after != before {
				t.Errorf("%s: got %q after --dry-run, want %q as before", s.what, after, before)
			}
			if after := srcSpot.state(); after != srcBefore {
				t.Errorf("source: got %q after --dry-run, want %q", after, srcBefore)
			}
			for _, want := range []string{"dry run: nothing was written", "**/.git", "/app/.git", "~", "runs as: nonroot (65532:65532)"} {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("stdout: got %q, want it to hold %q", res.stdout, want)
				}
			}
			if strings.Contains(res.stdout, "digest:") {
				t.Errorf("stdout: got %q, want no digest: nothing was made", res.stdout)
			}
			var r slim.Report
			readReport(t, rp, &r)
			if !r.DryRun || !r.Estimated || r.Digest != "" || r.Target != "" {
				t.Errorf("report: got dryRun %v, estimated %v, digest %q, target %q; want true, true, empty, empty", r.DryRun, r.Estimated, r.Digest, r.Target)
			}
			if bc, _ := sizes(t, img); r.Before.Compressed != bc || r.Before.Layers != 6 || r.After.Layers != fixOutLayers-1 {
				t.Errorf("report: got before %d bytes %d layers, after %d layers; want %d bytes 6 layers, after %d layers (the user layer is not planned)",
					r.Before.Compressed, r.Before.Layers, r.After.Layers, bc, fixOutLayers-1)
			}
		})
	}
}

// TestReportUnwritable: a report that cannot be written is an error found
// before any work, so nothing appears at the target.
func TestReportUnwritable(t *testing.T) {
	runFailCases(t, []failCase{{
		name: "no such directory", code: exitError, msg: []string{"report", "nodir"},
		setup: func(t *testing.T) ([]string, []spot) {
			src := srcLayout(t)
			out, s := newPath(t, "out")
			rp := filepath.Join(t.TempDir(), "nodir", "report.json")
			return append(append([]string{"--report", rp}, fixRemove...), "oci:"+src+":src", "oci:"+out), []spot{s, fileSpot(t, src)}
		},
	}})
}

// TestUserFlag: --user syntax errors are usage errors (exit 2), found
// before any work; a user the image cannot give is a runtime error.
func TestUserFlag(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	ref := host + "/user/src:v1"
	img := fixture(t, false)
	pushImage(t, ref, img, nil)
	var cases []failCase
	for _, u := range []string{":5", "-1", "1000:", "1000:-3", "a:b:c", ":"} {
		cases = append(cases, failCase{name: "bad " + u, code: exitUsage, msg: []string{"--user", u},
			setup: func(t *testing.T) ([]string, []spot) {
				out, s := newPath(t, "out")
				return []string{"--user", u, "docker://" + ref, "oci:" + out}, []spot{s}
			}})
	}
	cases = append(cases, failCase{name: "group not in the image", code: exitError, msg: []string{"nogroup"},
		setup: func(t *testing.T) ([]string, []spot) {
			out, s := newPath(t, "out")
			return []string{"--user", "1000:nogroup", "docker://" + ref, "oci:" + out}, []spot{s}
		}})
	runFailCases(t, cases)

	for _, tc := range []struct{ user, want, stdout string }{
		{"", "65532:65532", "runs as: nonroot (65532:65532)"},
		{"nonroot", "65532:65532", "runs as: nonroot (65532:65532)"},
		{"1000", "1000:1000", "runs as: u1000 (1000:1000)"},
		{"app:root", "65532:0", "runs as: app (65532:0)"},
		{"root", "", "warning: the output runs as root"},
		{"0:1", "0:1", "runs as: root (0:1)"},
		{"root:root", "0:0", "runs as: root (0:0)"},
		{"4294967294", "4294967294:4294967294", "runs as: u4294967294 (4294967294:4294967294)"},
	} {
		t.Run("user "+tc.user, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			res := mustSlim(t, "--user", tc.user, "docker://"+ref, "oci:"+out)
			cf, err := readLayout(t, out, "").ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != tc.want {
				t.Errorf("config User: got %q, want %q", cf.Config.User, tc.want)
			}
			// The report is on stdout, warnings on stderr.
			if !strings.Contains(res.stdout+res.stderr, tc.stdout) {
				t.Errorf("stdout and stderr: got %q, want them to hold %q", res.stdout+res.stderr, tc.stdout)
			}
		})
	}
}

// TestReportCounts checks the report against what the run really did: the
// bytes it says the patterns removed are bytes the image lost, and a dry
// run's projection is what the real run then gives (less the user layer,
// which a dry run does not write). The fixture's /app/pack.link is a
// hardlink to a pack under .git: the pack's name goes, its 40 kB stay.
func TestReportCounts(t *testing.T) {
	t.Parallel()
	src := srcLayout(t)
	run := func(dry bool) slim.Report {
		out := filepath.Join(t.TempDir(), "out")
		rp := filepath.Join(t.TempDir(), "report.json")
		args := append([]string{"-q", "--report", rp}, fixRemove...)
		if dry {
			args = append(args, "--dry-run")
		}
		mustSlim(t, append(args, "oci:"+src+":src", "oci:"+out)...)
		var r slim.Report
		readReport(t, rp, &r)
		return r
	}
	real, dry := run(false), run(true)
	var removed int64
	for _, p := range real.Removed {
		removed += p.Bytes
	}
	lost := real.Before.Uncompressed - real.After.Uncompressed
	if removed > lost+8<<10 {
		t.Errorf("report: got %d content bytes removed by the patterns, but the image lost only %d tar bytes (plus at most 8 kB of user layer)", removed, lost)
	}
	// The dry run's projection, against the real figure less the user
	// layer (at most 8 kB).
	if d, r := dry.After.Uncompressed, real.After.Uncompressed; d > r || d < r-8<<10 {
		t.Errorf("dry run after.uncompressedBytes: got %d, want the real run's %d less the user layer (at most 8 kB)", d, r)
	}
	if d, r := dry.After.Files, real.After.Files-2; d != r {
		t.Errorf("dry run after.files: got %d, want the real run's %d less passwd and group", d, r)
	}
}
