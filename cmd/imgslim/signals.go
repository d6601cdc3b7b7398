package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signalError is why a run was cancelled: SIGINT or SIGTERM.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// code is the shell's convention for a process a signal ended: 128+N, so
// 130 for SIGINT and 143 for SIGTERM.
func (e signalError) code() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// interrupted returns the signal that cancelled ctx, if one did.
func interrupted(ctx context.Context) (signalError, bool) {
	var se signalError
	ok := errors.As(context.Cause(ctx), &se)
	return se, ok
}

// temps is what a second signal removes before the process dies: the
// work directory. The first signal leaves cleaning to the run's defers.
var temps struct {
	sync.Mutex
	paths map[string]bool
}

func addTemp(p string) {
	temps.Lock()
	defer temps.Unlock()
	if temps.paths == nil {
		temps.paths = map[string]bool{}
	}
	temps.paths[p] = true
}

func removeTemp(p string) {
	temps.Lock()
	defer temps.Unlock()
	delete(temps.paths, p)
}

// withSignals returns a context cancelled, with a signalError cause, by the
// first SIGINT or SIGTERM. The run then stops, cleans up and exits 130 or
// 143. A second signal means the user will not wait: the work directory is
// removed and the process exits at once with the same code.
func withSignals(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first signalError
		select {
		case s := <-ch:
			first = signalError{s.(syscall.Signal)}
			cancel(first)
			fmt.Fprintf(stderr, "imgslim: %s: stopping, writing nothing (again to kill at once)\n", signalName(first.sig))
		case <-done:
			return
		}
		select {
		case <-ch:
			temps.Lock()
			for p := range temps.paths {
				os.RemoveAll(p)
			}
			os.Exit(first.code())
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
