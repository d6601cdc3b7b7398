package locations

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
)

// The registry transport: go-containerregistry retries a request whose
// response is a 5xx or whose connection failed before the response, and
// retries a whole blob upload. What it leaves to its caller is a request
// that never completes (a registry that accepts the connection and then
// sends nothing) and a download cut in the middle of a blob, which the
// layer reader would report as a corrupt image. Both are handled here:
// every request is cancelled after idle without a byte either way, and a
// blob download that breaks resumes with a Range request where it stopped.

// DefaultTimeout is how long a registry request may wait for a connection,
// or go without sending or receiving a byte, unless WithTimeout says
// otherwise.
const DefaultTimeout = time.Minute

// ErrConnectionLost is wrapped by the errors of a registry connection that
// failed or stalled and could not be resumed.
var ErrConnectionLost = errors.New("connection lost")

// resumeAttempts is how many times a broken download is resumed, with
// resumeBackoff doubling between attempts.
const resumeAttempts = 4

var resumeBackoff = time.Second

// newTransport gives the HTTP transport of registry requests.
func newTransport(timeout time.Duration, tlsConfig *tls.Config) http.RoundTripper {
	base := &http.Transport{
		TLSClientConfig: tlsConfig,
		Proxy:           http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &idleTransport{inner: base, idle: timeout}
}

// idleTransport cancels a request after idle without progress, and
// resumes a GET whose body breaks off.
type idleTransport struct {
	inner http.RoundTripper
	idle  time.Duration
}

var errStalled = errors.New("stalled")

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, w, err := t.roundTrip(req, 0, 0)
	if err != nil {
		return nil, err
	}
	if req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && resp.ContentLength > 0 && resp.Header.Get("Accept-Ranges") != "none" {
		rb := &resumingBody{t: t, req: req, w: w, size: resp.ContentLength}
		if d, ok := blobDigest(req); ok {
			rb.want, rb.h = d, sha256.New()
		}
		resp.Body = rb
	} else {
		resp.Body = w
	}
	return resp, nil
}

// blobDigest gives the digest of the blob req downloads: the last path
// element of a /v2/…/blobs/sha256:… request, or of the request that
// redirected to req (a registry often serves blobs from a storage URL).
func blobDigest(req *http.Request) (v1.Hash, bool) {
	for r := req; r != nil; {
		dir, last := path.Split(r.URL.Path)
		if strings.HasSuffix(dir, "/blobs/") {
			if h, err := v1.NewHash(last); err == nil && h.Algorithm == "sha256" {
				return h, true
			}
		}
		if r.Response == nil {
			break
		}
		r = r.Response.Request
	}
	return v1.Hash{}, false
}

// roundTrip sends req under a watchdog that cancels it when neither the
// request body nor the response makes progress for t.idle.
func (t *idleTransport) roundTrip(req *http.Request, from, size int64) (*http.Response, *watchedBody, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	wd := &watchdog{idle: t.idle}
	wd.timer = time.AfterFunc(t.idle, func() { cancel(errStalled) })
	r := req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &progressBody{ReadCloser: req.Body, wd: wd}
	}
	if from > 0 {
		// The end is given: some registries (go-containerregistry's
		// own) understand no open range.
		r.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-"+strconv.FormatInt(size-1, 10))
	}
	resp, err := t.inner.RoundTrip(r)
	if err != nil {
		wd.stop()
		cause := context.Cause(ctx)
		cancel(nil)
		if errors.Is(cause, errStalled) {
			return nil, nil, fmt.Errorf("%w: %s sent nothing for %s", ErrConnectionLost, req.URL.Host, t.idle)
		}
		return nil, nil, err
	}
	wd.kick()
	return resp, &watchedBody{rc: resp.Body, wd: wd, ctx: ctx, cancel: cancel, host: req.URL.Host, idle: t.idle}, nil
}

// watchdog fires when kick is not called for idle.
type watchdog struct {
	mu    sync.Mutex
	idle  time.Duration
	timer *time.Timer
}

func (w *watchdog) kick() {
	w.mu.Lock()
	w.timer.Reset(w.idle)
	w.mu.Unlock()
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
}

// progressBody kicks the watchdog as the request body is sent.
type progressBody struct {
	io.ReadCloser
	wd *watchdog
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	if n > 0 {
		p.wd.kick()
	}
	return n, err
}

