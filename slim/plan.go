package slim

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/secrets"
)

type whiteoutKind uint8

const (
	notWhiteout whiteoutKind = iota
	plainWhiteout
	opaqueWhiteout
)

// entry is what the plan keeps of one tar header.
type entry struct {
	name   string // layers.Clean form
	typ    byte
	mode   int64
	size   int64
	link   string // hardlink target, layers.Clean form; symlink target as stored
	secret bool   // the content scan found a secret (layerPlan.found)
	off    int64  // where the content starts in the layer's tar stream
	sparse bool   // a sparse file: its content is read through a tar reader
	stored int64  // a sparse file's bytes in the tar stream, about
	wh     whiteoutKind
	target string // what a whiteout hides
	drop   bool
	why    string // the pattern that removed it
	root   string // the tree the pattern matched, for the report
	// What a copy keeps (scratch mode): owner, time, extended attributes
	// (file capabilities), as PAX records "SCHILY.xattr.NAME".
	uid, gid int
	mtime    int64 // Unix seconds
	xattrs   map[string]string
}

// tarBytes estimates what an entry occupies in a tar stream: for a sparse
// file, what its data and map take, not its logical size.
func (e *entry) tarBytes() int64 {
	if e.sparse {
		return 512 + (e.stored+511)/512*512
	}
	return 512 + (e.size+511)/512*512
}

func (e *entry) isFile() bool { return e.wh == notWhiteout && e.typ != tar.TypeDir }

type captured struct {
	hdr  *tar.Header
	data []byte
}

type layerPlan struct {
	src       v1.Layer
	desc      v1.Descriptor // as the source manifest has it
	diffID    v1.Hash       // as the source config has it, checked by the scan
	digest    v1.Hash
	mediaType types.MediaType
	size      int64 // blob bytes
	tarSize   int64
	entries   []entry
	passwd    *captured
	group     *captured
	// files holds the contents the rule sets read (lockfiles, package
	// databases, configs), by name, when the layer is not spooled: the
	// last copy in the layer wins. From a spool they are read on demand.
	files   map[string][]byte
	headers map[string]*tar.Header

	// found holds the secrets the content scan found, by name.
	found map[string][]secrets.Finding

	spool   string // the uncompressed tar, when the plan spooled it
	edit    layers.Edit
	changed bool
	chowned int
}

// empty reports whether the plan leaves nothing of a layer that had entries.
func (lp *layerPlan) empty() bool {
	if len(lp.entries) == 0 {
		return false
	}
	for i := range lp.entries {
		if !lp.entries[i].drop {
			return false
		}
	}
	return true
}

// Plan is what imgslim will do to one image, worked out from every layer's
// headers before any layer is written. Apply carries it out.
type Plan struct {
	o        *options
	cfg      *v1.ConfigFile
	manifest *v1.Manifest
	layers   []*layerPlan
	user     *account // nil: runs as root
	setUser  bool     // the config's User changes to user
	warnings []string
	report   *Report

	view    *view
	kept    *view // the overlay of what the plan keeps, once decided
	app     *appContext
	fetched map[string]blob // image path -> where its content is
	// setRules are the pattern parts of the enabled sets; setPaths the
	// paths they chose from the image's contents (a directory with its
	// tree), with the reason.
	setRules  map[string]*Rules
	setPaths  map[string]setChoice
	protected map[string]string // path -> why it must stay
	protTrees []string          // trees that must stay whole
	skipped   map[string]*Skip  // protected paths a rule matched
	secrets   []Secret
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
	purged       bool              // the package sets ran
}

// setChoice is a path a rule set removes, and why. An exact choice takes
// the path alone, as dpkg does: a directory goes only when nothing kept is
// left in it.
type setChoice struct {
	set, why string
	exact    bool
}

// NewPlan reads the headers of every layer of img, several layers at once,
// and decides what each loses.
func NewPlan(img v1.Image, opts ...Option) (*Plan, error) {
	start := time.Now()
	o := makeOptions(opts...)
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
			lp, err := scanLayer(ctx, l, cfg.RootFS.DiffIDs[i], spool, o.limit, p.wantContent, &held)
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
		return nil, err
	}
	p.view = newView(p.layers)
	for name, n := range p.view.nodes {
		if h, ok := p.layers[n.layer].headers[name]; ok {
			p.headers[name] = h
		}
	}
	p.app = p.newAppContext()
	if err := p.chooseSets(); err != nil {
		return nil, err
	}
	if err := p.decide(); err != nil {
		return nil, err
	}
	p.report = p.newReport()
	if d, err := img.Digest(); err == nil {
		p.report.SourceDigest = d.String()
	}
	p.report.Timings.Plan = time.Since(start).Seconds()
	return p, nil
}

