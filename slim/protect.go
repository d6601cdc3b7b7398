package slim

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/elfdeps"
)

// Skip is a protected path that a rule matched and that stayed.
type Skip struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
	Why  string `json:"why"`
}

func (p *Plan) isProtected(name string) (string, bool) {
	return protectedWhy(p.protected, p.protTrees, name)
}

// protectedWhy reports whether name must stay, being one of the protected
// paths or in one of the protected trees, and why.
func protectedWhy(protected map[string]string, trees []string, name string) (string, bool) {
	if why, ok := protected[name]; ok {
		return why, true
	}
	for _, t := range trees {
		if layers.Within(name, t) {
			return "needed at run time (" + t + ")", true
		}
	}
	return "", false
}

// protect marks what the program needs: never removed, by a set or by the
// user's patterns.
func (p *Plan) protect() error {
	p.protected = map[string]string{}
	a := p.app
	add := func(name, why string) {
		if _, ok := p.protected[name]; !ok {
			p.protected[name] = why
		}
	}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ca-certificates.conf", "/etc/ssl/cert.pem"} {
		add(f, "needed by every program")
	}
	p.protTrees = []string{"/etc/ssl/certs", "/usr/share/ca-certificates", "/etc/pki", "/usr/local/share/ca-certificates"}
	if a.program != "" {
		// The name the entrypoint uses and every link on the way.
		for _, c := range p.linkChain(a.argv[0], a.path) {
			add(c, "the entrypoint "+a.argv[0])
		}
		if err := p.protectClosure(a.program); err != nil {
			return err
		}
	}
	if a.script != "" {
		add(a.script, "the file the entrypoint runs")
	}
	if a.appDir != "" {
		add(path.Join(a.appDir, "package.json"), "the application's package.json")
		if b, ok := p.content(path.Join(a.appDir, "package.json")); ok {
			if main := packageMain(b); main != "" {
				m := path.Join(a.appDir, main)
				for _, c := range []string{m, m + ".js", path.Join(m, "index.js")} {
					if p.view.exists(c) {
						add(c, "package.json main")
					}
				}
			}
		}
	}
	return nil
}

// linkChain returns the paths exec goes through to reach argv0: the name
// found in PATH and each symlink it leads to.
func (p *Plan) linkChain(argv0 string, dirs []string) []string {
	var start []string
	if strings.Contains(argv0, "/") {
		start = []string{layers.Clean(argv0)}
	} else {
		for _, d := range dirs {
			start = append(start, path.Join(d, argv0))
		}
	}
	for _, s := range start {
		var chain []string
		cur := s
		for range 40 {
			n, ok := p.view.lookup(cur)
			if !ok {
				break
			}
			chain = append(chain, cur)
			if n.typ != tar.TypeSymlink {
				return chain
			}
			t := n.link
			if !strings.HasPrefix(t, "/") {
				t = path.Join(path.Dir(cur), t)
			}
			r, _ := p.view.resolve(path.Dir(layers.Clean(t)))
			cur = path.Join(r, path.Base(t))
		}
	}
	return nil
}

func packageMain(b []byte) string {
	var pkg struct {
		Main string `json:"main"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return ""
	}
	return pkg.Main
}

// closure resolves what program needs, fetching contents in rounds, each
// round one pass over the layers that hold what is asked for.
func (p *Plan) closure(program string, opts ...elfdeps.Option) (*elfdeps.Result, error) {
	fsys := imageFS{p}
	for round := 0; ; round++ {
		res, err := elfdeps.Resolve(fsys, program, p.cfg.Config.Env, opts...)
		if err != nil {
			return nil, err
		}
		if len(res.Fetch) == 0 {
			return res, nil
		}
		if round == 16 {
			return nil, fmt.Errorf("resolving %s: still fetching after %d rounds", program, round)
		}
		before := len(p.fetched)
		if _, err := p.fetch(res.Fetch); err != nil {
			return nil, err
		}
		if len(p.fetched) == before {
			return nil, fmt.Errorf("resolving %s: cannot read %v", program, res.Fetch)
		}
	}
}

// protectClosure keeps what the program needs to run: its interpreter
// chain, the shared libraries the loader maps, and the NSS modules glibc
// loads, all resolved from the image's own files.
func (p *Plan) protectClosure(program string) error {
	if _, ok := p.protected[program]; !ok {
		p.protected[program] = "the entrypoint's program"
	}
	res, err := p.closure(program)
	if err != nil {
		// A program imgslim cannot read (not ELF, not a script) is kept
		// by name; the rest of the image is judged by the rules alone.
		p.protectWarnings = append(p.protectWarnings, fmt.Sprintf("cannot work out what %s needs: %v", program, err))
		return nil
	}
	for _, n := range res.Files {
		if _, ok := p.protected[n.Path]; !ok {
			p.protected[n.Path] = n.Why
		}
	}
	for _, m := range res.Missing {
		p.protectWarnings = append(p.protectWarnings, "the source image lacks "+m)
	}
	p.protectRuntime()
	return nil
}
