package runtimes

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

// memFS is an image built in the test: files with modes, symlinks, and
// directories implied by what they hold.
type memFS struct {
	files map[string]memFile
}

type memFile struct {
	data []byte
	mode fs.FileMode
	link string
}

func newFS() *memFS { return &memFS{files: map[string]memFile{}} }

func (m *memFS) file(name, data string, mode fs.FileMode) *memFS {
	m.files[name] = memFile{data: []byte(data), mode: mode}
	return m
}

func (m *memFS) symlink(name, target string) *memFS {
	m.files[name] = memFile{link: target, mode: fs.ModeSymlink | 0o777}
	return m
}

type memInfo struct {
	name string
	f    memFile
	dir  bool
}

func (i memInfo) Name() string { return path.Base(i.name) }
func (i memInfo) Size() int64  { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return i.f.mode
}
func (i memInfo) ModTime() time.Time         { return time.Time{} }
func (i memInfo) IsDir() bool                { return i.dir }
func (i memInfo) Sys() any                   { return nil }
func (i memInfo) Type() fs.FileMode          { return i.Mode().Type() }
func (i memInfo) Info() (fs.FileInfo, error) { return i, nil }

func (m *memFS) isDir(name string) bool {
	for k := range m.files {
		if strings.HasPrefix(k, name+"/") || name == "/" {
			return true
		}
	}
	return false
}

