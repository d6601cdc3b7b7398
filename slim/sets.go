package slim

import (
	"archive/tar"
	"debug/elf"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// The built-in rule sets, in the order the report lists them.
const (
	SetCaches     = "caches"
	SetVCS        = "vcs"
	SetDevDeps    = "devdeps"
	SetSources    = "sources"
	SetDocs       = "docs"
	SetBuildTools = "buildtools"
	SetSecrets    = "secrets"
	// SetPackages purges the packages the program does not need; opt-in.
	SetPackages = "packages"
)

// AllSets lists every built-in set "all" stands for.
var AllSets = []string{SetCaches, SetVCS, SetDevDeps, SetSources, SetDocs, SetBuildTools, SetSecrets}

// OptInSets are the built-in sets "all" leaves out: they change what the
// image can do (no package a shell session would want stays), so a user
// asks for them by name.
var OptInSets = []string{SetPackages}

// ParseSets reads a comma-separated list of set names; "all" and "none"
// stand for every set and no set.
func ParseSets(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "":
		case "all":
			out = append(out, AllSets...)
		case "none":
		default:
			known := false
			for _, k := range append(AllSets[:len(AllSets):len(AllSets)], OptInSets...) {
				known = known || k == s
			}
			if !known {
				return nil, fmt.Errorf("unknown rule set %q (known: %s)", s, strings.Join(append(AllSets[:len(AllSets):len(AllSets)], OptInSets...), ", "))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

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
	if c := p.visible(func(lp *layerPlan) *captured { return lp.passwd }, "/etc/passwd"); c != nil {
		for _, u := range parsePasswd(c.data) {
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

// homePatterns returns pattern under every home.
func (a *appContext) homePatterns(rel ...string) []string {
	var out []string
	for _, h := range a.homes {
		for _, r := range rel {
			out = append(out, strings.TrimPrefix(path.Join(h, r), "/"))
		}
	}
	return out
}

// setPatterns returns the patterns of the pattern-based parts of the sets.
func (p *Plan) setPatterns(set string, a *appContext) []string {
	switch set {
	case SetCaches:
		pats := a.homePatterns(".npm", ".cache/yarn", ".yarn/berry/cache", ".cache/pip", ".cache/go-build", ".cache/pnpm", ".local/share/pnpm/store", ".bun/install/cache")
		pats = append(pats,
			"usr/local/share/.cache",
			"var/cache/apt/**", "var/lib/apt/lists/**", "var/cache/apk/**",
			"var/cache/debconf/*-old", "var/log/apt", "var/log/dpkg.log",
			// The contents only: programs need /tmp itself (mode 1777).
			"tmp/*", "var/tmp/*",
		)
		if a.goBin {
			gopath := a.env["GOPATH"]
			if gopath == "" {
				pats = append(pats, a.homePatterns("go/pkg/mod")...)
			} else {
				for _, g := range strings.Split(gopath, ":") {
					pats = append(pats, strings.TrimPrefix(path.Join(g, "pkg/mod"), "/"))
				}
			}
		}
		return pats
	case SetVCS:
		return []string{"**/.git", "**/.svn", "**/.hg"}
	case SetDocs:
		pats := []string{
			"usr/share/doc", "usr/local/share/doc",
			// Licences stay, as distroless keeps them.
			"!usr/share/doc/*/copyright",
			"usr/share/man", "usr/local/share/man", "usr/share/info",
			"usr/share/lintian", "usr/share/linda",
			"usr/share/locale/*",
		}
		for _, l := range a.locales() {
			pats = append(pats, "!usr/share/locale/"+l)
		}
		return append(pats, "!usr/share/locale/locale.alias")
	case SetSecrets:
		return []string{"**/.env", "**/.env.*", "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*", "**/id_ed25519*",
			"**/.git-credentials", "**/.aws/credentials", "**/.netrc"}
	case SetBuildTools:
		pats := []string{"usr/local/go"}
		pats = append(pats, a.homePatterns("go", ".node-gyp", ".cache/node-gyp")...)
		return pats
	}
	return nil
}

// locales returns the locale directories the image's environment uses:
// "de_DE.UTF-8" keeps de_DE and de.
func (a *appContext) locales() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range []string{"LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"} {
		for _, v := range strings.Split(a.env[k], ":") {
			v, _, _ = strings.Cut(v, ".")
			v, _, _ = strings.Cut(v, "@")
			if v == "" || v == "C" || v == "POSIX" {
				continue
			}
			for _, l := range []string{v, strings.SplitN(v, "_", 2)[0]} {
				if !seen[l] {
					seen[l] = true
					out = append(out, l)
				}
			}
		}
	}
	return out
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

// sourcePaths returns the application's sources whose build output is in
// the image: TypeScript next to its compiled outDir, Go sources beside a Go
// binary, C and C++ sources and objects beside an ELF program.
func (p *Plan) sourcePaths(a *appContext) map[string]string {
	out := map[string]string{}
	if a.appDir == "" {
		return out
	}
	skip := func(name string) bool {
		return strings.Contains(name, "/node_modules/") || strings.Contains(name, "/.git/")
	}
	// TypeScript: tsconfig.json's outDir holds the compiled output.
	var outDirs []string
	if b, ok := p.content(path.Join(a.appDir, "tsconfig.json")); ok {
		var ts struct {
			CompilerOptions struct {
				OutDir string `json:"outDir"`
			} `json:"compilerOptions"`
		}
		if json.Unmarshal(stripJSONComments(b), &ts) == nil && ts.CompilerOptions.OutDir != "" {
			od := path.Join(a.appDir, ts.CompilerOptions.OutDir)
			if p.hasFileWithSuffix(od, ".js") {
				outDirs = append(outDirs, od)
			}
		}
	}
	inOutDir := func(name string) bool {
		for _, od := range outDirs {
			if layers.Within(name, od) {
				return true
			}
		}
		return false
	}
	compiled := a.program != "" && !isInterpreter(path.Base(a.program))
	p.view.walk(a.appDir, func(name string, n node, ok bool) {
		if !ok || n.typ == tar.TypeDir || skip(name) || inOutDir(name) {
			return
		}
		base := path.Base(name)
		switch {
		case len(outDirs) > 0 && (strings.HasSuffix(base, ".ts") || strings.HasSuffix(base, ".tsx") || strings.HasSuffix(base, ".mts") || strings.HasSuffix(base, ".cts")) && !strings.HasSuffix(base, ".d.ts"):
			out[name] = "TypeScript source, compiled to " + strings.Join(outDirs, ", ")
		case a.goBin && (strings.HasSuffix(base, ".go") || base == "go.mod" || base == "go.sum"):
			out[name] = "Go source of " + a.program
		case compiled && regexp.MustCompile(`\.(c|cc|cpp|cxx|h|hh|hpp|o|a)$`).MatchString(base):
			out[name] = "C/C++ source or object of " + a.program
		}
	})
	if a.goBin {
		// A vendor directory is Go's only when `go mod vendor` wrote it.
		if p.view.exists(path.Join(a.appDir, "vendor", "modules.txt")) {
			out[path.Join(a.appDir, "vendor")] = "Go vendored sources of " + a.program
		}
	}
	return out
}

func (p *Plan) hasFileWithSuffix(dir, suffix string) bool {
	found := false
	p.view.walk(dir, func(name string, n node, ok bool) {
		found = found || ok && n.typ == tar.TypeReg && strings.HasSuffix(name, suffix)
	})
	return found
}

// stripJSONComments removes // and /* */ comments, which tsconfig.json
// allows, outside strings.
func stripJSONComments(b []byte) []byte {
	var out []byte
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr:
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out = append(out, '\n')
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			i += 2
			for i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/') {
				i++
			}
			i++
		default:
			out = append(out, c)
		}
	}
	// Trailing commas are allowed in tsconfig.json too.
	return regexp.MustCompile(`,(\s*[}\]])`).ReplaceAll(out, []byte("$1"))
}
