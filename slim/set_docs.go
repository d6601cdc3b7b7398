package slim

import "strings"

// docsSet removes documentation: docs, man and info pages, lintian data,
// the locales the image's environment does not use (licences stay), and,
// through the package database purge (set_purge.go), packages that hold
// documentation only.
type docsSet struct{}

func (docsSet) choose(p *Plan) (*selection, error) {
	pats := []string{
		"usr/share/doc", "usr/local/share/doc",
		// Licences stay, as distroless keeps them.
		"!usr/share/doc/*/copyright",
		"usr/share/man", "usr/local/share/man", "usr/share/info",
		"usr/share/lintian", "usr/share/linda",
		"usr/share/locale/*",
	}
	for _, l := range p.app.locales() {
		pats = append(pats, "!usr/share/locale/"+l)
	}
	return patternSelection(SetDocs, append(pats, "!usr/share/locale/locale.alias"))
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
