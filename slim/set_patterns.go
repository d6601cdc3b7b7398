package slim

import (
	"path"
	"strings"
)

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