func short(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Algorithm + ":" + h.Hex[:12]
	}
	return h.String()
}

// maxHeld is the most content bytes the scans of one plan keep in memory
// for the rule sets when the layers are not spooled: past it the plan
// fails rather than grow with the image (a spooled plan reads them on
// demand and keeps none).
var maxHeld int64 = 256 << 20 // a variable for tests

func scanLayer(ctx context.Context, l v1.Layer, diffID v1.Hash, spool string, lim layers.Limit, want func(name string, size int64) bool, held *atomic.Int64) (_ *layerPlan, err error) {
	lp := &layerPlan{src: l, diffID: diffID, files: map[string][]byte{}, headers: map[string]*tar.Header{}}
	var spoolW io.Writer
	if spool != "" {
		f, err := os.Create(spool)
		if err != nil {
			return lp, err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				lp.spool = spool
			}
		}()
		spoolW = &spoolWriter{w: bw, dir: filepath.Dir(spool)}
	}
	if lp.digest, err = l.Digest(); err != nil {
		return lp, err
	}
	if lp.mediaType, err = l.MediaType(); err != nil {
		return lp, err
	}
	if lp.size, err = l.Size(); err != nil {
		return lp, err
	}
	keep := func(name string, h *tar.Header, data []byte) error {
		lp.headers[name] = h
		if spool != "" {
			return nil // read back from the spool when asked for
		}
		if old, ok := lp.files[name]; ok {
			held.Add(-int64(len(old)))
		}
		if n := held.Add(int64(len(data))); n > maxHeld {
			return fmt.Errorf("the package databases, lockfiles and configs the rule sets read exceed %s in memory (at %s)", Bytes(maxHeld), name)
		}
		lp.files[name] = data
		return nil
	}
	var buf bytes.Buffer
	lp.tarSize, err = layers.ScanTo(ctx, l, layers.ScanOptions{DiffID: lp.diffID, Spool: spoolW, Limit: lim}, func(h *tar.Header, off int64, r io.Reader) error {
		e := entry{name: layers.Clean(h.Name), typ: h.Typeflag, mode: h.Mode, size: h.Size, off: off, sparse: layers.Sparse(h),
			uid: h.Uid, gid: h.Gid, mtime: h.ModTime.Unix()}
		for k, v := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				if e.xattrs == nil {
					e.xattrs = map[string]string{}
				}
				e.xattrs[k] = v
			}
		}
		if e.typ == tar.TypeGNUSparse {
			e.typ = tar.TypeReg // what extraction makes of it
		}
		switch h.Typeflag {
		case tar.TypeLink:
			e.link = layers.Clean(h.Linkname)
		case tar.TypeSymlink:
			e.link = h.Linkname
		}
		if target, opaque, ok := layers.Whiteout(h); ok {
			e.wh, e.target = plainWhiteout, target
			if opaque {
				e.wh = opaqueWhiteout
			}
		}
		wanted := e.typ == tar.TypeReg && e.wh == notWhiteout && want != nil && want(e.name, h.Size)
		if e.typ == tar.TypeReg && e.wh == notWhiteout && h.Size <= maxSniff {
			// Small files are read whole anyway by the tar reader
			// skipping them; look at them for private keys and keep
			// those the rule sets parse. One buffer serves them all.
			buf.Reset()
			if _, err := buf.ReadFrom(r); err != nil {
				return fmt.Errorf("reading %s: %w", e.name, err)
			}
			data := buf.Bytes()
			lp.sniff(&e, data)
			if wanted {
				if err := keep(e.name, h, bytes.Clone(data)); err != nil {
					return err
				}
			}
			r = bytes.NewReader(data)
		} else if wanted {
			var data []byte
			if spool == "" {
				if data, err = io.ReadAll(r); err != nil {
					return fmt.Errorf("reading %s: %w", e.name, err)
				}
				r = bytes.NewReader(data)
			}
			if err := keep(e.name, h, data); err != nil {
				return err
			}
		}
		if k := len(lp.entries) - 1; k >= 0 && lp.entries[k].sparse {
			// What lies between two contents is the sparse one's map
			// and data, and at least this entry's header block.
			lp.entries[k].stored = max(0, off-lp.entries[k].off-512)
		}
		lp.entries = append(lp.entries, e)
		// The account files are small and needed to add a user; keep the
		// last copy of each this layer holds.
		if e.typ == tar.TypeReg && h.Size < 1<<20 && (e.name == "/etc/passwd" || e.name == "/etc/group") {
			data, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("reading %s: %w", e.name, err)
			}
			c := &captured{hdr: h, data: data}
			if e.name == "/etc/passwd" {
				lp.passwd = c
			} else {
				lp.group = c
			}
		}
		return nil
	})
	if k := len(lp.entries) - 1; k >= 0 && lp.entries[k].sparse {
		lp.entries[k].stored = max(0, lp.tarSize-lp.entries[k].off-1024)
	}
	return lp, err
}

