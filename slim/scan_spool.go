package slim

import (
	"fmt"
	"io"
	"os"
)

// The spool holds each layer's tar between the scan and the rewrite, as
// much disk as the image's uncompressed size, which no manifest states.
// The free space is checked before the first byte (at least twice the
// compressed size: the spool, then the rewritten blobs) and again every
// spoolCheck bytes while spooling, so that a run stops with a clear error
// while a little space is left, rather than fill the disk.
const (
	spoolCheck   = 64 << 20
	spoolReserve = 64 << 20
)

// checkSpace fails when dir has less than need bytes free.
func checkSpace(dir string, need int64) error {
	free := freeBytes(dir)
	if free >= 0 && free < need {
		return fmt.Errorf("not enough free space in %s for the spool: %s free, the image needs at least %s (twice its compressed size)", dir, Bytes(free), Bytes(need))
	}
	return nil
}

// spoolWriter writes a spool and checks the free space as it grows.
type spoolWriter struct {
	w       io.Writer
	dir     string
	n, next int64
}

func (s *spoolWriter) Write(p []byte) (int, error) {
	if s.n >= s.next {
		s.next = s.n + spoolCheck
		if free := freeBytes(s.dir); free >= 0 && free < spoolReserve {
			return 0, fmt.Errorf("no space left in %s for the spool: %s free after %s of this layer", s.dir, Bytes(free), Bytes(s.n))
		}
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

func (p *Plan) removeSpool(lp *layerPlan) {
	if lp.spool != "" {
		os.Remove(lp.spool)
	}
}

// Close removes what the plan keeps on disk. Apply does it itself.
func (p *Plan) Close() { p.removeSpools() }

func (p *Plan) removeSpools() {
	// A plan that failed before findSecrets may still be reading them.
	p.waitSecrets()
	for _, lp := range p.layers {
		p.removeSpool(lp)
	}
}
