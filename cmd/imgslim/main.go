// Command imgslim makes a built container image small and safe: it removes
// paths by rewriting the layers that hold them, makes the image run as a
// non-root user, and writes the result anywhere skopeo could.
//
//	imgslim [flags] SOURCE TARGET
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim"
	"github.com/imgslim/imgslim/slim/locations"
)

func main() {
	ctx, stop := withSignals(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the work failed: image not found, auth refused, corrupt layer…
	exitUsage = 2 // the command line is wrong
	// exitGate (3): a gate refused the output.
)

// usageError is a mistake in the command line.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

const usage = `Usage: imgslim [flags] SOURCE TARGET
       imgslim COMMAND [flags] [ARGS]

Rewrites the layers of SOURCE without the paths that the rules remove, makes
it run as a non-root user, and writes it to TARGET.

Commands:
  analyze IMAGE                what the image's bytes are and what slimming would save
  diff A B                     compare the filesystems of two images (--json for CI)
  version                      print imgslim's version (also --version)
  help [COMMAND]               show this help, or a command's
  completion bash|zsh|fish     print a shell completion script

  A location named like a command is written with its transport:
  docker://analyze, not analyze.

Locations (skopeo syntax):
  docker://REF                 a registry
  docker-daemon:REF            the local Docker daemon
  docker-archive:PATH[:REF]    a 'docker save' tarball
  oci:DIR[:TAG]                an OCI image layout
  oci-archive:PATH[:TAG]       a tar of an OCI image layout
  REF                          the daemon if it holds REF, else the registry;
                               as a target, the same kind as the source

Flags:
`

type config struct {
	remove, rules, keep, chown []string
	user                       string
	dryRun, insecure           bool
	overwrite, quiet           bool
	platform, report           string
	reportOut                  io.Writer // stdout, for --report -
	jobs, level                int
	compression                string
	sets, skip                 string
	scrub                      bool
	maxSize, minSaving         string
	failOn                     []string
	scratch, noTZ              bool
	binary                     string
	adds                       []string
	keepPackages               []string
	noWaste                    bool
	onto                       string
	digestFile                 string
	labels, annotations        []string
	env, unsetEnv              []string
	maxRatio                   int64
	debugTarget                string
	timeout                    time.Duration
	reg                        registryFlags
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if cmd, ok := commands[args[0]]; ok {
			return cmd.run(ctx, args[1:], stdout, stderr)
		}
	}
	var c config
	fs, help := slimFlags(&c)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print imgslim's version and exit")
	if code, done := parseArgs(fs, args, help, 2, "SOURCE and TARGET", stdout, stderr, showVersion); done {
		return code
	}
	if err := c.validate(fs.Changed("jobs")); err != nil {
		return exitCode(ctx, "imgslim", err, stderr)
	}
	err := slimImage(ctx, c, fs.Arg(0), fs.Arg(1), stdout, stderr)
	if errors.Is(err, layers.ErrTooLarge) {
		err = fmt.Errorf("%w (--max-ratio raises the limit for an image you trust)", err)
	}
	return exitCode(ctx, "imgslim", err, stderr)
}

