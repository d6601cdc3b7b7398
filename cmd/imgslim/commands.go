package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// command is a subcommand: `imgslim NAME ...`. The first argument is read
// as a command before it is read as a location, so `imgslim help analyze`
// never reaches a registry.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// flags gives the command's flag set, for help and completion.
	flags func() (*pflag.FlagSet, *bool)
}

var commands map[string]command

func init() {
	// Assigned here, not in the declaration: help refers to commands.
	commands = map[string]command{
		"analyze": {
			summary: "what the image's bytes are and what slimming would save",
			run:     runAnalyze,
			flags:   func() (*pflag.FlagSet, *bool) { return analyzeFlags(&analyzeConfig{}) },
		},
		"diff": {
			summary: "compare the filesystems of two images",
			run:     runDiff,
			flags:   func() (*pflag.FlagSet, *bool) { return diffFlags(&diffConfig{}) },
		},
		"version": {
			summary: "print imgslim's version",
			run:     runVersion,
			flags:   versionFlags,
		},
		"help": {
			summary: "show the help of imgslim or of a command",
			run:     runHelp,
			flags:   noFlags("imgslim help", "Usage: imgslim help [COMMAND]\n\nShows the help of imgslim, or of COMMAND.\n"),
		},
		"completion": {
			summary: "print a shell completion script",
			run:     runCompletion,
			flags:   noFlags("imgslim completion", completionUsage),
		},
	}
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// noFlags is the flag set of a command that has only --help.
func noFlags(name, text string) func() (*pflag.FlagSet, *bool) {
	return func() (*pflag.FlagSet, *bool) {
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprint(fs.Output(), text)
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
		return fs, fs.BoolP("help", "h", false, "show this help")
	}
}

// version is what the build info says of this binary: the module version
// (a tag for `go install ...@v1.2.3`, a pseudo-version or "(devel)" for a
// local build) and, when built in a git checkout, the revision.
type version struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func buildVersion() version {
	v := version{Version: "(devel)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the short form the output's history and annotation carry:
// "v1.2.3", or "(devel)+abcdef012345[-modified]" for an untagged build.
func (v version) String() string {
	s := v.Version
	if v.Revision != "" && !strings.Contains(s, shortRev(v.Revision)) {
		s += "+" + shortRev(v.Revision)
	}
	if v.Modified && !strings.HasSuffix(s, "+dirty") {
		s += "-modified"
	}
	return s
}

// long is the line `imgslim version` prints.
func (v version) long() string {
	s := "imgslim " + v.String()
	var parts []string
	if v.Revision != "" {
		parts = append(parts, "revision "+v.Revision)
	}
	if v.Time != "" {
		parts = append(parts, v.Time)
	}
	parts = append(parts, v.Go, runtime.GOOS+"/"+runtime.GOARCH)
	return s + " (" + strings.Join(parts, ", ") + ")"
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func versionFlags() (*pflag.FlagSet, *bool) {
	fs, help := noFlags("imgslim version", "Usage: imgslim version\n\nPrints imgslim's version: the module version and the VCS revision it was built from.\n")()
	return fs, help
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, help := versionFlags()
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, args, help, 0, "no arguments", stdout, stderr, nil); done {
		return code
	}
	fmt.Fprintln(stdout, buildVersion().long())
	return exitOK
}

func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, help := commands["help"].flags()
	fs.SetOutput(stderr)
	if code, done := parseArgs(fs, args, help, -1, "", stdout, stderr, nil); done {
		return code
	}
	switch fs.NArg() {
	case 0:
		return run(ctx, []string{"--help"}, stdout, stderr)
	case 1:
		cmd, ok := commands[fs.Arg(0)]
		if !ok {
			fmt.Fprintf(stderr, "imgslim help: no command %q: the commands are %s\n", fs.Arg(0), strings.Join(commandNames(), ", "))
			return exitUsage
		}
		cfs, _ := cmd.flags()
		cfs.SetOutput(stdout)
		cfs.Usage()
		return exitOK
	}
	fmt.Fprintf(stderr, "imgslim help: want at most one COMMAND, got %d arguments\n", fs.NArg())
	return exitUsage
}