func (m *memFS) Lstat(name string) (fs.FileInfo, error) {
	if f, ok := m.files[name]; ok {
		return memInfo{name: name, f: f}, nil
	}
	if m.isDir(name) {
		return memInfo{name: name, dir: true}, nil
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (m *memFS) Readlink(name string) (string, error) {
	if f, ok := m.files[name]; ok && f.link != "" {
		return f.link, nil
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	seen := map[string]bool{}
	var out []fs.DirEntry
	for k := range m.files {
		rest, ok := strings.CutPrefix(k, strings.TrimSuffix(name, "/")+"/")
		if !ok {
			continue
		}
		c, _, _ := strings.Cut(rest, "/")
		if seen[c] {
			continue
		}
		seen[c] = true
		fi, _ := m.Lstat(path.Join(name, c))
		out = append(out, fi.(memInfo))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

func (m *memFS) Open(name string) (File, error) {
	f, ok := m.files[name]
	if !ok || f.link != "" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return memReader{bytes.NewReader(f.data)}, nil
}

const elfStub = "\x7fELF stub"

// base is a Debian-like image: dash as /bin/sh through merged /usr,
// coreutils, socat, env.
func base() *memFS {
	m := newFS().symlink("/bin", "usr/bin").symlink("/usr/bin/sh", "dash")
	for _, b := range []string{"dash", "id", "date", "tr", "wc", "uname", "socat", "env", "xargs", "cat", "nohup"} {
		m.file("/usr/bin/"+b, elfStub, 0o755)
	}
	return m
}

var testEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}

func analyze(t *testing.T, m *memFS, dir string, argv ...string) *Result {
	t.Helper()
	r, err := Analyze(m, Command{Argv: argv, Env: testEnv, Dir: dir})
	if err != nil {
		t.Fatalf("Analyze %q: %v", argv, err)
	}
	return r
}

func needPaths(r *Result, pick func(Need) bool) []string {
	var out []string
	for _, n := range r.Needs {
		if pick(n) {
			out = append(out, n.Path)
		}
	}
	return out
}

func execs(r *Result) []string { return needPaths(r, func(n Need) bool { return n.Exec }) }

func wantAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: got %q, want %s among them", what, got, w)
		}
	}
}

func TestShellService(t *testing.T) {
	m := base().
		file("/app/start.sh", "#!/bin/sh\nset -eu\n. /app/lib/config.sh\nlog() { echo \"$@\" >&2; }\nlog starting\ncat <<EOF\nnot-a-command here\nEOF\nexec socat TCP-LISTEN:\"$PORT\",fork EXEC:/app/handler.sh\n", 0o755).
		file("/app/lib/config.sh", ": \"${PORT:=8080}\"\n", 0o644).
		file("/app/handler.sh", "#!/bin/sh\nread -r m target rest\ncase \"$target\" in\n/health) body=ok ;;\n*) body=$(printf '%s' \"$(id -u) $(date -u +%Y)\" | tr a b) ;;\nesac\necho \"$body\" | wc -c\n", 0o755)
	r := analyze(t, m, "/app", "/app/start.sh")
	if len(r.Unresolved) > 0 || len(r.Warnings) > 0 {
		t.Errorf("got unresolved %q, warnings %q; want none", r.Unresolved, r.Warnings)
	}
	wantAll(t, "programs", execs(r), []string{"/app/start.sh", "/bin/sh", "/usr/bin/socat", "/app/handler.sh", "/usr/bin/id", "/usr/bin/date", "/usr/bin/tr", "/usr/bin/wc", "/usr/bin/cat"})
	wantAll(t, "files", needPaths(r, func(n Need) bool { return !n.Exec }), []string{"/app/lib/config.sh"})
	for _, e := range execs(r) {
		if strings.Contains(e, "not-a-command") || strings.HasSuffix(e, "/log") || strings.HasSuffix(e, "/health") {
			t.Errorf("programs: got %s, want no here-document word, function or case pattern", e)
		}
	}
}

func TestShellUnresolved(t *testing.T) {
	for _, c := range []struct {
		name, script string
		env          []string
		want         string // in the one unresolved line; "" for none
	}{
		{"$CMD", "#!/bin/sh\nexec $CMD --flag\n", nil, "$CMD"},
		{"$CMD in a substitution, named by its line", "#!/bin/sh\necho start\nout=$(\"$CMD\" -v)\n", nil, "line 3 runs $CMD"},
		{"eval", "#!/bin/sh\neval \"$1\"\n", nil, "evals"},
		{"sourced at run time", "#!/bin/sh\n. \"$CONF\"\n", nil, "sources"},
		{"$CMD set in the script", "#!/bin/sh\nCMD=date\n$CMD\n", nil, ""},
		{"$CMD from the image's env", "#!/bin/sh\n$CMD\n", []string{"CMD=/usr/bin/id"}, ""},
		{"exec \"$@\" with the entrypoint's arguments", "#!/bin/sh\nexec \"$@\"\n", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := base().file("/app/run.sh", c.script, 0o755)
			r, err := Analyze(m, Command{Argv: []string{"/app/run.sh", "wc", "-l"}, Env: append(testEnv, c.env...), Dir: "/app"})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.want == "" && len(r.Unresolved) > 0:
				t.Errorf("got unresolved %q, want none", r.Unresolved)
			case c.want != "" && (len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], c.want) || !strings.Contains(r.Unresolved[0], "--add")):
				t.Errorf("got unresolved %q, want one line naming %s with a hint", r.Unresolved, c.want)
			}
		})
	}
}

func TestWrappersAndShellForms(t *testing.T) {
	m := base().file("/usr/local/bin/server", elfStub, 0o755).file("/app/job.sh", "#!/bin/sh\nxargs -n 1 tr a b < /app/list\n", 0o755).file("/app/list", "x\n", 0o644)
	r := analyze(t, m, "/app", "/bin/sh", "-c", "env -i FOO=1 server --config /app/list && nohup /app/job.sh")
	wantAll(t, "programs", execs(r), []string{"/bin/sh", "/usr/bin/env", "/usr/local/bin/server", "/app/job.sh", "/usr/bin/xargs", "/usr/bin/tr"})
	wantAll(t, "files", needPaths(r, func(n Need) bool { return !n.Exec }), []string{"/app/list"})
}

