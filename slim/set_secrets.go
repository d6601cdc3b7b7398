package slim

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/imgslim/imgslim/slim/dpkg"
	"github.com/imgslim/imgslim/slim/secrets"
)

// Where a secret was found.
const (
	SecretInFile    = "file"    // a file the container sees
	SecretInLayer   = "layer"   // a file a later layer hides: still in the layer's blob
	SecretInHistory = "history" // a history entry's command
	SecretInConfig  = "config"  // the config: an Env value
)

// Secret statuses.
const (
	SecretRemoved   = "removed"   // not in the output
	SecretRemaining = "remaining" // still in the output
)

// Secret is a credential found in the source image. Whatever its status,
// it was published with the source and must be rotated.
type Secret struct {
	// Where is a path, "env NAME" or "history N", for people.
	Where string `json:"where"`
	What  string `json:"what"`
	// Location is one of file, layer, history, config; Path, Layer (the
	// source layer's index), History (the entry's index) and Key (the
	// Env name) say where in it.
	Location string `json:"location"`
	Path     string `json:"path,omitempty"`
	Layer    *int   `json:"layer,omitempty"`
	History  *int   `json:"history,omitempty"`
	Key      string `json:"key,omitempty"`
	// Rule is the detector's rule that matched.
	Rule string `json:"rule"`
	// Line is the 1-based line of the first match in a file, 0 if unknown.
	Line   int    `json:"line,omitempty"`
	Status string `json:"status"`
}

