package slim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostileNames are file names an image can hold that would forge report
// lines or drive a terminal if printed raw.
var hostileNames = []struct{ name, raw, want string }{
	{"newline", "/app/x\nwarning: all clear", `"/app/x\nwarning: all clear"`},
	{"carriage return", "/app/x\rsaved 100%", `"/app/x\rsaved 100%"`},
	{"clear screen", "/app/\x1b[2J\x1b[H", `"/app/\x1b[2J\x1b[H"`},
	{"title escape", "/app/\x1b]0;pwned\x07", `"/app/\x1b]0;pwned\a"`},
	{"tab", "/app/a\tb", `"/app/a\tb"`},
	{"bidi override", "/app/\u202egnp.exe", `"/app/\u202egnp.exe"`},
	{"invalid utf-8", "/app/\xff\xfe", `"/app/\xff\xfe"`},
	{"C1 control", "/app/\u009b31m", `"/app/\u009b31m"`},
	{"DEL", "/app/\x7f", `"/app/\x7f"`},
	{"leading quote", `"/app/fake"`, `"\"/app/fake\""`},
	{"trailing space", "/app/x ", `"/app/x "`},
	{"plain", "/usr/share/doc/libc6", "/usr/share/doc/libc6"},
	{"unicode", "/app/données/日本", "/app/données/日本"},
	{"inner space", "/app/my file", "/app/my file"},
}

func TestQuote(t *testing.T) {
	for _, tc := range hostileNames {
		t.Run(tc.name, func(t *testing.T) {
			if got := Quote(tc.raw); got != tc.want {
				t.Errorf("Quote(%q) = %s, want %s", tc.raw, got, tc.want)
			}
			if got := Sanitize(tc.raw); !safeLine(got) {
				t.Errorf("Sanitize(%q) = %q: not a safe line", tc.raw, got)
			}
		})
	}
}

// safeLine reports whether s prints as one line that cannot drive a
// terminal: valid UTF-8, printable runes only.
func safeLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// checkSafeText checks every line of a human-readable output, and that
// the output has as many lines as the same output with a plain name.
func checkSafeText(t *testing.T, what string, hostile, plain string) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimSuffix(hostile, "\n"), "\n") {
		if !safeLine(l) {
			t.Errorf("%s: line %d %q is not safe", what, i+1, l)
		}
	}
	if got, want := strings.Count(hostile, "\n"), strings.Count(plain, "\n"); got != want {
		t.Errorf("%s: %d lines, want %d (a name forged lines):\n%s", what, got, want, hostile)
	}
}

func TestTextOutputIsSafe(t *testing.T) {
	report := func(name string) *Report {
		return &Report{
			Platform: "linux/" + name,
			Removed: []PatternReport{{Pattern: "docs: " + name, Files: 1, Bytes: 10,
				Largest: []PathBytes{{Path: name, Bytes: 10}}}},
			Sets:         []SetReport{{Set: "docs", Files: 1, Bytes: 10}},
			Protected:    []Skip{{Path: name, Rule: "caches: " + name, Why: "needed by " + name}},
			Secrets:      []Secret{{Where: name, What: "private key in " + name}},
			Packages:     []string{name, "libc6"},
			PackagesKept: map[string]string{name: "needed by " + name},
			User:         name + " (1000:1000)",
			Warnings:     []string{"cannot read " + name},
			Digest:       "sha256:00",
		}
	}
	analysis := func(name string) *Analysis {
		return &Analysis{Image: "oci:" + name, Categories: []Category{{Name: "docs", Files: 1, Bytes: 1}},
			Secrets: []Secret{{Where: name, What: "token in " + name}}, Warnings: []string{"odd " + name}}
	}
	scratch := func(name string) *ScratchReport {
		return &ScratchReport{Program: name, Files: []ScratchEntry{
			{Path: name, Size: 3, Why: "needed by " + name},
			{Path: "/usr/share/zoneinfo/" + name, Size: 3, Why: "time zones"},
		}, Warnings: []string{"odd " + name}}
	}
	for _, tc := range hostileNames {
		t.Run(tc.name, func(t *testing.T) {
			const plain = "/app/plain"
			var h, p bytes.Buffer
			if err := report(tc.raw).WriteText(&h); err != nil {
				t.Fatal(err)
			}
			report(plain).WriteText(&p)
			checkSafeText(t, "report", h.String(), p.String())
			if !strings.Contains(h.String(), Quote(tc.raw)) {
				t.Errorf("report does not show the name as %s:\n%s", Quote(tc.raw), h.String())
			}

			h.Reset()
			p.Reset()
			analysis(tc.raw).WriteText(&h)
			analysis(plain).WriteText(&p)
			checkSafeText(t, "analysis", h.String(), p.String())

			h.Reset()
			p.Reset()
			scratch(tc.raw).WriteText(&h)
			scratch(plain).WriteText(&p)
			checkSafeText(t, "scratch report", h.String(), p.String())

			h.Reset()
			p.Reset()
			NewDocument(ModeSlim, report(tc.raw)).WriteWarnings(&h)
			NewDocument(ModeSlim, report(plain)).WriteWarnings(&p)
			checkSafeText(t, "warnings", h.String(), p.String())

			var got string
			o, _ := makeOptions(WithLogf(func(format string, args ...any) { got = fmt.Sprintf(format, args...) }))
			o.logf("rewrote %s", tc.raw)
			if !safeLine(got) {
				t.Errorf("progress line %q is not safe", got)
			}
		})
	}
}
