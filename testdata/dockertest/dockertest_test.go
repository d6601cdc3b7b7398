package dockertest

import (
	"runtime"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of acting.
type recorder struct {
	testing.TB
	skipped, fatal bool
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(string, ...any) {
	r.skipped = true
	runtime.Goexit()
}
func (r *recorder) Fatalf(string, ...any) {
	r.fatal = true
	runtime.Goexit()
}

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		ci                string
		wantSkip, wantErr bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantErr: true},
		{ci: "1", wantErr: true},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			unavailable(r, "service %s missing", "x")
		}()
		<-done
		if r.skipped != tc.wantSkip || r.fatal != tc.wantErr {
			t.Errorf("CI=%q: got skipped=%v fatal=%v, want skipped=%v fatal=%v",
				tc.ci, r.skipped, r.fatal, tc.wantSkip, tc.wantErr)
		}
	}
}
