package layers

import (
	"io"
	"sync"
)

// The stages of a layer's stream (inflate, tar, deflate) are sequential
// for one layer, and real images often have one layer much larger than the
// rest: running each stage in its own goroutine, with a few buffers
// between them, lets that one layer use more than one core.

const (
	chunkSize = 1 << 20
	chunks    = 4
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// readAhead reads r in its own goroutine, up to chunks buffers ahead.
// Close stops it; r is not closed.
func readAhead(r io.Reader) io.ReadCloser {
	ra := &aheadReader{ch: make(chan chunk, chunks), stop: make(chan struct{})}
	go func() {
		defer close(ra.ch)
		for {
			b := chunkPool.Get().(*[]byte)
			n, err := fill(r, *b)
			select {
			case ra.ch <- chunk{buf: b, n: n, err: err}:
			case <-ra.stop:
				chunkPool.Put(b)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

type aheadReader struct {
	ch   chan chunk
	stop chan struct{}
	cur  chunk
	off  int
	err  error
	once sync.Once
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for a.cur.buf == nil || a.off == a.cur.n {
		if a.err != nil {
			return 0, a.err
		}
		if a.cur.buf != nil {
			chunkPool.Put(a.cur.buf)
			a.cur.buf = nil
		}
		c, ok := <-a.ch
		if !ok {
			a.err = io.ErrClosedPipe
			return 0, a.err
		}
		a.cur, a.off = c, 0
		if c.n == 0 {
			chunkPool.Put(c.buf)
			a.cur.buf = nil
			if c.err != nil {
				a.err = c.err
				return 0, a.err
			}
		} else if c.err != nil {
			a.err = c.err // after this chunk's bytes
		}
	}
	n := copy(p, (*a.cur.buf)[a.off:a.cur.n])
	a.off += n
	return n, nil
}

func (a *aheadReader) Close() error {
	a.once.Do(func() {
		close(a.stop)
		for c := range a.ch {
			chunkPool.Put(c.buf)
		}
	})
	return nil
}

// writeBehind writes to w in its own goroutine. Close waits until
// everything written has reached w and returns the first error w gave.
func writeBehind(w io.Writer) io.WriteCloser {
	wb := &behindWriter{ch: make(chan chunk, chunks), done: make(chan struct{})}
	go func() {
		defer close(wb.done)
		for c := range wb.ch {
			if wb.err == nil {
				_, wb.err = w.Write((*c.buf)[:c.n])
			}
			chunkPool.Put(c.buf)
		}
	}()
	return wb
}

type behindWriter struct {
	ch   chan chunk
	done chan struct{}
	cur  *[]byte
	n    int
	err  error // set by the goroutine; read after done
}

func (b *behindWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if b.cur == nil {
			b.cur, b.n = chunkPool.Get().(*[]byte), 0
		}
		k := copy((*b.cur)[b.n:], p)
		b.n += k
		p = p[k:]
		written += k
		if b.n == chunkSize {
			b.flush()
		}
	}
	return written, nil
}

func (b *behindWriter) flush() {
	if b.cur != nil && b.n > 0 {
		b.ch <- chunk{buf: b.cur, n: b.n}
	} else if b.cur != nil {
		chunkPool.Put(b.cur)
	}
	b.cur = nil
}

func (b *behindWriter) Close() error {
	b.flush()
	close(b.ch)
	<-b.done
	return b.err
}

// fill reads into b until it is full or r fails. Unlike io.ReadFull it
// passes r's own io.ErrUnexpectedEOF through (a truncated gzip stream says
// so) and reports a plain end as io.EOF, after the bytes read.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