func TestUnknownInterpreterAndMissingScript(t *testing.T) {
	m := base().file("/usr/bin/mawk", elfStub, 0o755).file("/app/report.awk", "#!/usr/bin/mawk -f\n{ print }\n", 0o755).
		file("/usr/bin/perl", elfStub, 0o755).file("/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm", "    privlibexp => '/usr/share/perl/5.36',\n", 0o644)
	r := analyze(t, m, "/app", "/app/report.awk")
	if len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], "/usr/bin/mawk") {
		t.Errorf("unknown interpreter: got unresolved %q, want one line naming /usr/bin/mawk", r.Unresolved)
	}
	r, _ = Analyze(m, Command{Argv: []string{"/app/report.awk"}, Env: testEnv, Dir: "/app", Covered: func(n string) bool { return strings.HasPrefix(n, "/app/") }})
	if len(r.Unresolved) != 0 {
		t.Errorf("unknown interpreter under --add: got unresolved %q, want none", r.Unresolved)
	}
	r = analyze(t, m, "/app", "perl", "/app/missing.pl")
	if len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], "/app/missing.pl") {
		t.Errorf("missing script: got unresolved %q, want one line naming /app/missing.pl", r.Unresolved)
	}
}

func jar(t *testing.T, manifest string) string {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(manifest))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestJVM(t *testing.T) {
	home := "/usr/lib/jvm/java-17-openjdk-amd64"
	m := base().symlink("/usr/bin/java", "/etc/alternatives/java").symlink("/etc/alternatives/java", home+"/bin/java").
		file(home+"/bin/java", elfStub, 0o755).file(home+"/bin/javac", elfStub, 0o755).
		file(home+"/lib/jvm.cfg", "# comment\n-server KNOWN\n-client IGNORE\n", 0o644).
		file(home+"/lib/server/libjvm.so", elfStub, 0o644).file(home+"/lib/server/classes.jsa", "cds", 0o644).
		file(home+"/lib/libjava.so", elfStub, 0o644).file(home+"/lib/modules", "jimage", 0o644).
		file(home+"/lib/ct.sym", "javac's", 0o644).file(home+"/lib/src.zip", "sources", 0o644).
		symlink(home+"/lib/security/cacerts", "/etc/ssl/certs/java/cacerts").symlink(home+"/conf", "/etc/java-17-openjdk").
		file("/etc/java-17-openjdk/security/java.security", "x", 0o644).
		file(home+"/jmods/java.base.jmod", "jmod", 0o644).
		file("/srv/app.jar", jar(t, "Manifest-Version: 1.0\r\nMain-Class: a.Main\r\nClass-Path: lib/one.jar lib/t\r\n wo.jar missing.jar\r\n\r\n"), 0o644).
		file("/srv/lib/one.jar", jar(t, "Class-Path: ../extra/\n"), 0o644).file("/srv/lib/two.jar", jar(t, "Manifest-Version: 1.0\n"), 0o644).file("/srv/extra/x.class", "x", 0o644)
	r := analyze(t, m, "/", "java", "-Xmx64m", "-jar", "/srv/app.jar")
	if len(r.Unresolved) > 0 {
		t.Errorf("unresolved %q, want none", r.Unresolved)
	}
	all := needPaths(r, func(Need) bool { return true })
	trees := needPaths(r, func(n Need) bool { return n.Tree })
	wantAll(t, "needs", all, []string{home + "/lib/jvm.cfg", home + "/lib/libjava.so", home + "/lib/modules", "/srv/app.jar", "/srv/lib/one.jar", "/srv/lib/two.jar"})
	wantAll(t, "trees", trees, []string{home + "/lib/server", home + "/lib/security", home + "/conf", "/srv/extra"})
	for _, bad := range []string{home + "/lib/ct.sym", home + "/lib/src.zip", home + "/jmods", home + "/bin/javac"} {
		if slices.Contains(all, bad) {
			t.Errorf("needs %s, a JDK-only part", bad)
		}
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "missing.jar") {
		t.Errorf("warnings %q, want one naming missing.jar", r.Warnings)
	}
	// No jvm.cfg: the JVM's layout is unknown.
	delete(m.files, home+"/lib/jvm.cfg")
	if r := analyze(t, m, "/", "java", "-jar", "/srv/app.jar"); len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], "jvm.cfg") {
		t.Errorf("without jvm.cfg: unresolved %q, want one line naming jvm.cfg", r.Unresolved)
	}
}

