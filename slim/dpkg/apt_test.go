//go:build e2e

package dpkg

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imgslim/imgslim/testdata/dockertest"
)

// toolsImage is the image built from testdata/buildtools, kept between runs.
// Its label holds a hash of what it was built from, so a change rebuilds it.
const (
	toolsImage = "imgslim-test/bookworm:buildtools"
	toolsLabel = "imgslim.test.buildtools"
)

// TestPurgeMatchesApt runs Purge(BuildTools) on the databases of a real
// image and compares it with apt-get purge && apt-get autoremove --purge
// run in a container of the same image: the packages removed, the new
// status and extended_states, and every path of the file system that is
// deleted or repointed (files, info files, alternatives, trigger
// interests).
func TestPurgeMatchesApt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image with apt; not with -short")
	}
	base := dockertest.BaseImage(t)
	image := toolsImageFor(t, base)

	// What imgslim sees: the image's databases.
	before := untar(t, dockerIO(t, nil, "run", "--rm", "--network", "none", image, "sh", "-c", `set -e
mkdir /tmp/x && cd /tmp/x
dpkg-query -W -f='${binary:Package}\n' | sort >installed
for f in /etc/alternatives/*; do [ -L "$f" ] && printf '%s\t%s\n' "${f##*/}" "$(readlink "$f")"; done >current
for d in /bin /sbin /lib /lib32 /lib64 /libx32; do [ -L $d ] && printf '%s\t%s\n' $d "$(readlink -f $d)"; done >merged || true
tar -cf - -C / var/lib/dpkg/status var/lib/apt/extended_states var/lib/dpkg/info var/lib/dpkg/alternatives var/lib/dpkg/triggers \
	-C /tmp/x installed current merged >&3`))
	status, ext := before["var/lib/dpkg/status"], before["var/lib/apt/extended_states"]
	lists := map[string][]byte{}
	admin := map[string][]byte{}
	triggers := map[string][]byte{}
	var infoBefore []string
	for name, data := range before {
		switch dir, base := path.Split(name); dir {
		case "var/lib/dpkg/info/":
			infoBefore = append(infoBefore, base)
			if pkg, ok := strings.CutSuffix(base, ".list"); ok {
				lists[pkg] = data
			}
		case "var/lib/dpkg/alternatives/":
			admin[base] = data
		case "var/lib/dpkg/triggers/":
			triggers[base] = data
		}
	}
	current := map[string]string{}
	for _, l := range lines(before["current"]) {
		name, target, _ := strings.Cut(l, "\t")
		current[name] = target
	}

	start := time.Now()
	db, err := Parse(status, ext)
	if err != nil {
		t.Fatal(err)
	}
	parsed := time.Now()
	r := db.Purge(BuildTools)
	purged := time.Now()
	files, err := r.Files(lists)
	if err != nil {
		t.Fatal(err)
	}
	info := r.InfoFiles(infoBefore)
	alt, err := r.Alternatives(files, admin, current)
	if err != nil {
		t.Fatal(err)
	}
	trigWrite, trigRemove := r.Triggers(triggers)
	done := time.Now()
	t.Logf("Parse %v, Purge %v, Files, InfoFiles, Alternatives and Triggers %v (%d packages, %d lists)",
		parsed.Sub(start), purged.Sub(parsed), done.Sub(purged), len(db.Installed()), len(lists))

	if got, want := db.Installed(), lines(before["installed"]); !slices.Equal(got, want) {
		t.Fatalf("Installed differs from dpkg-query:\n%s", setDiff("Installed", got, "dpkg-query", want))
	}
	wantKept := map[string]string{
		"make":               "needed by imgslim-needs-make",
		"patch":              "needed by imgslim-needs-make",
		"libcrypt-dev:amd64": "needed by imgslim-app",
	}
	if !maps.Equal(r.Kept, wantKept) {
		t.Errorf("Kept: got %q, want %q", r.Kept, wantKept)
	}

	// The asked-for packages apt gets: those Purge did not keep.
	var ask []string
	for _, p := range db.pkgs {
		if p.installed && BuildTools(p.name) && r.Kept[p.id] == "" {
			ask = append(ask, p.id)
		}
	}

	// The real thing, with a listing of the file system before and after.
	script := `set -e
export DEBIAN_FRONTEND=noninteractive
mkdir /out
fs() { find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /out \) -prune -o -printf '%y\t%p\t%l\n' | sort; }
fs >/out/before
apt-get purge -y "$@" >/tmp/purge.log 2>&1 || { cat /tmp/purge.log >&2; exit 1; }
apt-get autoremove --purge -y >/tmp/autoremove.log 2>&1 || { cat /tmp/autoremove.log >&2; exit 1; }
fs >/out/after
dpkg-query -W -f='${binary:Package}\n' | sort >/out/installed
cp /var/lib/dpkg/status /var/lib/apt/extended_states /out/
cp -r /var/lib/dpkg/alternatives /var/lib/dpkg/triggers /out/
tar -C /out -cf - . >&3`
	realStart := time.Now()
	after := untar(t, dockerIO(t, nil, append([]string{"run", "--rm", "--network", "none", image, "sh", "-c", script, "sh"}, ask...)...))
	t.Logf("apt-get purge %d packages && apt-get autoremove --purge: %v in the container", len(ask), time.Since(realStart))

	// Packages.
	aptRemoved := setMinus(db.Installed(), lines(after["./installed"]))
	if !slices.Equal(r.Removed, aptRemoved) {
		t.Errorf("removed packages differ:\n%s", setDiff("Purge", r.Removed, "apt", aptRemoved))
	}
	// The databases.
	if got, want := string(r.Status), string(after["./status"]); got != want {
		t.Errorf("Status differs from dpkg's:\n%s", setDiff("Purge", stanzaNames(got), "dpkg", stanzaNames(want)))
	}
	if got, want := string(r.ExtendedStates), string(after["./extended_states"]); got != want {
		t.Errorf("ExtendedStates differs from apt's:\ngot:\n%s\nwant:\n%s", got, want)
	}

	// The file system. Paths as dpkg records them go through the merged-/usr
	// symlinks (/lib/cpp is /usr/lib/cpp); find shows them resolved.
	canon := canonicalizer(before["merged"])
	fsBefore, fsAfter := listing(after["./before"]), listing(after["./after"])
	var deleted []string
	for p := range fsBefore {
		if _, ok := fsAfter[p]; !ok {
			deleted = append(deleted, p)
		}
	}
	slices.Sort(deleted)
	var infoGone []string
	for _, p := range deleted {
		if dir, base := path.Split(p); dir == InfoDir+"/" {
			infoGone = append(infoGone, base)
		}
	}
	if !slices.Equal(info, infoGone) {
		t.Errorf("InfoFiles differ:\n%s", setDiff("InfoFiles", info, "dpkg", infoGone))
	}
	fromFiles, expected := map[string]bool{}, map[string]bool{}
	for _, p := range files {
		fromFiles[canon(p)] = true
		expected[canon(p)] = true
	}
	for _, n := range info {
		expected[InfoDir+"/"+n] = true
	}
	for _, p := range alt.Remove {
		expected[canon(p)] = true
	}
	for _, n := range trigRemove {
		expected[TriggersDir+"/"+n] = true
	}
	if extra := setMinus(deleted, slices.Collect(maps.Keys(expected))); len(extra) > 0 {
		t.Errorf("apt deleted %d paths Files, InfoFiles and Alternatives do not name: %q", len(extra), head(extra))
	}
	var left, absent []string
	for p := range expected {
		e, existed := fsBefore[p]
		a, stays := fsAfter[p]
		switch {
		case !existed:
			absent = append(absent, p) // alternatives links of slaves never installed
		case stays && fromFiles[p] && e.typ == 'd' && a.typ == 'd':
			left = append(left, p) // rmdir failed: it holds what no package lists
		case stays:
			t.Errorf("%s (%c) is still there after apt, want it deleted", p, a.typ)
		}
	}
	slices.Sort(left)
	slices.Sort(absent)
	for p, target := range alt.Symlinks {
		if a := fsAfter[canon(p)]; a.typ != 'l' || a.target != target {
			t.Errorf("after apt, %s is %c -> %q, want a symlink to %q", p, a.typ, a.target, target)
		}
	}
	for p, e := range fsBefore {
		if a, ok := fsAfter[p]; ok && a != e && !slices.ContainsFunc(slices.Collect(maps.Keys(alt.Symlinks)), func(k string) bool { return canon(k) == p }) && e.typ == 'l' {
			t.Errorf("apt repointed %s from %q to %q; Alternatives says nothing", p, e.target, a.target)
		}
	}
	for name := range admin {
		file := AltAdminDir + "/" + name
		got, written := alt.Write[file]
		want, kept := after["./alternatives/"+name]
		switch {
		case written && !bytes.Equal(got, want):
			t.Errorf("%s: got\n%s\nwant\n%s", file, got, want)
		case !written && kept && !bytes.Equal(admin[name], want):
			t.Errorf("%s changed; Alternatives says nothing:\n%s", file, want)
		case !kept && !slices.Contains(alt.Remove, file):
			t.Errorf("%s was deleted; Alternatives does not remove it", file)
		}
	}
	for name, data := range triggers {
		want, kept := after["./triggers/"+name]
		got, written := trigWrite[name]
		switch {
		case written && !bytes.Equal(got, want):
			t.Errorf("triggers/%s: got %q, want %q", name, got, want)
		case !written && kept && !bytes.Equal(data, want):
			t.Errorf("triggers/%s changed to %q; Triggers says nothing", name, want)
		case !kept && !slices.Contains(trigRemove, name):
			t.Errorf("triggers/%s was deleted; Triggers does not remove it", name)
		}
	}
	if !slices.Contains(trigRemove, "imgslim-trigger") || trigWrite["File"] == nil {
		t.Errorf("Triggers: got write %q, remove %q; want imgslim-old's interests gone", slices.Sorted(maps.Keys(trigWrite)), trigRemove)
	}
	var added []string
	for p := range fsAfter {
		if _, ok := fsBefore[p]; !ok {
			added = append(added, p)
		}
	}
	slices.Sort(added)

	t.Logf("packages: %d installed, %d asked for apt, %d removed by both (%d kept: %q)", len(db.Installed()), len(ask), len(r.Removed), len(r.Kept), r.Kept)
	t.Logf("paths: %d deleted by apt = %d of Files (%d others are directories dpkg left: %q) + %d info files + %d of Alternatives (%d named were never there: %q) + %d trigger files",
		len(deleted), len(files)-len(left), len(left), left, len(info), len(alt.Remove)-len(absent), len(absent), absent, len(trigRemove))
	t.Logf("alternatives: %d admin files rewritten, %d symlinks repointed; apt added %q", len(alt.Write), len(alt.Symlinks), added)
	if len(r.Removed) < 40 {
		t.Errorf("removed %d packages, want the toolchain (40 or more)", len(r.Removed))
	}
	if !slices.Contains(left, "/usr/lib/gcc/x86_64-linux-gnu/12") {
		t.Errorf("dpkg did not leave /usr/lib/gcc/x86_64-linux-gnu/12, which holds imgslim-note")
	}
	// libssl-dev, manual, was needed only by imgslim-comerr-dev, needed
	// only by imgslim-multidev, which autoremove takes.
	for _, id := range []string{"imgslim-provider-unversioned", "imgslim-old", "imgslim-lib:i386", "binutils", "imgslim-multidev", "imgslim-comerr-dev", "libssl-dev:amd64"} {
		if !slices.Contains(r.Removed, id) {
			t.Errorf("Removed lacks %s", id)
		}
	}
	if len(alt.Write) != 4 || len(alt.Symlinks) == 0 {
		t.Errorf("Alternatives: got %d admin files rewritten and %d symlinks, want 4 (cc, c89, c++, c99) and some", len(alt.Write), len(alt.Symlinks))
	}
}

