package slim

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
)

// A wrong option fails the entry point before it reads the image, with
// one line naming it.
func TestOptionsRefused(t *testing.T) {
	img := testImage(t, v1.Config{}, gzLayer(t, reg("a", "a")))
	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"jobs 0", WithJobs(0), "jobs 0: want at least 1"},
		{"jobs -2", WithJobs(-2), "jobs -2: want at least 1"},
		{"unknown set", WithSets("caches", "nosuch"), `unknown rule set "nosuch"`},
		{"compression level 10", WithCompression(10), "compression level 10: want 1 to 9"},
		{"negative ratio", WithMaxRatio(-1), "max ratio -1"},
		{"empty work dir", WithWorkDir(""), "WithWorkDir: empty directory"},
		{"nil context", WithContext(nil), "nil context"}, //nolint:staticcheck // the point
		{"nil logf", WithLogf(nil), "WithLogf: nil function"},
		{"user without a name", WithUser(":1"), `bad user ":1": empty name`},
		{"empty chown path", WithChown(""), "WithChown: empty path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for entry, run := range map[string]func() error{
				"Image":     func() error { _, _, err := Image(img, tc.opt); return err },
				"DryRun":    func() error { _, err := DryRun(img, tc.opt); return err },
				"NewPlan":   func() error { _, err := NewPlan(img, tc.opt); return err },
				"DebugTwin": func() error { _, _, err := DebugTwin(img, img, tc.opt); return err },
			} {
				err := run()
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: got %v, want one line with %q", entry, err, tc.want)
				}
			}
			if so, ok := tc.opt.(ScratchOption); ok {
				if _, _, err := Scratch(img, so); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Scratch: got %v, want %q", err, tc.want)
				}
			}
			if ao, ok := tc.opt.(AnalyzeOption); ok {
				if _, err := Analyze(img, ao); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Analyze: got %v, want %q", err, tc.want)
				}
			}
		})
	}
	// Scratch's own options are refused too.
	if _, _, err := Scratch(img, WithBinary("")); err == nil || !strings.Contains(err.Error(), "WithBinary: empty path") {
		t.Errorf("Scratch(WithBinary(\"\")): got %v", err)
	}
}

// Each entry point takes its own option set: the compiler checks it.
var (
	_ Option        = WithJobs(1) // shared
	_ ScratchOption = WithJobs(1) //
	_ AnalyzeOption = WithContext(context.Background())
	_ Option        = WithSets(SetCaches) // slimming
	_ ScratchOption = WithSets(SetCaches) // Scratch removes what sets remove from the app
	_ ScratchOption = WithBinary("/app")  // Scratch alone
)

// WithVersion puts the version in a scratch image's history entry, as
// the engine writes it (the CLI used to patch it in afterwards).
func TestScratchVersion(t *testing.T) {
	img := testImage(t, v1.Config{Cmd: []string{"/app/server"}}, gzLayer(t, exe("app/server", staticELF())))
	for _, tc := range []struct {
		opts []ScratchOption
		want string
	}{
		{nil, "imgslim --scratch /app/server"},
		{[]ScratchOption{WithVersion("v1.2.3 abcdef012345")}, "imgslim v1.2.3 abcdef012345 --scratch /app/server"},
	} {
		out, _, err := Scratch(img, append(tc.opts, WithWorkDir(t.TempDir()))...)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := out.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cf.History); n != 1 || cf.History[0].CreatedBy != tc.want {
			t.Errorf("got history %+v, want one entry %q", cf.History, tc.want)
		}
	}
}