const rbconfig = `module RbConfig
  TOPDIR = File.dirname(__FILE__).chomp!("/lib/x86_64-linux-gnu/ruby/3.1.0")
  DESTDIR = '' unless defined? DESTDIR
  CONFIG = {}
  CONFIG["MAJOR"] = "3"
  CONFIG["MINOR"] = "1"
  CONFIG["prefix"] = (TOPDIR || DESTDIR + "/usr")
  CONFIG["ruby_version"] = "3.1.0"
  CONFIG["arch"] = "x86_64-linux-gnu"
  CONFIG["libdir"] = "$(exec_prefix)/lib"
  CONFIG["exec_prefix"] = "$(prefix)"
  CONFIG["rubylibprefix"] = "$(libdir)/$(RUBY_BASE_NAME)"
  CONFIG["RUBY_BASE_NAME"] = "ruby"
  CONFIG["rubylibdir"] = "$(rubylibprefix)/$(ruby_version)"
  CONFIG["archdir"] = "/usr/lib/x86_64-linux-gnu/ruby/$(ruby_version)"
  CONFIG["vendorlibdir"] = "$(prefix)/lib/ruby/vendor_ruby"
end
`

const gemfileLock = `GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.13.10)
      racc (~> 1.4)
    racc (1.6.2)
    rack-test (2.0.2)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  nokogiri
  rack-test

BUNDLED WITH
   2.3.15
`

func TestRubyBundleExec(t *testing.T) {
	integ := "/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0"
	all := "/usr/share/rubygems-integration/all"
	m := base().symlink("/usr/bin/ruby", "ruby3.1").file("/usr/bin/ruby3.1", elfStub, 0o755).
		file("/usr/bin/bundle", "#!/usr/bin/ruby3.1\nload Gem.bin_path('bundler', 'bundle')\n", 0o755).
		file("/usr/lib/x86_64-linux-gnu/ruby/3.1.0/rbconfig.rb", rbconfig, 0o644).
		file("/usr/lib/ruby/3.1.0/rubygems.rb", "", 0o644).
		file("/usr/lib/ruby/vendor_ruby/rubygems/defaults/operating_system.rb", "arch = RbConfig::CONFIG['arch']\napi_version = RbConfig::CONFIG['ruby_version']\ndirs = ['/usr/share/rubygems-integration/all', \"/usr/lib/#{arch}/rubygems-integration/#{api_version}\"]\n", 0o644).
		file("/usr/lib/ruby/vendor_ruby/bundler.rb", "", 0o644).
		file(integ+"/specifications/nokogiri-1.13.10.gemspec", "", 0o644).
		file(integ+"/gems/nokogiri-1.13.10/lib/nokogiri.rb", "", 0o644).
		file(integ+"/gems/nokogiri-1.13.10/ext/nokogiri/xml.c", "", 0o644).
		file(integ+"/extensions/x86_64-linux/3.1.0/nokogiri-1.13.10/nokogiri/nokogiri.so", elfStub, 0o644).
		file(all+"/specifications/racc-1.6.2.gemspec", "", 0o644).
		file(all+"/specifications/rack-test-2.0.2.gemspec", "", 0o644).
		file(all+"/specifications/bundler-2.3.15.gemspec", "", 0o644).
		file(all+"/specifications/sinatra-2.1.0.gemspec", "", 0o644).
		file(all+"/gems/sinatra-2.1.0/lib/sinatra.rb", "", 0o644).
		file("/app/Gemfile", "gem 'nokogiri'\n", 0o644).file("/app/Gemfile.lock", gemfileLock, 0o644).file("/app/app.rb", "", 0o644)
	r := analyze(t, m, "/app", "bundle", "exec", "ruby", "app.rb")
	if len(r.Unresolved) > 0 || len(r.Warnings) > 0 {
		t.Errorf("got unresolved %q, warnings %q; want none", r.Unresolved, r.Warnings)
	}
	got := needPaths(r, func(Need) bool { return true })
	wantAll(t, "needs", got, []string{"/usr/bin/bundle", "/usr/bin/ruby3.1", "/usr/lib/ruby/3.1.0", "/usr/lib/x86_64-linux-gnu/ruby/3.1.0",
		"/usr/lib/ruby/vendor_ruby", "/app/Gemfile", "/app/Gemfile.lock", "/app/app.rb", integ + "/gems/nokogiri-1.13.10",
		integ + "/extensions/x86_64-linux/3.1.0/nokogiri-1.13.10", all + "/specifications/rack-test-2.0.2.gemspec"})
	if slices.Contains(got, all+"/gems/sinatra-2.1.0") {
		t.Errorf("needs sinatra, which the lockfile does not list")
	}
	for _, n := range r.Needs {
		if n.Path == integ+"/gems/nokogiri-1.13.10" && !slices.Contains(n.Except, "ext") {
			t.Errorf("nokogiri's tree keeps ext/ (except %q)", n.Except)
		}
	}
	// Without a lockfile bundler's gems are unknown.
	delete(m.files, "/app/Gemfile.lock")
	if r := analyze(t, m, "/app", "bundle", "exec", "ruby", "app.rb"); len(r.Unresolved) != 1 || !strings.Contains(r.Unresolved[0], "lockfile") {
		t.Errorf("without Gemfile.lock: unresolved %q, want one line about the lockfile", r.Unresolved)
	}
}

