package slim

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/layers"
)

func uncompressed(mt types.MediaType) bool {
	switch mt {
	case types.DockerUncompressedLayer, types.OCIUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		return true
	}
	return false
}

// Apply writes the planned layers and returns the new image. Layers that
// lose nothing are the source's own, blob and digest unchanged, so a push
// to the source's registry uploads nothing for them.
func (p *Plan) Apply() (v1.Image, error) {
	start := time.Now()
	o := p.o
	f := layers.Format{
		Compress: o.compress,
		Zstd:     o.compress && o.zstd,
		Level:    o.level,
		OCI:      p.manifest.MediaType == types.OCIManifestSchema1,
	}
	mediaType, configType := p.manifest.MediaType, p.manifest.Config.MediaType
	if f.Zstd && !f.OCI {
		// Docker's schema 2 has no zstd layer type: the image becomes
		// OCI, its kept layers' descriptors with it.
		mediaType, configType, f.OCI = types.OCIManifestSchema1, types.OCIConfigJSON, true
	}
	out := make([]v1.Layer, len(p.layers))
	tarSizes := make([]int64, len(p.layers))
	g, ctx := errgroup.WithContext(o.ctx)
	g.SetLimit(o.jobs)
	var mu sync.Mutex
	defer p.removeSpools()
	for _, i := range largestFirst(p.manifest.Layers) {
		lp, ld := p.layers[i], &p.d.layers[i]
		tarSizes[i] = lp.tarSize
		switch {
		case ld.empty():
			p.removeSpool(lp)
			continue
		// A plain-tar blob bound for a compressed target is compressed:
		// there is no original compressed blob to keep.
		case ld.changed, f.Compress && uncompressed(lp.mediaType):
		default:
			out[i] = lp.src
			p.removeSpool(lp)
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			l, res, err := p.rewrite(ctx, lp, ld.edit, f)
			if err != nil {
				return fmt.Errorf("rewriting layer %d (%s): %w", i+1, lp.digest, err)
			}
			out[i], tarSizes[i] = l, res.Size
			mu.Lock()
			o.logf("rewrote layer %d/%d %s: dropped %d entries (%s)", i+1, len(p.layers), short(lp.digest), res.Dropped, Bytes(res.DroppedBytes))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	cfg := p.cfg.DeepCopy()
	var (
		kept      []v1.Layer
		descs     []v1.Descriptor
		diffIDs   []v1.Hash
		keptSizes []int64
	)
	keep := func(l v1.Layer, desc *v1.Descriptor, diffID v1.Hash, tarSize int64) error {
		if desc == nil {
			d, err := partial.Descriptor(l)
			if err != nil {
				return err
			}
			desc = d
		}
		kept = append(kept, l)
		descs = append(descs, *desc)
		diffIDs = append(diffIDs, diffID)
		keptSizes = append(keptSizes, tarSize)
		return nil
	}
	for i, l := range out {
		var err error
		switch {
		case l == nil:
		case l == p.layers[i].src:
			// The source's descriptor, annotations and URLs included, and
			// the diff ID the scan checked.
			desc := p.layers[i].desc
			if mediaType != p.manifest.MediaType {
				desc.MediaType = ociLayerType(desc.MediaType)
				l = retyped{Layer: l, mt: desc.MediaType}
			}
			err = keep(l, &desc, p.layers[i].diffID, tarSizes[i])
		default:
			var d v1.Hash
			if d, err = l.DiffID(); err == nil {
				err = keep(l, nil, d, tarSizes[i])
			}
		}
		if err != nil {
			return nil, err
		}
	}
	userLayer, userTar, userFiles, err := p.userLayer(f)
	if err != nil {
		return nil, err
	}
	if userLayer != nil {
		d, err := userLayer.DiffID()
		if err != nil {
			return nil, err
		}
		if err := keep(userLayer, nil, d, userTar); err != nil {
			return nil, err
		}
	}

	cfg.History = p.history(cfg.History, userLayer != nil)
	if p.d.setUser && p.d.user != nil {
		cfg.Config.User = fmt.Sprintf("%d:%d", p.d.user.uid, p.d.user.gid)
	}
	img, err := newImage(mediaType, configType, p.manifest.Annotations, cfg, kept, descs, diffIDs)
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}

	b := &built{out: out, tarSizes: tarSizes, added: userLayer, addedTar: userTar, addedFiles: userFiles, layers: len(kept)}
	for i, d := range descs {
		b.compressed += d.Size
		b.uncompressed += keptSizes[i]
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("computing digest: %w", err)
	}
	b.digest = d.String()
	b.rewriteSeconds = time.Since(start).Seconds()
	// The report, once, from the decisions and what was built.
	if p.report, err = p.newReport(b); err != nil {
		return nil, err
	}
	return img, nil
}

// history marks the entries of dropped layers empty, so history stays
// aligned with rootfs.diff_ids, and records what imgslim did.
func (p *Plan) history(h []v1.History, userLayer bool) []v1.History {
	nonEmpty := 0
	for _, e := range h {
		if !e.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty == len(p.layers) {
		li := 0
		for i := range h {
			if h[i].EmptyLayer {
				continue
			}
			if p.d.layers[li].empty() {
				h[i].EmptyLayer = true
				h[i].Comment = joinComment(h[i].Comment, "imgslim: every file of this layer was removed")
			}
			li++
		}
	}
	if p.o.scrub {
		for i := range h {
			if h[i].CreatedBy != "" {
				h[i].CreatedBy = ""
				h[i].Comment = joinComment(h[i].Comment, "imgslim: command scrubbed")
			}
		}
	}
	desc := p.o.description
	if desc == "" {
		desc = "imgslim"
	}
	return append(h, v1.History{
		Created:    p.cfg.Created,
		CreatedBy:  desc,
		Comment:    "imgslim",
		EmptyLayer: !userLayer,
	})
}

func joinComment(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// topEntry is a file or symlink imgslim writes on top of the image.
type topEntry struct {
	hdr  *tar.Header
	data []byte
}

// userLayer returns the layer imgslim adds on top, or nil when it adds
// nothing: the files whose content changed (the package databases the
// buildtools set edits, /etc/passwd and /etc/group with the output user),
// the symlinks update-alternatives would reset, and the user's home.
func (p *Plan) userLayer(f layers.Format) (v1.Layer, int64, int, error) {
	mtime := p.cfg.Created.Time
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	entries := map[string]topEntry{}
	// A replaced file keeps the image's mode and owner.
	file := func(name string, data []byte) {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name[1:], Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX, Size: int64(len(data))}
		if n, ok := p.view.lookup(name); ok && n.typ == tar.TypeReg {
			h.Mode = n.mode
			if c, ok := p.headers[name]; ok {
				h.Uid, h.Gid, h.Uname, h.Gname = c.Uid, c.Gid, c.Uname, c.Gname
			}
		}
		entries[name] = topEntry{hdr: h, data: data}
	}
	for name, data := range p.replace {
		file(name, data)
	}
	for name, target := range p.symlinks {
		entries[name] = topEntry{hdr: &tar.Header{Typeflag: tar.TypeSymlink, Name: name[1:], Linkname: target, Mode: 0o777, ModTime: mtime, Format: tar.FormatPAX}}
	}
	if a := p.d.user; a != nil && a.passwd != nil {
		file("/etc/passwd", a.passwd)
		file("/etc/group", a.group)
		// The home directory, owned by the user and private, as
		// distroless has /home/nonroot.
		entries[a.home] = topEntry{hdr: &tar.Header{
			Typeflag: tar.TypeDir, Name: a.home[1:] + "/", Mode: 0o700,
			Uid: a.uid, Gid: a.gid, ModTime: mtime, Format: tar.FormatPAX,
		}}
	}
	if len(entries) == 0 {
		return nil, 0, 0, nil
	}
	files := 0
	l, size, err := layers.Write(p.o.ctx, p.o.workDir, f, func(tw *tar.Writer) error {
		for _, name := range sortedKeys(entries) {
			e := entries[name]
			if e.hdr.Typeflag != tar.TypeDir {
				files++
			}
			if err := tw.WriteHeader(e.hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("writing imgslim's layer: %w", err)
	}
	return l, size, files, nil
}

// rewrite rewrites one layer, from its spooled tar when the plan kept one.
func (p *Plan) rewrite(ctx context.Context, lp *layerPlan, edit layers.Edit, f layers.Format) (_ v1.Layer, _ layers.Result, err error) {
	if lp.spool == "" {
		rc, err := layers.Open(ctx, lp.src, p.o.limit)
		if err != nil {
			return nil, layers.Result{}, err
		}
		defer func() {
			if cerr := rc.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("reading layer: %w", cerr)
			}
		}()
		return layers.RewriteTar(ctx, rc, edit, p.o.workDir, f)
	}
	defer p.removeSpool(lp)
	file, err := os.Open(lp.spool)
	if err != nil {
		return nil, layers.Result{}, err
	}
	defer file.Close()
	return layers.RewriteTar(ctx, bufio.NewReaderSize(file, 1<<20), edit, p.o.workDir, f)
}

// ociLayerType is the OCI media type of a Docker schema 2 layer type.
func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer
	}
	return mt
}

// retyped is a layer under another media type (the same blob).
type retyped struct {
	v1.Layer
	mt types.MediaType
}

func (r retyped) MediaType() (types.MediaType, error) { return r.mt, nil }