// decide marks what each layer drops. The order matters: rules first, then
// what must stay for the kept files' sake (hardlink targets in lower
// layers, directories that hold kept files), then whiteouts, which depend
// on what is left below them.
func (p *Plan) decide() error {
	rules := p.o.rules
	// 1. The rules.
	for _, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout || e.name == "/" {
				continue
			}
			e.drop, e.why, e.root = p.removes(e.name, rules)
		}
	}

	// 2. A kept hardlink needs its target.
	p.keepLinkTargets()

	// 3. A directory that holds a kept file stays, as a .dockerignore
	// exception keeps its parents.
	needed := map[string]bool{}
	for _, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.drop || e.wh != notWhiteout {
				continue
			}
			for d := path.Dir(e.name); d != "/" && !needed[d]; d = path.Dir(d) {
				needed[d] = true
			}
		}
	}
	for _, lp := range p.layers {
		for i := range lp.entries {
			if e := &lp.entries[i]; e.drop && e.typ == tar.TypeDir && needed[e.name] {
				e.drop, e.why, e.root = false, "", ""
			}
		}
	}

	// 4. A whiteout that hid something before and hides nothing now goes:
	// its target's bytes are gone, and so should the marker be.
	before, after := lowest{}, lowest{}
	for li, lp := range p.layers {
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh == notWhiteout {
				continue
			}
			if before.hides(e, li) && !after.hides(e, li) {
				e.drop, e.why, e.root = true, "", e.name
			}
		}
		for i := range lp.entries {
			e := &lp.entries[i]
			if e.wh != notWhiteout {
				continue
			}
			before.add(e.name, li)
			if !e.drop {
				after.add(e.name, li)
			}
		}
	}

	// A whiteout that goes may be what a (hostile) hardlink names.
	p.keepLinkTargets()

	// 5. The user, and with it the owner of --chown trees, from the files
	// the output keeps.
	p.kept = newViewOf(p.layers, func(e *entry) bool { return !e.drop })
	if err := p.decideUser(); err != nil {
		return err
	}
	var chown []string
	for _, c := range p.o.chown {
		chown = append(chown, layers.Clean(c))
	}
	uid, gid := p.owner()
	for _, lp := range p.layers {
		chowned := false
		for i := range lp.entries {
			e := &lp.entries[i]
			// Ownership goes by the name the entry is written under.
			name := e.name
			if to, ok := lp.edit.Rename[i]; ok {
				name = to
				lp.changed = true
			} else if e.drop {
				if lp.edit.Drop == nil {
					lp.edit.Drop = map[int]bool{}
				}
				lp.edit.Drop[i] = true
				lp.changed = true
				continue
			} else if lp.edit.Drop[i] {
				continue // a promoted link: its target is written in its place
			}
			for _, c := range chown {
				if layers.Within(name, c) {
					chowned = true
					lp.chowned++
					break
				}
			}
		}
		if chowned {
			lp.changed = true
			lp.edit.Owner = func(name string) (int, int, bool) {
				for _, c := range chown {
					if layers.Within(name, c) {
						return uid, gid, true
					}
				}
				return 0, 0, false
			}
		}
	}
	return nil
}

// linkRef is a hardlink and the entry it names: the latest entry of that
// name before it in its layer (same), or else the topmost one below.
type linkRef struct {
	lp    *layerPlan
	link  int // ordinal of the hardlink in lp
	same  int // ordinal of the target in lp, or -1
	lower *entry
}