func TestParseShellHostile(t *testing.T) {
	// Unterminated quotes, substitutions and here-documents end the text;
	// nothing loops or panics.
	for _, s := range []string{"'", "\"", "$(", "`", "<<", "cat <<EOF\n", "${", "$((1+", "a\\", "case x in\n", "f() {", ")))", "((((", "\"$(\"'`"} {
		parseShell(s)
		parseShell(strings.Repeat(s, 100))
	}
}

func FuzzParseShell(f *testing.F) {
	f.Add("#!/bin/sh\n. ./x\nexec socat EXEC:/a,pty \"$X\" <<'E'\nq\nE\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range parseShell(s) {
			for _, w := range c.words {
				if len(w.text) > len(s) {
					t.Fatalf("word %q longer than the text %q", w.text, s)
				}
			}
		}
	})
}

func TestScriptingRuntimes(t *testing.T) {
	m := base().
		symlink("/usr/bin/python3", "python3.11").file("/usr/bin/python3.11", elfStub, 0o755).
		file("/usr/lib/python3.11/os.py", "", 0o644).file("/usr/lib/python3.11/test/test_os.py", "", 0o644).
		file("/usr/lib/python3/dist-packages/flask/__init__.py", "from werkzeug import serving\nfrom . import json as _json\n", 0o644).
		file("/usr/lib/python3/dist-packages/flask/json.py", "", 0o644).
		file("/usr/lib/python3/dist-packages/werkzeug/__init__.py", "", 0o644).
		file("/usr/lib/python3/dist-packages/werkzeug/serving.py", "try:\n    import ssl\nexcept ImportError:\n    pass\n", 0o644).
		file("/usr/lib/python3/dist-packages/Flask-2.2.2.egg-info/PKG-INFO", "", 0o644).
		file("/usr/lib/python3/dist-packages/unused/__init__.py", "", 0o644).
		file("/usr/lib/python3.11/ssl.py", "import _ssl\nfrom socket import socket\n", 0o644).
		file("/usr/lib/python3.11/socket.py", "", 0o644).
		file("/usr/lib/python3.11/__pycache__/socket.cpython-311.pyc", "", 0o644).
		file("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", elfStub, 0o644).
		file("/usr/lib/python3.11/json/__init__.py", "", 0o644).
		file("/usr/lib/python3.11/sqlite3/__init__.py", "", 0o644).
		file("/usr/lib/python3.11/encodings/__init__.py", "", 0o644).
		file("/usr/lib/python3.11/encodings/utf_8.py", "", 0o644).
		file("/usr/bin/perl", elfStub, 0o755).
		file("/usr/lib/x86_64-linux-gnu/perl-base/Config.pm", "    archlibexp => '/usr/lib/x86_64-linux-gnu/perl/5.36',\n    privlibexp => '/usr/share/perl/5.36',\n", 0o644).
		file("/usr/lib/x86_64-linux-gnu/perl-base/Config_heavy.pl", "vendorlibexp='/usr/share/perl5'\n", 0o644).
		file("/usr/lib/x86_64-linux-gnu/perl/5.36/POSIX.pm", "", 0o644).file("/usr/share/perl/5.36/strict.pm", "", 0o644).
		file("/usr/share/perl5/JSON.pm", "", 0o644).
		symlink("/usr/bin/php", "php8.2").file("/usr/bin/php8.2", elfStub, 0o755).
		file("/usr/lib/php/20220829/pdo.so", elfStub, 0o644).file("/etc/php/8.2/cli/php.ini", "", 0o644).
		file("/usr/bin/node", elfStub, 0o755).file("/usr/share/nodejs/express/index.js", "", 0o644).
		file("/app/app.py", "import os, json\nfrom flask import (\n    Flask,\n)\nimport greetings\n", 0o644).file("/app/greetings.py", "", 0o644).file("/app/server.pl", "", 0o644).file("/app/public/index.php", "", 0o644).
		file("/app/dist/server.js", "", 0o644)
	for _, c := range []struct {
		argv  []string
		want  []string // needs
		trees []string
	}{
		{[]string{"python3", "-u", "app.py"}, []string{"/app/app.py", "/usr/lib/python3.11/os.py", "/usr/lib/python3.11/ssl.py", "/usr/lib/python3.11/socket.py",
			"/usr/lib/python3.11/__pycache__/socket.cpython-311.pyc", "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", "/usr/lib/python3.11/lib-dynload",
			"/usr/lib/python3.11/json/__init__.py", "/usr/lib/python3.11/encodings/__init__.py", "/usr/lib/python3/dist-packages/flask/__init__.py",
			"/usr/lib/python3/dist-packages/flask/json.py", "/usr/lib/python3/dist-packages/werkzeug/__init__.py", "/usr/lib/python3/dist-packages/werkzeug/serving.py"},
			[]string{"/usr/lib/python3/dist-packages/Flask-2.2.2.egg-info"}},
		{[]string{"perl", "-w", "/app/server.pl"}, []string{"/app/server.pl"}, []string{"/usr/lib/x86_64-linux-gnu/perl-base", "/usr/lib/x86_64-linux-gnu/perl/5.36", "/usr/share/perl/5.36", "/usr/share/perl5"}},
		{[]string{"php", "-S", "127.0.0.1:80", "-t", "public", "public/index.php"}, []string{"/app/public/index.php"}, []string{"/usr/lib/php", "/etc/php", "/app/public"}},
		{[]string{"node", "dist/server"}, []string{"/app/dist/server.js"}, []string{"/usr/share/nodejs"}},
	} {
		t.Run(c.argv[0], func(t *testing.T) {
			r := analyze(t, m, "/app", c.argv...)
			if len(r.Unresolved) > 0 {
				t.Errorf("unresolved %q, want none", r.Unresolved)
			}
			wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), c.want)
			wantAll(t, "trees", needPaths(r, func(n Need) bool { return n.Tree }), c.trees)
		})
	}
	// What nothing imports stays out: the standard library's test suite
	// and unused modules, packages nobody imports. (encodings.utf_8 is
	// imported: the interpreter looks the streams' codec up as it starts.)
	r := analyze(t, m, "/app", "python3", "app.py")
	got := needPaths(r, func(Need) bool { return true })
	for _, bad := range []string{"/usr/lib/python3.11/test", "/usr/lib/python3.11/sqlite3", "/usr/lib/python3/dist-packages/unused", "/usr/lib/python3/dist-packages",
		"/usr/lib/python3.11/sqlite3/__init__.py", "/usr/lib/python3/dist-packages/unused/__init__.py"} {
		if slices.Contains(got, bad) {
			t.Errorf("needs %s, which nothing imports", bad)
		}
	}
	wantAll(t, "needs", got, []string{"/app/greetings.py"})
}

