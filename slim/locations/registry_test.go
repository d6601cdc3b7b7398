package locations

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// faults is what the test registry does wrong to blob downloads.
type faults struct {
	mu sync.Mutex
	// Each fault applies to that many blob GETs (-1: every one).
	status500 int
	cut       int // send half the blob, then close the connection
	corrupt   int // change one byte of the blob
	stall     int // send half the blob, then nothing
	// slow, when set, is the bytes per second every blob download gets.
	slow int
	// Faults of uploads (blob PATCH and PUT requests).
	upload500 int
	uploadCut int // read the request, then close the connection unanswered
	// user and pass, when set, are the only credentials accepted.
	user, pass string
	gets       int
}

func (f *faults) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case *n < 0:
		return true
	case *n > 0:
		*n--
		return true
	}
	return false
}

func (f *faults) rate() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slow
}

// faultyRegistry is go-containerregistry's in-memory registry on
// 127.0.0.1 behind f.
func faultyRegistry(t *testing.T, f *faults) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			if f.take(&f.upload500) {
				io.Copy(io.Discard, r.Body)
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			if f.take(&f.uploadCut) {
				io.Copy(io.Discard, r.Body)
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
		}
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
			reg.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.gets++
		f.mu.Unlock()
		if f.take(&f.status500) {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		half := len(body) / 2
		switch {
		case f.take(&f.corrupt):
			b := append([]byte(nil), body...)
			b[half] ^= 0xff
			w.WriteHeader(rec.Code)
			w.Write(b)
		case f.take(&f.cut):
			w.WriteHeader(rec.Code)
			w.Write(body[:half])
			w.(http.Flusher).Flush()
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				buf.Flush()
				conn.Close()
			}
		case f.take(&f.stall):
			w.WriteHeader(rec.Code)
			w.Write(body[:half])
			w.(http.Flusher).Flush()
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		case f.rate() > 0:
			// A slow link: a sixteenth of a second's bytes at a time.
			w.WriteHeader(rec.Code)
			chunk := max(f.rate()/16, 1)
			for len(body) > 0 {
				n := min(chunk, len(body))
				if _, err := w.Write(body[:n]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				body = body[n:]
				select {
				case <-time.After(time.Second / 16):
				case <-stop:
					return
				case <-r.Context().Done():
					return
				}
			}
		default:
			w.WriteHeader(rec.Code)
			w.Write(body)
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushTo writes img to host/test/img:v1 (with the credentials f wants) and
// gives the location.
func pushTo(t *testing.T, host string, f *faults, img v1.Image) Location {
	t.Helper()
	ref, err := name.ParseReference(host+"/test/img:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if f.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: f.user, Password: f.pass}))
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatal(err)
	}
	return Location{Kind: Registry, Ref: ref.String()}
}

// readAll reads every layer of c's image as stored, as the slimming does.
func readAll(c *Contents) error {
	ls, err := c.Image.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, bufio.NewReader(rc))
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// fastRetries shortens the pauses between retries for the test.
func fastRetries(t *testing.T) {
	oldResume, oldRetry := resumeBackoff, retryBackoff
	resumeBackoff = 10 * time.Millisecond
	retryBackoff.Duration = 10 * time.Millisecond
	t.Cleanup(func() { resumeBackoff, retryBackoff = oldResume, oldRetry })
}

func TestRegistryFaults(t *testing.T) {
	fastRetries(t)

	img := randomImage(t, 2)
	for _, tc := range []struct {
		name   string
		f      *faults
		want   string // "" for success
		within time.Duration
	}{
		{"intact", &faults{}, "", 0},
		{"two 500s are retried", &faults{status500: 2}, "", 0},
		{"a cut download resumes", &faults{cut: 2}, "", 0},
		{"a stalled download resumes", &faults{stall: 1}, "", 0},
		{"cut every time", &faults{cut: -1}, "connection lost", 0},
		{"stalled every time", &faults{stall: -1}, "connection lost", 10 * time.Second},
		{"corrupted bytes", &faults{corrupt: 1}, "digest mismatch", 0},
		{"500 every time", &faults{status500: -1}, "500", 0},
		// 1 KB/s is slow, not stalled: bytes keep coming within the
		// timeout, so the download completes.
		{"1 KB/s", &faults{slow: 1024}, "", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Pushed without faults, then read with them.
			f := &faults{}
			host := faultyRegistry(t, f)
			loc := pushTo(t, host, f, img)
			f.mu.Lock()
			f.status500, f.cut, f.corrupt, f.stall, f.slow = tc.f.status500, tc.f.cut, tc.f.corrupt, tc.f.stall, tc.f.slow
			f.mu.Unlock()

			ctx := context.Background()
			start := time.Now()
			src, err := NewSource(ctx, loc, WithInsecure(), WithTimeout(300*time.Millisecond), WithoutLayerCache())
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Open(ctx)
			if err == nil {
				err = readAll(c)
				c.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
			if tc.within > 0 && time.Since(start) > tc.within {
				t.Errorf("took %s, want under %s", time.Since(start), tc.within)
			}
			if tc.f.slow > 0 {
				// The blobs came at the slow rate, with the 300 ms
				// timeout far shorter than each blob's download.
				var total int64
				ls, _ := img.Layers()
				for _, l := range ls {
					n, _ := l.Size()
					total += n
				}
				if min := time.Duration(total) * time.Second / time.Duration(tc.f.slow); time.Since(start) < min {
					t.Errorf("took %s for %d bytes, want at least %s: the registry was not slow", time.Since(start), total, min)
				}
			}
		})
	}
}

func TestRegistryCredentials(t *testing.T) {
	img := randomImage(t, 1)
	f := &faults{user: "u", pass: "right"}
	host := faultyRegistry(t, f)
	loc := pushTo(t, host, f, img)
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		kc   authn.Keychain
		want error
	}{
		{"right password", staticKeychain{&authn.Basic{Username: "u", Password: "right"}}, nil},
		{"wrong password", staticKeychain{&authn.Basic{Username: "u", Password: "wrong"}}, ErrCredentialsRefused},
		{"no credentials", staticKeychain{authn.Anonymous}, ErrNoCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithInsecure(), WithKeychain(tc.kc), WithTimeout(5 * time.Second)}
			start := time.Now()
			src, err := NewSource(ctx, loc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Open(ctx)
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Errorf("source: got %v, want %v", err, tc.want)
			}
			tg, err := NewTarget(Location{Kind: Registry, Ref: host + "/test/out:v1"}, loc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = tg.Check(ctx)
			if !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Errorf("target check: got %v, want %v", err, tc.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s: a refused password must fail in seconds", time.Since(start))
			}
		})
	}
}

// Uploads are retried on 500s and on connections closed unanswered.
func TestRegistryWriteFaults(t *testing.T) {
	fastRetries(t)
	img := randomImage(t, 2)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    *faults
		ok   bool
	}{
		{"two 500s", &faults{upload500: 2}, true},
		{"a cut connection", &faults{uploadCut: 1}, true},
		{"500 every time", &faults{upload500: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := faultyRegistry(t, tc.f)
			tg, err := NewTarget(Location{Kind: Registry, Ref: host + "/test/out:v1"}, Location{Kind: Registry}, WithInsecure(), WithTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			err = tg.WriteImage(ctx, img)
			if tc.ok != (err == nil) {
				t.Fatalf("WriteImage: got %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			tc.f.upload500, tc.f.uploadCut = 0, 0
			ref, _ := name.ParseReference(host+"/test/out:v1", name.Insecure)
			back, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := back.Digest()
			want, _ := img.Digest()
			if got != want {
				t.Errorf("pushed %s, want %s", got, want)
			}
		})
	}
}