// slimFlags defines the flags of the main command into c. The help and
// completion commands read them too.
func slimFlags(c *config) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet("imgslim", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringArrayVar(&c.remove, "remove", nil, "remove paths matching `PATTERN` (.dockerignore syntax, repeatable)")
	fs.StringArrayVar(&c.rules, "rules", nil, "read removal patterns from `FILE`, one per line in .dockerignore syntax (repeatable)")
	fs.StringArrayVar(&c.keep, "keep", nil, "never remove paths matching `PATTERN` (repeatable; beats every removal)")
	fs.StringVar(&c.user, "user", "", "run the output as `NAME|UID[:GID]`, added to /etc/passwd when missing (default: nonroot, 65532, when the source runs as root)")
	fs.StringArrayVar(&c.chown, "chown", nil, "hand the tree at `PATH` to the output user, as COPY --chown (repeatable)")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the report without writing anything")
	fs.StringVar(&c.report, "report", "", "also write the report as JSON to `FILE` (- for stdout: the JSON alone, the rest on stderr)")
	fs.BoolVar(&c.insecure, "insecure", false, "allow plain-HTTP registries")
	c.reg.add(fs)
	fs.DurationVar(&c.timeout, "timeout", locations.DefaultTimeout, "give up on a registry that takes longer than `DURATION` to connect or sends and takes nothing for as long (a broken download is resumed first)")
	fs.StringVar(&c.platform, "platform", "", "slim only the `OS/ARCH[/VARIANT]` image of a multi-platform index (default: every platform)")
	fs.BoolVar(&c.overwrite, "overwrite", false, "allow TARGET to be the same location as SOURCE")
	fs.IntVar(&c.jobs, "jobs", 0, "layers processed at once (default: the number of CPUs)")
	fs.IntVar(&c.level, "compression-level", 6, "`LEVEL` (1-9, fast to small) of rewritten layers: gzip's level, or zstd's fastest (1-2), default (3-6), better (7-8) or best (9)")
	fs.StringVar(&c.compression, "compression", "gzip", "compress rewritten layers with `gzip|zstd` (zstd: OCI tar+zstd layers, the image becomes OCI; Docker loads only gzip)")
	fs.StringVar(&c.sets, "sets", "all", "built-in rule `LIST` to apply, comma-separated: "+strings.Join(slim.AllSets, ",")+", all or none; and "+strings.Join(slim.OptInSets, ",")+", which all leaves out")
	fs.StringVar(&c.skip, "skip", "", "built-in rule `LIST` to leave out of --sets")
	fs.BoolVar(&c.scrub, "scrub-history", false, "empty the created_by commands of the output's history (they can hold secrets)")
	fs.StringVar(&c.maxSize, "max-size", "", "gate: fail (exit 3), writing nothing, when the output's uncompressed size exceeds `SIZE` (e.g. 200MB, 1.5GB, 512MiB)")
	fs.StringVar(&c.minSaving, "min-saving", "", "gate: fail (exit 3), writing nothing, when the output is not at least `PERCENT` smaller, uncompressed, than the source")
	fs.StringArrayVar(&c.failOn, "fail-on", nil, "gate: fail (exit 3), writing nothing, on `CONDITION`: secrets (one remains in the output), root (the output runs as root), unchanged (nothing removed); repeatable or comma-separated")
	fs.BoolVar(&c.scratch, "scratch", false, "copy only the program and what it needs to run onto an empty image")
	fs.StringVar(&c.binary, "binary", "", "with --scratch: the `PATH` of the program in the image (default: the Entrypoint/Cmd's)")
	fs.StringArrayVar(&c.adds, "add", nil, "with --scratch: also copy the tree at `PATH` (repeatable), as COPY --from")
	fs.StringVar(&c.onto, "onto", "", "with --scratch: put the program and what it needs on top of the image at `BASE` (any location), whose layers stay byte for byte, instead of an empty image")
	fs.BoolVar(&c.noTZ, "no-tz", false, "with --scratch: leave out /usr/share/zoneinfo")
	fs.StringArrayVar(&c.keepPackages, "keep-package", nil, "with the packages set: keep the package `NAME` and what it depends on (repeatable)")
	fs.BoolVar(&c.noWaste, "no-waste", false, "rewrite every layer holding files a later layer replaces or deletes, to drop them (default: only from layers rewritten anyway, keeping the others' blobs shared)")
	fs.StringVar(&c.debugTarget, "debug-target", "", "also write the output plus one layer with the source's shell and basic tools to `TARGET`, for docker run --entrypoint sh")
	fs.StringArrayVar(&c.labels, "label", nil, "set the config label `KEY=VALUE` (repeatable)")
	fs.StringArrayVar(&c.annotations, "annotation", nil, "set the output's manifest (or index) annotation `KEY=VALUE` (repeatable)")
	fs.StringArrayVar(&c.env, "env", nil, "set the environment variable `NAME=VALUE` in the config (repeatable)")
	fs.StringArrayVar(&c.unsetEnv, "unset-env", nil, "remove the environment variable `NAME` from the config, e.g. a token the image should not carry (repeatable)")
	fs.StringVar(&c.digestFile, "digest-file", "", "write the digest of what was written to `FILE` (the index digest for a multi-platform output; the image ID for docker-daemon: and docker-archive:)")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing but errors on stderr and only the TARGET@DIGEST line on stdout")
	fs.Int64Var(&c.maxRatio, "max-ratio", layers.DefaultRatio, "refuse a layer whose tar grows past `N` times its compressed size and 1 GiB (a decompression bomb)")
	return fs, fs.BoolP("help", "h", false, "show this help")
}

