package slim

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
)

// A budget is checked from the decisions, before any layer is rewritten:
// over it, nothing is written and the report is the plan's projection;
// at or under it, the output is the one without a budget.
func TestMaxSize(t *testing.T) {
	src := testImage(t, v1.Config{User: "1000"},
		gzLayer(t, reg("app/big", strings.Repeat("x", 100_000)), reg("app/junk", strings.Repeat("j", 50_000))),
		gzLayer(t, reg("app/small", "s")))
	rules := mustRules(t, "app/junk")
	free, _, err := Image(src, WithRules(rules), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	want := mustImageDigest(t, free)
	for _, tc := range []struct {
		name string
		max  int64
		over bool
	}{
		{"far under", 10_000, true},
		{"the kept content alone is over", 100_000, true},
		{"room to spare", 10 << 20, false},
		{"none", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, _, err := Image(src, WithRules(rules), WithWorkDir(dir), WithMaxSize(tc.max))
			if !tc.over {
				if err != nil {
					t.Fatal(err)
				}
				if got := mustImageDigest(t, out); got != want {
					t.Errorf("got %s, want %s as without a budget", got, want)
				}
				return
			}
			var be *BudgetError
			if !errors.As(err, &be) || !errors.Is(err, ErrOverBudget) {
				t.Fatalf("got %v, want a BudgetError", err)
			}
			if be.AtLeast <= tc.max || be.Max != tc.max || be.Report == nil || !be.Report.Estimated || be.Report.Digest != "" {
				t.Errorf("got %+v (report estimated %v), want at least over %d and the plan's projection", be, be.Report != nil && be.Report.Estimated, tc.max)
			}
			if be.Report.After.Uncompressed < be.AtLeast {
				t.Errorf("report says %d bytes after, under the bound %d that refused it", be.Report.After.Uncompressed, be.AtLeast)
			}
			// No layer was rewritten: the work directory holds nothing.
			if es, _ := os.ReadDir(dir); len(es) > 0 {
				t.Errorf("the work directory holds %d entries, want none: %v", len(es), es[0].Name())
			}
		})
	}
	if _, _, err := Image(src, WithMaxSize(-1)); err == nil {
		t.Errorf("WithMaxSize(-1) accepted")
	}
}

// A plan that fails leaves nothing in the work directory: not the spools
// of the layers scanned before the failure, nor the failing layer's.
func TestFailedPlanLeavesNoSpool(t *testing.T) {
	good := gzLayer(t, reg("app/a", strings.Repeat("a", 10_000)))
	bad := rawLayer(t, []byte(strings.Repeat("garbage!", 200)))
	src := testImage(t, v1.Config{}, good, bad)
	for name, run := range map[string]func(dir string) error{
		"Image":   func(dir string) error { _, _, err := Image(src, WithWorkDir(dir), WithJobs(1)); return err },
		"DryRun":  func(dir string) error { _, err := DryRun(src, WithWorkDir(dir)); return err },
		"Scratch": func(dir string) error { _, _, err := Scratch(src, WithWorkDir(dir)); return err },
	} {
		dir := t.TempDir()
		if err := run(dir); err == nil {
			t.Errorf("%s: a layer that is not a tar was accepted", name)
		}
		if es, _ := os.ReadDir(dir); len(es) > 0 {
			t.Errorf("%s: the work directory holds %s", name, es[0].Name())
		}
	}
}