// Secret-looking names and values, for Env and history.
var (
	secretValue = regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{20,}|npm_[A-Za-z0-9]{36}|AIza[0-9A-Za-z_-]{35})\b`)
	npmrcToken  = regexp.MustCompile(`(?m)(_authToken|_auth|_password)\s*=\s*\S`)
	pypiPass    = regexp.MustCompile(`(?m)^\s*password\s*[=:]\s*\S`)
	historyArg  = regexp.MustCompile(`(?i)(password|token|secret)=\S`)
)

// secretsSet removes credential files by name (.env, SSH keys, .netrc,
// cloud and VCS credentials), and the files findSecrets finds holding a
// secret.
type secretsSet struct{}

func (secretsSet) choose(p *Plan) (*selection, error) {
	sel, err := patternSelection(SetSecrets, []string{"**/.env", "**/.env.*", "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*", "**/id_ed25519*",
		"**/.git-credentials", "**/.aws/credentials", "**/.netrc"})
	if err != nil {
		return nil, err
	}
	if err := p.findSecrets(sel.rules, sel); err != nil {
		return nil, err
	}
	return sel, nil
}

// findSecrets notes every secret in the image and, when the secrets set
// is enabled, removes the files that hold them: files the content scan
// flagged (in any layer), credential files by name, and credential files
// that hold a token. Secrets in the config (Env) and history no layer
// rewrite can take back; they are reported as remaining. The content scan
// of a spooled plan runs beside the earlier phases: this waits for it.
func (p *Plan) findSecrets(r *Rules, sel *selection) error {
	if err := p.waitSecrets(); err != nil {
		return err
	}
	remove := sel != nil
	seen := map[string]bool{}
	note := func(s Secret) {
		if !seen[s.Where] {
			seen[s.Where] = true
			p.secrets = append(p.secrets, s)
		}
	}
	choose := func(name, why string) {
		if remove {
			sel.paths[name] = setChoice{set: SetSecrets, why: why}
		}
	}
	file := func(name, rule, what string, line int) {
		layer := p.view.nodes[name].layer
		note(Secret{Where: name, What: what, Location: SecretInFile, Path: name, Layer: &layer, Rule: rule, Line: line})
	}
	packaged := p.packagedSums()
	// A key a Debian package ships (an example, a test vector) was
	// published by Debian, not leaked by the image's authors, as long as
	// the file is still the one dpkg installed: a packaged config the
	// image's authors edited is theirs. Libraries keep test keys under
	// their test and fixture directories.
	ignored := func(name string, f found) bool {
		if sum, ok := packaged[name]; ok && sum == f.md5 {
			return true
		}
		return fixture(name)
	}

	// What the content scan found, in every layer.
	for li, lp := range p.layers {
		for _, name := range sortedKeys(lp.found) {
			fs := lp.found[name].fs
			if ignored(name, lp.found[name]) {
				continue
			}
			what := fs[0].Description
			if len(fs) > 1 {
				what = fmt.Sprintf("%s (and %d more on other lines)", what, len(fs)-1)
			}
			if n, ok := p.view.lookup(name); ok && n.layer == li {
				choose(name, "holds a secret ("+fs[0].Rule+")")
				file(name, fs[0].Rule, what, fs[0].Line)
				continue
			}
			// A later layer deletes or replaces the file, but this
			// layer's blob still holds it. A deleted file's entries
			// can all go; a replaced one stays, reported.
			if !p.view.exists(name) {
				choose(name, "holds a secret ("+fs[0].Rule+"), deleted by a later layer")
			}
			l := li
			note(Secret{Where: fmt.Sprintf("%s (layer %d, hidden by a later layer)", name, li+1), What: what,
				Location: SecretInLayer, Path: name, Layer: &l, Rule: fs[0].Rule, Line: fs[0].Line})
		}
	}

	// Credential files by name, and token-holding configs.
	for name, n := range p.view.nodes {
		if n.typ != tar.TypeReg || seen[name] {
			continue
		}
		base := path.Base(name)
		// Only the credential files are read: the plan holds no
		// content it does not need (file lists can be gigabytes).
		var content []byte
		if base == ".npmrc" || base == ".pypirc" || strings.HasSuffix(name, "/.docker/config.json") {
			content, _ = p.content(name)
		}
		switch {
		case base == ".npmrc" && npmrcToken.Match(content):
			choose(name, "npm token")
			file(name, "npmrc-token", "npm registry token", 0)
		case base == ".pypirc" && pypiPass.Match(content):
			choose(name, "PyPI password")
			file(name, "pypirc-password", "PyPI password", 0)
		case strings.HasSuffix(name, "/.docker/config.json") && bytes.Contains(content, []byte(`"auths"`)) && bytes.Contains(content, []byte(`"auth"`)):
			choose(name, "registry credentials")
			file(name, "docker-config-auth", "Docker registry credentials", 0)
		case r != nil:
			if rm, pat := r.Removes(name); rm {
				file(name, "credential-file-name", "credential file ("+pat+")", 0)
			}
		}
	}

	for _, kv := range p.cfg.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		s := Secret{Where: "env " + k, Location: SecretInConfig, Key: k}
		switch fs := secrets.Scan("", []byte(kv)); {
		case len(fs) > 0:
			s.What, s.Rule = "value: "+fs[0].Description, fs[0].Rule
			note(s)
		case secretValue.MatchString(v):
			s.What, s.Rule = "value looks like a token", "token-value"
			note(s)
		case secrets.SecretName.MatchString(k) && v != "":
			s.What, s.Rule = "name looks like a secret", "secret-name"
			note(s)
		}
	}
	for i, h := range p.cfg.History {
		s := Secret{Where: "history " + strconv.Itoa(i), Location: SecretInHistory, History: &i}
		if fs := secrets.Scan("", []byte(h.CreatedBy)); len(fs) > 0 {
			s.What, s.Rule = "command holds a secret: "+fs[0].Description, fs[0].Rule
			note(s)
		} else if m := secretValue.FindString(h.CreatedBy); m != "" {
			s.What, s.Rule = "command holds a token ("+m[:4]+"…)", "token-value"
			note(s)
		} else if strings.Contains(h.CreatedBy, "--build-arg") || historyArg.MatchString(h.CreatedBy) {
			s.What, s.Rule = "command passes a secret-looking argument", "secret-argument"
			note(s)
		}
	}
	sort.Slice(p.secrets, func(i, j int) bool { return p.secrets[i].Where < p.secrets[j].Where })
	return nil
}

// secretStatus returns the secrets found, each with whether it remains in
// the output as planned.
func (p *Plan) secretStatus() []Secret {
	out := make([]Secret, len(p.secrets))
	for i, s := range p.secrets {
		s.Status = SecretRemaining
		switch s.Location {
		case SecretInFile, SecretInLayer:
			if p.entryDropped(s.Path, s.Layer) {
				s.Status = SecretRemoved
			}
		case SecretInHistory:
			if p.o.scrub {
				s.Status = SecretRemoved
			}
		}
		out[i] = s
	}
	return out
}

// entryDropped reports whether the plan drops every entry named name in
// the layer (in every layer when layer is nil).
func (p *Plan) entryDropped(name string, layer *int) bool {
	found := false
	for li, lp := range p.layers {
		if layer != nil && li != *layer {
			continue
		}
		for i := range lp.entries {
			if e := &lp.entries[i]; e.name == name && e.wh == notWhiteout {
				if !p.d.dropped(li, i) {
					return false
				}
				found = true
			}
		}
	}
	return found
}

// String renders where a secret is, for people.
func (s Secret) String() string { return fmt.Sprintf("%s: %s (%s)", s.Where, s.What, s.Status) }

// packagedSums returns the MD5 dpkg recorded for each file a package
// installed (PKG.md5sums, and the status file's Conffiles for
// configuration files), by the path it has in the image: a key a Debian
// package ships (an example, a test vector) was published by Debian, not
// leaked by the image's authors, when its content still has that sum. The
// sums are read once a plan: the content scan and findSecrets both ask.
func (p *Plan) packagedSums() map[string]string {
	if p.packaged != nil {
		return p.packaged
	}
	out := map[string]string{}
	p.packaged = out
	add := func(name, sum string) { out[p.realPath(name)] = sum }
	for _, name := range p.view.list(dpkg.InfoDir) {
		if !strings.HasSuffix(name, ".md5sums") {
			continue
		}
		rc, ok := p.openContent(name)
		if !ok {
			continue
		}
		err := dpkg.ReadMD5Sums(rc, add)
		rc.Close()
		if err != nil {
			p.warnings = append(p.warnings, fmt.Sprintf("cannot read %s: %v (its files are scanned for secrets)", Quote(name), err))
		}
	}
	if status, ok := p.content("/var/lib/dpkg/status"); ok {
		sums, err := dpkg.ConffileSums(status)
		if err != nil {
			p.warnings = append(p.warnings, fmt.Sprintf("cannot read the conffiles of /var/lib/dpkg/status: %v (they are scanned for secrets)", err))
		}
		for name, sum := range sums {
			add(name, sum)
		}
	}
	return out
}

// fixture reports whether a key lies where libraries keep test keys and
// examples: dependency trees and toolchains ship them by the hundred.
func fixture(name string) bool {
	for _, part := range []string{"/node_modules/", "/pkg/mod/", "/site-packages/", "/dist-packages/", "/testdata/", "/test/", "/tests/", "/fixtures/", "/examples/"} {
		if strings.Contains(name, part) {
			return true
		}
	}
	return strings.HasPrefix(name, "/usr/share/") || strings.HasPrefix(name, "/usr/lib/") || strings.HasPrefix(name, "/usr/local/go/")
}