// parseArgs parses the flags of a command that wants n arguments. done
// says the command ends there, with code: help was asked for, or the
// command line is wrong.
func parseArgs(fs *pflag.FlagSet, args []string, help *bool, n int, what string, stdout, stderr io.Writer, version *bool) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp) || err == nil && *help:
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, true
	case err == nil && version != nil && *version:
		fmt.Fprintln(stdout, buildVersion().long())
		return exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", fs.Name(), err, fs.Name())
		return exitUsage, true
	case n >= 0 && fs.NArg() != n: // n < 0: any number
		fmt.Fprintf(stderr, "%s: want %s, got %d arguments (see %s --help)\n", fs.Name(), what, fs.NArg(), fs.Name())
		return exitUsage, true
	}
	return exitOK, false
}

// exitCode reports err, on one line, and gives the exit code it means. A
// run a signal stopped says so, whatever error the stop surfaced as.
func exitCode(ctx context.Context, prog string, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if se, ok := interrupted(ctx); ok {
		fmt.Fprintf(stderr, "%s: %s: nothing written\n", prog, se)
		return se.code()
	}
	msg := oneLine(err)
	if slim.IsUnresolved(err) || slim.IsConflict(err) {
		msg = err.Error() // one line per unresolved item
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, msg)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ge gateError
	if errors.As(err, &ge) {
		return exitGate
	}
	return exitError
}

// oneLine keeps an error on one line: registry and daemon errors can span
// several.
func oneLine(err error) string {
	// A name from the image in the message is escaped: it must not drive
	// the terminal.
	return slim.Sanitize(strings.Join(strings.Fields(err.Error()), " "))
}

