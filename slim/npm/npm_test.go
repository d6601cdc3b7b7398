package npm

import (
	"slices"
	"strings"
	"testing"
)

// lock3 makes a lockfileVersion 3 file from the body of its "packages" map.
func lock3(packages string) string {
	return `{"name": "app", "lockfileVersion": 3, "requires": true, "packages": {` + packages + `}}`
}

// The flags are those npm writes; what --omit=dev does with each was
// checked against npm 11 (see TestRealNpm) and @npmcli/arborist's
// Node.shouldOmit.
func TestDevOnly(t *testing.T) {
	for _, tc := range []struct {
		name, lock, manifest string
		want                 []string
	}{
		{"flags", lock3(`
			"": {"name": "app", "dependencies": {"express": "^4"}, "devDependencies": {"jest": "^29"}},
			"node_modules/express": {"version": "4.21.2"},
			"node_modules/jest": {"version": "29.7.0", "dev": true},
			"node_modules/braces": {"version": "3.0.3", "devOptional": true},
			"node_modules/chokidar": {"version": "3.6.0", "optional": true},
			"node_modules/react": {"version": "18.3.1", "peer": true},
			"node_modules/@esbuild/linux-x64": {"version": "0.24.0", "dev": true, "optional": true},
			"node_modules/@types/node": {"version": "22.0.0", "dev": true, "peer": true},
			"node_modules/left-over": {"version": "1.0.0", "extraneous": true}`), "",
			[]string{"node_modules/@esbuild/linux-x64", "node_modules/@types/node", "node_modules/jest", "node_modules/left-over"}},
		{"nested", lock3(`
			"": {"name": "app"},
			"node_modules/debug": {"version": "2.6.9"},
			"node_modules/debug/node_modules/ms": {"version": "2.0.0"},
			"node_modules/@babel/core": {"version": "7.29.0", "dev": true},
			"node_modules/@babel/core/node_modules/debug": {"version": "4.4.0", "dev": true},
			"node_modules/@babel/core/node_modules/debug/node_modules/ms": {"version": "2.1.3", "dev": true},
			"node_modules/send": {"version": "0.19.0"},
			"node_modules/send/node_modules/encodeurl": {"version": "1.0.2", "dev": true}`), "",
			[]string{"node_modules/@babel/core", "node_modules/@babel/core/node_modules/debug",
				"node_modules/@babel/core/node_modules/debug/node_modules/ms", "node_modules/send/node_modules/encodeurl"}},
		{"under a removed directory", lock3(`
			"node_modules/dev": {"dev": true},
			"node_modules/dev/node_modules/unflagged": {},
			"node_modules/dev-x": {}`), "",
			[]string{"node_modules/dev", "node_modules/dev/node_modules/unflagged"}},
		{"bundled", lock3(`
			"node_modules/devtool": {"dev": true},
			"node_modules/devtool/node_modules/b": {"inBundle": true, "dev": true},
			"node_modules/prodtool": {},
			"node_modules/prodtool/node_modules/b": {"inBundle": true}`), "",
			[]string{"node_modules/devtool", "node_modules/devtool/node_modules/b"}},
		{"workspaces and links", lock3(`
			"": {"name": "mono", "workspaces": ["packages/*"], "devDependencies": {"tool": "file:tools/tool"}},
			"packages/web": {"name": "web", "devDependencies": {"jest": "^29"}},
			"packages/web/node_modules/jest": {"dev": true},
			"packages/web/node_modules/lodash": {},
			"node_modules/web": {"resolved": "packages/web", "link": true},
			"tools/tool": {"dev": true},
			"tools/tool/node_modules/lib": {"dev": true},
			"node_modules/tool": {"resolved": "tools/tool", "link": true},
			"../outside": {"dev": true},
			"../outside/node_modules/x": {"dev": true},
			"node_modules/out": {"resolved": "../outside", "link": true}`), "",
			// a workspace is a top: its dev node_modules go; a "file:" link
			// target is not: its node_modules stay, its link goes.
			[]string{"node_modules/out", "node_modules/tool", "packages/web/node_modules/jest"}},
		{"workspace link to a dev-flagged target", lock3(`
			"": {"workspaces": ["packages/*"]},
			"packages/a": {},
			"node_modules/a": {"resolved": "packages/a", "link": true, "dev": true}`), "",
			nil}, // a link has its target's flags, not its own
		{"workspaces object and negation", lock3(`
			"": {"workspaces": {"packages": ["packages/**", "!packages/private/*"]}},
			"packages/a/b": {}, "node_modules/b": {"resolved": "packages/a/b", "link": true},
			"packages/a/b/node_modules/x": {"dev": true},
			"packages/private/c": {}, "node_modules/c": {"resolved": "packages/private/c", "link": true},
			"packages/private/c/node_modules/y": {"dev": true}`), "",
			[]string{"packages/a/b/node_modules/x"}},
		{"glob target without a root link is no workspace", lock3(`
			"": {"workspaces": ["packages/*"]},
			"packages/orphan": {},
			"packages/orphan/node_modules/x": {"dev": true}`), "",
			nil},
		{"root lists devDependencies but no flags", lock3(`
			"": {"name": "app", "devDependencies": {"jest": "^29"}},
			"node_modules/jest": {"version": "29.7.0"}`), "",
			nil},
		{"javascript truthiness, exact field names", lock3(`
			"node_modules/one": {"dev": 1},
			"node_modules/str": {"dev": "yes"},
			"node_modules/zero": {"dev": 0},
			"node_modules/empty": {"dev": ""},
			"node_modules/null": {"dev": null},
			"node_modules/false": {"dev": false},
			"node_modules/upper": {"Dev": true}`), "",
			[]string{"node_modules/one", "node_modules/str"}},
		{"only the root", lock3(`"": {"name": "app"}`), "", nil},
		{"v2 reads packages, not dependencies", `{"lockfileVersion": 2, "packages": {
			"": {}, "node_modules/jest": {"dev": true}, "node_modules/express": {}},
			"dependencies": {"jest": {"version": "29.7.0"}, "express": {"version": "4.21.2", "dev": true}}}`, "",
			[]string{"node_modules/jest"}},
		{"v2 without packages", `{"lockfileVersion": 2}`, "", nil},
		{"v1 nested", `{"lockfileVersion": 1, "requires": true, "dependencies": {
			"express": {"version": "4.21.2", "requires": {"debug": "2.6.9"}, "dependencies": {
				"debug": {"version": "2.6.9"}}},
			"jest": {"version": "29.7.0", "dev": true, "dependencies": {
				"semver": {"version": "7.0.0", "dev": true, "dependencies": {"lru": {"version": "1.0.0", "dev": true}}}}},
			"@types/node": {"version": "22.0.0", "dev": true},
			"braces": {"version": "3.0.3", "devOptional": true},
			"fsevents": {"version": "2.3.3", "dev": true, "optional": true},
			"chokidar": {"version": "3.6.0", "optional": true},
			"react": {"version": "18.3.1", "peer": true}}}`, "",
			[]string{"node_modules/@types/node", "node_modules/fsevents", "node_modules/jest",
				"node_modules/jest/node_modules/semver", "node_modules/jest/node_modules/semver/node_modules/lru"}},
		{"v1 links without package.json", v1Links, "", []string{"node_modules/old"}},
		{"v1 links with package.json", v1Links, v1Manifest,
			[]string{"node_modules/localdev", "node_modules/old", "packages/util/node_modules/is-number"}},
		{"v1 dev link required by a prod package", `{"lockfileVersion": 1, "dependencies": {
			"localdev": {"version": "file:localdev"},
			"server": {"version": "1.0.0", "requires": {"localdev": "file:localdev"}}}}`,
			`{"devDependencies": {"localdev": "file:localdev"}, "dependencies": {"server": "1"}}`, nil},
		{"v1 file tarball is no link", `{"lockfileVersion": 1, "dependencies": {
			"pkg": {"version": "file:pkg-1.0.0.tgz", "dev": true, "dependencies": {"x": {"version": "1.0.0", "dev": true}}}}}`, "",
			[]string{"node_modules/pkg", "node_modules/pkg/node_modules/x"}},
		{"v1 without dependencies", `{"lockfileVersion": 1}`, "", nil},
	} {
		var manifest []byte
		if tc.manifest != "" {
			manifest = []byte(tc.manifest)
		}
		got, err := DevOnly([]byte(tc.lock), manifest)
		if err != nil {
			t.Errorf("%s: DevOnly: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: DevOnly got\n\t%q\nwant\n\t%q", tc.name, got, tc.want)
		}
	}
}

