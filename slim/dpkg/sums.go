package dpkg

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// What dpkg records of the content it installed: each package's
// InfoDir/PKG.md5sums for its ordinary files, and the status file's
// Conffiles field for its configuration files (which md5sums leaves out).
// A file whose content still has the recorded sum is the one Debian
// published; one that differs was edited in the image (a password added
// to a packaged config), and a caller that exempts packaged files from a
// check must not exempt it.

// ReadMD5Sums reads a PKG.md5sums file, lines "SUM  PATH" with PATH
// relative to the root, and calls add with the absolute path and the sum
// (32 lower-case hex digits) of each. Lines that are not in that form are
// skipped: a sum that cannot be read exempts nothing.
func ReadMD5Sums(r io.Reader, add func(path, sum string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		sum, p, ok := strings.Cut(sc.Text(), " ")
		p = strings.TrimLeft(p, " *") // "SUM  PATH", or "SUM *PATH" (binary mode)
		if !ok || p == "" || !isMD5(sum) {
			continue
		}
		add("/"+strings.TrimPrefix(p, "/"), strings.ToLower(sum))
	}
	return sc.Err()
}

// ConffileSums returns the sums the status file records for the
// configuration files of its installed packages, by absolute path. A
// conffile is recorded as " PATH SUM" with an optional flag after it
// ("obsolete", "remove-on-upgrade"); a sum that is not one ("newconffile",
// written while a package is being unpacked) is left out.
func ConffileSums(status []byte) (map[string]string, error) {
	stanzas, err := parseStanzas(status)
	if err != nil {
		return nil, fmt.Errorf("reading the status file: %w", err)
	}
	out := map[string]string{}
	for _, s := range stanzas {
		if !installedStatus(s.get("Status")) {
			continue
		}
		for _, line := range strings.Split(s.get("Conffiles"), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && strings.HasPrefix(f[0], "/") && isMD5(f[1]) {
				out[f[0]] = strings.ToLower(f[1])
			}
		}
	}
	return out, nil
}

// installedStatus reports whether a Status field ("want flag state") says
// the package's files are on disk: a package that is only config-files
// still has its conffiles, which are as much Debian's as before.
func installedStatus(status string) bool {
	f := strings.Fields(status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "config-files", "half-configured", "half-installed", "unpacked", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
