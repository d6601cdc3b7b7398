package slim

import (
	"archive/tar"
	"debug/elf"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// appContext is what the sets know of the image's program.
type appContext struct {
	env     map[string]string
	path    []string // the image's PATH
	homes   []string // every user's home directory in the image
	argv    []string // Entrypoint + Cmd
	program string   // argv[0] resolved in the image, "" when not found
	script  string   // the file an interpreter runs, "" when none
	appDir  string   // WorkingDir, or the script's directory
	goBin   bool     // the program is a compiled Go binary
}

// systemDirs never count as an application directory.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/sbin": true, "/etc": true, "/lib": true, "/lib64": true, "/usr": true,
	"/usr/bin": true, "/usr/sbin": true, "/usr/lib": true, "/usr/local": true, "/usr/local/bin": true,
	"/usr/share": true, "/var": true, "/var/lib": true, "/root": true, "/home": true, "/tmp": true, "/opt": true,
	"/usr/local/lib": true, "/usr/include": true, "/srv": true, "/dev": true, "/proc": true, "/sys": true,
}

func (p *Plan) newAppContext() *appContext {
	cfg := p.cfg.Config
	a := &appContext{env: map[string]string{}}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		a.env[k] = v
	}
	pathVar, ok := a.env["PATH"]
	if !ok {
		pathVar = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d != "" {
			a.path = append(a.path, d)
		}
	}
	homes := map[string]bool{"/root": true}
	for _, h := range p.view.list("/home") {
		homes[h] = true
	}
	if b := visibleFile(p.view, p.layers, func(lp *layerPlan) *captured { return lp.passwd }, "/etc/passwd"); b != nil {
		for _, u := range parsePasswd(b) {
			if h := layers.Clean(u.home); !systemDirs[h] && h != "/nonexistent" && p.view.exists(h) {
				homes[h] = true
			}
		}
	}
	for h := range homes {
		a.homes = append(a.homes, h)
	}
	sort.Strings(a.homes)

	a.argv = append(append([]string(nil), cfg.Entrypoint...), cfg.Cmd...)
	wd := cfg.WorkingDir
	if wd == "" {
		wd = "/"
	}
	// A shell form ("/bin/sh -c 'node server.js'") runs its first word.
	if len(a.argv) >= 3 && (path.Base(a.argv[0]) == "sh" || path.Base(a.argv[0]) == "bash") && a.argv[1] == "-c" {
		a.argv = append(a.argv[:2:2], strings.Fields(a.argv[2])...)
		a.argv = a.argv[2:]
	}
	if len(a.argv) > 0 {
		a.program = p.lookPath(a.argv[0], a.path, wd)
	}
	if a.program != "" && isInterpreter(path.Base(a.program)) {
		for _, arg := range a.argv[1:] {
			if strings.HasPrefix(arg, "-") {
				continue
			}
			f := arg
			if !strings.HasPrefix(f, "/") {
				f = path.Join(wd, f)
			}
			if r, ok := p.view.resolve(f); ok {
				a.script = r
			}
			break
		}
	}
	switch {
	case cfg.WorkingDir != "" && !systemDirs[layers.Clean(cfg.WorkingDir)]:
		a.appDir = layers.Clean(cfg.WorkingDir)
	case a.script != "" && !systemDirs[path.Dir(a.script)]:
		a.appDir = path.Dir(a.script)
	case a.program != "" && !systemDirs[path.Dir(a.program)]:
		a.appDir = path.Dir(a.program)
	}
	return a
}

var interpreters = regexp.MustCompile(`^(node|nodejs|python[0-9.]*|ruby[0-9.]*|perl[0-9.]*|php[0-9.]*|java|deno|bun|sh|bash|dash)$`)

func isInterpreter(base string) bool { return interpreters.MatchString(base) }

// lookPath resolves argv[0] the way exec does, through the image's PATH,
// and follows symlinks inside the image.
func (p *Plan) lookPath(file string, dirs []string, wd string) string {
	var candidates []string
	if strings.Contains(file, "/") {
		if !strings.HasPrefix(file, "/") {
			file = path.Join(wd, file)
		}
		candidates = []string{file}
	} else {
		for _, d := range dirs {
			candidates = append(candidates, path.Join(d, file))
		}
	}
	for _, c := range candidates {
		r, ok := p.view.resolve(c)
		if !ok {
			continue
		}
		if n, ok := p.view.lookup(r); ok && (n.typ == tar.TypeReg || n.typ == tar.TypeLink) && n.mode&0o111 != 0 {
			return r
		}
	}
	return ""
}

// isGoBinary reports whether the ELF file b was built by the Go toolchain.
func isGoBinary(b blob) bool {
	s, err := b.open()
	if err != nil {
		return false
	}
	defer s.Close()
	e, err := elf.NewFile(s)
	if err != nil {
		return false
	}
	return e.Section(".go.buildinfo") != nil || e.Section(".note.go.buildid") != nil
}

// programIsGo reports whether the entrypoint's program is a Go binary.
func (p *Plan) programIsGo() bool {
	if p.app.program == "" {
		return false
	}
	files, err := p.fetch([]string{p.app.program})
	if err != nil {
		return false
	}
	f, ok := files[p.app.program]
	return ok && isGoBinary(f)
}
