package slim

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/elfdeps"
	"github.com/imgslim/imgslim/slim/runtimes"
)

// ScratchReport says what a scratch image holds and why.
type ScratchReport struct {
	Program  string         `json:"program"`
	Before   Totals         `json:"before"`
	After    Totals         `json:"after"`
	Files    []ScratchEntry `json:"files"`
	Digest   string         `json:"digest,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
	// Checked says what the self-check resolved inside the output.
	Checked []string `json:"checked,omitempty"`
	// Secrets found in the source, each with whether the copy holds it.
	Secrets []Secret `json:"secrets,omitempty"`

	planTime      time.Duration // scan, sets and closure
	rewriteTime   time.Duration // reading the files and writing the layer
	verifyTime    time.Duration // reading the written layer back
	verifiedPaths int
}

// ScratchEntry is one path of a scratch image.
type ScratchEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	Why  string `json:"why"`
}

// Scratch copies the program of img (its Entrypoint/Cmd, or WithBinary),
// with what it needs to run, onto an empty image of one layer: the ELF
// closure from the image's own files, an interpreter's run-time libraries
// and the application directory (after the enabled rule sets), the CA
// bundle, time zones, and distroless's accounts, /tmp and /home/nonroot.
func Scratch(img v1.Image, opts ...ScratchOption) (v1.Image, *ScratchReport, error) {
	start := time.Now()
	o, err := makeScratchOptions(opts...)
	if err != nil {
		return nil, nil, err
	}
	// The closure is read in rounds and every file copied at the end:
	// from spooled tars these are reads in place, not passes over
	// compressed layers.
	o.spool = true
	// Scratch's own flow over the same phases as slimming: scan,
	// overlay, protect and the sets (which say what leaves the
	// application), then the copy. Nothing is decided for the source's
	// layers.
	p, err := scanImage(img, o)
	if err != nil {
		return nil, nil, err
	}
	defer p.removeSpools()
	if err := p.chooseSets(); err != nil {
		return nil, nil, err
	}
	out, rep, err := p.scratch()
	if err != nil {
		return nil, nil, err
	}
	rep.planTime = time.Since(start) - rep.rewriteTime - rep.verifyTime
	return out, rep, nil
}

func (p *Plan) scratch() (v1.Image, *ScratchReport, error) {
	o, a := p.o, p.app
	// The warnings of protect and the sets (protectWarnings, setWarnings)
	// speak of slimming the image in place (a package kept, a library the
	// entrypoint lacks); a scratch image gets the ones scratch finds.
	program := a.program
	if o.binary != "" {
		bin := layers.Clean(o.binary)
		r, ok := p.view.resolve(bin)
		if !ok {
			return nil, nil, fmt.Errorf("binary %s is not in the image", o.binary)
		}
		// exec needs an execute bit: without one the output could not start.
		n, ok := p.view.lookup(r)
		if ok && n.typ == tar.TypeLink {
			n, ok = p.view.lookup(n.link) // a hardlink has its target's mode
		}
		if ok && n.typ == tar.TypeReg && n.mode&0o111 == 0 {
			return nil, nil, fmt.Errorf("binary %s is not executable (mode %04o)", o.binary, n.mode&0o7777)
		}
		program = r
	}
	if program == "" {
		if len(a.argv) == 0 {
			return nil, nil, fmt.Errorf("the image has no Entrypoint or Cmd: name the program with --binary")
		}
		name := a.argv[0]
		if !strings.HasPrefix(name, "/") {
			name = path.Join("/", p.cfg.Config.WorkingDir, name)
		}
		if r, ok := p.view.resolve(name); ok && strings.Contains(a.argv[0], "/") {
			return nil, nil, fmt.Errorf("entrypoint %s (%s) is not an executable file", a.argv[0], r)
		}
		return nil, nil, fmt.Errorf("entrypoint %s is not in the image (PATH %s)", a.argv[0], strings.Join(a.path, ":"))
	}

	files := map[string]string{} // path -> why
	add := func(name, why string) {
		if _, ok := files[name]; !ok {
			files[name] = why
		}
	}
	var machineOpts []elfdeps.Option
	if p.cfg.Architecture != "" {
		if m, err := elfdeps.Machine(p.cfg.Architecture); err == nil {
			machineOpts = append(machineOpts, elfdeps.ForMachine(m))
		}
	}
	res, err := p.closure(program, machineOpts...)
	if err != nil {
		return nil, nil, err // it names the file
	}
	if len(res.Missing) > 0 {
		return nil, nil, fmt.Errorf("program %s needs what the image lacks: %s", program, strings.Join(res.Missing, "; "))
	}
	for _, n := range res.Files {
		add(n.Path, n.Why)
	}
	add(program, "the program")
	// What exec is given: --binary's name when it replaces the entrypoint,
	// else the config's argv[0] as it is (a shell form runs /bin/sh, which
	// a.argv skips to find the program). Its closure brings the symlinks on
	// the way (/bin -> usr/bin on a merged /usr) and a shell form's shell,
	// without which the entrypoint names nothing in the output.
	replaced := o.binary != "" && a.program != program
	execName := ""
	if replaced {
		execName = layers.Clean(o.binary)
	} else if argv := append(append([]string(nil), p.cfg.Config.Entrypoint...), p.cfg.Config.Cmd...); len(argv) > 0 {
		name := argv[0]
		if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
			name = path.Join("/", p.cfg.Config.WorkingDir, name)
		}
		if n, err := elfdeps.LookPath(imageFS{p}, name, p.cfg.Config.Env); err == nil {
			execName = n
		}
	}
	if execName != "" && execName != program {
		r, err := p.closure(execName, machineOpts...)
		if err != nil {
			return nil, nil, fmt.Errorf("entrypoint %s: %w", execName, err)
		}
		if len(r.Missing) > 0 {
			return nil, nil, fmt.Errorf("entrypoint %s needs what the image lacks: %s", execName, strings.Join(r.Missing, "; "))
		}
		for _, n := range r.Files {
			why := n.Why
			if why == "program" {
				why = "what the entrypoint runs"
			}
			add(n.Path, why)
		}
	}
	if !replaced {
		for _, c := range p.linkChain(a.argv0(), a.path) {
			add(c, "the name the entrypoint uses")
		}
	}

	// What the command line and the runtime it starts need, read from the
	// runtime's own files; then the application's directory, and --add.
	var trees []treeNeed
	var unresolved []string
	argv := append(append([]string(nil), p.cfg.Config.Entrypoint...), p.cfg.Config.Cmd...)
	if replaced || len(argv) == 0 {
		argv = []string{program}
	}
	wd := layers.Clean(p.cfg.Config.WorkingDir)
	var addRoots []string
	for _, extra := range o.adds {
		r, ok := p.view.resolve(layers.Clean(extra))
		if !ok {
			return nil, nil, fmt.Errorf("--add %s: not in the image", extra)
		}
		addRoots = append(addRoots, r)
		trees = append(trees, treeNeed{root: r, why: "--add"})
	}
	covered := func(name string) bool {
		for _, r := range addRoots {
			if layers.Within(name, r) {
				return true
			}
		}
		return false
	}
	rt, err := runtimes.Analyze(runtimeFS{p}, runtimes.Command{Argv: argv, Env: p.cfg.Config.Env, Dir: wd, Covered: covered})
	if err != nil {
		return nil, nil, fmt.Errorf("program %s: %w", program, err)
	}
	unresolved = append(unresolved, rt.Unresolved...)
	p.warnings = append(p.warnings, rt.Warnings...)
	interpreted := len(rt.Runtimes) > 0
	// What the program runs without (a library's optional import, named
	// in a warning) stays out of the copy.
	needs := rt.Needs[:0:0]
	for _, n := range rt.Needs {
		if !n.Optional {
			needs = append(needs, n)
		}
	}
	for _, n := range needs {
		switch {
		case n.Tree:
			trees = append(trees, treeNeed{root: n.Path, why: n.Why, except: n.Except})
		case n.Exec:
			for _, c := range p.pathChain(n.Path) {
				add(c, n.Why)
			}
			r, _ := p.view.resolve(n.Path)
			if r == program || r == execName {
				continue
			}
			res, err := p.closure(r, machineOpts...)
			if err != nil {
				unresolved = append(unresolved, fmt.Sprintf("%s (%s): %v", n.Path, n.Why, err))
				continue
			}
			for _, f := range res.Files {
				add(f.Path, f.Why)
			}
			for _, m := range res.Missing {
				p.warnings = append(p.warnings, fmt.Sprintf("%s (%s) needs %s, which the source image lacks too", n.Path, n.Why, m))
			}
		default:
			for _, c := range p.pathChain(n.Path) {
				add(c, n.Why)
			}
		}
	}
	if a.appDir != "" && (interpreted || a.appDir != path.Dir(program)) {
		trees = append(trees, treeNeed{root: a.appDir, why: "the application directory"})
	}
	// The trees' native modules first: the VM library a JVM loads by path
	// before the libraries of lib/ that need it by name.
	var natives []string
	isNative := func(name string) bool {
		return strings.HasSuffix(name, ".so") || strings.Contains(name, ".so.") || strings.HasSuffix(name, ".node")
	}
	p.addTrees(trees, add, func(name string, n node) {
		if n.typ == tar.TypeReg && isNative(name) {
			natives = append(natives, name)
		}
	})
	for _, n := range needs {
		if r, ok := p.view.resolve(n.Path); ok && !n.Tree && isNative(r) {
			natives = append(natives, r)
		}
	}
	if len(natives) > 0 {
		// What the native modules need, mapped into the program's process
		// as its dlopen maps them: found by its loader's rules, and not
		// twice what it has. Data named .so and modules prebuilt for other
		// platforms are skipped.
		r, err := p.closure(program, append(machineOpts, elfdeps.Dlopen(natives...))...)
		if err != nil {
			return nil, nil, fmt.Errorf("program %s: native modules: %w", program, err)
		}
		for _, n := range r.Files {
			add(n.Path, n.Why)
		}
		// What the source image lacks too is a warning: a module of a
		// package the application may never import.
		for _, m := range r.Missing {
			p.warnings = append(p.warnings, "native module "+m)
		}
	}

	// What every program needs.
	env := append([]string(nil), p.cfg.Config.Env...)
	if ca := p.caBundle(); ca != "" {
		add(ca, "CA certificates")
		if r, _ := p.view.resolve(ca); r != ca {
			add(r, "CA certificates")
		}
		if !hasEnv(env, "SSL_CERT_FILE") {
			env = append(env, "SSL_CERT_FILE="+ca)
		}
	}
	if !o.noTZ && p.view.exists("/usr/share/zoneinfo") {
		p.addTrees([]treeNeed{{root: "/usr/share/zoneinfo", why: "time zones"}}, func(name, why string) {
			add(name, strings.TrimSuffix(why, treeMark))
		}, func(string, node) {})
	}
	if p.view.exists("/etc/nsswitch.conf") {
		add("/etc/nsswitch.conf", "name service switch")
	}
	// The loader's configuration: where the image's libraries are.
	for _, f := range []string{"/etc/ld.so.cache", "/etc/ld.so.conf"} {
		if p.view.exists(f) {
			add(f, "dynamic loader configuration")
		}
	}
	if p.view.exists("/etc/ld.so.conf.d") {
		p.view.walk("/etc/ld.so.conf.d", func(name string, _ node, ok bool) {
			if ok {
				add(name, "dynamic loader configuration")
			}
		})
	}

	// The self-check: nothing is written unless the tree holds what its
	// programs, libraries, command line and symlinks lead to.
	var execs, named []string
	if execName != "" {
		execs = append(execs, execName)
	}
	for _, n := range needs {
		if n.Exec {
			execs = append(execs, n.Path)
		} else {
			named = append(named, n.Path)
		}
	}
	holes, warns, checked, err := p.checkScratch(program, files, execs, named, machineOpts)
	if err != nil {
		return nil, nil, err
	}
	p.warnings = append(p.warnings, warns...)
	if items := append(unresolved, holes...); len(items) > 0 {
		return nil, nil, &UnresolvedError{Program: program, Items: items}
	}
	out, rep, err := p.writeScratch(program, files, env)
	if err != nil {
		return nil, nil, err
	}
	// The time it took goes to the JSON report's timings: the report
	// itself stays the same run after run.
	rep.Checked = append(checked, fmt.Sprintf("the written layer, read back: %d paths equal the tree meant (type, mode, owner, size, content, link, xattrs)",
		rep.verifiedPaths))
	return out, rep, nil
}

func (a *appContext) argv0() string {
	if len(a.argv) == 0 {
		return ""
	}
	return a.argv[0]
}

// droppedBySet reports whether the enabled sets take name out of the
// application (caches, VCS data, sources, dev dependencies, secrets).
func (p *Plan) droppedBySet(name string) bool {
	in := p.decideInput()
	rm, _, _, _ := in.removes(name)
	return rm
}

// caBundle returns the image's CA bundle, as Go's crypto/x509 looks for it.
func (p *Plan) caBundle() string {
	for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem", "/etc/ssl/cert.pem"} {
		if r, ok := p.view.resolve(f); ok {
			if n, ok := p.view.lookup(r); ok && (n.typ == tar.TypeReg || n.typ == tar.TypeLink) {
				return f
			}
		}
	}
	return ""
}

func hasEnv(env []string, k string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			return true
		}
	}
	return false
}

const (
	scratchPasswd = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	scratchGroup  = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
)

// writeScratch writes the one layer and the config of a scratch image.
func (p *Plan) writeScratch(program string, files map[string]string, env []string) (v1.Image, *ScratchReport, error) {
	start := time.Now()
	o := p.o
	// Every parent directory, with the image's metadata when it has one.
	all := map[string]string{}
	for name, why := range files {
		all[name] = why
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = "parent directory"
			}
		}
	}
	for _, gen := range []string{"/etc/passwd", "/etc/group", "/tmp", "/home/nonroot", "/home", "/etc"} {
		delete(all, gen)
	}
	var names, regular []string
	for n := range all {
		names = append(names, n)
		if nd, ok := p.view.lookup(n); ok && (nd.typ == tar.TypeReg || nd.typ == tar.TypeLink) {
			regular = append(regular, n)
		}
	}
	sort.Strings(names)
	contents, err := p.fetch(regular)
	if err != nil {
		return nil, nil, err
	}
	mtime := o.created
	if mtime.IsZero() {
		mtime = p.cfg.Created.Time
	}
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	mtime = mtime.UTC()

	rep := &ScratchReport{Program: program, Before: p.beforeTotals(), Warnings: p.warnings, Secrets: p.scratchSecrets(all)}
	f := layers.Format{Compress: o.compress, Zstd: o.compress && o.zstd, Level: o.level, OCI: true}
	l, size, err := layers.WriteSparse(o.ctx, o.workDir, f, func(tw *tar.Writer, sparse func(*tar.Header, io.Reader) error) error {
		gen := scratchBase()
		written := map[string]bool{}
		writeGen := func(upTo string) error {
			for len(gen) > 0 && (upTo == "" || "/"+strings.TrimSuffix(gen[0].name, "/") < upTo) {
				g := gen[0]
				gen = gen[1:]
				h := &tar.Header{Typeflag: g.typ, Name: g.name, Mode: g.mode, Uid: g.uid, Gid: g.uid, Size: int64(len(g.body)), ModTime: mtime, Format: tar.FormatPAX}
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
				if _, err := io.WriteString(tw, g.body); err != nil {
					return err
				}
				rep.Files = append(rep.Files, ScratchEntry{Path: "/" + strings.TrimSuffix(g.name, "/"), Size: h.Size, Why: "distroless base"})
				written["/"+strings.TrimSuffix(g.name, "/")] = true
			}
			return nil
		}
		for _, name := range names {
			if err := writeGen(name); err != nil {
				return err
			}
			if written[name] {
				continue
			}
			h := &tar.Header{Name: strings.TrimPrefix(name, "/"), ModTime: mtime, Format: tar.FormatPAX}
			n, ok := p.view.lookup(name)
			switch {
			case !ok:
				h.Typeflag, h.Mode = tar.TypeDir, 0o755
			case n.typ == tar.TypeLink:
				t, _ := p.view.lookup(n.link)
				h.Typeflag, h.Mode = tar.TypeReg, t.mode
				copyMeta(h, t, mtime, !o.created.IsZero())
			default:
				h.Typeflag, h.Mode, h.Linkname = n.typ, n.mode, ""
				if n.typ == tar.TypeSymlink {
					h.Linkname = n.link
				}
				copyMeta(h, n, mtime, !o.created.IsZero())
			}
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
			}
			var src *section
			if h.Typeflag == tar.TypeReg {
				b, ok := contents[name]
				if !ok {
					return fmt.Errorf("reading %s: not found in its layer", name)
				}
				if src, err = b.open(); err != nil {
					return err
				}
				h.Size = b.size
				if b.sparse {
					// Kept sparse: its holes are not written out.
					err := sparse(h, src)
					src.Close()
					if err != nil {
						return fmt.Errorf("writing %s: %w", name, err)
					}
					rep.Files = append(rep.Files, ScratchEntry{Path: name, Size: h.Size, Why: all[name]})
					continue
				}
			}
			if err := tw.WriteHeader(h); err != nil {
				if src != nil {
					src.Close()
				}
				return fmt.Errorf("writing %s: %w", name, err)
			}
			if src != nil {
				_, err := io.Copy(tw, src)
				src.Close()
				if err != nil {
					return err
				}
			}
			rep.Files = append(rep.Files, ScratchEntry{Path: name, Size: h.Size, Why: all[name]})
		}
		return writeGen("")
	})
	if err != nil {
		return nil, nil, fmt.Errorf("writing the scratch layer: %w", err)
	}

	cfg := &v1.ConfigFile{
		Architecture: p.cfg.Architecture, OS: p.cfg.OS, Variant: p.cfg.Variant, OSVersion: p.cfg.OSVersion,
		Created: v1.Time{Time: mtime},
		Config:  p.cfg.Config,
	}
	c := &cfg.Config
	c.Env = trimPath(env, func(d string) bool { _, ok := all[d]; return ok })
	c.User = fmt.Sprintf("%d:%d", nonrootID, nonrootID)
	if o.binary != "" && p.app.program != program {
		c.Entrypoint, c.Cmd = []string{layers.Clean(o.binary)}, nil
	}
	c.Healthcheck, c.OnBuild, c.Shell = nil, nil, nil
	cfg.History = []v1.History{{Created: cfg.Created, CreatedBy: scratchCreatedBy(o.version, program), Comment: "imgslim"}}
	d, err := l.DiffID()
	if err != nil {
		return nil, nil, err
	}
	desc := v1.Descriptor{MediaType: types.OCILayer, Size: layerSize(l), Digest: layerDigest(l)}
	if !f.Compress {
		desc.MediaType = types.OCIUncompressedLayer
	}
	img, err := newImage(types.OCIManifestSchema1, types.OCIConfigJSON, nil, cfg, []v1.Layer{l}, []v1.Descriptor{desc}, []v1.Hash{d})
	if err != nil {
		return nil, nil, err
	}
	// The written layer is read back and checked against the tree it
	// was to hold, built apart from the writer: nothing is published
	// that is not exactly the copy the checks above were made on.
	want, err := p.scratchTree(all, contents)
	if err != nil {
		return nil, nil, err
	}
	rep.rewriteTime = time.Since(start)
	out, took, err := p.verifiedScratch(img, want)
	if err != nil {
		return nil, nil, err
	}
	rep.verifyTime, rep.verifiedPaths = took, len(want)
	dg, err := out.Digest()
	if err != nil {
		return nil, nil, err
	}
	rep.Digest = dg.String()
	rep.After = Totals{Layers: 1, Compressed: desc.Size, Uncompressed: size}
	for _, e := range rep.Files {
		if n, ok := p.view.lookup(e.Path); !ok || n.typ != tar.TypeDir {
			rep.After.Files++
		}
	}
	return out, rep, nil
}

// scratchSecrets returns the secrets found in the source, each with
// whether the copy holds it: a file's remains when the copy holds the
// file (the program needs it: the secrets set takes the others out of the
// trees copied, as it does when slimming) or a hardlink to it; the
// config's Env is copied, so its secrets remain; what a later layer hid
// and the history, which the copy starts afresh, are gone.
func (p *Plan) scratchSecrets(all map[string]string) []Secret {
	linked := map[string]bool{}
	for name := range all {
		if n, ok := p.view.lookup(name); ok && n.typ == tar.TypeLink {
			linked[n.link] = true
		}
	}
	var out []Secret
	for _, s := range p.secrets {
		s.Status = SecretRemoved
		switch s.Location {
		case SecretInFile:
			if _, ok := all[s.Path]; ok || linked[s.Path] {
				s.Status = SecretRemaining
			}
		case SecretInConfig:
			s.Status = SecretRemaining
		}
		out = append(out, s)
	}
	return out
}

// copyMeta gives h the source entry's owner, time and extended
// attributes (a file capability must survive the copy). With a set
// creation time (SOURCE_DATE_EPOCH), times later than it are clamped to
// it, as reproducible builds do.
func copyMeta(h *tar.Header, n node, created time.Time, clamp bool) {
	if n.entry == nil {
		return
	}
	h.Uid, h.Gid = n.uid, n.gid
	h.ModTime = time.Unix(n.mtime, 0).UTC()
	if clamp && h.ModTime.After(created) {
		h.ModTime = created
	}
	for k, v := range n.xattrs {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords[k] = v
	}
}

func layerSize(l v1.Layer) int64 {
	n, _ := l.Size()
	return n
}

func layerDigest(l v1.Layer) v1.Hash {
	d, _ := l.Digest()
	return d
}

// trimPath keeps in PATH the directories the image still has.
func trimPath(env []string, has func(string) bool) []string {
	var out []string // nil for none, as the config's JSON reads back
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			var keep []string
			for _, d := range strings.Split(v, ":") {
				if has(layers.Clean(d)) {
					keep = append(keep, d)
				}
			}
			kv = "PATH=" + strings.Join(keep, ":")
		}
		out = append(out, kv)
	}
	return out
}

// bulkKey returns the line under which the text report sums a file kept
// for why, rather than listing it: trees, time zones, parent directories,
// and the modules an interpreter imports (one reason per module, and
// thousands of them), by runtime.
func bulkKey(why string) (string, bool) {
	if why == "time zones" || why == "parent directory" || strings.HasSuffix(why, treeMark) {
		return why, true
	}
	for _, sep := range []string{": module ", ": its data", ": native module "} {
		if i := strings.Index(why, sep); i >= 0 {
			return why[:i] + ": imported modules and their packages' data", true
		}
	}
	return "", false
}

// WriteText writes the report: every file included and why, trees summed.
func (r *ScratchReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scratch image of %s\n", Quote(r.Program))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tlayers\tcompressed\tuncompressed\tfiles\t")
	fmt.Fprintf(tw, "source\t%d\t%s\t%s\t%d\t\n", r.Before.Layers, Bytes(r.Before.Compressed), Bytes(r.Before.Uncompressed), r.Before.Files)
	fmt.Fprintf(tw, "scratch\t%d\t%s\t%s\t%d\t\n", r.After.Layers, Bytes(r.After.Compressed), Bytes(r.After.Uncompressed), r.After.Files)
	fmt.Fprintf(tw, "saved\t\t%s\t%s\t%d\t\n", percent(r.Before.Compressed, r.After.Compressed), percent(r.Before.Uncompressed, r.After.Uncompressed), r.Before.Files-r.After.Files)
	tw.Flush()
	b.WriteString("\nfiles, and why:\n")
	type sum struct {
		files int
		bytes int64
	}
	sums := map[string]*sum{}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range r.Files {
		if key, ok := bulkKey(e.Why); ok {
			s := sums[key]
			if s == nil {
				s = &sum{}
				sums[key] = s
			}
			s.files++
			s.bytes += e.Size
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", Quote(e.Path), Bytes(e.Size), Sanitize(e.Why))
	}
	tw.Flush()
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, k := range sortedKeys(sums) {
		fmt.Fprintf(tw, "  %s\t%d paths\t%s\t(listed in --report)\n", Sanitize(k), sums[k].files, Bytes(sums[k].bytes))
	}
	tw.Flush()
	for _, c := range r.Checked {
		fmt.Fprintf(&b, "checked: %s\n", c)
	}
	if len(r.Secrets) > 0 {
		fmt.Fprintf(&b, "\n!!! %d SECRETS FOUND IN THE SOURCE IMAGE: they were published with it, ROTATE THEM !!!\n", len(r.Secrets))
		for _, s := range r.Secrets {
			status := "not copied"
			if s.Status == SecretRemaining {
				status = "REMAINS IN THE OUTPUT"
			}
			fmt.Fprintf(&b, "  %s: %s (%s)\n", Sanitize(s.Where), Sanitize(s.What), status)
		}
	}
	b.WriteString("runs as: nonroot (65532:65532)\n")
	if r.Digest != "" {
		fmt.Fprintf(&b, "digest: %s\n", r.Digest)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *ScratchReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Interpreters' run-time library directories, as the packages set keeps
// them (scratch mode reads them from the runtimes' own files instead:
// slim/runtimes).
var runtimeDirs = map[string][]string{
	"python": {"/usr/lib/python3", "/usr/lib/{v}", "/usr/local/lib/{v}", "/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages"},
	"node":   {"/usr/share/nodejs", "/usr/lib/nodejs"},
	"ruby":   {"/usr/lib/ruby", "/usr/local/lib/ruby"},
	"perl":   {"/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl", "/usr/share/perl5", "/usr/lib/x86_64-linux-gnu/perl5", "/usr/lib/x86_64-linux-gnu/perl-base"},
}

func interpreterKind(base string) string {
	switch {
	case strings.HasPrefix(base, "python"):
		return "python"
	case base == "node" || base == "nodejs" || strings.HasPrefix(base, "libnode.so"):
		return "node"
	case strings.HasPrefix(base, "ruby"):
		return "ruby"
	case strings.HasPrefix(base, "perl"):
		return "perl"
	}
	return ""
}

// versionDirs expands "{v}" in d into the image's versioned directories
// ("/usr/lib/{v}" -> "/usr/lib/python3.11").
func (p *Plan) versionDirs(d string) []string {
	if !strings.Contains(d, "{v}") {
		if p.view.exists(d) {
			return []string{d}
		}
		return nil
	}
	parent := path.Dir(d)
	var out []string
	for _, c := range p.view.list(parent) {
		if strings.HasPrefix(path.Base(c), "python3.") {
			out = append(out, c)
		}
	}
	return out
}

// scratchCreatedBy is the scratch image's history entry: imgslim, its
// version when WithVersion gave one, and the program copied.
func scratchCreatedBy(version, program string) string {
	if version == "" {
		return "imgslim --scratch " + program
	}
	return "imgslim " + version + " --scratch " + program
}