// v1Links is a version 1 lockfile as npm 11 writes it with
// --lockfile-version 1 for a workspace (util) and a "file:" dev dependency
// (localdev): links carry no flags, and what is nested under a link lives
// under its target. "old" is a link as npm 6 wrote it, with its flag.
const v1Links = `{"name": "app", "lockfileVersion": 1, "requires": true, "dependencies": {
	"util": {"version": "file:packages/util", "requires": {"is-number": "6.0.0"},
		"dependencies": {"is-number": {"version": "6.0.0", "dev": true}, "ms": {"version": "2.1.3"}}},
	"localdev": {"version": "file:localdev", "requires": {"ms": "2.0.0"},
		"dependencies": {"ms": {"version": "2.0.0", "dev": true}}},
	"old": {"version": "file:../old", "dev": true, "dependencies": {"x": {"version": "1.0.0", "dev": true}}},
	"is-number": {"version": "7.0.0"}}}`

const v1Manifest = `{"name": "app", "workspaces": ["packages/*"],
	"dependencies": {"is-number": "7.0.0"}, "devDependencies": {"localdev": "file:localdev", "old": "file:../old"}}`

func TestDevOnlyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, lock, manifest, want string
	}{
		{"malformed", `{"lockfileVersion": 3, "packages": {`, "", "npm lockfile: unexpected end of JSON input"},
		{"empty", ``, "", "npm lockfile: unexpected end of JSON input"},
		{"not an object", `[1]`, "", "npm lockfile: json: cannot unmarshal array"},
		{"null", `null`, "", "npm lockfile: got null, want an object"},
		{"no lockfileVersion", `{"dependencies": {"a": {"version": "1.0.0"}}}`, "", "npm lockfile: no lockfileVersion"},
		{"future version", `{"lockfileVersion": 4, "packages": {}}`, "", "lockfileVersion 4 is not supported, want 1, 2 or 3"},
		{"string version", `{"lockfileVersion": "3", "packages": {}}`, "", `lockfileVersion "3" is not supported`},
		{"packages not an object", `{"lockfileVersion": 3, "packages": []}`, "", "npm lockfile: packages: json: cannot unmarshal array"},
		{"null entry", lock3(`"node_modules/a": null`), "", `packages["node_modules/a"]: got null`},
		{"link without target", lock3(`"node_modules/a": {"link": true}`), "", `packages["node_modules/a"]: a link without a resolved target`},
		{"missing link target", lock3(`"node_modules/a": {"link": true, "resolved": "packages/a"}`), "", `link target "packages/a" is not in the lockfile`},
		{"escaping location", lock3(`"node_modules/../../etc": {"dev": true}`), "", `package location "node_modules/../../etc" is not a clean relative path`},
		{"bad workspaces", lock3(`"": {"workspaces": {"nohoist": ["x"]}}`), "", "npm lockfile: root workspaces: got"},
		{"v1 bad name", `{"lockfileVersion": 1, "dependencies": {"../../etc": {"version": "1.0.0", "dev": true}}}`, "",
			`npm lockfile: dependencies["../../etc"]: invalid package name`},
		{"v1 nested bad name", `{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "dependencies": {"@x/y/z": {}}}}}`, "",
			`npm lockfile: dependencies["a"].dependencies["@x/y/z"]: invalid package name`},
		{"v1 null entry", `{"lockfileVersion": 1, "dependencies": {"a": null}}`, "", `dependencies["a"]: got null`},
		{"v1 bad package.json", `{"lockfileVersion": 1, "dependencies": {}}`, `{"name": `, "package.json: unexpected end of JSON input"},
	} {
		var manifest []byte
		if tc.manifest != "" {
			manifest = []byte(tc.manifest)
		}
		got, err := DevOnly([]byte(tc.lock), manifest)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: DevOnly = %q, %v; want an error containing %q", tc.name, got, err, tc.want)
		}
	}
}

