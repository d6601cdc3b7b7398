package slim

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/layers"
)

// fetch copies the contents of the visible copies of names out of the
// layers that hold them, reading each of those layers once, several at
// once, into files under the work directory. It returns the file for each
// name that is a regular file (or a hardlink to one) in the image.
func (p *Plan) fetch(names []string) (map[string]string, error) {
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
		switch n.typ {
		case tar.TypeReg:
			byLayer[n.layer] = append(byLayer[n.layer], want{name, name})
		case tar.TypeLink:
			byLayer[n.layer] = append(byLayer[n.layer], want{name, n.link})
		}
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
	results := make([]map[string]string, len(layerIdx))
	g, ctx := errgroup.WithContext(p.o.ctx)
	g.SetLimit(p.o.jobs)
	for k, li := range layerIdx {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			sources := map[string][]string{} // entry in the layer -> image names
			for _, w := range byLayer[li] {
				sources[w.source] = append(sources[w.source], w.name)
			}
			got := map[string]string{}
			_, err := layers.Scan(p.layers[li].src, func(h *tar.Header, r io.Reader) error {
				name := layers.Clean(h.Name)
				targets, ok := sources[name]
				if !ok || h.Typeflag != tar.TypeReg {
					return nil
				}
				f, err := os.CreateTemp(dir, path.Base(name)+"-*")
				if err != nil {
					return err
				}
				if _, err := io.Copy(f, r); err != nil {
					f.Close()
					return fmt.Errorf("reading %s: %w", name, err)
				}
				if err := f.Close(); err != nil {
					return err
				}
				for _, t := range targets {
					got[t] = f.Name()
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
	out := map[string]string{}
	for _, name := range names {
		if f, ok := p.fetched[name]; ok {
			out[name] = f
		}
	}
	return out, nil
}