type fsEntry struct {
	typ    byte // find's %y
	target string
}

// listing parses lines of find -printf '%y\t%p\t%l\n'.
func listing(data []byte) map[string]fsEntry {
	out := map[string]fsEntry{}
	forEachLine(data, func(l string) {
		f := strings.SplitN(l, "\t", 3)
		if len(f) == 3 && f[0] != "" {
			out[f[1]] = fsEntry{f[0][0], f[2]}
		}
	})
	return out
}

// canonicalizer resolves the merged-/usr directory symlinks ("/lib\t/usr/lib"
// lines) at the start of a path.
func canonicalizer(merged []byte) func(string) string {
	links := map[string]string{}
	forEachLine(merged, func(l string) {
		if from, to, ok := strings.Cut(l, "\t"); ok {
			links[from] = to
		}
	})
	return func(p string) string {
		first, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if to, ok := links["/"+first]; ok {
			if rest == "" {
				return p // the symlink itself
			}
			return to + "/" + rest
		}
		return p
	}
}

// toolsImageFor builds toolsImage from testdata/buildtools on base unless
// the one there was built from the same files and base.
func toolsImageFor(t *testing.T, base string) string {
	t.Helper()
	baseID := strings.TrimSpace(string(dockerIO(t, nil, "image", "inspect", "--format", "{{.Id}}", base)))
	h := sha256.New()
	io.WriteString(h, baseID)
	dir := filepath.Join("testdata", "buildtools")
	for _, name := range []string{"Dockerfile", "mkdeb.sh"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "\x00%s\x00%s", name, data)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	if got, err := docker(nil, "image", "inspect", "--format", "{{index .Config.Labels \""+toolsLabel+"\"}}", toolsImage); err == nil && strings.TrimSpace(string(got)) == sum {
		return toolsImage
	}
	start := time.Now()
	dockerIO(t, nil, "build", "--network", "host", "--force-rm", "--build-arg", "BASE="+base,
		"--label", toolsLabel+"="+sum, "-t", toolsImage, dir)
	t.Logf("built %s in %v", toolsImage, time.Since(start))
	return toolsImage
}

