package slim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/imgslim/imgslim/layers"
	"github.com/imgslim/imgslim/slim/fsdiff"
)

// Onto puts the program of src, with the closure Scratch would copy, on top
// of base instead of an empty image: base's layers stay byte for byte (the
// blobs every other image on base shares), and one layer adds the closure's
// paths base does not already hold identically. A path base holds
// differently (another version of a library, a directory where the closure
// has a symlink) is a conflict: overwriting it would break base's own
// programs and make its package database lie, so the output is refused
// with every conflict named. base's accounts stay, with the nonroot user
// the output runs as added when base lacks it. The self-check then runs
// Scratch's again on the result: the program must resolve, in base plus
// the closure, to the very files the closure holds, no library of base's
// standing in for one of its own.
func Onto(src, base v1.Image, opts ...ScratchOption) (v1.Image, *ScratchReport, *OntoSection, error) {
	o, err := makeScratchOptions(opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx := o.ctx
	closure, rep, err := Scratch(src, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	scfg, err := closure.ConfigFile()
	if err != nil {
		return nil, nil, nil, err
	}
	braw, err := base.RawConfigFile()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the base's config: %w", err)
	}
	// The raw bytes: a daemon's image rebuilds its config and loses history.
	bcfg, err := v1.ParseConfigFile(bytes.NewReader(braw))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parsing the base's config: %w", err)
	}
	if sp, bp := platformOf(scfg), platformOf(bcfg); sp != bp {
		return nil, nil, nil, fmt.Errorf("the base is %s and the program %s: a closure runs only on its own platform", bp, sp)
	}
	bm, err := base.Manifest()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the base's manifest: %w", err)
	}
	bls, err := base.Layers()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the base's layers: %w", err)
	}
	if len(bls) != len(bm.Layers) || len(bls) != len(bcfg.RootFS.DiffIDs) {
		return nil, nil, nil, fmt.Errorf("the base's manifest lists %d layers and its config %d diff IDs, for %d layers", len(bm.Layers), len(bcfg.RootFS.DiffIDs), len(bls))
	}
	o.logf("reading the base's filesystem (%d layers)", len(bls))
	bfs, accounts, tarSizes, err := readBase(ctx, base, bls, o.limit)
	if err != nil {
		return nil, nil, nil, err
	}
	cls, err := closure.Layers()
	if err != nil || len(cls) != 1 {
		return nil, nil, nil, fmt.Errorf("reading the closure's layer: %v (%d layers)", err, len(cls))
	}

	// The layer: what base lacks; conflicts collected, not written.
	var conflicts []string
	shared := map[string]bool{}
	keptCache := false
	f := layers.Format{Compress: o.compress, Level: o.level, OCI: bm.MediaType == "" || strings.Contains(string(bm.MediaType), "oci")}
	l, size, err := layers.Write(ctx, o.workDir, f, func(tw *tar.Writer) error {
		_, err := layers.Scan(ctx, cls[0], func(h *tar.Header, r io.Reader) error {
			name := layers.Clean(h.Name)
			b, inBase := bfs[name]
			if name == "/etc/passwd" || name == "/etc/group" {
				if !inBase || b.Type != "file" {
					return copyEntry(tw, h, r)
				}
				body, changed := withNonroot(name, accounts[name])
				if !changed {
					shared[name] = true
					return nil
				}
				nh := &tar.Header{Typeflag: tar.TypeReg, Name: h.Name, Mode: b.Mode, Uid: b.UID, Gid: b.GID, ModTime: h.ModTime, Size: int64(len(body)), Format: tar.FormatPAX}
				return copyEntry(tw, nh, bytes.NewReader(body))
			}
			if !inBase {
				return copyEntry(tw, h, r)
			}
			if name == "/etc/ld.so.cache" && b.Type == "file" {
				// Derived data, as ldconfig writes it: the base's stays,
				// for its own libraries, and the closure's are found in
				// the loader's built-in directories on a cache miss.
				if odd := outsideLoaderDirs(rep.Files); len(odd) > 0 {
					conflicts = append(conflicts, fmt.Sprintf("/etc/ld.so.cache: the base has its own, and the closure's libraries %q lie outside the loader's built-in directories", odd))
				}
				keptCache = true
				return nil
			}
			switch h.Typeflag {
			case tar.TypeDir:
				if b.Type == "dir" {
					return nil // base's directory, its owner and mode, stays
				}
				conflicts = append(conflicts, fmt.Sprintf("%s: a directory in the closure, a %s in the base", name, b.Type))
			case tar.TypeSymlink:
				if b.Type == "symlink" && b.Link == h.Linkname {
					shared[name] = true
					return nil
				}
				conflicts = append(conflicts, fmt.Sprintf("%s: a symlink to %s in the closure, %s in the base", name, h.Linkname, describeEntry(b)))
			case tar.TypeReg:
				hs := sha256.New()
				if _, err := io.Copy(hs, r); err != nil {
					return fmt.Errorf("reading %s: %w", name, err)
				}
				if b.Type == "file" && b.Digest == "sha256:"+hex.EncodeToString(hs.Sum(nil)) {
					shared[name] = true
					return nil
				}
				conflicts = append(conflicts, fmt.Sprintf("%s: the base holds another %s (%s, the closure's is %s)", name, strings.TrimPrefix(describeEntry(b), "a "), Bytes(b.Size), Bytes(h.Size)))
			default:
				conflicts = append(conflicts, fmt.Sprintf("%s: a special file in the closure, %s in the base", name, describeEntry(b)))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("writing the closure's layer: %w", err)
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, nil, nil, &ConflictError{Program: rep.Program, Items: conflicts}
	}

	cfg := bcfg.DeepCopy()
	cfg.Created = scfg.Created
	cfg.Config = scfg.Config
	cfg.Config.Env = ontoEnv(scfg.Config.Env, bcfg.Config.Env)
	cfg.Config.Labels = map[string]string{}
	for k, v := range bcfg.Config.Labels {
		cfg.Config.Labels[k] = v
	}
	for k, v := range scfg.Config.Labels {
		cfg.Config.Labels[k] = v
	}
	cfg.History = append(cfg.History, v1.History{Created: scfg.Created, CreatedBy: "imgslim --scratch --onto: " + rep.Program + " and what it needs", Comment: "imgslim"})
	d, err := l.DiffID()
	if err != nil {
		return nil, nil, nil, err
	}
	desc, err := partial.Descriptor(l)
	if err != nil {
		return nil, nil, nil, err
	}
	ls := append(slices.Clip(bls), l)
	descs := append(slices.Clip(bm.Layers), *desc)
	diffIDs := append(slices.Clip(bcfg.RootFS.DiffIDs), d)
	cmt := bm.Config.MediaType
	img, err := newImage(bm.MediaType, cmt, nil, cfg, ls, descs, diffIDs)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("assembling the image: %w", err)
	}

	// The self-check, on base plus the closure.
	o.logf("checking %s on the base", rep.Program)
	_, again, err := Scratch(img, append(opts, WithBinary(rep.Program))...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the self-check on the base: %w", err)
	}
	mine := map[string]bool{}
	for _, e := range rep.Files {
		mine[e.Path] = true
	}
	for _, e := range again.Files {
		if !mine[e.Path] && !ontoBenign(e.Why) {
			conflicts = append(conflicts, fmt.Sprintf("%s: on the base the program would also use the base's copy (%s)", e.Path, e.Why))
		}
	}
	if len(conflicts) > 0 {
		return nil, nil, nil, &ConflictError{Program: rep.Program, Items: conflicts}
	}

	dg, err := img.Digest()
	if err != nil {
		return nil, nil, nil, err
	}
	out := &ScratchReport{Program: rep.Program, Before: rep.Before, Digest: dg.String(), Warnings: rep.Warnings, Checked: again.Checked}
	if keptCache {
		out.Warnings = append(out.Warnings, "kept the base's /etc/ld.so.cache: the program's libraries are in the loader's built-in directories")
	}
	for _, e := range rep.Files {
		if shared[e.Path] {
			e.Why += "; the base holds it already"
		}
		out.Files = append(out.Files, e)
	}
	out.After = Totals{Layers: len(ls), Uncompressed: size, Files: again.After.Files}
	for i, dsc := range descs {
		out.After.Compressed += dsc.Size
		if i < len(tarSizes) {
			out.After.Uncompressed += tarSizes[i]
		}
	}
	sec := &OntoSection{BaseDigest: digestString(base), BaseLayers: len(bls), Shared: len(shared), Added: len(rep.Files) - len(shared)}
	return img, out, sec, nil
}

// ConflictError is a closure imgslim refuses to put onto a base: the
// paths the two disagree on, one item a line.
type ConflictError struct {
	Program string
	Items   []string
}

func (e *ConflictError) Error() string {
	return itemList(fmt.Sprintf("cannot put %s onto the base without overwriting what the base holds, so no image is written (%d conflicts):", e.Program, len(e.Items)), e.Items)
}

// IsConflict reports whether err is a refusal of --onto for conflicts.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// OntoSection says what --onto put where.
type OntoSection struct {
	BaseDigest string `json:"baseDigest"`
	BaseLayers int    `json:"baseLayers"`
	// Shared counts the closure's paths the base held identically,
	// Added those the closure's layer adds.
	Shared int `json:"shared"`
	Added  int `json:"added"`
}

func digestString(img v1.Image) string {
	d, err := img.Digest()
	if err != nil {
		return ""
	}
	return d.String()
}

func platformOf(c *v1.ConfigFile) string {
	p := c.OS + "/" + c.Architecture
	if c.Variant != "" {
		p += "/" + c.Variant
	}
	return p
}

func describeEntry(e *fsdiff.Entry) string {
	switch e.Type {
	case "symlink":
		return "a symlink to " + e.Link
	case "file":
		return "a file"
	case "dir":
		return "a directory"
	}
	return "a " + e.Type
}

func copyEntry(tw *tar.Writer, h *tar.Header, r io.Reader) error {
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg {
		if _, err := io.Copy(tw, r); err != nil {
			return err
		}
	}
	return nil
}

// ontoBenign says a path the self-check finds on the base but not in the
// closure changes nothing the program loads: directories, the accounts,
// data trees the base has and the source lacked.
func ontoBenign(why string) bool {
	switch why {
	case "parent directory", "distroless base", "time zones", "CA certificates", "name service switch":
		return true
	}
	_, ok := bulkKey(why)
	return ok
}

// readBase reads the base's layers once each, for three things: its
// visible filesystem (what the closure may share or conflict with), its
// /etc/passwd and /etc/group as the top layer holding them has them, and
// each layer's tar size for the report. The decompression limit (--max-ratio)
// holds for the base as for the source.
func readBase(ctx context.Context, base v1.Image, bls []v1.Layer, lim layers.Limit) (fsdiff.FS, map[string][]byte, []int64, error) {
	rd := fsdiff.NewReader()
	accounts := map[string][]byte{}
	sizes := make([]int64, len(bls))
	for i, l := range bls {
		d, err := l.Digest()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the base's layer %d: %w", i+1, err)
		}
		var rec fsdiff.Recorder
		sizes[i], err = layers.ScanTo(ctx, l, layers.ScanOptions{Limit: lim}, rec.Wrap(func(h *tar.Header, _ int64, r io.Reader) error {
			name := layers.Clean(h.Name)
			if (name == "/etc/passwd" || name == "/etc/group") && h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				accounts[name] = b
			}
			return nil
		}))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the base's layer %d: %w", i+1, err)
		}
		rd.Prime(d, &rec)
	}
	bfs, err := rd.Read(ctx, base)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the base: %w", err)
	}
	for name := range accounts {
		if e, ok := bfs[name]; !ok || e.Type != "file" {
			delete(accounts, name)
		}
	}
	return bfs, accounts, sizes, nil
}