func TestJVMTemurinLayout(t *testing.T) {
	home := "/opt/java/openjdk"
	m := base().file(home+"/bin/java", elfStub, 0o755).file(home+"/bin/jshell", elfStub, 0o755).
		file(home+"/lib/jvm.cfg", "-server KNOWN\n", 0o644).file(home+"/lib/server/libjvm.so", elfStub, 0o644).
		file(home+"/lib/modules", "jimage", 0o644).file(home+"/conf/security/java.security", "x", 0o644).
		file(home+"/release", "JAVA_VERSION=\"21\"\n", 0o644).
		file("/app/lib/a.jar", jar(t, "Manifest-Version: 1.0\n"), 0o644).file("/app/classes/com/Main.class", "x", 0o644)
	r, err := Analyze(m, Command{Argv: []string{"java", "-XX:+UseSerialGC", "-cp", "/app/lib/*:/app/classes", "com.Main"},
		Env: []string{"PATH=" + home + "/bin:/usr/bin", "JAVA_HOME=" + home}, Dir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unresolved) > 0 {
		t.Errorf("unresolved %q, want none", r.Unresolved)
	}
	wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), []string{home + "/bin/java", home + "/lib/jvm.cfg", home + "/lib/modules", home + "/release"})
	wantAll(t, "trees", needPaths(r, func(n Need) bool { return n.Tree }), []string{home + "/lib/server", home + "/conf", "/app/lib", "/app/classes"})
	if got := needPaths(r, func(Need) bool { return true }); slices.Contains(got, home+"/bin/jshell") {
		t.Errorf("needs jshell, a JDK tool")
	}
}

