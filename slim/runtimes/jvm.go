package runtimes

import (
	"archive/zip"
	"bufio"
	"io"
	"path"
	"strings"
)

// The JVM: java finds its home from its own path (bin/java), reads
// lib/jvm.cfg to choose the VM library it dlopens (lib/server/libjvm.so),
// loads classes from lib/modules (the CDS archive beside libjvm.so maps
// them faster), its native libraries from lib/, its configuration from
// conf/ and lib/security (Debian links both into /etc), the CA store
// through lib/security/cacerts. The JDK's tools, jmods, headers, sources
// and man pages are not the runtime's.

// jdkOnly are what lib/ holds for the compiler and the IDE, not the
// runtime.
var jdkOnly = map[string]bool{"ct.sym": true, "src.zip": true}

func (a *analyzer) jvm(real string, argv []string, dir string) {
	home := path.Dir(path.Dir(real))
	cfg := ""
	for _, c := range []string{path.Join(home, "lib/jvm.cfg"), path.Join(home, "jre/lib/jvm.cfg")} {
		if isFile(a.fsys, c) {
			cfg = c
			break
		}
	}
	if cfg == "" {
		// Java 8's layout: jre/lib/ARCH/jvm.cfg.
		for _, d := range list(a.fsys, path.Join(home, "jre/lib")) {
			if c := path.Join(home, "jre/lib", d, "jvm.cfg"); isFile(a.fsys, c) {
				cfg = c
				break
			}
		}
	}
	if cfg == "" {
		a.unresolvedf("%s: no lib/jvm.cfg in %s, so which VM library it loads is unknown; copy the JVM's home with --add PATH", real, home)
		return
	}
	lib := path.Dir(cfg)
	b, err := readFile(a.fsys, cfg, maxRead)
	if err != nil {
		a.unresolvedf("%s: %v", cfg, err)
		return
	}
	vms := parseJVMCfg(string(b))
	if len(vms) == 0 {
		a.unresolvedf("%s: names no VM", cfg)
		return
	}
	chosen := vms[0]
	for _, w := range argv[1:] {
		for _, vm := range vms {
			if w == "-"+vm {
				chosen = vm
			}
		}
	}
	why := "the JVM (" + home + ")"
	if !a.tree(path.Join(lib, chosen), why+": the VM library jvm.cfg selects, and its CDS archive") {
		a.unresolvedf("%s: the VM %q jvm.cfg selects has no directory %s", cfg, chosen, path.Join(lib, chosen))
	}
	// lib/: the modules image, the native libraries the class library
	// loads by name, jspawnhelper, tzdb.dat, security/, jfr/.
	for _, name := range list(a.fsys, lib) {
		p := path.Join(lib, name)
		switch {
		case jdkOnly[name]:
		case isDir(a.fsys, p):
			vmDir := false
			for _, vm := range vms {
				vmDir = vmDir || vm == name
			}
			if !vmDir {
				a.tree(p, why)
			}
		default:
			a.file(p, why)
		}
	}
	a.tree(path.Join(home, "conf"), why+": its configuration")
	a.file(path.Join(home, "release"), why)
	a.jvmArgs(argv[1:], dir, false)
	if v, ok := a.getenv("JAVA_TOOL_OPTIONS"); ok {
		a.jvmArgs(strings.Fields(v), dir, true)
	}
	if v, ok := a.getenv("JDK_JAVA_OPTIONS"); ok {
		a.jvmArgs(strings.Fields(v), dir, true)
	}
}

// parseJVMCfg returns the VMs jvm.cfg offers, the default first: lines
// "-server KNOWN", "-client IGNORE", "-zero ALIASED_TO -server".
func parseJVMCfg(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || !strings.HasPrefix(f[0], "-") {
			continue
		}
		if f[1] == "KNOWN" {
			out = append(out, strings.TrimPrefix(f[0], "-"))
		}
	}
	return out
}

