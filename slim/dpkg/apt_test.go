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
// status and extended_states, the info files and the files deleted.
func TestPurgeMatchesApt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image with apt; not with -short")
	}
	base := dockertest.BaseImage(t)
	image := toolsImageFor(t, base)

	// What imgslim sees: the image's databases.
	before := untar(t, dockerIO(t, nil, "run", "--rm", "--network", "none", image, "sh", "-c",
		`dpkg-query -W -f='${binary:Package}\n' | sort >/tmp/installed
		 tar -cf - -C / var/lib/dpkg/status var/lib/apt/extended_states var/lib/dpkg/info -C /tmp installed >&3`))
	status, ext := before["var/lib/dpkg/status"], before["var/lib/apt/extended_states"]
	lists := map[string][]byte{}
	var infoBefore []string
	for name, data := range before {
		if dir, base := path.Split(name); dir == "var/lib/dpkg/info/" {
			infoBefore = append(infoBefore, base)
			if pkg, ok := strings.CutSuffix(base, ".list"); ok {
				lists[pkg] = data
			}
		}
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
	done := time.Now()
	t.Logf("Parse %v, Purge %v, Files and InfoFiles %v (%d packages, %d lists)",
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
	// Every path the removed packages list, for the container to check.
	var candidates []string
	seen := map[string]bool{}
	for _, id := range r.Removed {
		forEachLine(lists[infoNameOf(db, id)], func(p string) {
			if !seen[p] {
				seen[p] = true
				candidates = append(candidates, p)
			}
		})
	}

	// The real thing.
	script := `set -e
export DEBIAN_FRONTEND=noninteractive
cat >/tmp/paths
apt-get purge -y "$@" >/tmp/purge.log 2>&1 || { cat /tmp/purge.log >&2; exit 1; }
apt-get autoremove --purge -y >/tmp/autoremove.log 2>&1 || { cat /tmp/autoremove.log >&2; exit 1; }
mkdir /out
dpkg-query -W -f='${binary:Package}\n' | sort >/out/installed
cp /var/lib/dpkg/status /out/status
cp /var/lib/apt/extended_states /out/extended_states
ls /var/lib/dpkg/info >/out/info
touch /out/gone /out/dirs
while IFS= read -r p; do
	if [ -d "$p" ] && ! [ -L "$p" ]; then echo "$p" >>/out/dirs
	elif ! [ -e "$p" ] && ! [ -L "$p" ]; then echo "$p" >>/out/gone
	fi
done </tmp/paths
tar -C /out -cf - . >&3`
	realStart := time.Now()
	after := untar(t, dockerIO(t, []byte(strings.Join(candidates, "\n")+"\n"),
		append([]string{"run", "-i", "--rm", "--network", "none", image, "sh", "-c", script, "sh"}, ask...)...))
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
	if got, want := info, setMinus(infoBefore, lines(after["./info"])); !slices.Equal(got, want) {
		t.Errorf("InfoFiles differ:\n%s", setDiff("InfoFiles", got, "dpkg", want))
	}

	// Files: every path dpkg deleted is in Files; what Files names that is
	// still there is a directory that kept something no package lists.
	gone, dirs := lines(after["./gone"]), lines(after["./dirs"])
	if extra := setMinus(gone, files); len(extra) > 0 {
		t.Errorf("dpkg deleted %d paths Files does not name: %q", len(extra), head(extra))
	}
	left := setMinus(files, gone)
	if notDirs := setMinus(left, dirs); len(notDirs) > 0 {
		t.Errorf("Files names %d paths dpkg left that are not directories: %q", len(notDirs), head(notDirs))
	}
	t.Logf("packages: %d installed, %d asked for apt, %d removed by both (%d kept: %q); files: %d listed by removed packages, %d in Files, %d deleted by dpkg, %d directories dpkg left non-empty: %q; info files: %d",
		len(db.Installed()), len(ask), len(r.Removed), len(r.Kept), r.Kept, len(candidates), len(files), len(gone), len(left), head(left), len(info))
	if len(r.Removed) < 40 {
		t.Errorf("removed %d packages, want the toolchain (40 or more)", len(r.Removed))
	}
	if !slices.Contains(left, "/usr/lib/gcc/x86_64-linux-gnu/12") {
		t.Errorf("dpkg did not leave /usr/lib/gcc/x86_64-linux-gnu/12, which holds imgslim-note")
	}
	for _, id := range []string{"imgslim-provider-unversioned", "imgslim-old", "imgslim-lib:i386", "binutils"} {
		if !slices.Contains(r.Removed, id) {
			t.Errorf("Removed lacks %s", id)
		}
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
