package slim

import (
	"archive/tar"
	"encoding/json"
	"path"
	"regexp"
	"strings"

	"github.com/imgslim/imgslim/layers"
)

// sourcesSet removes the application's sources whose build output is in
// the image (see sourcePaths).
type sourcesSet struct{}

func (sourcesSet) choose(p *Plan) (*selection, error) {
	sel := newSelection(SetSources)
	for name, why := range p.sourcePaths(p.app) {
		sel.paths[name] = setChoice{set: SetSources, why: why}
	}
	return sel, nil
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