// jvmArgs keeps what the options name: -jar's jar and its manifest's
// Class-Path, -cp's entries, agents, argument files. options is true for
// the words of JAVA_TOOL_OPTIONS, which hold no main class.
func (a *analyzer) jvmArgs(args []string, dir string, options bool) {
	cp := ""
	hasCP := false
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch {
		case w == "-jar" && i+1 < len(args):
			if jar, ok := a.script(args[i+1], dir, "java -jar"); ok {
				a.jarClassPath(jar)
			}
			return
		case (w == "-cp" || w == "-classpath" || w == "--class-path") && i+1 < len(args):
			cp, hasCP = args[i+1], true
			i++
		case (w == "-p" || w == "--module-path") && i+1 < len(args):
			a.classPath(args[i+1], dir, "java --module-path")
			i++
		case strings.HasPrefix(w, "-javaagent:"):
			jar, _, _ := strings.Cut(strings.TrimPrefix(w, "-javaagent:"), "=")
			if p, ok := a.script(jar, dir, "java -javaagent"); ok {
				a.jarClassPath(p)
			}
		case strings.HasPrefix(w, "@"):
			f := strings.TrimPrefix(w, "@")
			if !strings.HasPrefix(f, "/") {
				f = path.Join(dir, f)
			}
			if b, err := readFile(a.fsys, f, maxRead); err == nil {
				a.need(Need{Path: f, Why: "java's argument file"})
				a.jvmArgs(strings.Fields(string(b)), dir, true)
			}
		case strings.HasPrefix(w, "-"):
			if w == "--add-modules" || w == "--add-opens" || w == "--add-exports" || w == "-m" || w == "--module" {
				i++
			}
		case !options:
			// The main class, or a source file (argPaths keeps it).
			if !hasCP {
				cp = "."
				if v, ok := a.getenv("CLASSPATH"); ok {
					cp = v
				}
			}
			a.classPath(cp, dir, "java's class path")
			return
		}
	}
	if hasCP {
		a.classPath(cp, dir, "java's class path")
	}
}

// classPath keeps the entries of a class path: jars, directories, "dir/*".
func (a *analyzer) classPath(cp, dir, why string) {
	for _, e := range strings.Split(cp, ":") {
		if e == "" {
			continue
		}
		e = strings.TrimSuffix(e, "/*")
		e = strings.TrimSuffix(e, "*")
		if !strings.HasPrefix(e, "/") {
			e = path.Join(dir, e)
		}
		real, fi, ok := stat(a.fsys, e)
		if !ok || systemDirs[real] {
			continue
		}
		if fi != nil && fi.IsDir() {
			a.need(Need{Path: e, Why: why, Tree: true})
			continue
		}
		a.need(Need{Path: e, Why: why})
		if strings.HasSuffix(e, ".jar") {
			a.jarClassPath(e)
		}
	}
}

// jarClassPath keeps what a jar's manifest's Class-Path names, relative
// to the jar's directory.
func (a *analyzer) jarClassPath(jar string) {
	key := "jar\x00" + jar
	if a.seen[key] {
		return
	}
	a.seen[key] = true
	real, fi, ok := stat(a.fsys, jar)
	if !ok || fi == nil || !fi.Mode().IsRegular() {
		return
	}
	f, err := a.fsys.Open(real)
	if err != nil {
		a.unresolvedf("%s: %v", jar, err)
		return
	}
	defer f.Close()
	z, err := zip.NewReader(f, f.Size())
	if err != nil {
		a.unresolvedf("%s: not a jar: %v", jar, err)
		return
	}
	for _, zf := range z.File {
		if !strings.EqualFold(zf.Name, "META-INF/MANIFEST.MF") || zf.UncompressedSize64 > maxRead {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			a.unresolvedf("%s: %s: %v", jar, zf.Name, err)
			return
		}
		entries := manifestClassPath(io.LimitReader(rc, maxRead))
		rc.Close()
		for _, e := range entries {
			e = strings.TrimPrefix(e, "file:")
			if strings.Contains(e, "://") {
				continue
			}
			p := e
			if !strings.HasPrefix(p, "/") {
				p = path.Join(path.Dir(jar), p)
			}
			rp, fi, ok := stat(a.fsys, p)
			if !ok {
				// The JVM skips a Class-Path entry that is not there; so
				// does the source image.
				a.warnings[jar+": its manifest's Class-Path names "+e+", which the image lacks"] = true
				continue
			}
			if systemDirs[rp] {
				continue
			}
			a.need(Need{Path: p, Why: "Class-Path of " + jar, Tree: fi != nil && fi.IsDir()})
			if strings.HasSuffix(p, ".jar") {
				a.jarClassPath(p)
			}
		}
		return
	}
}

// manifestClassPath returns the Class-Path of a manifest: continuation
// lines start with one space.
func manifestClassPath(r io.Reader) []string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRead)
	var attr strings.Builder
	in := false
	var out []string
	flush := func() {
		if in {
			out = append(out, strings.Fields(attr.String())...)
		}
		attr.Reset()
		in = false
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, " ") {
			if in {
				attr.WriteString(line[1:])
			}
			continue
		}
		flush()
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Class-Path") {
			in = true
			attr.WriteString(strings.TrimPrefix(v, " "))
		}
	}
	flush()
	return out
}
