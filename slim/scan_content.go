package slim

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/layers"
)

// blob is where a file's content is: a section of a file on disk, either
// a layer's spooled tar or a file fetch wrote.
type blob struct {
	path      string
	off, size int64
	// sparse: the source entry was a sparse file; path holds its holes
	// as holes, and a writer keeps them (layers.WriteSparse).
	sparse bool
}

// open returns the content.
func (b blob) open() (*section, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	return &section{SectionReader: io.NewSectionReader(f, b.off, b.size), f: f}, nil
}

type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

// fetch finds the contents of the visible copies of names. From a layer
// whose tar the plan spooled, a content is a section of the spool, read in
// place; from any other, it is copied out, reading each such layer once,
// several at once. It returns where each regular file (or hardlink to
// one) is.
func (p *Plan) fetch(names []string) (map[string]blob, error) {
	type want struct{ name, source string }
	byLayer := map[int][]want{}
	for _, name := range names {
		if _, done := p.fetched[name]; done {
			continue
		}
		n, ok := p.view.lookup(name)
		if !ok {
			continue
		}
		source, layer := name, n.layer
		switch n.typ {
		case tar.TypeReg:
		case tar.TypeLink:
			source, layer = n.link, p.linkLayer(n.layer, n.link)
		default:
			continue
		}
		lp := p.layers[layer]
		if lp.spool != "" {
			if e := lp.find(source); e != nil && e.typ == tar.TypeReg && !e.sparse {
				p.fetched[name] = blob{path: lp.spool, off: e.off, size: e.size}
				continue
			}
		}
		byLayer[layer] = append(byLayer[layer], want{name, source})
	}
	dir := filepath.Join(p.o.workDir, "fetched")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	layerIdx := make([]int, 0, len(byLayer))
	for li := range byLayer {
		layerIdx = append(layerIdx, li)
	}
	sort.Ints(layerIdx)
	results := make([]map[string]blob, len(layerIdx))
	g, ctx := errgroup.WithContext(p.o.ctx)
	g.SetLimit(p.o.jobs)
	for k, li := range layerIdx {
		g.Go(func() error {
			sources := map[string][]string{} // entry in the layer -> image names
			for _, w := range byLayer[li] {
				sources[w.source] = append(sources[w.source], w.name)
			}
			got := map[string]blob{}
			_, err := layers.ScanTo(ctx, p.layers[li].src, layers.ScanOptions{Limit: p.o.limit}, func(h *tar.Header, _ int64, r io.Reader) error {
				name := layers.Clean(h.Name)
				targets, ok := sources[name]
				// An old-GNU sparse entry ('S') is a regular file too.
				if !ok || h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeGNUSparse {
					return nil
				}
				f, err := os.CreateTemp(dir, path.Base(name)+"-*")
				if err != nil {
					return err
				}
				var n int64
				if layers.Sparse(h) {
					n, err = layers.CopyHoles(f, r)
				} else {
					n, err = io.Copy(f, r)
				}
				if err != nil {
					f.Close()
					return fmt.Errorf("reading %s: %w", name, err)
				}
				if err := f.Close(); err != nil {
					return err
				}
				for _, t := range targets {
					got[t] = blob{path: f.Name(), size: n, sparse: layers.Sparse(h)}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reading layer %d: %w", li+1, err)
			}
			results[k] = got
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range results {
		for k, v := range r {
			p.fetched[k] = v
		}
	}
	out := map[string]blob{}
	for _, name := range names {
		if b, ok := p.fetched[name]; ok {
			out[name] = b
		}
	}
	return out, nil
}

// linkLayer returns the layer holding the file a hardlink of layer li
// names: li itself when the target is in it, else the nearest lower layer
// that has it. A layer may link to a file an earlier layer wrote; the
// applier resolves the link on the filesystem built so far, and so does
// this.
func (p *Plan) linkLayer(li int, target string) int {
	for l := li; l >= 0; l-- {
		if p.layers[l].find(target) != nil {
			return l
		}
	}
	return li
}

// find returns the last entry of the layer named name.
func (lp *layerPlan) find(name string) *entry {
	for i := len(lp.entries) - 1; i >= 0; i-- {
		if lp.entries[i].name == name {
			return &lp.entries[i]
		}
	}
	return nil
}

// open returns a reader of the content of e, an entry of the layer's
// spool: a section of the spool, or for a sparse file what a tar reader
// makes of it.
func (lp *layerPlan) open(e *entry) (io.ReadCloser, error) {
	f, err := os.Open(lp.spool)
	if err != nil {
		return nil, err
	}
	if !e.sparse {
		return &section{SectionReader: io.NewSectionReader(f, e.off, e.size), f: f}, nil
	}
	tr := tar.NewReader(f) // seeks over the contents before it
	for i := range lp.entries {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("reading %s back: %w", e.name, err)
		}
		if &lp.entries[i] == e {
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(tr, h.Size), f}, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("%s: not in the spool", e.name)
}

// openContent returns a reader of the content of the visible copy of
// name, when it is one the rule sets read (wantContent): captured by the
// scan, or read on demand from the layer's spool.
func (p *Plan) openContent(name string) (io.ReadCloser, bool) {
	n, ok := p.view.lookup(name)
	if !ok || n.typ != tar.TypeReg {
		return nil, false
	}
	lp := p.layers[n.layer]
	if lp.spool == "" {
		b, ok := lp.files[name]
		return io.NopCloser(bytes.NewReader(b)), ok
	}
	if _, ok := lp.headers[name]; !ok {
		return nil, false // not one the scan was asked to keep
	}
	rc, err := lp.open(n.entry)
	if err != nil {
		p.warnings = append(p.warnings, fmt.Sprintf("cannot read %s back from the spool: %v", Quote(name), err))
		return nil, false
	}
	return rc, true
}

// pathLines returns the lines of r that can be paths (absolute, no NUL, at
// most maxPath bytes), for the file lists of package databases: a line
// that cannot be a path is skipped as it is read, never held whole.
func pathLines(r io.Reader) []byte {
	const maxPath = 4096 // PATH_MAX
	var out []byte
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		long := false
		for err == bufio.ErrBufferFull {
			long = true
			_, err = br.ReadSlice('\n')
		}
		l := bytes.TrimSuffix(line, []byte("\n"))
		if !long && len(l) > 0 && len(l) <= maxPath && l[0] == '/' && bytes.IndexByte(l, 0) < 0 {
			out = append(append(out, l...), '\n')
		}
		if err != nil {
			return out
		}
	}
}

// content returns the content of the visible copy of name, when it is one
// the rule sets read (see openContent). The caller holds it; the plan
// keeps none of what it read from a spool.
func (p *Plan) content(name string) ([]byte, bool) {
	rc, ok := p.openContent(name)
	if !ok {
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		p.warnings = append(p.warnings, fmt.Sprintf("cannot read %s back from the spool: %v", Quote(name), err))
		return nil, false
	}
	return b, true
}
