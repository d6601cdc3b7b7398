package slim

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgslim/imgslim/layers"
)

// DebugLabel marks a debug twin; its value is DebugVariant.
const (
	DebugLabel   = "dev.imgslim.variant"
	DebugVariant = "debug"
)

// debugTools are the programs a debug twin brings when the source image
// has them: a shell, and what one types in it to look around a broken
// container. busybox stands for all of them in images that have it.
var debugTools = []string{
	"sh", "bash", "busybox",
	"ls", "cat", "cp", "mv", "rm", "mkdir", "rmdir", "ln", "chmod", "chown", "touch", "stat", "readlink", "realpath",
	"basename", "dirname", "pwd", "echo", "printf", "env", "id", "whoami", "hostname", "uname", "date", "sleep",
	"head", "tail", "wc", "sort", "uniq", "cut", "tr", "tee", "grep", "sed", "awk", "find", "xargs",
	"du", "df", "ps", "kill", "less", "more", "vi", "tar", "gzip", "which", "test", "true", "false",
}

// DebugReport says what a debug twin adds.
type DebugReport struct {
	// Target is where the twin was written (set by the command).
	Target string `json:"target,omitempty"`
	// Tools are the programs the twin adds, as the source's PATH finds
	// them; those the slim image has already are not listed.
	Tools []string `json:"tools"`
	// Files are the paths of the added layer.
	Files []ScratchEntry `json:"files"`
	// Layer is the added layer's size, compressed, and Digest the twin's.
	Layer  int64  `json:"layerBytes"`
	Digest string `json:"digest"`
	// Warnings name the tools left out and why.
	Warnings []string `json:"warnings,omitempty"`
}