// watchedBody kicks the watchdog as the response arrives, and says that a
// stall is one.
type watchedBody struct {
	rc     io.ReadCloser
	wd     *watchdog
	ctx    context.Context
	cancel context.CancelCauseFunc
	host   string
	idle   time.Duration
}

func (w *watchedBody) Read(b []byte) (int, error) {
	n, err := w.rc.Read(b)
	if n > 0 {
		w.wd.kick()
	}
	if err != nil && err != io.EOF && errors.Is(context.Cause(w.ctx), errStalled) {
		err = fmt.Errorf("%w: %s sent nothing for %s", ErrConnectionLost, w.host, w.idle)
	}
	return n, err
}

func (w *watchedBody) Close() error {
	w.wd.stop()
	err := w.rc.Close()
	w.cancel(nil)
	return err
}

// resumingBody is a GET response of known length that, when the connection
// breaks before the end, asks for the rest with a Range request.
type resumingBody struct {
	t    *idleTransport
	req  *http.Request
	w    *watchedBody
	size int64
	off  int64
	// A blob is hashed as it arrives, so that bytes changed on the way
	// are reported as what they are, not as whatever the reader above
	// makes of them.
	want v1.Hash
	h    hash.Hash
}

func (r *resumingBody) Read(b []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		n, err := r.w.Read(b)
		r.off += int64(n)
		if r.h != nil {
			r.h.Write(b[:n])
		}
		switch {
		case err == io.EOF && r.off == r.size && r.h != nil:
			if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.Hex {
				return n, fmt.Errorf("blob %s from %s: %w: the bytes received hash to sha256:%s", r.want, r.req.URL.Host, ErrDigestMismatch, got)
			}
			return n, err
		case err == nil || err == io.EOF && r.off == r.size:
			return n, err
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
		if r.req.Context().Err() != nil {
			// The caller gave up: not a network fault.
			return n, r.req.Context().Err()
		}
		if n > 0 {
			// Give the caller what arrived; the next Read resumes.
			return n, nil
		}
		if attempt >= resumeAttempts {
			return 0, lost(r.req.URL.Host, r.off, r.size, err)
		}
		if rerr := r.resume(attempt); rerr != nil {
			return 0, lost(r.req.URL.Host, r.off, r.size, fmt.Errorf("%v; resuming: %w", err, rerr))
		}
	}
}

func lost(host string, off, size int64, err error) error {
	if errors.Is(err, ErrConnectionLost) {
		return fmt.Errorf("after %d of %d bytes: %w", off, size, err)
	}
	return fmt.Errorf("%w to %s after %d of %d bytes: %v", ErrConnectionLost, host, off, size, err)
}

// resume replaces the broken body by the rest of the blob, after a pause.
func (r *resumingBody) resume(attempt int) error {
	r.w.Close()
	select {
	case <-time.After(resumeBackoff << attempt):
	case <-r.req.Context().Done():
		return r.req.Context().Err()
	}
	resp, w, err := r.t.roundTrip(r.req, r.off, r.size)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", r.off)) {
		w.Close()
		return fmt.Errorf("the registry answered a range request with %s", resp.Status)
	}
	r.w = w
	return nil
}

func (r *resumingBody) Close() error { return r.w.Close() }

// certDirConfig adds the certificates of dir to cfg: *.crt are CA
// certificates (beside the system's), NAME.cert with NAME.key a client
// certificate. A directory that holds none is a mistake, reported.
func certDirConfig(dir string, cfg *tls.Config) (*tls.Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading certificate directory: %w", err)
	}
	cfg = cfg.Clone()
	found := 0
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch filepath.Ext(e.Name()) {
		case ".crt":
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if cfg.RootCAs == nil {
				if cfg.RootCAs, err = x509.SystemCertPool(); err != nil {
					cfg.RootCAs = x509.NewCertPool()
				}
			}
			if !cfg.RootCAs.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("%s holds no PEM certificate", p)
			}
			found++
		case ".cert":
			key := strings.TrimSuffix(p, ".cert") + ".key"
			pair, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return nil, fmt.Errorf("client certificate %s: %w", p, err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
			found++
		}
	}
	if found == 0 {
		return nil, fmt.Errorf("certificate directory %s holds no *.crt, *.cert or *.key file", dir)
	}
	return cfg, nil
}
