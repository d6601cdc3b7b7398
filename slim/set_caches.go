package slim

import (
	"path"
	"strings"
)

// cachesSet removes package managers' and build tools' caches: npm, yarn,
// pip, pnpm, bun, the Go build and module caches (beside a Go program),
// apt and apk caches and lists, /tmp's contents.
type cachesSet struct{}

func (cachesSet) choose(p *Plan) (*selection, error) {
	a := p.app
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
	return patternSelection(SetCaches, pats)
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
