package slim

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/imgslim/imgslim/slim/secrets"
)

// sniffed is a file a spooled layer's scan read whole (a regular file up
// to secrets.MaxSize), for the content scan: the entry's ordinal in the
// layer, and whether it is text, which secrets.Scan alone reads.
type sniffed struct {
	entry int
	text  bool
}

// secretsBatch is about how many content bytes one task of scanSecrets
// reads: enough to make a task's cost more than its scheduling, few
// enough that the largest layer's files spread over every job.
const secretsBatch = 4 << 20

// scanSecrets is the content scan of the spooled layers, deferred until
// the view is known: the files a Debian package ships (packagedFiles) are
// not scanned, as findSecrets would ignore what is found in them, and
// those are most of the text of an image with a toolchain (headers,
// scripts, perl and python modules). The other text files are read back
// from the spools and scanned, several batches at once over all layers;
// what each layer found is noted in its order, the last copy of a file in
// a layer winning, as an inline scan would have it.
func (p *Plan) scanSecrets() error {
	if !p.o.spool {
		return nil // scanned inline (sniff)
	}
	packaged := p.packagedFiles()
	type task struct {
		li       int
		from, to int // lp.sniffed[from:to]
	}
	var tasks []task
	results := make([][][]secrets.Finding, len(p.layers)) // by layer, by sniffed
	for li, lp := range p.layers {
		results[li] = make([][]secrets.Finding, len(lp.sniffed))
		from, n := 0, int64(0)
		for i, s := range lp.sniffed {
			if !s.text || packaged[lp.entries[s.entry].name] {
				continue
			}
			if n += lp.entries[s.entry].size; n >= secretsBatch {
				tasks = append(tasks, task{li, from, i + 1})
				from, n = i+1, 0
			}
		}
		if from < len(lp.sniffed) {
			tasks = append(tasks, task{li, from, len(lp.sniffed)})
		}
	}
	g, ctx := errgroup.WithContext(p.o.ctx)
	g.SetLimit(p.o.jobs)
	for _, t := range tasks {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			lp := p.layers[t.li]
			f, err := os.Open(lp.spool)
			if err != nil {
				return fmt.Errorf("reading layer %d back: %w", t.li+1, err)
			}
			defer f.Close()
			var buf []byte
			for i := t.from; i < t.to; i++ {
				s := lp.sniffed[i]
				e := &lp.entries[s.entry]
				if !s.text || packaged[e.name] {
					continue
				}
				data, err := lp.readSmall(f, e, buf)
				if err != nil {
					return fmt.Errorf("reading %s back from layer %d: %w", e.name, t.li+1, err)
				}
				buf = data[:0]
				results[t.li][i] = secrets.Scan(e.name, data)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for li, lp := range p.layers {
		for i, s := range lp.sniffed {
			if name := lp.entries[s.entry].name; !packaged[name] {
				lp.noteFindings(name, results[li][i])
			}
		}
		lp.sniffed = nil
	}
	return nil
}

// readSmall reads the content of e, an entry of the layer's spool f, into
// buf (grown as needed).
func (lp *layerPlan) readSmall(f *os.File, e *entry, buf []byte) ([]byte, error) {
	if e.sparse {
		rc, err := lp.open(e)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	if int64(cap(buf)) < e.size {
		buf = make([]byte, e.size)
	}
	buf = buf[:e.size]
	if _, err := f.ReadAt(buf, e.off); err != nil {
		return nil, err
	}
	return buf, nil
}
