package slim

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/imgslim/imgslim/layers"
)

// The entry points take different options, each set checked by the
// compiler: Image, Index, NewPlan, DryRun, PlanIndex and DebugTwin take
// Option; Scratch takes ScratchOption; Analyze takes AnalyzeOption. An
// option that is wrong (WithJobs(0), an unknown set) makes the entry
// point fail before it reads anything.

// Option configures the slimming of an image: Image, Index, NewPlan,
// DryRun, PlanIndex and DebugTwin.
type Option interface{ apply(*options) error }

// ScratchOption configures Scratch.
type ScratchOption interface{ applyScratch(*options) error }

// AnalyzeOption configures Analyze.
type AnalyzeOption interface{ applyAnalyze(*options) error }

// SharedOption is an option every entry point takes: the context, the
// work directory, progress, parallelism, limits.
type SharedOption func(*options) error

func (f SharedOption) apply(o *options) error        { return f(o) }
func (f SharedOption) applyScratch(o *options) error { return f(o) }
func (f SharedOption) applyAnalyze(o *options) error { return f(o) }

// SlimOption says what to remove and how to write the output: the
// slimming entry points and Scratch (which removes what the sets remove
// from the application it copies) take it.
type SlimOption func(*options) error

func (f SlimOption) apply(o *options) error        { return f(o) }
func (f SlimOption) applyScratch(o *options) error { return f(o) }

// ScratchOnlyOption is an option of Scratch alone.
type ScratchOnlyOption func(*options) error

func (f ScratchOnlyOption) applyScratch(o *options) error { return f(o) }

type options struct {
	ctx         context.Context
	rules       *Rules
	user        string
	chown       []string
	workDir     string
	compress    bool
	zstd        bool
	level       int
	jobs        int
	logf        func(format string, args ...any)
	description string
	sets        []string
	scrub       bool
	spool       bool // keep each layer's tar on disk between plan and apply
	record      bool // record each layer's filesystem for the verification
	binary      string
	adds        []string
	noTZ        bool
	created     time.Time
	// keepPackages are --keep-package's names (see WithKeepPackages).
	keepPackages []string
	noWaste      bool // see WithNoWaste
	limit        layers.Limit
	maxSize      int64  // WithMaxSize's budget, 0: none
	version      string // WithVersion's, for a scratch image's history
	// dropped is told of every index entry left out (see WithDropped).
	dropped func(Dropped)
}

// defaults returns the options before any is applied: the defaults live
// here and only here.
func defaults() *options {
	return &options{
		ctx:      context.Background(),
		workDir:  os.TempDir(),
		compress: true,
		// Level 6 of klauspost/compress is close to the standard library's
		// default ratio at a fraction of its time.
		level: gzip.DefaultCompression,
		jobs:  runtime.GOMAXPROCS(0),
		logf:  func(string, ...any) {},
	}
}

// makeOptions applies opts over the defaults.
func makeOptions(opts ...Option) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt.apply(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func makeScratchOptions(opts ...ScratchOption) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt.applyScratch(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func makeAnalyzeOptions(opts ...AnalyzeOption) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt.applyAnalyze(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// preset is an Option of what makeOptions already made: the entry points
// that run another (Scratch, Analyze, DebugTwin, Index) hand their options
// on through it.
func preset(o *options) Option {
	return SharedOption(func(to *options) error { *to = *o; return nil })
}

// WithContext sets the context that cancels the work.
func WithContext(ctx context.Context) SharedOption {
	return func(o *options) error {
		if ctx == nil {
			return fmt.Errorf("WithContext: nil context")
		}
		o.ctx = ctx
		return nil
	}
}

// WithRules sets the removal rules.
func WithRules(r *Rules) SlimOption { return func(o *options) error { o.rules = r; return nil } }

// WithUser sets the user the output runs as: NAME, UID or UID:GID. The
// default is the source's user when it is not root, else "nonroot"
// (65532), as in distroless. "root" keeps root.
func WithUser(u string) SlimOption {
	return func(o *options) error {
		if name, _, _ := strings.Cut(u, ":"); u != "" && name == "" {
			return fmt.Errorf("bad user %q: empty name", u)
		}
		o.user = u
		return nil
	}
}

// WithChown hands the trees at paths to the output user, as COPY --chown.
func WithChown(paths ...string) SlimOption {
	return func(o *options) error {
		for _, p := range paths {
			if p == "" {
				return fmt.Errorf("WithChown: empty path")
			}
		}
		o.chown = append(o.chown, paths...)
		return nil
	}
}

// WithWorkDir sets where rewritten layer blobs are written. They must
// outlive the returned image; the caller removes the directory.
func WithWorkDir(dir string) SharedOption {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("WithWorkDir: empty directory")
		}
		o.workDir = dir
		return nil
	}
}

// WithCompression sets the gzip level of rewritten layers: 1 (fastest)
// to 9 (smallest), or gzip.DefaultCompression.
func WithCompression(level int) SlimOption {
	return func(o *options) error {
		if level != gzip.DefaultCompression && (level < gzip.BestSpeed || level > gzip.BestCompression) {
			return fmt.Errorf("compression level %d: want 1 to 9", level)
		}
		o.compress, o.level = true, level
		return nil
	}
}

// WithZstd compresses rewritten layers with zstd (OCI tar+zstd) instead of
// gzip; a Docker schema 2 image becomes an OCI one, which has the media type.
func WithZstd() SlimOption { return func(o *options) error { o.zstd = true; return nil } }

// WithoutCompression writes rewritten layers as plain tars, as `docker save`
// does; right for a daemon or docker-archive target, which decompresses
// anyway.
func WithoutCompression() SlimOption {
	return func(o *options) error { o.compress = false; return nil }
}

// WithJobs sets how many layers are read or written at once: at least 1.
func WithJobs(n int) SharedOption {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithLogf sets where progress goes.
func WithLogf(f func(format string, args ...any)) SharedOption {
	// Progress lines name layers and files of the image: escape them, so
	// a hostile name cannot forge a line or drive the terminal.
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("WithLogf: nil function")
		}
		o.logf = func(format string, args ...any) { f("%s", Sanitize(fmt.Sprintf(format, args...))) }
		return nil
	}
}