// keepLinkTargets makes sure no kept hardlink dangles. A target in a lower
// layer cannot move, so it stays. A target in the link's own layer is
// renamed to the link's name (layers.Edit.Rename) and the link dropped,
// unless entries between them touch that name: then it stays too. What
// stays is settled first, to a fixed point (a kept target can be a link
// that needs its own target), so that no rename is decided for a target
// that stays after all.
func (p *Plan) keepLinkTargets() {
	var refs []linkRef
	latest := map[string]*entry{}
	for _, lp := range p.layers {
		here := map[string]int{}
		for j := range lp.entries {
			e := &lp.entries[j]
			if e.typ == tar.TypeLink {
				if i, ok := here[e.link]; ok {
					refs = append(refs, linkRef{lp: lp, link: j, same: i})
				} else if t, ok := latest[e.link]; ok {
					refs = append(refs, linkRef{lp: lp, link: j, same: -1, lower: t})
				}
			}
			here[e.name] = j
		}
		for name, j := range here {
			latest[name] = &lp.entries[j]
		}
	}
	// A hardlink that a later entry of its layer replaces is never seen
	// and needs nothing, unless a link before that names it.
	dead := map[*entry]bool{}
	for _, lp := range p.layers {
		last := map[string]int{}
		for j := range lp.entries {
			last[lp.entries[j].name] = j
		}
		for j := range lp.entries {
			if e := &lp.entries[j]; e.typ == tar.TypeLink && last[e.name] != j {
				dead[e] = true
			}
		}
	}
	for _, r := range refs {
		if r.lower == nil {
			delete(dead, &r.lp.entries[r.same])
		}
	}
	var stale []string // names whose older copy a link keeps
	keep := func(t *entry, e *entry) {
		t.drop, t.why, t.root = false, "", ""
		p.warnings = append(p.warnings, fmt.Sprintf("kept %s: a hardlink (%s) needs it", t.name, e.name))
		stale = append(stale, t.name)
	}
	// First what stays. A rename is planned only where the target could
	// move; whether it does is settled below.
	for changed := true; changed; {
		changed = false
		for _, r := range refs {
			e := &r.lp.entries[r.link]
			if e.drop || dead[e] {
				continue
			}
			if r.lower != nil {
				if r.lower.drop {
					keep(r.lower, e)
					changed = true
				}
				continue
			}
			t := &r.lp.entries[r.same]
			if t.drop && !p.movable(r.lp, r.same, r.link) {
				keep(t, e)
				changed = true
			}
		}
		// A copy kept under its name must not show through where the
		// image had a newer one: the newest stays too.
		for _, name := range stale {
			if n, ok := p.view.lookup(name); ok && n.drop {
				n.drop, n.why, n.root = false, "", ""
				p.warnings = append(p.warnings, fmt.Sprintf("kept %s: an older copy stays for a hardlink, so the image's own stays over it", name))
				changed = true
			}
		}
		stale = stale[:0]
	}
	// Then the renames: the first kept link to a dropped target takes it.
	for _, r := range refs {
		e := &r.lp.entries[r.link]
		if e.drop || r.lower != nil || dead[e] {
			continue
		}
		t := &r.lp.entries[r.same]
		if !t.drop {
			continue
		}
		if _, done := r.lp.edit.Rename[r.same]; done {
			continue // later links follow the rename
		}
		if r.lp.edit.Rename == nil {
			r.lp.edit.Rename = map[int]string{}
		}
		if r.lp.edit.Drop == nil {
			r.lp.edit.Drop = map[int]bool{}
		}
		r.lp.edit.Rename[r.same] = e.name
		r.lp.edit.Drop[r.link] = true
	}
	// An unseen link whose target goes goes too: written, it would dangle.
	for _, r := range refs {
		e := &r.lp.entries[r.link]
		if !dead[e] || e.drop {
			continue
		}
		t := r.lower
		if t == nil {
			t = &r.lp.entries[r.same]
			if _, renamed := r.lp.edit.Rename[r.same]; renamed {
				continue
			}
		}
		if t.drop {
			if r.lp.edit.Drop == nil {
				r.lp.edit.Drop = map[int]bool{}
			}
			r.lp.edit.Drop[r.link] = true
			r.lp.changed = true
		}
	}
}

