package slim

import (
	"archive/tar"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Plan is what imgslim will do to one image, worked out from every layer's
// headers before any layer is written. Apply carries it out.
type Plan struct {
	o        *options
	cfg      *v1.ConfigFile
	manifest *v1.Manifest
	layers   []*layerPlan
	// warnings are the plan's own; protectWarnings and setWarnings those
	// of the protect and sets phases, which a scratch image does not
	// share (it finds its own).
	warnings        []string
	protectWarnings []string
	setWarnings     []string
	// report is built once, by Apply or when a dry run asks (Report).
	report       *Report
	sourceDigest string
	planSeconds  float64
	// d is what decide made of the layers: nil until decided.
	d *decisions

	view    *view
	app     *appContext
	fetched map[string]blob // image path -> where its content is
	// setRules are the pattern parts of the enabled sets; setPaths the
	// paths they chose from the image's contents (a directory with its
	// tree), with the reason.
	setRules  map[string]*Rules
	setPaths  map[string]setChoice
	protected map[string]string // path -> why it must stay
	protTrees []string          // trees that must stay whole
	secrets   []Secret
	packaged  map[string]string // the MD5 dpkg recorded for each file it installed, once read (packagedSums)
	// secretsScan is the content scan under way, until findSecrets
	// waits for it.
	secretsScan *secretsScan
	// replace holds new contents of files, symlinks new symlinks, that
	// imgslim writes in its layer on top; headers the scanned headers of
	// the files it may replace.
	replace  map[string][]byte
	symlinks map[string]string
	headers  map[string]*tar.Header
	// packages the buildtools set removes, and those asked for that stay.
	packages     []string
	packagesKept map[string]string
	needs        map[string]string // what the packages set keeps, by id, with why
}

// setChoice is a path a rule set removes, and why. An exact choice takes
// the path alone, as dpkg does: a directory goes only when nothing kept is
// left in it.
type setChoice struct {
	set, why string
	exact    bool
}

// NewPlan reads the headers of every layer of img, several layers at once,
// and decides what each loses: scan and overlay (scanImage), protect and
// sets (chooseSets), decide.
func NewPlan(img v1.Image, opts ...Option) (*Plan, error) {
	start := time.Now()
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	p, err := scanImage(img, o)
	if err != nil {
		return nil, err
	}
	if err := p.chooseSets(); err != nil {
		p.Close()
		return nil, err
	}
	if p.d, err = decide(p.decideInput()); err != nil {
		p.Close()
		return nil, err
	}
	if d, err := img.Digest(); err == nil {
		p.sourceDigest = d.String()
	}
	p.planSeconds = time.Since(start).Seconds()
	return p, nil
}

// scanImage is the scan and overlay phases: the config, every layer's
// index (spooled when o asks), the visible filesystem, and what the
// entrypoint runs.
func scanImage(img v1.Image, o *options) (*Plan, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	// Parse the raw bytes rather than calling ConfigFile: images from the
	// Docker daemon rebuild their config from the API and lose history.
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading layers: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(ls) || len(m.Layers) != len(ls) {
		return nil, fmt.Errorf("config lists %d diff IDs and the manifest %d layers, for %d layers", len(cfg.RootFS.DiffIDs), len(m.Layers), len(ls))
	}
	p := &Plan{o: o, cfg: cfg, manifest: m, layers: make([]*layerPlan, len(ls)), fetched: map[string]blob{},
		replace: map[string][]byte{}, symlinks: map[string]string{}, headers: map[string]*tar.Header{}}

	if o.spool {
		var need int64
		for _, d := range m.Layers {
			need += 2 * d.Size
		}
		if err := checkSpace(o.workDir, need); err != nil {
			return nil, err
		}
	}
	g, ctx := errgroup.WithContext(o.ctx)
	g.SetLimit(o.jobs)
	var mu sync.Mutex
	done := 0
	var held atomic.Int64 // content bytes kept in memory, over all layers
	for _, i := range largestFirst(m.Layers) {
		l := ls[i]
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var spool string
			if o.spool {
				spool = filepath.Join(o.workDir, fmt.Sprintf("spool-%d.tar", i))
			}
			lp, err := scanLayer(ctx, l, cfg.RootFS.DiffIDs[i], spool, o.record, o.limit, p.wantContent, &held)
			if err != nil {
				return fmt.Errorf("reading layer %d (%s): %w", i+1, lp.digest, err)
			}
			lp.desc = m.Layers[i]
			p.layers[i] = lp
			mu.Lock()
			done++
			o.logf("scanned layer %d/%d %s (%d entries; %d of %d layers done)", i+1, len(ls), short(lp.digest), len(lp.entries), done, len(ls))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		for _, lp := range p.layers {
			if lp != nil {
				p.removeSpool(lp) // the layers scanned before the failure
			}
		}
		return nil, err
	}
	p.view = newView(p.layers)
	for name, n := range p.view.nodes {
		if h, ok := p.layers[n.layer].headers[name]; ok {
			p.headers[name] = h
		}
	}
	p.startSecrets()
	p.app = p.newAppContext()
	return p, nil
}

func short(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Algorithm + ":" + h.Hex[:12]
	}
	return h.String()
}

// sortedKeys returns m's keys in order, for output that does not depend on
// map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// largestFirst orders layer indexes by blob size, largest first: with
// layers of very different sizes, as real images have, starting the big
// one last would leave the other cores idle while it finishes.
func largestFirst(descs []v1.Descriptor) []int {
	order := make([]int, len(descs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return descs[order[a]].Size > descs[order[b]].Size })
	return order
}

// decideInput gathers what decide reads from the earlier phases.
func (p *Plan) decideInput() decideInput {
	return decideInput{
		layers: p.layers, view: p.view, rules: p.o.rules,
		setRules: p.setRules, setPaths: p.setPaths,
		protected: p.protected, protTrees: p.protTrees,
		user: p.o.user, current: p.cfg.Config.User, chown: p.o.chown,
		noWaste: p.o.noWaste, compress: p.o.compress, top: p.topPaths(),
	}
}