// docker runs the docker CLI with stdin and returns its stdout; the error
// carries stderr.
func docker(stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockertest.CommandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v", dockertest.CommandTimeout)
		}
		return nil, fmt.Errorf("docker %s: %v\nstderr:\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// dockerIO is docker that fails the test. A "sh -c SCRIPT" in args gets
// its stdout as fd 3 and stderr as stdout, so the script writes its tar
// to fd 3 and what its commands print stays out of it.
func dockerIO(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	for i, a := range args {
		if a == "sh" && i+2 < len(args) && args[i+1] == "-c" {
			args = slices.Clone(args)
			args[i+2] = "exec 3>&1 1>&2\n" + args[i+2]
			break
		}
	}
	out, err := docker(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// untar reads the regular files of a tar stream.
func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar from the container: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = b
	}
}

func infoNameOf(db *DB, id string) string {
	for _, p := range db.pkgs {
		if p.id == id {
			return p.infoName
		}
	}
	return id
}

func lines(data []byte) []string {
	var out []string
	forEachLine(data, func(s string) { out = append(out, s) })
	slices.Sort(out)
	return slices.Compact(out)
}

// setMinus returns the sorted elements of a not in b.
func setMinus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func setDiff(aName string, a []string, bName string, b []string) string {
	return fmt.Sprintf("only in %s: %q\nonly in %s: %q", aName, setMinus(a, b), bName, setMinus(b, a))
}

// stanzaNames lists the "Package:" lines of a status file with their
// Status, to show how two differ.
func stanzaNames(status string) []string {
	var out []string
	for _, s := range strings.Split(status, "\n\n") {
		var name, st string
		for _, l := range strings.Split(s, "\n") {
			if v, ok := strings.CutPrefix(l, "Package: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(l, "Status: "); ok {
				st = v
			}
		}
		if name != "" {
			out = append(out, name+" "+st)
		}
	}
	return out
}

func head(s []string) []string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}