func TestPythonVirtualEnvironment(t *testing.T) {
	m := base().file("/usr/bin/python3.11", elfStub, 0o755).file("/usr/lib/python3.11/os.py", "", 0o644).
		symlink("/opt/venv/bin/python", "/usr/bin/python3.11").file("/opt/venv/pyvenv.cfg", "home = /usr/bin\n", 0o644).
		file("/opt/venv/lib/python3.11/site-packages/gunicorn/__init__.py", "", 0o644).
		file("/opt/venv/lib/python3.11/site-packages/gunicorn/app/__init__.py", "", 0o644).
		file("/opt/venv/lib/python3.11/site-packages/gunicorn/app/wsgiapp.py", "from gunicorn.app.base import Application\n", 0o644).
		file("/opt/venv/lib/python3.11/site-packages/gunicorn/app/base.py", "", 0o644).
		file("/opt/venv/lib/python3.11/site-packages/flask/__init__.py", "", 0o644).
		file("/opt/venv/bin/gunicorn", "#!/opt/venv/bin/python\nfrom gunicorn.app.wsgiapp import run\nrun()\n", 0o755).
		file("/srv/app.py", "from flask import Flask\n", 0o644)
	r, err := Analyze(m, Command{Argv: []string{"gunicorn", "app:app"}, Env: []string{"PATH=/opt/venv/bin:/usr/bin"}, Dir: "/srv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unresolved) > 0 {
		t.Errorf("unresolved %q, want none", r.Unresolved)
	}
	wantAll(t, "needs", needPaths(r, func(Need) bool { return true }), []string{"/opt/venv/bin/gunicorn", "/opt/venv/pyvenv.cfg",
		"/opt/venv/lib/python3.11/site-packages/gunicorn/__init__.py", "/opt/venv/lib/python3.11/site-packages/gunicorn/app/wsgiapp.py",
		"/opt/venv/lib/python3.11/site-packages/gunicorn/app/base.py", "/opt/venv/lib/python3.11/site-packages/flask/__init__.py"})
}
