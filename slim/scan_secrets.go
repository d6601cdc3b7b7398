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

// secretsBatch is about how many content bytes one task of startSecrets
// reads: enough to make a task's cost more than its scheduling, few
// enough that the largest layer's files spread over every job.
const secretsBatch = 4 << 20

// secretsScan is the content scan of the spooled layers under way: it
// runs beside protect and the sets, which need none of its findings, and
// findSecrets waits for it (waitSecrets).
type secretsScan struct {
	done     chan error
	packaged map[string]string
	results  [][]found // by layer, by sniffed
}

// startSecrets starts the content scan of the spooled layers, deferred
// until the view is known: a file a Debian package ships whose content is
// still the one dpkg recorded (packagedSums) is not scanned, as
// findSecrets would ignore what is found in it, and those are most of the
// text of an image with a toolchain (headers, scripts, perl modules); its
// MD5 costs a fraction of the scan. An edited one (a password added to a
// packaged config) is scanned like any file. The text files are read back
// from the spools, several batches at once over all layers, while the
// plan goes on; waitSecrets notes what each layer found.
func (p *Plan) startSecrets() {
	if !p.o.spool {
		return // scanned inline (sniff)
	}
	// The lists are read here, on the plan's goroutine, which owns its
	// warnings; the scan only reads the map.
	s := &secretsScan{done: make(chan error, 1), packaged: p.packagedSums(), results: make([][]found, len(p.layers))}
	p.secretsScan = s
	type task struct {
		li       int
		from, to int // lp.sniffed[from:to]
	}
	var tasks []task
	for li, lp := range p.layers {
		s.results[li] = make([]found, len(lp.sniffed))
		from, n := 0, int64(0)
		for i, f := range lp.sniffed {
			if !f.text {
				continue
			}
			if n += lp.entries[f.entry].size; n >= secretsBatch {
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
	// Go blocks at the limit: the tasks are handed out from a goroutine
	// of their own.
	go func() {
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
					sn := lp.sniffed[i]
					e := &lp.entries[sn.entry]
					if !sn.text {
						continue
					}
					data, err := lp.readSmall(f, e, buf)
					if err != nil {
						return fmt.Errorf("reading %s back from layer %d: %w", e.name, t.li+1, err)
					}
					buf = data[:0]
					sum, packaged := s.packaged[e.name]
					if packaged && md5Hex(data) == sum {
						continue
					}
					if fs := secrets.Scan(e.name, data); len(fs) > 0 {
						s.results[t.li][i] = found{fs: fs, md5: md5Hex(data)}
					}
				}
				return nil
			})
		}
		s.done <- g.Wait()
	}()
}

// waitSecrets waits for the content scan startSecrets started, if any,
// and notes what each layer found in its order, the last copy of a file
// in a layer winning, as an inline scan would have it.
func (p *Plan) waitSecrets() error {
	s := p.secretsScan
	if s == nil {
		return nil
	}
	p.secretsScan = nil
	if err := <-s.done; err != nil {
		return err
	}
	for li, lp := range p.layers {
		for i, f := range lp.sniffed {
			name, r := lp.entries[f.entry].name, s.results[li][i]
			if len(r.fs) == 0 {
				lp.noteFindings(name, nil, nil)
				continue
			}
			if lp.found == nil {
				lp.found = map[string]found{}
			}
			lp.found[name] = r
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