// withNonroot adds the nonroot account (65532) to the base's accounts file
// when no line has that id: the output runs as it. The base's own lines
// stay as they are, for its packages' users.
func withNonroot(name string, data []byte) ([]byte, bool) {
	field := 2 // the uid in passwd, the gid in group
	line := "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	if name == "/etc/group" {
		line = "nonroot:x:65532:\n"
	}
	for _, l := range strings.Split(string(data), "\n") {
		fs := strings.Split(l, ":")
		if len(fs) > field && fs[field] == strconv.Itoa(nonrootID) {
			return data, false
		}
		if len(fs) > 0 && fs[0] == "nonroot" {
			return data, false
		}
	}
	out := append([]byte(nil), data...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, line...), true
}

// ontoEnv is the closure's environment with PATH extended by the base's
// directories: the closure's programs first, the base's shell and tools
// after them.
func ontoEnv(env, base []string) []string {
	var basePath string
	for _, kv := range base {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			basePath = v
		}
	}
	out := slices.Clone(env)
	found := false
	for i, kv := range out {
		v, ok := strings.CutPrefix(kv, "PATH=")
		if !ok {
			continue
		}
		found = true
		dirs := strings.Split(v, ":")
		for _, d := range strings.Split(basePath, ":") {
			if d != "" && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
		out[i] = "PATH=" + strings.Join(dirs, ":")
	}
	if !found && basePath != "" {
		out = append(out, "PATH="+basePath)
	}
	return out
}

// sharedObject matches the names of shared libraries: libz.so, libz.so.1.2.13.
var sharedObject = regexp.MustCompile(`\.so(\.[0-9]+)*$`)

// outsideLoaderDirs returns the shared libraries of files that the dynamic
// loader finds only through its cache: those outside /lib, /usr/lib and
// their multiarch and lib64 directories, which it searches on a miss.
func outsideLoaderDirs(files []ScratchEntry) []string {
	var odd []string
	for _, e := range files {
		if !sharedObject.MatchString(path.Base(e.Path)) {
			continue
		}
		d := path.Dir(e.Path)
		switch {
		case d == "/lib", d == "/usr/lib", d == "/lib64", d == "/usr/lib64":
		case (path.Dir(d) == "/lib" || path.Dir(d) == "/usr/lib") && strings.Contains(path.Base(d), "-linux-"):
		default:
			if !strings.HasPrefix(e.Why, "the application directory") && !isBulk(e.Why) {
				odd = append(odd, e.Path)
			}
		}
	}
	return odd
}

func isBulk(why string) bool { _, ok := bulkKey(why); return ok }