// movable reports whether entry i of lp, a hardlink target, can be renamed
// to the name of hardlink j, where it stands: it must be a regular file,
// and nothing between them may touch the link's name (the path, a child,
// another hardlink to it, or a parent that is not a directory of the
// image), which the move would reorder.
func (p *Plan) movable(lp *layerPlan, i, j int) bool {
	es := lp.entries
	n := es[j].name
	if es[i].typ != tar.TypeReg || es[i].name == n {
		return false
	}
	for k := i + 1; k < j; k++ {
		m := es[k].name
		switch {
		case layers.Within(m, n), es[k].typ == tar.TypeLink && es[k].link == n:
			return false
		case layers.Within(n, m):
			// A parent's directory entry only sets its attributes: the
			// file written before it lands in the same directory.
			if v, ok := p.view.lookup(m); es[k].typ != tar.TypeDir || ok && v.typ != tar.TypeDir {
				return false
			}
		}
	}
	return true
}

// lowest records, for every path, the lowest layer holding it and the
// lowest layer holding something strictly below it.
type lowest struct {
	at, below map[string]int
}

func (l *lowest) add(name string, layer int) {
	if l.at == nil {
		l.at, l.below = map[string]int{}, map[string]int{}
	}
	if _, ok := l.at[name]; !ok {
		l.at[name] = layer
	}
	for d := path.Dir(name); ; d = path.Dir(d) {
		if _, ok := l.below[d]; ok {
			break // and so are all its parents, from a layer no higher
		}
		l.below[d] = layer
		if d == "/" {
			break
		}
	}
}

// hides reports whether whiteout e in layer li hides anything recorded.
func (l *lowest) hides(e *entry, li int) bool {
	if b, ok := l.below[e.target]; ok && b < li {
		return true
	}
	if e.wh == opaqueWhiteout {
		return false
	}
	a, ok := l.at[e.target]
	return ok && a < li
}

// visible returns the topmost copy of an account file in the filesystem
// the output presents: the overlay of what the plan keeps, whiteouts and
// opaque markers applied as newView applies them, in any archive order.
func (p *Plan) visible(get func(*layerPlan) *captured, name string) *captured {
	v := p.kept
	if v == nil {
		v = p.view // not decided yet: the source's
	}
	n, ok := v.lookup(name)
	if !ok || n.typ != tar.TypeReg {
		return nil
	}
	return get(p.layers[n.layer])
}

func (p *Plan) decideUser() error {
	current := p.cfg.Config.User
	want := p.o.user
	if name, _, _ := strings.Cut(want, ":"); want != "" && name == "" {
		return fmt.Errorf("bad user %q: empty name", want)
	}
	p.setUser = true
	switch {
	case want == "" && !isRoot(current):
		// Already non-root: the user stays, resolved only to know whom
		// --chown hands trees to.
		want, p.setUser = current, false
	case want == "":
		want = nonrootName
	case isRoot(want):
		p.warnings = append(p.warnings, "the output runs as root (--user root)")
		// Root needs no passwd line, but the User still changes when the
		// image ran as someone else or a group is asked for (0:GID).
		_, g, hasGID := strings.Cut(want, ":")
		if isRoot(current) && !hasGID {
			p.setUser = false
			return nil
		}
		p.user = &account{name: "root", home: "/root"}
		if !hasGID {
			return nil
		}
		var group []byte
		if c := p.visible(func(lp *layerPlan) *captured { return lp.group }, "/etc/group"); c != nil {
			group = c.data
		}
		gid, err := groupID(g, group)
		if err != nil {
			return fmt.Errorf("bad user %q: %w", want, err)
		}
		p.user.gid = gid
		return nil
	}
	var passwd, group []byte
	if c := p.visible(func(lp *layerPlan) *captured { return lp.passwd }, "/etc/passwd"); c != nil {
		passwd = c.data
	}
	if c := p.visible(func(lp *layerPlan) *captured { return lp.group }, "/etc/group"); c != nil {
		group = c.data
	}
	if !p.setUser {
		p.user = lookupUser(current, passwd)
		if p.user == nil && len(p.o.chown) > 0 {
			return fmt.Errorf("--chown: the image's user %q is not in /etc/passwd", current)
		}
		return nil
	}
	a, err := resolveUser(want, passwd, group)
	if err != nil {
		return err
	}
	p.user = a
	return nil
}

// owner returns the uid and gid the output runs as.
func (p *Plan) owner() (int, int) {
	if p.user != nil {
		return p.user.uid, p.user.gid
	}
	return 0, 0
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
