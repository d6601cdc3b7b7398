package slim

import (
	"archive/tar"
	"errors"
	"fmt"
)

// ErrOverBudget is the refusal of an image whose output cannot fit the
// budget WithMaxSize sets, found from the decisions before any layer is
// rewritten.
var ErrOverBudget = errors.New("over the size budget")

// BudgetError is ErrOverBudget with the plan's report (a projection,
// Estimated) and the figures: the output's uncompressed size is at least
// AtLeast, over Max.
type BudgetError struct {
	Report       *Report
	AtLeast, Max int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the output would be at least %s uncompressed, %s: %s", Bytes(e.AtLeast), ErrOverBudget, Bytes(e.Max))
}

func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// WithMaxSize sets a budget for the output's uncompressed size: Image
// and Index refuse an image whose decisions leave more than max bytes,
// before rewriting anything. 0 sets none. The caller checks the written
// output against its budget too: this check is a lower bound, so it never
// refuses what would fit.
func WithMaxSize(max int64) SlimOption {
	return func(o *options) error {
		if max < 0 {
			return fmt.Errorf("max size %d: want at least 0", max)
		}
		o.maxSize = max
		return nil
	}
}

// atLeast is a lower bound of the output's uncompressed size from the
// decisions alone: a layer kept as it is weighs its tar; of a rewritten
// layer, every entry written takes a header block and, for a regular file,
// its content (a sparse file's data at least a header); imgslim's own
// layer weighs nothing yet.
func (d *decisions) atLeast(ls []*layerPlan) int64 {
	var n int64
	for li, lp := range ls {
		ld := &d.layers[li]
		switch {
		case ld.empty():
		case !ld.changed:
			n += lp.tarSize
		default:
			for i := range lp.entries {
				if ld.edit.Drop[i] {
					continue
				}
				n += 512
				if e := &lp.entries[i]; e.typ == tar.TypeReg && e.wh == notWhiteout && !e.sparse {
					n += (e.size + 511) / 512 * 512
				}
			}
		}
	}
	return n
}

// overBudget returns a BudgetError when the decided output cannot fit
// the budget.
func (p *Plan) overBudget() error {
	if p.o.maxSize <= 0 {
		return nil
	}
	n := p.d.atLeast(p.layers)
	if n <= p.o.maxSize {
		return nil
	}
	r := p.Report()
	// The projection may round down what the bound counts: the report
	// says at least the bound, which is what refused the image.
	r.After.Uncompressed = max(r.After.Uncompressed, n)
	return &BudgetError{Report: r, AtLeast: n, Max: p.o.maxSize}
}