// A location outside the project is never returned, even flagged.
func TestDevOnlyOutside(t *testing.T) {
	got, err := DevOnly([]byte(lock3(`"../x/node_modules/y": {"dev": true}, "/abs/node_modules/z": {"dev": true}`)), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("DevOnly = %q, %v; want nothing, no error", got, err)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"packages/*", "packages/a", true},
		{"packages/*", "packages/a/b", false},
		{"packages/*", "packages/.hidden", false},
		{"packages/**", "packages/a/b", true},
		{"packages/**", "packages", true},
		{"**/x", "a/b/x", true},
		{"**/x", "a/.b/x", false},
		{"apps/{web,api}", "apps/api", true},
		{"apps/{web,api}", "apps/cli", false},
		{"{apps,libs}/{a,b}", "libs/b", true},
		{"{x}", "{x}", true},
		{"a/[bc]", "a/c", true},
		{"a/[", "a/[", true},
		{"a?", "ab", true},
		{"{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "abababababa", true},
		{"{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", "c", false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestParseWorkspaces(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		dir  string
		want bool
	}{
		{`["packages/*"]`, "packages/a", true},
		{`["./packages/*"]`, "packages/a", true},
		{`["/packages/*/"]`, "packages/a", true},
		{`{"packages": ["packages/*"]}`, "packages/a", true},
		{`["packages/*", "!packages/b"]`, "packages/b", false},
		{`["packages/*", "!packages/b", "packages/b"]`, "packages/b", true}, // a later inclusion cancels
		{`["packages/*", "!!packages/b"]`, "packages/b", true},
		{`[".config/*"]`, ".config/x", true},
		{`["packages/*"]`, "node_modules/packages/a", false},
		{`["**"]`, "a/node_modules/b", false},
		{`["*"]`, "", false},
		{`null`, "packages/a", false},
	} {
		w, err := parseWorkspaces([]byte(tc.raw))
		if err != nil {
			t.Errorf("parseWorkspaces(%s): %v", tc.raw, err)
			continue
		}
		if got := w.match(tc.dir); got != tc.want {
			t.Errorf("workspaces %s: match(%q) = %v, want %v", tc.raw, tc.dir, got, tc.want)
		}
	}
}

// FuzzDevOnly checks that no lockfile makes DevOnly panic or return a path
// that is not a clean relative path inside the project, or unsorted ones.
func FuzzDevOnly(f *testing.F) {
	f.Add(lock3(`"": {"workspaces": ["packages/*"]}, "packages/a": {}, "node_modules/a": {"link": true, "resolved": "packages/a"},
		"packages/a/node_modules/x": {"dev": true}, "node_modules/y": {"dev": true}, "node_modules/y/node_modules/z": {}`), "")
	f.Add(v1Links, v1Manifest)
	f.Add(`{"lockfileVersion": 1, "dependencies": {"a": {"version": "file:../a", "dependencies": {"b": {"dev": true}}}}}`, `{"devDependencies": {"a": ""}}`)
	f.Fuzz(func(t *testing.T, lock, manifest string) {
		got, err := DevOnly([]byte(lock), []byte(manifest))
		if err != nil {
			return
		}
		if !slices.IsSorted(got) {
			t.Errorf("DevOnly = %q, not sorted", got)
		}
		for i, p := range got {
			if p == "" || !isLocal(p) || i > 0 && got[i-1] == p {
				t.Errorf("DevOnly returned %q", p)
			}
		}
	})
}
