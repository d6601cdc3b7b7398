package slim

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/imgslim/imgslim/layers"
)

// Option configures Plan and Image.
type Option func(*options)

type options struct {
	ctx         context.Context
	rules       *Rules
	user        string
	chown       []string
	workDir     string
	compress    bool
	level       int
	jobs        int
	logf        func(format string, args ...any)
	description string
	sets        []string
	scrub       bool
	spool       bool // keep each layer's tar on disk between plan and apply
	binary      string
	adds        []string
	noTZ        bool
	created     time.Time
	// keepPackages are --keep-package's names (see WithKeepPackages).
	keepPackages []string
	limit        layers.Limit
	// dropped is told of every index entry left out (see WithDropped).
	dropped func(Dropped)
}

// makeOptions applies opts over the defaults, which live here and only here.
func makeOptions(opts ...Option) *options {
	o := &options{
		ctx:      context.Background(),
		workDir:  os.TempDir(),
		compress: true,
		// Level 6 of klauspost/compress is close to the standard library's
		// default ratio at a fraction of its time.
		level: gzip.DefaultCompression,
		jobs:  runtime.GOMAXPROCS(0),
		logf:  func(string, ...any) {},
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithContext sets the context that cancels the work.
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// WithRules sets the removal rules.
func WithRules(r *Rules) Option { return func(o *options) { o.rules = r } }

// WithUser sets the user the output runs as: NAME, UID or UID:GID. The
// default is the source's user when it is not root, else "nonroot"
// (65532), as in distroless. "root" keeps root.
func WithUser(u string) Option { return func(o *options) { o.user = u } }

// WithChown hands the trees at paths to the output user, as COPY --chown.
func WithChown(paths ...string) Option {
	return func(o *options) { o.chown = append(o.chown, paths...) }
}

// WithWorkDir sets where rewritten layer blobs are written. They must
// outlive the returned image; the caller removes the directory.
func WithWorkDir(dir string) Option { return func(o *options) { o.workDir = dir } }

// WithCompression sets the gzip level of rewritten layers.
func WithCompression(level int) Option {
	return func(o *options) { o.compress, o.level = true, level }
}

// WithoutCompression writes rewritten layers as plain tars, as `docker save`
// does; right for a daemon or docker-archive target, which decompresses
// anyway.
func WithoutCompression() Option { return func(o *options) { o.compress = false } }

// WithJobs sets how many layers are read or written at once.
func WithJobs(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.jobs = n
		}
	}
}

// WithLogf sets where progress goes.
func WithLogf(f func(format string, args ...any)) Option {
	// Progress lines name layers and files of the image: escape them, so
	// a hostile name cannot forge a line or drive the terminal.
	return func(o *options) {
		o.logf = func(format string, args ...any) { f("%s", Sanitize(fmt.Sprintf(format, args...))) }
	}
}

// WithSets enables built-in rule sets (see AllSets). None is enabled by
// default in the library; the imgslim command enables all of them.
func WithSets(sets ...string) Option { return func(o *options) { o.sets = sets } }

// WithScrubHistory empties the created_by commands of the output's
// history, which can hold secrets passed as build arguments.
func WithScrubHistory() Option { return func(o *options) { o.scrub = true } }

// WithBinary names the program Scratch copies, instead of the one the
// Entrypoint or Cmd runs.
func WithBinary(path string) Option { return func(o *options) { o.binary = path } }

// WithAdd adds trees of the image to a Scratch image, as COPY --from.
func WithAdd(paths ...string) Option {
	return func(o *options) { o.adds = append(o.adds, paths...) }
}

// WithoutTZ leaves /usr/share/zoneinfo out of a Scratch image.
func WithoutTZ() Option { return func(o *options) { o.noTZ = true } }

// WithCreated sets the time of a Scratch image's files and config
// (SOURCE_DATE_EPOCH); the default is the source's creation time.
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t } }

// WithSpool keeps each layer's uncompressed tar in the work directory
// while the plan lives, so that reading files out of the layers (the ELF
// closure, scratch copies) and rewriting them cost no further pass over the
// compressed blobs. It takes as much disk as the image's uncompressed
// size. Apply and Scratch remove the spools; a plan that is not applied is
// closed with Plan.Close.
func WithSpool() Option { return func(o *options) { o.spool = true } }

// WithMaxRatio sets how many times its blob's size a layer's tar stream
// may grow to (layers.DefaultRatio unless set): past it, the layer is
// refused as a decompression bomb.
func WithMaxRatio(r int64) Option { return func(o *options) { o.limit.Ratio = r } }

// WithDescription sets the text of the history entry imgslim adds,
// typically the command line.
func WithDescription(s string) Option { return func(o *options) { o.description = s } }
