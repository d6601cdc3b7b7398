package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/imgslim/imgslim/slim"
)

// exitGate is the exit code of a run whose output a gate refused: the
// work itself went well, the result is not what CI asked for.
const exitGate = 3

// gateError is a failed gate: exit 3, nothing written, report written.
type gateError struct{ error }

// Conditions of --fail-on.
const (
	failSecrets   = "secrets"   // a secret remains in the output (analyze: any secret)
	failRoot      = "root"      // the output runs as root
	failUnchanged = "unchanged" // nothing was removed
)

var failConditions = []string{failSecrets, failRoot, failUnchanged}

// gates are the checks a run's output must pass before it is written.
type gates struct {
	maxSize    int64   // bytes, 0: none
	maxSizeArg string  // as the user wrote it
	minSaving  float64 // percent, < 0: none
	failOn     map[string]bool
}

// parseFailOn reads --fail-on values: repeatable, comma-separated.
func parseFailOn(vals []string, allowed []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			ok := false
			for _, a := range allowed {
				ok = ok || a == f
			}
			if !ok {
				return nil, usagef("bad --fail-on %q: want %s", f, strings.Join(allowed, ", "))
			}
			out[f] = true
		}
	}
	return out, nil
}

// parsePercent reads a percentage, 0 to 100, with or without a %.
func parsePercent(flag, s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	if !sizePattern.MatchString(t) {
		return 0, usagef("bad %s %q: want a percentage such as 20 or 12.5%%", flag, s)
	}
	p, err := strconv.ParseFloat(t, 64)
	if err != nil || p > 100 {
		return 0, usagef("bad %s %q: want a percentage from 0 to 100", flag, s)
	}
	return p, nil
}

func newGates(c config) (*gates, error) {
	g := &gates{minSaving: -1, maxSizeArg: c.maxSize}
	var err error
	if c.maxSize != "" {
		if g.maxSize, err = parseSize(c.maxSize); err != nil {
			return nil, usagef("bad --max-size %q: %w", c.maxSize, err)
		}
	}
	if c.minSaving != "" {
		if g.minSaving, err = parsePercent("--min-saving", c.minSaving); err != nil {
			return nil, err
		}
	}
	if g.failOn, err = parseFailOn(c.failOn, failConditions); err != nil {
		return nil, err
	}
	return g, nil
}

// saving is the share of the source's uncompressed bytes the output lost.
func saving(r *slim.Report) float64 {
	if r.Before.Uncompressed <= 0 {
		return 0
	}
	return 100 * float64(r.Before.Uncompressed-r.After.Uncompressed) / float64(r.Before.Uncompressed)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// check evaluates every gate on every image; the results go into the
// report, and the first failure, if any, is returned as a gateError
// naming every failed gate.
func (g *gates) check(reports []*slim.Report, scratch bool) ([]slim.Gate, error) {
	var out []slim.Gate
	var failed []string
	add := func(r *slim.Report, name, unit string, threshold, value float64, passed bool, why string) {
		out = append(out, slim.Gate{Name: name, Platform: r.Platform, Unit: unit, Threshold: threshold, Value: value, Passed: passed})
		if !passed {
			if r.Platform != "" {
				why = r.Platform + ": " + why
			}
			failed = append(failed, why)
		}
	}
	for _, r := range reports {
		if g.maxSize > 0 {
			add(r, "max-size", "bytes", float64(g.maxSize), float64(r.After.Uncompressed), r.After.Uncompressed <= g.maxSize,
				fmt.Sprintf("output would be %s uncompressed, over --max-size %s", slim.Bytes(r.After.Uncompressed), g.maxSizeArg))
		}
		if g.minSaving >= 0 {
			s := saving(r)
			add(r, "min-saving", "percent", g.minSaving, s, s >= g.minSaving,
				fmt.Sprintf("saving %.1f%% is under --min-saving %g%%", s, g.minSaving))
		}
		if g.failOn[failSecrets] {
			var remaining []string
			for _, s := range r.Secrets {
				if s.Status == slim.SecretRemaining {
					remaining = append(remaining, slim.Quote(s.Where))
				}
			}
			add(r, "fail-on-secrets", "count", 0, float64(len(remaining)), len(remaining) == 0,
				fmt.Sprintf("%d secrets remain in the output (%s)", len(remaining), strings.Join(remaining, ", ")))
		}
		if g.failOn[failRoot] {
			root := r.RunsAs.UID == 0
			add(r, "fail-on-root", "bool", 0, boolValue(root), !root, "the output runs as root")
		}
		if g.failOn[failUnchanged] && !scratch {
			unchanged := r.LayersRewritten == 0 && r.LayersDropped == 0
			add(r, "fail-on-unchanged", "bool", 0, boolValue(unchanged), !unchanged, "nothing was removed: no layer rewritten or dropped")
		}
	}
	if len(failed) > 0 {
		return out, gateError{fmt.Errorf("gate failed: %s: nothing written", strings.Join(failed, "; "))}
	}
	return out, nil
}
