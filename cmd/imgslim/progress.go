package main

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/imgslim/imgslim/slim"
)

// writeProgress reports, as plain lines on stderr (the -q logf prints
// nothing), how many layer bytes the target has read so far: a push or a
// daemon load of a big image was minutes of silence.
type writeProgress struct {
	what     string
	total    int64
	done     atomic.Int64
	logf     func(string, ...any)
	interval time.Duration

	// On a terminal, a bar instead of lines.
	bars *mpb.Progress
	bar  *mpb.Bar

	mu   sync.Mutex
	last time.Time
}

// progressInterval is the time between two progress lines of a write.
var progressInterval = 2 * time.Second

// newWriteProgress reports with logf, or with a bar on tty when it is set.
func newWriteProgress(what string, logf func(string, ...any), tty io.Writer, total int64) *writeProgress {
	p := &writeProgress{what: what, total: total, logf: logf, interval: progressInterval, last: time.Now()}
	if tty != nil {
		p.bars = mpb.New(mpb.WithOutput(tty), mpb.WithAutoRefresh())
		p.bar = p.bars.New(total, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name("imgslim: writing "+slim.Sanitize(what)+" ")),
			mpb.AppendDecorators(decor.CountersKiloByte(" % .1f / % .1f"), decor.Percentage(decor.WCSyncSpace)))
	}
	return p
}

// finish ends the bar, complete when the write succeeded: a registry
// skips the blobs it has, so the bytes read may fall short of the total.
func (p *writeProgress) finish(ok bool) {
	if p.bar == nil {
		return
	}
	if ok {
		p.bar.SetTotal(-1, true)
	} else {
		p.bar.Abort(false)
	}
	p.bars.Wait()
}

func (p *writeProgress) add(n int) {
	if p.bar != nil {
		p.bar.IncrBy(n)
		return
	}
	done := p.done.Add(int64(n))
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	if p.total > 0 {
		p.logf("writing %s: %s of %s of layers read (%.0f%%)", p.what, slim.Bytes(done), slim.Bytes(p.total), 100*float64(min(done, p.total))/float64(p.total))
		return
	}
	p.logf("writing %s: %s of layers read", p.what, slim.Bytes(done))
}

// The wrappers count what the target reads. A layer the registry can
// mount from the source's repository is left as it is: wrapped, it would
// be uploaded instead.

type progressImage struct {
	v1.Image
	p *writeProgress
}

func (i progressImage) wrap(l v1.Layer) v1.Layer {
	if _, ok := l.(*remote.MountableLayer); ok {
		return l
	}
	return progressLayer{l, i.p}
}

func (i progressImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = i.wrap(l)
	}
	return out, nil
}

func (i progressImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.wrap(l), nil
}

func (i progressImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return i.wrap(l), nil
}

type progressIndex struct {
	idx
	p *writeProgress
}

func (x progressIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.idx.Image(h)
	if err != nil {
		return nil, err
	}
	return progressImage{img, x.p}, nil
}

func (x progressIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	ii, err := x.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return progressIndex{ii, x.p}, nil
}

// idx names the embedded index: a field called ImageIndex would clash
// with the method.
type idx = v1.ImageIndex

type progressLayer struct {
	v1.Layer
	p *writeProgress
}

func (l progressLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return progressReader{rc, l.p}, nil
}

func (l progressLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	return progressReader{rc, l.p}, nil
}

type progressReader struct {
	io.ReadCloser
	p *writeProgress
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.p.add(n)
	return n, err
}

// layerBytes sums the blob sizes of img's layers.
func layerBytes(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// withProgress wraps what a target writes so the write reports progress:
// lines through logf, or a bar on tty when it is set. finish ends it.
func withProgress(what string, logf func(string, ...any), tty io.Writer, img v1.Image, index v1.ImageIndex) (v1.Image, v1.ImageIndex, func(ok bool)) {
	if img != nil {
		p := newWriteProgress(what, logf, tty, layerBytes(img))
		return progressImage{img, p}, nil, p.finish
	}
	var total int64
	if im, err := index.IndexManifest(); err == nil {
		for _, d := range im.Manifests {
			if d.MediaType.IsImage() {
				if i, err := index.Image(d.Digest); err == nil {
					total += layerBytes(i)
				}
			}
		}
	}
	p := newWriteProgress(what, logf, tty, total)
	return nil, progressIndex{index, p}, p.finish
}

// terminal returns w when it is a terminal that progress bars may draw
// on, else nil: a CI log gets plain lines.
func terminal(w io.Writer, quiet bool) io.Writer {
	f, ok := w.(*os.File)
	if quiet || !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil
	}
	return w
}
