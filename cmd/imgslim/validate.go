package main

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgslim/imgslim/slim/locations"
)

// validate refuses, before anything is opened, flag values that cannot
// mean anything: a run with a budget of NaN bytes or --jobs -5 would
// otherwise start, pull gigabytes, and then do something the user did not
// ask for (a disabled budget, a silently ignored pattern).
func (c *config) validate(jobsSet bool) error {
	if c.platform != "" {
		if _, err := v1.ParsePlatform(c.platform); err != nil {
			return usagef("bad --platform %q: %w", c.platform, err)
		}
	}
	if c.level < 1 || c.level > 9 {
		return usagef("bad --compression-level %d: want 1 to 9", c.level)
	}
	if c.compression != "gzip" && c.compression != "zstd" {
		return usagef("bad --compression %q: want gzip or zstd", c.compression)
	}
	if jobsSet && c.jobs < 1 {
		return usagef("bad --jobs %d: want 1 or more", c.jobs)
	}
	if c.maxRatio < 1 {
		return usagef("bad --max-ratio %d: want 1 or more", c.maxRatio)
	}
	if _, err := newGates(*c); err != nil {
		return err
	}
	if err := checkUser(c.user); err != nil {
		return err
	}
	if err := checkPatterns("--remove", c.remove); err != nil {
		return err
	}
	if err := checkPatterns("--keep", c.keep); err != nil {
		return err
	}
	// The metadata flags and SOURCE_DATE_EPOCH, checked as the run will
	// read them.
	if _, err := newMetadata(*c, locations.Location{}, "", time.Now()); err != nil {
		return err
	}
	if !c.scratch && (c.binary != "" || len(c.adds) > 0 || c.noTZ) {
		return usagef("--binary, --add and --no-tz go with --scratch")
	}
	return nil
}

// checkPatterns refuses patterns that name the root itself: `--remove /`
// would otherwise match nothing (the root is never an entry of a layer)
// and the run would silently remove less than asked.
func checkPatterns(flag string, patterns []string) error {
	for _, p := range patterns {
		body := strings.TrimPrefix(strings.TrimSpace(p), "!")
		switch {
		case strings.TrimSpace(body) == "":
			return usagef("bad %s %q: empty pattern", flag, p)
		case path.Clean("/"+body) == "/":
			return usagef("bad %s %q: the pattern names the root directory, which is no file; use /* to mean everything under it", flag, p)
		}
	}
	return nil
}

// Account ids: 0 to 2^32-2, as the kernel takes them; 2^32-1 is (uid_t)-1,
// which means "no change" to chown(2) and setuid(2).
const maxID = math.MaxUint32 - 1

// validName is what shadow's useradd accepts as a user or group name
// (is_valid_user_name in lib/chkname.c): letters, digits, '_', '.', '-', a
// trailing '$' (Samba machine accounts), not starting with '-', not all
// digits (that is an id), not "." or "..", at most 32 bytes.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$`)

// checkName says what is wrong with an account name or id, or returns nil.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if isDigits(s) {
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id > maxID {
			return fmt.Errorf("%s id %s out of range 0..%d", what, s, uint64(maxID))
		}
		return nil
	}
	switch {
	case strings.HasPrefix(s, "-") && isDigits(s[1:]):
		return fmt.Errorf("negative %s id %s", what, s)
	case len(s) > 32:
		return fmt.Errorf("%s name longer than 32 bytes", what)
	case s == "." || s == "..", !validName.MatchString(s):
		return fmt.Errorf("%s name %q is not one useradd accepts (letters, digits, _ . - and a final $)", what, s)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkUser refuses a --user that is not NAME|UID[:GROUP|GID].
func checkUser(u string) error {
	if u == "" {
		return nil
	}
	user, group, hasGroup := strings.Cut(u, ":")
	if strings.Contains(group, ":") {
		return usagef("bad --user %q: want NAME|UID[:GROUP|GID]", u)
	}
	if err := checkName("user", user); err != nil {
		return usagef("bad --user %q: %w", u, err)
	}
	if hasGroup {
		if err := checkName("group", group); err != nil {
			return usagef("bad --user %q: %w", u, err)
		}
	}
	return nil
}

// sizePattern is a decimal number: no sign, exponent, hex, NaN or Inf,
// which strconv.ParseFloat would all take.
var sizePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseSize reads sizes as docker and users write them: decimal units (kB,
// MB, GB), binary ones (KiB, MiB, GiB), or plain bytes. The result is a
// whole number of bytes, at least 1.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"B", 1},
	}
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	if !sizePattern.MatchString(t) {
		return 0, fmt.Errorf("want a size such as 200MB, 1.5GiB or 1048576")
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("want a size such as 200MB, 1.5GiB or 1048576")
	}
	b := math.Floor(n * mult)
	switch {
	case b < 1:
		return 0, fmt.Errorf("less than one byte")
	// 2^63 is the first float64 above MaxInt64: anything from it on overflows.
	case b >= math.MaxInt64:
		return 0, fmt.Errorf("too large: at most %d bytes", int64(math.MaxInt64))
	}
	return int64(b), nil
}