// DebugTwin returns slimmed, the output of Image or Scratch for src, with
// one more layer: a shell and basic tools (debugTools) taken from src,
// with their ELF closures and the symlinks on their way, less what
// slimmed has already. slimmed's layers stay as they are, byte for byte,
// so pulling both costs one layer; the user, entrypoint and environment are
// slimmed's, and the label DebugLabel=DebugVariant marks the twin. `docker
// run -it --entrypoint sh TWIN` opens a shell in it. A source without
// /bin/sh, or whose shell needs what it lacks, gets no twin.
func DebugTwin(src, slimmed v1.Image, opts ...Option) (v1.Image, *DebugReport, error) {
	// Only the source's files are read: no set, no user change.
	p, err := NewPlan(src, append(opts[:len(opts):len(opts)], WithSets(), withSpool(), WithUser("root"))...)
	if err != nil {
		return nil, nil, err
	}
	defer p.removeSpools()
	has, err := imagePaths(p.o.ctx, slimmed)
	if err != nil {
		return nil, nil, err
	}
	rep := &DebugReport{}
	files := map[string]string{} // path in src -> why
	add := func(name, why string) {
		if _, ok := files[name]; !ok {
			files[name] = why
		}
	}
	dirs := []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}
	for _, tool := range debugTools {
		var program string
		if tool == "sh" {
			program = p.lookPath("/bin/sh", nil, "/")
		} else {
			program = p.lookPath(tool, dirs, "/")
		}
		if program == "" {
			if tool == "sh" {
				return nil, nil, errors.New("debug twin: the source image has no /bin/sh")
			}
			continue
		}
		chain := p.linkChain(tool, dirs)
		if tool == "sh" {
			chain = []string{"/bin/sh"}
		}
		need := map[string]string{program: "debug tool " + tool}
		for _, c := range chain {
			for _, l := range p.linksOnTheWay(c) {
				need[l] = "debug tool " + tool
			}
		}
		if res, err := p.closure(program); err == nil {
			if len(res.Missing) > 0 {
				if tool == "sh" {
					return nil, nil, fmt.Errorf("debug twin: the source's /bin/sh needs what the image lacks: %s", strings.Join(res.Missing, "; "))
				}
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("debug tool %s left out: it needs what the source lacks: %s", tool, strings.Join(res.Missing, "; ")))
				continue
			}
			for _, n := range res.Files {
				for _, l := range append(p.linksOnTheWay(n.Path), n.Path) {
					if _, ok := need[l]; !ok {
						need[l] = n.Why
					}
				}
			}
		}
		added := false
		for name, why := range need {
			if !has[name] {
				add(name, why)
				added = true
			}
		}
		if added {
			rep.Tools = append(rep.Tools, tool)
		}
	}
	// Parent directories slimmed lacks, as the source has them.
	for name := range files {
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if !has[d] {
				add(d, "parent directory")
			}
		}
	}
	l, err := p.writeDebugLayer(slimmed, files, rep)
	if err != nil {
		return nil, nil, err
	}
	twin, err := mutate.Append(slimmed, mutate.Addendum{
		Layer: l,
		History: v1.History{
			Created:   p.cfg.Created,
			CreatedBy: "imgslim --debug-target: " + strings.Join(rep.Tools, " "),
			Comment:   "imgslim debug twin",
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("debug twin: %w", err)
	}
	cf, err := twin.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("debug twin: %w", err)
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels[DebugLabel] = DebugVariant
	if twin, err = mutate.ConfigFile(twin, cf); err != nil {
		return nil, nil, fmt.Errorf("debug twin: %w", err)
	}
	if rep.Layer, err = l.Size(); err != nil {
		return nil, nil, err
	}
	d, err := twin.Digest()
	if err != nil {
		return nil, nil, err
	}
	rep.Digest = d.String()
	sort.Strings(rep.Tools)
	return twin, rep, nil
}

// writeDebugLayer writes files (paths of the source) into one layer of the
// kind slimmed's manifest takes.
func (p *Plan) writeDebugLayer(slimmed v1.Image, files map[string]string, rep *DebugReport) (v1.Layer, error) {
	mt, err := slimmed.MediaType()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	var regular []string
	for name := range files {
		names = append(names, name)
		if n, ok := p.view.lookup(name); ok && (n.typ == tar.TypeReg || n.typ == tar.TypeLink) {
			regular = append(regular, name)
		}
	}
	sort.Strings(names)
	contents, err := p.fetch(regular)
	if err != nil {
		return nil, err
	}
	f := layers.Format{Compress: p.o.compress, Level: p.o.level, OCI: mt == types.OCIManifestSchema1}
	l, _, err := layers.Write(p.o.ctx, p.o.workDir, f, func(tw *tar.Writer) error {
		for _, name := range names {
			h := &tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: 0o755, Typeflag: tar.TypeDir, ModTime: p.cfg.Created.Time, Format: tar.FormatPAX}
			if src, ok := p.headers[name]; ok {
				h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime = src.Uid, src.Gid, src.Uname, src.Gname, src.ModTime
			}
			n, ok := p.view.lookup(name)
			switch {
			case !ok:
			case n.typ == tar.TypeLink:
				// A hardlink's target may not come along: the content does.
				t, _ := p.view.lookup(n.link)
				h.Typeflag, h.Mode = tar.TypeReg, t.mode
			default:
				h.Typeflag, h.Mode = n.typ, n.mode
				if n.typ == tar.TypeSymlink {
					h.Linkname = n.link
				}
			}
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
			}
			var body *section
			if h.Typeflag == tar.TypeReg {
				b, ok := contents[name]
				if !ok {
					return fmt.Errorf("reading %s: not found in its layer", name)
				}
				if body, err = b.open(); err != nil {
					return err
				}
				h.Size = b.size
			}
			if err := tw.WriteHeader(h); err != nil {
				if body != nil {
					body.Close()
				}
				return fmt.Errorf("writing %s: %w", name, err)
			}
			if body != nil {
				_, err := io.Copy(tw, body)
				body.Close()
				if err != nil {
					return fmt.Errorf("copying %s: %w", name, err)
				}
			}
			rep.Files = append(rep.Files, ScratchEntry{Path: name, Size: h.Size, Why: files[name]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("writing the debug layer: %w", err)
	}
	return l, nil
}

// imagePaths returns every path img's file system holds, its layers
// applied in order with their whiteouts.
func imagePaths(ctx context.Context, img v1.Image) (map[string]bool, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{"/": true}
	for i, l := range ls {
		var add []string
		var del []struct {
			target string
			opaque bool
		}
		if _, err := layers.Scan(ctx, l, func(h *tar.Header, _ io.Reader) error {
			if target, opaque, ok := layers.Whiteout(h); ok {
				del = append(del, struct {
					target string
					opaque bool
				}{target, opaque})
				return nil
			}
			add = append(add, layers.Clean(h.Name))
			return nil
		}); err != nil {
			return nil, fmt.Errorf("reading layer %d of the slim image: %w", i+1, err)
		}
		// A layer's whiteouts hide what the layers below hold.
		for _, d := range del {
			for name := range has {
				if layers.Within(name, d.target) && (!d.opaque || name != d.target) {
					delete(has, name)
				}
			}
		}
		for _, name := range add {
			has[name] = true
		}
	}
	return has, nil
}

// linksOnTheWay returns the symlinks exec or the loader goes through to
// reach name in the image, name itself included when it is one: "/bin"
// and "/usr/bin/sh" for "/bin/sh" on a merged-/usr Debian, where sh is a
// link to dash.
func (p *Plan) linksOnTheWay(name string) []string {
	var out []string
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(layers.Clean(name), "/"), "/")
	for hops := 0; len(rest) > 0 && hops < 40; {
		next := path.Join(cur, rest[0])
		n, ok := p.view.lookup(next)
		if !ok || n.typ != tar.TypeSymlink {
			cur, rest = next, rest[1:]
			continue
		}
		hops++
		out = append(out, next)
		t := n.link
		if !strings.HasPrefix(t, "/") {
			t = path.Join(cur, t)
		}
		// Start again from the root with the target's parts first.
		cur, rest = "/", append(strings.Split(strings.TrimPrefix(layers.Clean(t), "/"), "/"), rest[1:]...)
	}
	return out
}
