package slim

import "github.com/google/go-containerregistry/pkg/v1"

// Image slims img: it plans from every layer's headers, then rewrites the
// layers that lose something, several at once.
func Image(img v1.Image, opts ...Option) (v1.Image, *Report, error) {
	// Apply follows at once, so the plan keeps each layer's tar: reading
	// it back costs less than decompressing the layer again.
	p, err := NewPlan(img, append(opts[:len(opts):len(opts)], withSpool(), withRecord())...)
	if err != nil {
		return nil, nil, err
	}
	// A budget is checked from the decisions, before any layer is
	// rewritten.
	if err := p.overBudget(); err != nil {
		p.Close()
		return nil, nil, err
	}
	out, err := p.Apply()
	if err != nil {
		return nil, nil, err
	}
	if out, err = p.verified(img, out); err != nil {
		return nil, nil, err
	}
	return out, p.Report(), nil
}

// DryRun plans img as Image would slim it and returns the report,
// writing nothing.
func DryRun(img v1.Image, opts ...Option) (*Report, error) {
	p, err := NewPlan(img, append(opts[:len(opts):len(opts)], withSpool())...)
	if err != nil {
		return nil, err
	}
	r := p.Report()
	p.Close()
	return r, nil
}
