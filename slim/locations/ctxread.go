package locations

import (
	"context"
	"io"

	"github.com/google/go-containerregistry/pkg/v1"
)

// go-containerregistry's layout writer takes no context: the image it
// writes is read through these, so a signal stops the copy of a layer
// within one read rather than at the end of the image.

type ctxImage struct {
	v1.Image
	ctx context.Context
}

func (i ctxImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = ctxLayer{l, i.ctx}
	}
	return out, nil
}

func (i ctxImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return ctxLayer{l, i.ctx}, nil
}

func (i ctxImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return ctxLayer{l, i.ctx}, nil
}

// index names the embedded index: a field called ImageIndex would clash
// with the method.
type index = v1.ImageIndex

type ctxIndex struct {
	index
	ctx context.Context
}

func (x ctxIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.index.Image(h)
	if err != nil {
		return nil, err
	}
	return ctxImage{img, x.ctx}, nil
}

func (x ctxIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	ii, err := x.index.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return ctxIndex{ii, x.ctx}, nil
}

type ctxLayer struct {
	v1.Layer
	ctx context.Context
}

func (l ctxLayer) Compressed() (io.ReadCloser, error) {
	return ctxStream(l.ctx, l.Layer.Compressed)
}

func (l ctxLayer) Uncompressed() (io.ReadCloser, error) {
	return ctxStream(l.ctx, l.Layer.Uncompressed)
}

func ctxStream(ctx context.Context, open func() (io.ReadCloser, error)) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	return ctxReadCloser{ReadCloser: rc, ctx: ctx}, nil
}

type ctxReadCloser struct {
	io.ReadCloser
	ctx context.Context
}

func (r ctxReadCloser) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}

// withContext wraps what a layout is written from.
func withContext(ctx context.Context, img v1.Image, idx v1.ImageIndex) (v1.Image, v1.ImageIndex) {
	if img != nil {
		img = ctxImage{img, ctx}
	}
	if idx != nil {
		idx = ctxIndex{idx, ctx}
	}
	return img, idx
}