// WithSets enables built-in rule sets (see AllSets and OptInSets). None is
// enabled by default in the library; the imgslim command enables AllSets.
func WithSets(sets ...string) SlimOption {
	return func(o *options) error {
		for _, s := range sets {
			if _, ok := builtinSets[s]; !ok {
				return fmt.Errorf("unknown rule set %q", s)
			}
		}
		o.sets = sets
		return nil
	}
}

// WithScrubHistory empties the created_by commands of the output's
// history, which can hold secrets passed as build arguments.
func WithScrubHistory() SlimOption { return func(o *options) error { o.scrub = true; return nil } }

// WithBinary names the program Scratch copies, instead of the one the
// Entrypoint or Cmd runs.
func WithBinary(path string) ScratchOnlyOption {
	return func(o *options) error {
		if path == "" {
			return fmt.Errorf("WithBinary: empty path")
		}
		o.binary = path
		return nil
	}
}

// WithAdd adds trees of the image to a Scratch image, as COPY --from.
func WithAdd(paths ...string) ScratchOnlyOption {
	return func(o *options) error { o.adds = append(o.adds, paths...); return nil }
}

// WithoutTZ leaves /usr/share/zoneinfo out of a Scratch image.
func WithoutTZ() ScratchOnlyOption { return func(o *options) error { o.noTZ = true; return nil } }

// WithCreated sets the time of a Scratch image's files and config
// (SOURCE_DATE_EPOCH); the default is the source's creation time.
func WithCreated(t time.Time) ScratchOnlyOption {
	return func(o *options) error { o.created = t; return nil }
}

// WithVersion names the imgslim version a Scratch image's history entry
// records ("imgslim VERSION --scratch PROGRAM"); without it the entry has
// none.
func WithVersion(v string) ScratchOnlyOption {
	return func(o *options) error { o.version = v; return nil }
}

// withSpool keeps each layer's uncompressed tar in the work directory
// while the plan lives, so that reading files out of the layers (the ELF
// closure, scratch copies) and rewriting them cost no further pass over the
// compressed blobs. It takes as much disk as the image's uncompressed
// size. Apply and Scratch remove the spools; a plan that is not applied is
// closed with Plan.Close.
func withSpool() Option { return SharedOption(func(o *options) error { o.spool = true; return nil }) }

// WithMaxRatio sets how many times its blob's size a layer's tar stream
// may grow to (layers.DefaultRatio when 0 or unset): past it, the layer is
// refused as a decompression bomb.
func WithMaxRatio(r int64) SharedOption {
	return func(o *options) error {
		if r < 0 {
			return fmt.Errorf("max ratio %d: want at least 1", r)
		}
		o.limit.Ratio = r
		return nil
	}
}

// WithDescription sets the text of the history entry imgslim adds,
// typically the command line.
func WithDescription(s string) SlimOption {
	return func(o *options) error { o.description = s; return nil }
}

// withRecord makes the scan record each source layer's filesystem (paths,
// owners, content digests) as it reads it, for the verification of the
// output, which then reads only the layers it wrote.
func withRecord() Option { return SharedOption(func(o *options) error { o.record = true; return nil }) }