func slimImage(ctx context.Context, c config, srcArg, dstArg string, stdout, stderr io.Writer) error {
	start := time.Now()
	src, err := locations.Parse(srcArg)
	if err != nil {
		return usageError{err}
	}
	dst, err := locations.Parse(dstArg)
	if err != nil {
		return usageError{err}
	}
	var platform *v1.Platform
	if c.platform != "" {
		if platform, err = v1.ParsePlatform(c.platform); err != nil {
			return usagef("bad --platform %q: %w", c.platform, err)
		}
	}
	rules, err := buildRules(c)
	if err != nil {
		return err
	}
	sets, err := chooseSets(c.sets, c.skip)
	if err != nil {
		return err
	}
	if len(c.keepPackages) > 0 && !slices.Contains(sets, slim.SetPackages) {
		return usagef("--keep-package goes with the packages set (--sets all,packages)")
	}
	if c.onto != "" && !c.scratch {
		return usagef("--onto goes with --scratch: it puts the scratch closure on a base")
	}
	if c.noWaste && c.scratch {
		return usagef("--no-waste rewrites the source's layers: --scratch writes one layer of its own")
	}
	g, err := newGates(c)
	if err != nil {
		return err
	}
	// The report is written last: find out now, before any work, that it
	// cannot be, rather than fail with the target written.
	if c.report != "" && c.report != "-" {
		if err := checkWritable("--report", c.report); err != nil {
			return err
		}
	}
	if c.digestFile != "" {
		if c.dryRun {
			return usagef("--digest-file with --dry-run: a dry run writes no image")
		}
		if err := checkWritable("--digest-file", c.digestFile); err != nil {
			return err
		}
	}

	logf := func(format string, args ...any) {
		if !c.quiet {
			fmt.Fprintf(stderr, "imgslim: "+format+"\n", args...)
		}
	}
	workDir, err := os.MkdirTemp("", "imgslim-*")
	if err != nil {
		return err
	}
	addTemp(workDir)
	defer func() {
		os.RemoveAll(workDir)
		removeTemp(workDir)
	}()
	if c.timeout <= 0 {
		return usagef("bad --timeout %s: want a positive duration such as 30s or 2m", c.timeout)
	}
	lopts := locationOptions(c.insecure, platform, workDir, c.jobs, c.timeout)
	switch {
	case dst.Stdout() && c.report == "-":
		return usagef("--report - and the target %s both want stdout: write one of them to a file", dst)
	case dst.Stdout():
		// The archive owns stdout: the report goes to stderr.
		lopts = append(lopts, locations.WithStdout(stdout))
		stdout = stderr
	case c.report == "-":
		// The JSON document owns stdout, whole: the human report and
		// the TARGET@DIGEST line go to stderr.
		c.reportOut = stdout
		stdout = stderr
	}
	if locations.SameRegistry(src, dst) {
		lopts = append(lopts, locations.WithoutLayerCache())
	}
	srcOpts, dstOpts, err := c.reg.options(lopts)
	if err != nil {
		return err
	}
	source, err := locations.NewSource(ctx, src, srcOpts...)
	if err != nil {
		return err
	}
	target, err := locations.NewTarget(dst, source.Location(), dstOpts...)
	if err != nil {
		return usageError{err}
	}
	dst = target.Location()
	if c.compression == "zstd" && (dst.Kind == locations.Daemon || dst.Kind == locations.DockerArchive) {
		return usagef("--compression zstd: the target %s is loaded by Docker, which reads gzip or plain layers, not zstd", dst)
	}
	if c.debugTarget != "" && c.dryRun {
		return usagef("--debug-target writes an image: not with --dry-run")
	}
	var twinTarget locations.Target
	if !c.dryRun {
		if dst.Same(source.Location()) && !c.overwrite {
			return usagef("target %s is the source: pass --overwrite to replace it", dst)
		}
		// Cheap checks first: a refused password or a read-only
		// directory fails in seconds, not after the whole work.
		if err := target.Check(ctx); err != nil {
			return fmt.Errorf("cannot write %s: %w", dst, err)
		}
	}
	s, err := source.Open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if !c.dryRun {
		if err := target.Accepts(s.Index != nil); err != nil {
			return usagef("%w: pick one with --platform", err)
		}
		logf("reading %s, writing %s", source.Location(), dst)
		if c.debugTarget != "" {
			if twinTarget, err = debugTarget(c.debugTarget, source.Location(), dst, s.Index != nil, dstOpts); err != nil {
				return err
			}
			if err := twinTarget.Check(ctx); err != nil {
				return fmt.Errorf("cannot write --debug-target %s: %w", twinTarget.Location(), err)
			}
		}
	} else {
		logf("reading %s (dry run: writing nothing)", source.Location())
	}

	md, err := newMetadata(c, source.Location(), contentsDigest(s), time.Now())
	if err != nil {
		return err
	}
	warnf := func(w string) {
		if !c.quiet {
			fmt.Fprintf(stderr, "imgslim: warning: %s\n", slim.Sanitize(w))
		}
	}

	opts := []slim.Option{
		slim.WithContext(ctx),
		slim.WithRules(rules),
		slim.WithUser(c.user),
		slim.WithChown(c.chown...),
		slim.WithWorkDir(workDir),
		slim.WithCompression(c.level),
		slim.WithLogf(logf),
		slim.WithDescription(describe(c)),
		slim.WithSets(sets...),
		slim.WithKeepPackages(c.keepPackages...),
		slim.WithMaxRatio(c.maxRatio),
	}
	if c.scrub {
		opts = append(opts, slim.WithScrubHistory())
	}
	if c.noWaste {
		opts = append(opts, slim.WithNoWaste())
	}
	if c.scratch {
		if s.Index != nil {
			return usagef("--scratch makes one image: pick a platform of %s with --platform", source.Location())
		}
		var base v1.Image
		if c.onto != "" {
			bs, err := openBase(ctx, c.onto, source.Location(), s.Image, srcOpts)
			if err != nil {
				return err
			}
			defer bs.Close()
			base = bs.Image
		}
		return scratchImage(ctx, c, md, warnf, s, source.Location(), target, twinTarget, workDir, g, opts, scratchOptions(c, opts), base, stdout, stderr, start)
	}
	if c.jobs > 0 {
		opts = append(opts, slim.WithJobs(c.jobs))
	}
	if g.maxSize > 0 && !c.dryRun {
		// The engine refuses an output that cannot fit before rewriting
		// a layer; the gate below checks what was built.
		opts = append(opts, slim.WithMaxSize(g.maxSize))
	}
	if c.compression == "zstd" {
		opts = append(opts, slim.WithZstd())
	}
	if locations.PlainLayers(dst, s.Image) {
		opts = append(opts, slim.WithoutCompression())
	}

	rr := &runReport{mode: slim.ModeSlim, dryRun: c.dryRun, quiet: c.quiet, start: start, source: source.Location(), contents: s, jsonOut: c.reportOut}
	if s.Index != nil {
		rr.mode = slim.ModeIndex
		opts = append(opts, slim.WithDropped(func(d slim.Dropped) { rr.dropped = append(rr.dropped, d) }))
	}
	// The size budget is checked before anything is written; the report
	// is written even when it fails.
	overBudget := func(rs []*slim.Report) error {
		gs, err := g.check(rs, false)
		rr.reports, rr.gates = rs, gs
		if err != nil {
			return rr.finish(c.report, err, stderr)
		}
		return nil
	}
	var reports []*slim.Report
	switch {
	case c.dryRun && s.Index != nil:
		if reports, err = slim.PlanIndex(s.Index, opts...); err != nil {
			return err
		}
	case c.dryRun:
		r, err := slim.DryRun(s.Image, opts...)
		if err != nil {
			return err
		}
		reports = []*slim.Report{r}
	case s.Index != nil:
		idx, rs, err := slim.Index(s.Index, opts...)
		if over := (*slim.BudgetError)(nil); errors.As(err, &over) {
			if gerr := overBudget([]*slim.Report{over.Report}); gerr != nil {
				return gerr
			}
		}
		if err != nil {
			return err
		}
		if idx, err = md.index(s.Index, idx, warnf); err != nil {
			return err
		}
		byPlatform := platformDigests(idx)
		for _, r := range rs {
			if d, ok := byPlatform[r.Platform]; ok {
				r.Digest = d
			}
			md.settle(r)
		}
		if err := overBudget(rs); err != nil {
			return err
		}
		logf("writing %s", dst)
		w := time.Now()
		_, counted, finish := withProgress(dst.String(), logf, terminal(stderr, c.quiet), nil, idx)
		err = target.WriteIndex(ctx, counted)
		finish(err == nil)
		if err != nil {
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		rr.written = time.Since(w)
		if rr.digest, err = writtenDigest(ctx, dst, nil, idx); err != nil {
			return err
		}
		reports = rs
	default:
		img, r, err := slim.Image(s.Image, opts...)
		if over := (*slim.BudgetError)(nil); errors.As(err, &over) {
			if gerr := overBudget([]*slim.Report{over.Report}); gerr != nil {
				return gerr
			}
		}
		if err != nil {
			return err
		}
		if img, err = md.image(img, true, warnf); err != nil {
			return err
		}
		r.Digest = digestOf(img, nil)
		md.settle(r)
		if err := overBudget([]*slim.Report{r}); err != nil {
			return err
		}
		twin, err := debugTwin(twinTarget, workDir, s.Image, img, opts)
		if err != nil {
			return err
		}
		logf("writing %s", dst)
		w := time.Now()
		counted, _, finish := withProgress(dst.String(), logf, terminal(stderr, c.quiet), img, nil)
		err = target.WriteImage(ctx, counted)
		finish(err == nil)
		if err != nil {
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		if err := twin.write(ctx, stdout, r); err != nil {
			return err
		}
		rr.written = time.Since(w)
		if rr.digest, err = writtenDigest(ctx, dst, img, nil); err != nil {
			return err
		}
		reports = []*slim.Report{r}
	}

	for i, r := range reports {
		r.Source, r.DryRun = source.Location().String(), c.dryRun
		if !c.dryRun {
			r.Target = dst.String()
		}
		if c.quiet {
			continue // -q: the TARGET@DIGEST line alone
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if r.Platform != "" {
			fmt.Fprintf(stdout, "platform %s\n", slim.Sanitize(r.Platform))
		}
		if err := r.WriteText(stdout); err != nil {
			return err
		}
	}
	if !c.quiet {
		if err := writeDropped(stdout, rr.dropped); err != nil {
			return err
		}
	}
	if !c.dryRun {
		if err := publish(c, dst, rr.digest, stdout); err != nil {
			return err
		}
	}
	if c.dryRun {
		if err := overBudget(reports); err != nil {
			return err
		}
	}
	rr.reports = reports
	if !c.dryRun {
		rr.target = dst.String()
	}
	return rr.finish(c.report, nil, stderr)
}

func buildRules(c config) (*slim.Rules, error) {
	remove := append([]string(nil), c.remove...)
	for _, p := range c.rules {
		f, err := os.Open(p)
		if err != nil {
			return nil, usagef("reading --rules %s: %w", p, err)
		}
		lines, err := slim.ParsePatterns(f)
		f.Close()
		if err != nil {
			return nil, usagef("reading --rules %s: %w", p, err)
		}
		if err := checkPatterns("--rules "+p, lines); err != nil {
			return nil, err
		}
		remove = append(remove, lines...)
	}
	rules, err := slim.NewRules(remove, c.keep)
	if err != nil {
		return nil, usageError{err}
	}
	return rules, nil
}

// describe renders the flags that shape the output, for its history. The
// locations are left out so the same input and flags give the same digest
// wherever they are written.
func describe(c config) string {
	parts := []string{"imgslim", buildVersion().String()}
	for _, p := range c.remove {
		parts = append(parts, "--remove", p)
	}
	for _, p := range c.rules {
		parts = append(parts, "--rules", p)
	}
	for _, p := range c.keep {
		parts = append(parts, "--keep", p)
	}
	if c.user != "" {
		parts = append(parts, "--user", c.user)
	}
	for _, p := range c.chown {
		parts = append(parts, "--chown", p)
	}
	if c.sets != "all" {
		parts = append(parts, "--sets", c.sets)
	}
	if c.skip != "" {
		parts = append(parts, "--skip", c.skip)
	}
	for _, p := range c.keepPackages {
		parts = append(parts, "--keep-package", p)
	}
	for _, l := range c.labels {
		parts = append(parts, "--label", l)
	}
	for _, a := range c.annotations {
		parts = append(parts, "--annotation", a)
	}
	// Names only: a value may be a secret.
	for _, e := range c.env {
		k, _, _ := strings.Cut(e, "=")
		parts = append(parts, "--env", k+"=...")
	}
	for _, k := range c.unsetEnv {
		parts = append(parts, "--unset-env", k)
	}
	if c.scrub {
		parts = append(parts, "--scrub-history")
	}
	if c.scratch {
		parts = append(parts, "--scratch")
	}
	if c.noWaste {
		parts = append(parts, "--no-waste")
	}
	if c.onto != "" {
		parts = append(parts, "--onto", c.onto)
	}
	return strings.Join(parts, " ")
}

// chooseSets turns --sets and --skip into the sets to apply.
func chooseSets(list, skip string) ([]string, error) {
	sets, err := slim.ParseSets(list)
	if err != nil {
		return nil, usagef("bad --sets: %w", err)
	}
	skipped, err := slim.ParseSets(skip)
	if err != nil {
		return nil, usagef("bad --skip: %w", err)
	}
	var out []string
	for _, s := range sets {
		if !slices.Contains(skipped, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// scratchOptions are the options of Scratch: the slimming options it
// shares, and its own.
func scratchOptions(c config, shared []slim.Option) []slim.ScratchOption {
	var opts []slim.ScratchOption
	for _, o := range shared {
		if so, ok := o.(slim.ScratchOption); ok {
			opts = append(opts, so)
		}
	}
	if c.binary != "" {
		opts = append(opts, slim.WithBinary(c.binary))
	}
	if len(c.adds) > 0 {
		opts = append(opts, slim.WithAdd(c.adds...))
	}
	if c.noTZ {
		opts = append(opts, slim.WithoutTZ())
	}
	// The history entry names the version, as slimming's description does.
	opts = append(opts, slim.WithVersion(buildVersion().String()))
	// Reproducible builds' convention for the time of every file.
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
			opts = append(opts, slim.WithCreated(time.Unix(sec, 0)))
		}
	}
	return opts
}

// scratchImage copies the program onto an empty image and writes it.
func scratchImage(ctx context.Context, c config, md *metadata, warnf func(string), s *locations.Contents, src locations.Location, dst, twinTarget locations.Target, workDir string, g *gates, opts []slim.Option, sopts []slim.ScratchOption, base v1.Image, stdout, stderr io.Writer, start time.Time) error {
	img, r, onto, err := scratchOrOnto(s.Image, base, sopts)
	if err != nil {
		return err
	}
	// Built on an empty image: the source's manifest annotations are
	// carried over here.
	if img, err = md.withSourceAnnotations(sourceAnnotations(s.Image)).image(img, true, warnf); err != nil {
		return err
	}
	r.Digest = digestOf(img, nil)
	rep := slim.ScratchAsReport(r, c.dryRun)
	rep.Onto = onto
	rr := &runReport{mode: slim.ModeScratch, dryRun: c.dryRun, quiet: c.quiet, start: start, source: src, contents: s, jsonOut: c.reportOut,
		reports: []*slim.Report{rep}}
	if rr.gates, err = g.check(rr.reports, true); err != nil {
		return rr.finish(c.report, err, stderr)
	}
	twin, err := debugTwin(twinTarget, workDir, s.Image, img, opts)
	if err != nil {
		return err
	}
	if !c.dryRun {
		w := time.Now()
		logf := func(format string, args ...any) {
			if !c.quiet {
				fmt.Fprintf(stderr, "imgslim: "+format+"\n", args...)
			}
		}
		logf("writing %s", dst.Location())
		counted, _, finish := withProgress(dst.Location().String(), logf, terminal(stderr, c.quiet), img, nil)
		err := dst.WriteImage(ctx, counted)
		finish(err == nil)
		if err != nil {
			return fmt.Errorf("writing %s: %w", dst.Location(), err)
		}
		if err := twin.write(ctx, stdout, rep); err != nil {
			return err
		}
		rr.written = time.Since(w)
		rr.target = dst.Location().String()
		if rr.digest, err = writtenDigest(ctx, dst.Location(), img, nil); err != nil {
			return err
		}
	}
	if !c.quiet {
		if err := r.WriteText(stdout); err != nil {
			return err
		}
	}
	if !c.quiet {
		if err := writeDropped(stdout, rr.dropped); err != nil {
			return err
		}
	}
	if !c.dryRun {
		if err := publish(c, dst.Location(), rr.digest, stdout); err != nil {
			return err
		}
	}
	return rr.finish(c.report, nil, stderr)
}

// locationOptions gives the options of sources and targets that the flags
// set.
func locationOptions(insecure bool, platform *v1.Platform, workDir string, jobs int, timeout time.Duration) []locations.Option {
	opts := []locations.Option{locations.WithWorkDir(workDir)}
	if timeout > 0 {
		opts = append(opts, locations.WithTimeout(timeout))
	}
	if insecure {
		opts = append(opts, locations.WithInsecure())
	}
	if platform != nil {
		opts = append(opts, locations.WithPlatform(*platform))
	}
	if jobs > 0 {
		opts = append(opts, locations.WithJobs(jobs))
	}
	return opts
}

// debugTarget checks --debug-target before any work: a location of one
// image, neither the source nor the target.
func debugTarget(arg string, src, dst locations.Location, index bool, lopts []locations.Option) (locations.Target, error) {
	l, err := locations.Parse(arg)
	if err != nil {
		return nil, usagef("bad --debug-target: %w", err)
	}
	t, err := locations.NewTarget(l, src, lopts...)
	if err != nil {
		return nil, usagef("bad --debug-target: %w", err)
	}
	switch l = t.Location(); {
	case index:
		return nil, usagef("--debug-target makes one image: pick a platform of %s with --platform", src)
	case l.Same(src):
		return nil, usagef("--debug-target %s is the source", l)
	case l.Same(dst):
		return nil, usagef("--debug-target %s is the target", l)
	}
	return t, nil
}

// twinOut is a debug twin waiting to be written.
type twinOut struct {
	to  locations.Target
	img v1.Image
	rep *slim.DebugReport
}

// debugTwin builds the debug twin of slimmed when --debug-target asks
// for one, before anything is written.
func debugTwin(to locations.Target, workDir string, src, slimmed v1.Image, opts []slim.Option) (*twinOut, error) {
	if to == nil {
		return nil, nil
	}
	// A work directory of its own: the twin's plan spools the source again.
	dir := filepath.Join(workDir, "debug")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	img, rep, err := slim.DebugTwin(src, slimmed, append(opts, slim.WithWorkDir(dir))...)
	if err != nil {
		return nil, err
	}
	return &twinOut{to: to, img: img, rep: rep}, nil
}

// write writes the twin and says what it holds, on stdout and in the
// slim image's report r.
func (d *twinOut) write(ctx context.Context, stdout io.Writer, r *slim.Report) error {
	if d == nil {
		return nil
	}
	if err := d.to.WriteImage(ctx, d.img); err != nil {
		return fmt.Errorf("writing --debug-target %s: %w", d.to.Location(), err)
	}
	d.rep.Target = d.to.Location().String()
	if d.rep.Tools == nil {
		d.rep.Tools = []string{}
	}
	if d.rep.Files == nil {
		d.rep.Files = []slim.ScratchEntry{}
	}
	r.DebugTwin = d.rep
	tools := "none the output lacks"
	if len(d.rep.Tools) > 0 {
		tools = strings.Join(d.rep.Tools, " ")
	}
	fmt.Fprintf(stdout, "debug twin: %s, one more layer of %s (%d paths): %s\n", slim.Quote(d.to.Location().String()), slim.Bytes(d.rep.Layer), len(d.rep.Files), tools)
	for _, w := range d.rep.Warnings {
		fmt.Fprintf(stdout, "debug twin warning: %s\n", slim.Sanitize(w))
	}
	return nil
}
